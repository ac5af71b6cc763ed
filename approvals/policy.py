"""The policy in force: the file at settings.POLICY_PATH, parsed (`approvals.policy_parse`), cached, validated.

- `get_policy()` reads: the cached policy, re-read when the file changes. It never writes.
- `policy_for_decision()` is what the workflow services take decisions under: the same policy, its content
  first recorded on the audit chain (`policy.loaded`, once per content: see `record_loaded`). Pages, the API's
  listings and exports only read.
- `validate_on_startup()` (from `ApprovalsConfig.ready`) refuses to start with an invalid policy rather than
  run with a guess; `check_policy` (management command) reports the problems of a file with `load_policy`.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, InterfaceError, OperationalError

from approvals.policy_parse import Policy, PolicyError, parse_policy
from audit.services import record_policy_loaded

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# key: (path, mtime_ns, size) of the file the cached policy came from; bad_key/error: a later, invalid version.
_cache: dict[str, Any] = {"key": None, "policy": None, "bad_key": None, "error": None}
# Contents (sha256) this process has recorded on the audit chain, or found recorded there last.
_recorded: set[str] = set()


def _policy_path() -> Path:
    return Path(settings.POLICY_PATH)


def _display_name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)


def load_policy(path: Path | str | None = None) -> Policy:
    """Read and parse a policy file (no cache). A missing file is a PolicyError too."""
    path = Path(path) if path is not None else _policy_path()
    name = _display_name(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError("the policy file does not exist (settings.POLICY_PATH)", source=name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the policy file: {exc}", source=name) from None
    return parse_policy(text, source=name)


def get_policy() -> Policy:
    """The current policy; cached, re-read when the file changes. Raises PolicyError when the file is invalid.

    When the file turns invalid after a valid version was loaded, the process keeps enforcing that last valid
    version (logged, and shown on the policy page by `reload_error()`) rather than failing every promotion;
    a process that starts with an invalid file refuses to start (validate_on_startup).
    """
    path = _policy_path()
    try:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = (str(path), None, None)
    with _lock:
        current = _cache["policy"]
        if current is not None and (_cache["key"] == key or _cache["bad_key"] == key):
            return current
        try:
            policy = load_policy(path)
        except PolicyError as exc:
            if current is None or _cache["key"][0] != str(path):
                raise
            logger.error("policy file changed but is invalid; still enforcing the last valid one: %s", exc)
            _cache.update(bad_key=key, error=str(exc))
            return current
        _cache.update(key=key, policy=policy, bad_key=None, error=None)
        return policy


def reload_error() -> str | None:
    """Why the policy file on disk is not the one enforced (None when it is)."""
    return _cache["error"]


def record_loaded(policy: Policy) -> None:
    """The "policy loaded" step: append a `policy.loaded` audit event for this content, once.

    Runs at most once per content and process (then remembered), and appends nothing when the chain's latest
    `policy.loaded` already names the same content (another process, or an earlier run, recorded it). Not at
    start-up, so that migrations and management commands never write.
    """
    if policy.sha256 in _recorded:
        return
    try:
        record_policy_loaded(policy)
    except (OperationalError, InterfaceError):
        # The connection failed under the append (found by the fault suite: terminated, then reopened by the
        # next query). The decision must not go on without its policy on the chain: it fails with the append.
        raise
    except DatabaseError as exc:  # table not migrated yet: try again on the next decision
        logger.warning("could not audit the policy load: %s", exc)
        return
    _recorded.add(policy.sha256)


def policy_for_decision() -> Policy:
    """The policy a promotion, a rollback, a gate run, a holder change or a drift check is decided under:
    `get_policy()`, its content recorded on the audit chain first (`record_loaded`), so that the chain names
    the policy every decision after it was taken under."""
    policy = get_policy()
    record_loaded(policy)
    return policy


def clear_cache() -> None:
    with _lock:
        _cache.update(key=None, policy=None, bad_key=None, error=None)
    _recorded.clear()


def validate_on_startup() -> None:
    """Refuse to start with an invalid policy (called from ApprovalsConfig.ready)."""
    if sys.argv[1:2] == ["check_policy"]:
        return  # the command reports the problem itself, with its exit status
    try:
        get_policy()
    except PolicyError as exc:
        raise ImproperlyConfigured(str(exc)) from None

"""Signed checkpoints of the audit chain, kept outside the database (in the spirit of RFC 9162's signed tree
heads).

A checkpoint says "the chain had `seq` events and the last one's hash was `head`, at time `at`", signed with
HMAC-SHA256 under a sub-key of AUDIT_CHAIN_KEY (keys.py). Whoever holds only the database can neither forge
one nor change the chain under one: deleting the last events, dropping and refilling the table, or rewriting
an event and re-sealing everything after it all contradict a checkpoint. `keyed_from` fixes where the events
sealed with the key begin (1, unless an older install had unkeyed events: see services.py).

The store is one append-only JSON Lines file, `checkpoints.jsonl`, in settings.AUDIT_CHECKPOINT_DIR — a
directory on another volume than the database, or a mounted object-store path; back it up apart from the
database. Writers (beat, `manage.py audit_checkpoint`) take an exclusive lock on a file beside it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from audit import keys

FILE_NAME = "checkpoints.jsonl"
SIGNED_FIELDS = ("seq", "head", "at", "keyed_from", "key_id")


@dataclass
class Checkpoint:
    seq: int
    head: str
    at: str
    keyed_from: int
    key_id: str
    signature: str
    valid: bool = True
    problem: str = ""

    def public(self) -> dict:
        return {
            "seq": self.seq,
            "head": self.head,
            "at": self.at,
            "keyed_from": self.keyed_from,
            "key_id": self.key_id,
            "signature": self.signature,
        }


@dataclass
class Store:
    items: list[Checkpoint] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # bad signatures, unreadable lines
    key_problems: list[str] = field(default_factory=list)  # signed with another key

    @property
    def valid(self) -> list[Checkpoint]:
        return [cp for cp in self.items if cp.valid]


def directory() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR)


def path() -> Path:
    return directory() / FILE_NAME


def _message(fields: dict) -> bytes:
    signed = {name: fields[name] for name in SIGNED_FIELDS}
    return json.dumps(signed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign(fields: dict) -> str:
    return hmac.digest(keys.checkpoint_key(), _message(fields), "sha256").hex()


def _parse(line: str, number: int | str) -> tuple[Checkpoint | None, str, bool]:
    """(checkpoint, problem, is_key_problem) for one line of the store (`number`: its line number, or "last")."""
    try:
        raw = json.loads(line)
        cp = Checkpoint(
            seq=int(raw["seq"]),
            head=str(raw["head"]),
            at=str(raw["at"]),
            keyed_from=int(raw["keyed_from"]),
            key_id=str(raw["key_id"]),
            signature=str(raw["signature"]),
        )
    except (ValueError, KeyError, TypeError):
        return None, f"checkpoint line {number} is unreadable (edited or truncated)", False
    if cp.key_id != keys.key_id():
        cp.valid = False
        cp.problem = (
            f"checkpoint line {number} (seq {cp.seq}) was signed with another key (key id {cp.key_id}; "
            f"AUDIT_CHAIN_KEY has key id {keys.key_id()}): the configured key is wrong, or the checkpoint forged"
        )
        return cp, cp.problem, True
    if not hmac.compare_digest(sign(raw), cp.signature):
        cp.valid = False
        cp.problem = f"checkpoint line {number} (seq {cp.seq}) has a bad signature: it was edited or forged"
        return cp, cp.problem, False
    return cp, "", False


def load() -> Store:
    store = Store()
    try:
        text = path().read_text(encoding="utf-8")
    except FileNotFoundError:
        return store
    except OSError as exc:
        store.problems.append(f"the checkpoint store cannot be read: {exc}")
        return store
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cp, problem, about_key = _parse(line, number)
        if cp is not None:
            store.items.append(cp)
        if problem:
            (store.key_problems if about_key else store.problems).append(problem)
    return store


def latest() -> Checkpoint | None:
    """The last checkpoint in the store (checked: see `.valid`), or None when there is none."""
    try:
        with path().open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 8192))
            tail = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    lines = [line for line in tail.splitlines() if line.strip()]
    if not lines:
        return None
    cp, problem, _ = _parse(lines[-1], "last")
    if cp is None:
        return Checkpoint(0, "", "", 1, "", "", valid=False, problem=problem)
    return cp


def latest_public() -> dict | None:
    """The latest checkpoint as stored, for embedding in exports and evidence packs."""
    cp = latest()
    return cp.public() if cp is not None and cp.signature else None


@contextlib.contextmanager
def locked():
    directory().mkdir(parents=True, exist_ok=True, mode=0o700)
    with (directory() / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def append(*, seq: int, head: str, keyed_from: int) -> Checkpoint:
    """Sign and append one checkpoint (call inside `locked()`); the line is on disk when this returns."""
    at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    fields = {"seq": seq, "head": head, "at": at, "keyed_from": keyed_from, "key_id": keys.key_id()}
    cp = Checkpoint(**fields, signature=sign(fields))
    line = json.dumps(cp.public(), sort_keys=True, separators=(",", ":")) + "\n"
    fd = os.open(path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return cp

"""Where `registry` finds the server and its token: the environment first, then a config file.

REGISTRY_URL and REGISTRY_TOKEN; else `url` and `token` in the [registry] table of
$REGISTRY_CONFIG, or of config.toml under the user's config directory ($XDG_CONFIG_HOME/registry/ or
~/.config/registry/; %APPDATA%\\registry\\ on Windows).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from registry_cli.exits import CONFIG, CliError


@dataclass(frozen=True)
class Config:
    url: str
    token: str


def config_path() -> Path:
    if os.environ.get("REGISTRY_CONFIG"):
        return Path(os.environ["REGISTRY_CONFIG"])
    if os.name == "nt" and os.environ.get("APPDATA"):
        base = Path(os.environ["APPDATA"])
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "registry" / "config.toml"


def _file_values(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CliError(f"Cannot read the config file {path}: {exc}", CONFIG) from None
    table = data.get("registry", data)
    return {k: str(v) for k, v in table.items() if k in ("url", "token") and v}


def load() -> Config:
    path = config_path()
    from_file = _file_values(path)
    url = os.environ.get("REGISTRY_URL") or from_file.get("url", "")
    token = os.environ.get("REGISTRY_TOKEN") or from_file.get("token", "")
    if not url:
        raise CliError(
            "No server to talk to: set REGISTRY_URL (e.g. https://governance.example.com), "
            f"or `url` under [registry] in {path}.",
            CONFIG,
        )
    if not token:
        raise CliError(
            "No API token: set REGISTRY_TOKEN (create a token on your profile page, or ask staff for a "
            f"service account), or `token` under [registry] in {path}.",
            CONFIG,
        )
    return Config(url=url.rstrip("/"), token=token.strip())

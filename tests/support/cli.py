"""Running `registry` (python -m registry_cli) in a child process against a live server, as a pipeline does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def cli_env(url: str, key: str | None, config_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(REGISTRY_URL=url, XDG_CONFIG_HOME=str(config_home), REGISTRY_RETRIES="1")
    if key is not None:
        env["REGISTRY_TOKEN"] = key
    return env


def start(args: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen:
    """`registry ARGS` from `cwd` (the repository by default: the module is found there)."""
    env = {**env, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "registry_cli", *args],
        cwd=cwd or REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(
    args: list[str], env: dict[str, str], timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    proc = start(args, env, cwd)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")

"""Run a packaging build in a child process that cannot take the worker down with it.

Loading a model unpickles files that anyone with write access to MLflow controls. The child
(packager.formats.child) gets a scrubbed environment (no database URL, keys, tokens or MLflow credentials:
only the variables listed below), a temporary working directory as its home, resource limits it sets on itself
before reading the model (CPU time, address space, file size, no core dumps), and a wall-clock timeout after
which its whole process group is killed. Its answer comes back as JSON lines on a pipe of its own. A crash,
an out-of-memory, a timeout or a malformed answer becomes PackagingFailed with a sentence.

What it does not do: the child runs as the worker's user, so it can read what that user reads and reach the
network (run workers as an unprivileged user with nothing secret on disk, as the Docker image does).
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings

from packager.formats.results import STEPS, Built, PackagingFailed, Parity, ParityFailed, UnsupportedFormat

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
BOOT = f"import sys; sys.path.insert(0, {str(REPO)!r}); from packager.formats.child import main; main()"
# The only variables the child inherits (locale, search path, the OpenBLAS kernel pins some hosts need).
KEPT_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
MAX_ANSWER_BYTES = 1 << 20


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 1200
    memory_mb: int = 8192
    file_mb: int = 4096
    timeout_seconds: int = 780

    @classmethod
    def from_settings(cls) -> Limits:
        if not settings.configured:
            return cls()
        return cls(
            cpu_seconds=int(getattr(settings, "PACKAGE_SANDBOX_CPU_SECONDS", cls.cpu_seconds)),
            memory_mb=int(getattr(settings, "PACKAGE_SANDBOX_MEMORY_MB", cls.memory_mb)),
            file_mb=int(getattr(settings, "PACKAGE_SANDBOX_FILE_MB", cls.file_mb)),
            timeout_seconds=int(getattr(settings, "PACKAGE_SANDBOX_TIMEOUT_SECONDS", cls.timeout_seconds)),
        )


def environment(work: Path) -> dict[str, str]:
    env = {name: os.environ[name] for name in KEPT_ENVIRONMENT if name in os.environ}
    env.setdefault("PATH", "/usr/bin:/bin")
    env.update(
        HOME=str(work),
        TMPDIR=str(work),
        PYTHONDONTWRITEBYTECODE="1",
        MLFLOW_TRACKING_URI=(work / "mlruns").as_uri(),  # never the real server, should anything ask
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    return env


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _read_answer(fd: int, process: subprocess.Popen, deadline: float, on_step: Callable[[str], None]) -> dict:
    """Steps as they come (on_step), then the final answer; PackagingFailed at the deadline."""
    buffer, answer, step = b"", {}, "starting"
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(step)
        ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return {"answer": answer, "step": step}
        buffer += chunk
        if len(buffer) > MAX_ANSWER_BYTES:
            raise PackagingFailed("The packaging process answered more than 1 MB; its answer was discarded.")
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if not isinstance(message, dict):
                continue
            if message.get("step") in STEPS:
                step = message["step"]
                on_step(step)
            elif "result" in message or "error" in message:
                answer = message


def _crash_sentence(returncode: int, step: str, limits: Limits) -> str:
    if returncode >= 0:
        return f"The packaging process exited (status {returncode}) while {step} without an answer."
    number = -returncode
    if number == signal.SIGXCPU:
        return f"The packaging process used more than its {limits.cpu_seconds} s of CPU time while {step}."
    if number == signal.SIGKILL:
        return (
            f"The packaging process was killed while {step} (out of memory, or past its CPU-time limit of "
            f"{limits.cpu_seconds} s)."
        )
    if number == signal.SIGSEGV:
        return f"The packaging process crashed (segmentation fault) while {step}."
    if number == signal.SIGABRT:
        return (
            f"The packaging process aborted while {step} (often an allocation over the {limits.memory_mb} MB "
            "memory limit)."
        )
    return f"The packaging process died of signal {signal.Signals(number).name} while {step}."


def _built(answer: dict, out_dir: Path, limits: Limits) -> Built:
    if "error" in answer:
        error = answer["error"] if isinstance(answer["error"], dict) else {}
        kind, message = error.get("kind"), str(error.get("message") or "Packaging failed.")[:2000]
        if kind == "parity":
            raise ParityFailed(message, Parity.from_dict(error["parity"]))
        if kind == "unsupported":
            raise UnsupportedFormat(message)
        if kind == "memory":
            raise PackagingFailed(
                f"The model needed more memory than the packaging limit of {limits.memory_mb} MB."
            )
        raise PackagingFailed(message)
    result = answer["result"]
    path = Path(result["path"]).resolve()
    if not path.is_relative_to(out_dir.resolve()) or not path.is_file():
        raise PackagingFailed("The packaging process did not leave its package in the output directory.")
    parity = Parity.from_dict(result["parity"]) if result.get("parity") else None
    io = result.get("io") if isinstance(result.get("io"), dict) else {}
    opset = result.get("opset")
    return Built(path=path, opset=int(opset) if opset is not None else None, io=io, parity=parity)


def run(
    fmt: str,
    model_dir: Path,
    out_dir: Path,
    *,
    tolerance: float,
    on_step: Callable[[str], None],
    limits: Limits | None = None,
) -> Built:
    limits = limits or Limits.from_settings()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="packaging-") as tmp:
        work = Path(tmp)
        read_fd, write_fd = os.pipe()
        request = {
            "format": fmt,
            "model_dir": str(Path(model_dir).resolve()),
            "out_dir": str(out_dir.resolve()),
            "tolerance": tolerance,
            "limits": asdict(limits),
            "fd": write_fd,
        }
        with open(work / "output.log", "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-I", "-c", BOOT, json.dumps(request)],
                cwd=work,
                env=environment(work),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(write_fd,),
                start_new_session=True,
            )
        os.close(write_fd)
        deadline = time.monotonic() + limits.timeout_seconds
        try:
            got = _read_answer(read_fd, process, deadline, on_step)
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except (TimeoutError, subprocess.TimeoutExpired) as exc:
            _kill_group(process)
            process.wait()
            step = exc.args[0] if isinstance(exc, TimeoutError) and exc.args else "finishing"
            raise PackagingFailed(
                f"Packaging did not finish within {limits.timeout_seconds} s and was stopped (while {step})."
            ) from None
        except BaseException:
            _kill_group(process)
            process.wait()
            raise
        finally:
            os.close(read_fd)
            _kill_group(process)  # anything the child forked dies with it
        if not got["answer"]:
            tail = (work / "output.log").read_bytes()[-2000:].decode(errors="replace")
            logger.warning("packaging child ended with %s without an answer: %s", process.returncode, tail)
            raise PackagingFailed(_crash_sentence(process.returncode, got["step"], limits))
        return _built(got["answer"], out_dir, limits)

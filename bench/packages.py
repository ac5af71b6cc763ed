"""Packaging: a 100-tree random forest converted to ONNX and validated, and the content hash of a 500 MB artifact.

  convert_validate_seconds  `packager.formats.build("onnx", ...)` end to end on a RandomForestClassifier of 100
                            trees trained on scikit-learn's bundled breast-cancer data (saved by mlflow.sklearn,
                            cloudpickle, input example of 100 rows): the sandboxed child starts, loads the model,
                            converts it (skl2onnx), runs the ONNX checker and onnxruntime, compares with the
                            forest's probabilities; median of --repeats (target 10 s). Its steps are printed too,
                            and convert_validate_cpu_seconds, the child's CPU time (what a loaded machine
                            stretches: the wall-clock time is mostly importing mlflow, scikit-learn, onnxruntime).
  hash_seconds, sha256sum_seconds, hash_ratio
                            `mirror.mlflow_data.hash_artifact_tree` over a directory holding one 500 MB file of
                            random bytes, against coreutils' `sha256sum` on the same file, interleaved in the same
                            run after one warm-up read (the file in the page cache for both); medians;
                            hash_ratio = sha256sum_seconds / hash_seconds, our throughput over sha256sum's
                            (target >= 0.8).
  hash_peak_mb              in a fresh process: peak RSS (VmHWM) after hashing minus RSS before (target <= 100).

Needs no database and no MLflow server. (Not named packaging.py: as a script's folder is first on sys.path,
that name would shadow the PyPI `packaging` library MLflow imports.) Usage: python bench/packages.py [--repeats 3] [--hash-mb 500]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import REPO, emit, note

PEAK_SCRIPT = """
import json, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from mirror.mlflow_data import hash_artifact_tree

def kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])

before = kib("VmRSS:")
digest = hash_artifact_tree(Path({root!r}))
print(json.dumps({{"digest": digest, "peak_mb": (kib("VmHWM:") - before) / 1024}}))
"""


def saved_forest(where: Path, trees: int) -> Path:
    import mlflow.sklearn  # the benchmark acts as an MLflow user (ruff allows mlflow in bench/)
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    features, labels = load_breast_cancer(return_X_y=True, as_frame=True)
    forest = RandomForestClassifier(n_estimators=trees, random_state=0).fit(features, labels)
    mlflow.sklearn.save_model(
        forest, str(where), input_example=features.head(100), pip_requirements=["scikit-learn"],
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
    )  # fmt: skip
    return where


def bench_convert(tmp: Path, trees: int, repeats: int) -> None:
    from packager.formats import build

    model_dir = saved_forest(tmp / "forest", trees)
    times, cpu, steps = [], [], {}
    for attempt in range(repeats):
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        marks = [("start", time.perf_counter())]
        built = build(
            "onnx", model_dir, tmp / f"out{attempt}", tolerance=1e-4,
            on_step=lambda step, marks=marks: marks.append((step, time.perf_counter())),
        )  # fmt: skip
        marks.append(("done", time.perf_counter()))
        times.append(marks[-1][1] - marks[0][1])
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime)
        for (name, began), (_, ended) in zip(marks, marks[1:], strict=False):
            steps.setdefault(name, []).append(ended - began)
        note(f"forest {attempt + 1}/{repeats}: {times[-1]:.2f} s, parity {built.parity}")
    emit("forest_trees", trees)
    emit("onnx_bytes", built.path.stat().st_size)
    emit("parity_max_abs_diff", f"{built.parity.max_abs_diff:.3g}")
    for name in ("start", "loading", "converting", "validating"):
        if name in steps:
            emit(f"step_{'starting' if name == 'start' else name}_seconds", statistics.median(steps[name]))
    emit("convert_validate_cpu_seconds", statistics.median(cpu))
    emit("convert_validate_seconds", statistics.median(times))
    emit("convert_validate_ratio", statistics.median(times) / 10.0)


def write_random(path: Path, megabytes: int) -> None:
    with path.open("wb") as handle:
        for _ in range(megabytes):
            handle.write(os.urandom(1 << 20))


def bench_hash(tmp: Path, megabytes: int, repeats: int) -> None:
    from mirror.mlflow_data import hash_artifact_tree

    root = tmp / "artifact"
    root.mkdir()
    big = root / "model.bin"
    write_random(big, megabytes)
    subprocess.run(
        ["sha256sum", str(big)], check=True, capture_output=True
    )  # warm-up: the file in page cache
    ours, theirs = [], []
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run(["sha256sum", str(big)], check=True, capture_output=True)
        theirs.append(time.perf_counter() - began)
        began = time.perf_counter()
        hash_artifact_tree(root)
        ours.append(time.perf_counter() - began)
    peak = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT.format(repo=str(REPO), root=str(root))],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    emit("hash_megabytes", megabytes)
    emit("sha256sum_seconds", statistics.median(theirs))
    emit("hash_seconds", statistics.median(ours))
    emit("hash_mb_per_s", megabytes / statistics.median(ours))
    emit("hash_ratio", statistics.median(theirs) / statistics.median(ours))
    emit("hash_peak_mb", json.loads(peak.stdout)["peak_mb"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--hash-mb", type=int, default=500)
    args = parser.parse_args()
    note(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-packaging-") as tmp:
        bench_convert(Path(tmp), args.trees, args.repeats)
        bench_hash(Path(tmp), args.hash_mb, args.repeats)
    note(f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

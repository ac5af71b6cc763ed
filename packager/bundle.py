"""A package is one file: a build that wrote a directory (a SavedModel) is zipped, reproducibly (sorted names,
fixed timestamps and modes), so that the same directory always gives the same bytes and the same sha256."""

from __future__ import annotations

import zipfile
from pathlib import Path

_EPOCH = (1980, 1, 1, 0, 0, 0)


def single_file(path: Path, out_dir: Path) -> Path:
    """`path` itself when it is a file; else `<out_dir>/<name>.zip` holding the directory's files."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"the build wrote no package at {path.name}")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{path.name}.zip"
    files = sorted(p for p in path.rglob("*") if p.is_file())
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for file in files:
            info = zipfile.ZipInfo(f"{path.name}/{file.relative_to(path).as_posix()}", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with file.open("rb") as src, zf.open(info, "w") as dst:
                for chunk in iter(lambda f=src: f.read(1 << 20), b""):
                    dst.write(chunk)
    return target

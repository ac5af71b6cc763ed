"""Downloading the zip a background job wrote (a bulk card export, an evidence pack)."""

from __future__ import annotations

from pathlib import Path

from django.http import FileResponse


def zip_file_response(file_path: str | None, filename: str) -> FileResponse | None:
    """The zip at `file_path` as an attachment named `filename`; None when there is no file (never written, or
    cleaned up): the caller answers 404 in its own way."""
    if not file_path or not Path(file_path).exists():
        return None
    return FileResponse(
        open(file_path, "rb"),  # FileResponse closes it
        as_attachment=True,
        filename=filename,
        content_type="application/zip",
    )

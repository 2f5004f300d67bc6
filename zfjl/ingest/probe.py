"""Stage 3: read each new object's metadata.

One persistent exiftool process serves the whole dump (batches of files per call);
ffprobe runs only where exiftool cannot tell (AMR audio, a missing duration, damaged media).
Probing reads the *stored object*: exactly the bytes kept, under an ASCII name, whatever
encoding the camera used for the original name.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import exiftool
import ffmpeg
from exiftool.exceptions import ExifToolException

from zfjl.errors import ToolMissing

BATCH = 64
EXIFTOOL_ARGS = ["-G", "-n", "-api", "largefilesupport=1"]
# Tags that describe the vault's copy, not the recording: dropped from the raw metadata.
COPY_TAGS = {
    "SourceFile",
    "File:FileName",
    "File:Directory",
    "File:FileModifyDate",
    "File:FileAccessDate",
    "File:FileInodeChangeDate",
    "File:FilePermissions",
    "ExifTool:ExifToolVersion",
}
INSTALL_HINT = {
    "exiftool": "apt-get install libimage-exiftool-perl",
    "ffprobe": "apt-get install ffmpeg",
}


def require_tools(*names: str) -> None:
    for name in names:
        if shutil.which(name) is None:
            raise ToolMissing(f"未找到 {name}，请先安装：{INSTALL_HINT[name]}")


class Prober:
    """Context manager around one exiftool process."""

    def __init__(self) -> None:
        require_tools("exiftool", "ffprobe")
        # check_execute=False: one unreadable file must not make the whole batch raise.
        self._et = exiftool.ExifToolHelper(
            common_args=EXIFTOOL_ARGS, check_execute=False, auto_start=False
        )

    def __enter__(self) -> Prober:
        self._et.run()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._et.terminate()
        except ExifToolException:
            pass

    def exif(self, paths: Sequence[Path]) -> list[dict[str, Any]]:
        """exiftool metadata for each path, in order; {} with an error note when unreadable."""
        out: list[dict[str, Any]] = []
        for start in range(0, len(paths), BATCH):
            out.extend(self._exif_batch(paths[start : start + BATCH]))
        return out

    def _exif_batch(self, paths: Sequence[Path]) -> list[dict[str, Any]]:
        names = [str(p) for p in paths]
        try:
            results = self._et.execute_json(*names)
        except (ExifToolException, json.JSONDecodeError, ValueError):
            results = []
        by_source = {r.get("SourceFile"): r for r in results}
        if len(paths) > 1 and len(by_source) < len(paths):
            # A batch that lost files: ask again one by one so each gets its own answer.
            return [self._exif_batch([p])[0] if n not in by_source else by_source[n]
                    for p, n in zip(paths, names, strict=True)]
        return [by_source.get(n) or {"ExifTool:Error": "exiftool 无法读取"} for n in names]


def ffprobe(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """ffprobe's format and streams, or None and its error text."""
    try:
        data = ffmpeg.probe(str(path), cmd="ffprobe")
    except ffmpeg.Error as exc:
        lines = exc.stderr.decode("utf-8", "replace").strip().splitlines()
        # ffprobe prefixes the object's path; the reason is what follows it.
        reason = lines[-1].removeprefix(f"{path}:").strip() if lines else ""
        return None, reason or "ffprobe 无法读取"
    return data, None


def clean_exif(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in COPY_TAGS}

"""Camera file-name patterns: device, officer, time and the IMP (important) mark.

Patterns are written like ``{officer}_{device}_{YYYYMMDDhhmmss}_{seq}[_IMP]``; a bureau adds
its vendors' patterns to vault.json (``name_patterns``), tried before the built-in ones.
IMP is a flag, never part of a recording's identity (that is the content hash).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from zfjl.vault.name_patterns import compile_pattern as compile_pattern  # ingest.pipeline's too

BUILTIN_PATTERNS = (
    "{device}_{YYYYMMDD}_{hhmmss}_{seq}[_IMP]",
    "{officer}_{device}_{YYYYMMDDhhmmss}_{seq}[_IMP]",
    "DSJ_{device}_{officer}_{YYYYMMDD}_{hhmmss}[_IMP]",
)

@dataclass(frozen=True)
class NameInfo:
    pattern: str | None = None
    device: str | None = None
    officer: str | None = None
    time: dt.datetime | None = None  # naive: camera-local wall-clock time
    seq: str | None = None
    important: bool = False
    bad_time: str | None = None  # digits that were not a valid date/time


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name


def parse_name(name: str, patterns: tuple[str, ...] = ()) -> NameInfo:
    stem = _stem(name)
    for pattern in (*patterns, *BUILTIN_PATTERNS):
        m = compile_pattern(pattern).match(stem)
        if m is None:
            continue
        groups = m.groupdict()
        when, bad = _parse_time(groups.get("date"), groups.get("time"))
        return NameInfo(
            pattern=pattern,
            device=groups.get("device"),
            officer=groups.get("officer"),
            time=when,
            seq=groups.get("seq"),
            important=bool(groups.get("imp")),
            bad_time=bad,
        )
    return NameInfo(important=bool(re.search(r"[_-]IMP$", stem, re.IGNORECASE)))


def _parse_time(date: str | None, time: str | None) -> tuple[dt.datetime | None, str | None]:
    if not date:
        return None, None
    text = date + (time or "000000")
    try:
        return dt.datetime.strptime(text, "%Y%m%d%H%M%S"), None
    except ValueError:
        return None, text


def identity_name(name: str) -> str:
    """The name without its IMP mark: a file renamed to …_IMP on the camera is the same file."""
    stem = _stem(name)
    ext = name[len(stem) :]
    return re.sub(r"[_-]?IMP$", "", stem, flags=re.IGNORECASE) + ext

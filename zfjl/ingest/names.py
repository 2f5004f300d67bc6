"""Camera file-name patterns: device, officer, time and the IMP (important) mark.

Patterns are written like ``{officer}_{device}_{YYYYMMDDhhmmss}_{seq}[_IMP]``; a bureau adds
its vendors' patterns to vault.json (``name_patterns``), tried before the built-in ones.
IMP is a flag, never part of a recording's identity (that is the content hash).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

BUILTIN_PATTERNS = (
    "{device}_{YYYYMMDD}_{hhmmss}_{seq}[_IMP]",
    "{officer}_{device}_{YYYYMMDDhhmmss}_{seq}[_IMP]",
    "DSJ_{device}_{officer}_{YYYYMMDD}_{hhmmss}[_IMP]",
)

TOKENS = {
    "device": r"(?P<device>[A-Za-z0-9-]+)",
    "officer": r"(?P<officer>[A-Za-z0-9]+)",
    "YYYYMMDD": r"(?P<date>\d{8})",
    "hhmmss": r"(?P<time>\d{6})",
    "YYYYMMDDhhmmss": r"(?P<date>\d{8})(?P<time>\d{6})",
    "seq": r"(?P<seq>\d+)",
}
TOKEN_RE = re.compile(r"\{(\w+)\}|\[([^\]]*)\]|([^{\[]+)")
IMP_TAIL = r"(?P<imp>[_-]?IMP)?"


@dataclass(frozen=True)
class NameInfo:
    pattern: str | None = None
    device: str | None = None
    officer: str | None = None
    time: dt.datetime | None = None  # naive: camera-local wall-clock time
    seq: str | None = None
    important: bool = False
    bad_time: str | None = None  # digits that were not a valid date/time


@lru_cache(maxsize=64)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    has_imp = False
    for token, optional, literal in TOKEN_RE.findall(pattern):
        if token:
            if token not in TOKENS:
                raise ValueError(f"未知的文件名字段 {{{token}}}，可用：{', '.join(TOKENS)}")
            parts.append(TOKENS[token])
        elif optional:
            if "IMP" in optional.upper():
                has_imp = True
                parts.append(IMP_TAIL)
            else:
                parts.append(f"(?:{re.escape(optional)})?")
        else:
            parts.append(re.escape(literal))
    if not has_imp:  # cameras mark IMP whatever their pattern says
        parts.append(IMP_TAIL)
    return re.compile("^" + "".join(parts) + "$", re.IGNORECASE)


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

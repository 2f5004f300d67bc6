"""The grammar of the `name_patterns` setting: a camera file-name pattern such as
``{officer}_{device}_{YYYYMMDDhhmmss}_{seq}[_IMP]`` compiled to a regular expression. Here,
below both, because the settings validate a pattern before it is journaled and ingest
(`zfjl.ingest.names`) matches file names with it."""

from __future__ import annotations

import re
from functools import lru_cache

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

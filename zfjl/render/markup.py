"""Jinja filters and escaping for templates that write Typst markup: every value is escaped,
unless a filter produced the markup itself."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

TYPST_SPECIAL = re.compile(r"([\\#$*_`<>@\[\]~/=+\-\"'])")
# "1. " at the start of a line is a numbered list item: its full stop is escaped too.
LINE_START_NUMBER = re.compile(r"(?m)^(\s*\d+)\.")


def typ_escape(value: Any) -> str:
    """A value as literal Typst text: markup characters are escaped, newlines kept. A case
    field is data, never markup: `#read(…)`, `#eval(…)` or `#import` in one prints as is."""
    text = "" if value is None else str(value)
    text = TYPST_SPECIAL.sub(r"\\\1", text)
    return LINE_START_NUMBER.sub(r"\1\\.", text).replace("\n", " \\\n")


def typ_string(value: Any) -> Markup:
    """A value as a Typst string literal ("…"), for a template's code (`#sign({{ role |
    typst_str }})`): only the backslash and the quote are escaped there, so nothing ends it."""
    text = "" if value is None else str(value)
    quoted = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return Markup(f'"{quoted}"')


def finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return str(value)
    return typ_escape(value)


class Markup(str):
    """Typst markup produced by a filter: inserted as is (not escaped again)."""


def blank(value: Any, width: str = "8em") -> Markup:
    """The value, or a blank line to fill in by hand on paper."""
    if value in (None, "", [], {}):
        return Markup(f"#box(width: {width}, stroke: (bottom: 0.5pt), outset: (bottom: 2pt))[]")
    return Markup(typ_escape(value))


def cn_date(value: Any) -> str:
    """2024-05-13T09:00:00+08:00 → 2024年5月13日 (as official documents write dates)."""
    if not value:
        return ""
    when = (
        dt.datetime.fromisoformat(str(value))
        if "T" in str(value)
        else dt.date.fromisoformat(str(value))
    )
    return f"{when.year}年{when.month}月{when.day}日"


def cn_time(value: Any) -> str:
    if not value:
        return ""
    when = dt.datetime.fromisoformat(str(value))
    return f"{when.year}年{when.month}月{when.day}日{when.hour}时{when.minute:02d}分"



# A refusal's reason that only repeats the refusal itself is not printed again.
REFUSAL_WORDS = ("拒绝签收", "拒绝签名", "拒签", "拒收")


def refusal_reason(value: Any) -> str:
    """'（理由）' after 拒绝签收/拒绝签名, or nothing when the reason only says that again."""
    reason = "" if value is None else str(value).strip()
    if not reason or any(word in reason for word in REFUSAL_WORDS):
        return ""
    return f"（{reason}）"


def mb(value: Any) -> str:
    """A size in bytes as megabytes with two decimals (1234567890 → 1177.38); under 0.01 MB
    with two significant digits (4400 → 0.0042)."""
    if value is None or value == "":
        return ""
    megabytes = int(value) / (1024 * 1024)
    if 0 < megabytes < 0.01:  # a short audio clip: two significant digits, never "0.00"
        return f"{megabytes:.2g}" if megabytes >= 0.0001 else "<0.0001"
    return f"{megabytes:.2f}"


def hms(value: Any) -> str:
    """A duration in seconds as 时:分:秒 (2640 → 0:44:00); empty for none (a photo)."""
    if value is None or value == "":
        return ""
    seconds = round(float(value))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def sentence(value: Any) -> str:
    """A value as a sentence: a full stop added unless it already ends with one."""
    text = "" if value is None else str(value).rstrip()
    return text if not text or text[-1] in "。！？；.!?" else text + "。"

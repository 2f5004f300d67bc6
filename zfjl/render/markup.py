"""Jinja filters and escaping for templates that write Typst markup: every value is escaped,
unless a filter produced the markup itself."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

TYPST_SPECIAL = re.compile(r"([\\#$*_`<>@\[\]~/=+\-\"'])")


def typ_escape(value: Any) -> str:
    """A value as literal Typst text: markup characters are escaped, newlines kept."""
    text = "" if value is None else str(value)
    return TYPST_SPECIAL.sub(r"\\\1", text).replace("\n", " \\\n")


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


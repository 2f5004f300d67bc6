"""The regulation's text (a copy of shared/regulation, shipped with the rules), by article."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

ARTICLE = re.compile(r"^\s*(第[一二三四五六七八九十百]+条)\s*(.*)$")
HEADING = re.compile(r"^\s*第[一二三四五六七八九十]+章")


@lru_cache(maxsize=1)
def articles() -> dict[str, str]:
    text = resources.files("zfjl.checklists").joinpath("regulation.txt").read_text(encoding="utf-8")
    out: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        m = ARTICLE.match(line)
        if m:
            current = m.group(1)
            out[current] = m.group(2).strip()
        elif current and line.strip() and not HEADING.match(line):
            out[current] += line.strip()
    return out


def article_text(article: str) -> str | None:
    """The text of "第十二条" (or "第八条第（三）项", "第二十七条第二款": the whole article)."""
    m = re.match(r"(第[一二三四五六七八九十百]+条)", article)
    return articles().get(m.group(1)) if m else None

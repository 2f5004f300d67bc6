"""The regulation's text (a copy of shared/regulation, shipped with the rules), by article."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Any

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


REGULATION = "行政执法全过程记录制度"


def statute_quotes(rule: Any) -> list[dict[str, str]]:
    """The words a rule rests on, each with its source: the regulation's article (for a rule
    numbered by it) and the national statute's text the rule carries (`text:`)."""
    quotes = []
    if rule.article.startswith("第") and (own := article_text(rule.article)):
        quotes.append({"source": f"{REGULATION}{rule.article}", "text": own})
    if rule.text:
        source = rule.article if not rule.article.startswith("第") else "相关法律"
        quotes.append({"source": source, "text": rule.text})
    return quotes

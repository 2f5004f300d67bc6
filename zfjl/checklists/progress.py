"""How far a case has got, and so which requirements are due (待办 until then).

A requirement of one stage falls due once the case has moved on to a later stage (a document
of that later stage is on file) or is closed. Some documents are made at any stage and say
nothing about progress: a 送达回证 serves a document of any stage, a 责令改正通知书 is often
issued at the first inspection, a 复查记录 follows it. They are listed in ANYTIME.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zfjl.cases.doctypes import DOCTYPES, STAGES

ANYTIME = frozenset({"送达回证", "委托函", "责令改正通知书", "复查记录", "紧急启动报告", "案源告知记录",
                     "延长办案期限审批表", "复议诉讼情况记录"})  # fmt: skip
STAGE_INDEX = {s: i for i, s in enumerate(STAGES)}


def reached_stage(by_type: Mapping[str, list[Any]]) -> int:
    """The index in STAGES of the latest stage a document on file belongs to (0: none yet)."""
    best = 0
    for doctype, docs in by_type.items():
        if docs and doctype not in ANYTIME:
            best = max(best, STAGE_INDEX.get(DOCTYPES.get(doctype, ""), 0))
    return best

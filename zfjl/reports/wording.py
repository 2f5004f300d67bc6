"""How the monthly report reads: as a bureau's 通报, not as a program's output.

One title everywhere (the page, the PDF, the command's help); the period as 2024年6月 and its
days as 2024年6月1日至6月30日 (the figures' `to` is the first day after the month, exclusive);
spot-check results by name (合格 2 件、不合格 1 件, or 未抽查) instead of 2/0/1/0; registered
and unregistered cameras counted apart. Used by the HTML page, the PDF template (as filters)
and the command's summary line; `--json` and the CSV keep the plain values.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from zfjl.dates import chinese_day, chinese_month, chinese_span, chinese_time

TITLE = "执法记录使用情况通报"
SPOT_RESULTS = {"pass": "合格", "minor": "基本合格", "fail": "不合格", "unchecked": "未检查"}


def period_words(report: dict[str, Any]) -> str:
    """2024年6月 (and the unit, when the report is of one)."""
    unit = report.get("unit")
    return chinese_month(report["period"]) + (f"，{unit}" if unit else "")


def span_words(first: str, end_exclusive: str) -> str:
    """The days of the span, both included: 2024年6月1日至6月30日."""
    last = dt.date.fromisoformat(end_exclusive[:10]) - dt.timedelta(days=1)
    return chinese_span(first, last)


def basis_line(report: dict[str, Any]) -> str:
    """The line under the title: the basis, the days counted, when cases were checked."""
    return (f"依据《行政执法全过程记录制度》第五十四条。统计期间：{span_words(report['from'], report['to'])}；"
            f"案件检查截至{chinese_day(report['checked_as_of'])}；"
            f"制表时间：{chinese_time(report['generated_at'])}。")  # fmt: skip


def spot_words(results: dict[str, int]) -> str:
    """合格 2 件、不合格 1 件 (results with none are not named), or 未抽查."""
    named = [f"{word} {results[k]} 件" for k, word in SPOT_RESULTS.items() if results.get(k)]
    return "、".join(named) or "未抽查"


def devices_words(figures: dict[str, Any]) -> str:
    """登记记录仪 1 台（期间故障 0 台），另有未登记的 3 台."""
    text = f"登记记录仪 {figures['devices']} 台（期间故障 {figures['devices_in_fault']} 台）"
    unregistered = figures.get("devices_unregistered", 0)
    return text + (f"，另有未登记的记录仪 {unregistered} 台" if unregistered else "")


def summary(report: dict[str, Any]) -> str:
    """The paragraph 一、总体情况 (and the command's summary)."""
    t = report["totals"]
    return (f"本期共录制音像资料 {t['recordings']} 件，时长 {t['hours']} 小时；"
            f"逾期存储 {t['late_uploads']} 件；时钟偏差 {t['clock_skew']} 件；{devices_words(t)}；"
            f"立案 {t['cases_opened']} 件，其中办理中 {t['cases_open']} 件，"
            f"检查发现违反制度的 {t['cases_with_violations']} 件；"
            f"待办事项 {t.get('pending_items', 0)} 项。")  # fmt: skip


FILTERS = {"report_period": period_words, "report_basis": basis_line, "spot_words": spot_words,
           "report_summary": summary, "devices_words": devices_words}  # fmt: skip

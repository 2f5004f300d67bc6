"""A monthly report as a spreadsheet (CSV) or a web page (HTML with its charts); its PDF is
made by `zfjl.render.registers.report_pdf`."""

from __future__ import annotations

import csv
import io
from typing import Any

BOM = "\ufeff"  # Excel and WPS read a CSV as UTF-8 only when it starts with this
HEADER = ["类别", "对象", "指标", "数值"]
SECTIONS = {"unit": "单位", "officer": "人员", "device": "记录仪", "day": "日期",
            "article": "违反条款", "pending": "待办", "total": "合计"}  # fmt: skip
METRICS = {
    "recordings": "录制件数", "hours": "时长（小时）", "late_uploads": "逾期存储件数",
    "clock_skew": "时钟偏差件数", "devices": "登记记录仪台数", "devices_unregistered": "未登记记录仪台数", "devices_in_fault": "期间故障台数",
    "cases_opened": "立案数", "cases_open": "办理中案件数",
    "cases_with_violations": "有违反的案件数", "officers": "使用人数", "unit": "所属单位",
    "fault_in_period": "期间故障", "registered": "已登记", "cases_with_violation": "违反案件数",
    "violations_by_article": "违反条款", "spotchecks": "抽查",
    "pending_items": "待办事项数", "fault": "故障情况", "due": "到期日", "title": "事项",
    "article_of": "条款", "pass": "合格", "minor": "基本合格", "fail": "不合格", "unchecked": "未检查",
}  # fmt: skip


def _metric(name: str) -> str:
    return "·".join(METRICS.get(part, part) for part in name.split("."))


def _value(value: Any) -> Any:
    return ("是" if value else "否") if isinstance(value, bool) else value


def to_csv(report: dict[str, Any]) -> str:
    """Every figure as one long table (类别, 对象, 指标, 数值), in Chinese, starting with a UTF-8
    BOM so that Excel and WPS open it as UTF-8."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)

    def row(section: str, key: Any, metric: str, value: Any) -> None:
        w.writerow([SECTIONS[section], key, _metric(metric), _value(value)])

    for u in report["units"]:
        for metric, value in u.items():
            if metric == "unit":
                continue
            if isinstance(value, dict):
                for k, v in value.items():
                    row("unit", u["unit"], f"{metric}.{k}", v)
            else:
                row("unit", u["unit"], metric, value)
    for section, key in (("officer", "officer"), ("device", "device"), ("day", "day")):
        rows = report[{"officer": "officers", "device": "devices", "day": "per_day"}[section]]
        for r in rows:
            for metric, value in r.items():
                if metric != key:
                    row(section, r[key], metric, value)
    for article, n in report["violations_by_article"].items():
        row("article", article, "cases_with_violation", n)
    for p in report.get("pending", []):
        key = f"{p['case']} {p['rule']}"
        row("pending", key, "title", p["title"])
        row("pending", key, "article_of", p["article"])
        row("pending", key, "due", p["due"] or "下一环节或结案前")
    for metric, value in report["totals"].items():
        row("total", "", metric, value)
    return BOM + buf.getvalue()


def to_html(report: dict[str, Any], number: str | None = None) -> str:
    from zfjl.reports.charts import charts
    from zfjl.reports.html import render_html

    return render_html(report, charts(report), number)

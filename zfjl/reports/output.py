"""A monthly report as a spreadsheet (CSV) or a web page (HTML with its charts); its PDF is
made by `zfjl.render.registers.report_pdf`."""

from __future__ import annotations

import csv
import io
from typing import Any


def to_csv(report: dict[str, Any]) -> str:
    """Every figure as one long table (section, key, metric, value): opens in any spreadsheet."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "key", "metric", "value"])
    for u in report["units"]:
        for metric, value in u.items():
            if metric == "unit":
                continue
            if isinstance(value, dict):
                for k, v in value.items():
                    w.writerow(["unit", u["unit"], f"{metric}.{k}", v])
            else:
                w.writerow(["unit", u["unit"], metric, value])
    for section, key in (("officer", "officer"), ("device", "device"), ("day", "day")):
        rows = report[{"officer": "officers", "device": "devices", "day": "per_day"}[section]]
        for r in rows:
            for metric, value in r.items():
                if metric != key:
                    w.writerow([section, r[key], metric, value])
    for article, n in report["violations_by_article"].items():
        w.writerow(["article", article, "cases_with_violation", n])
    for metric, value in report["totals"].items():
        w.writerow(["total", "", metric, value])
    return buf.getvalue()


def to_html(report: dict[str, Any]) -> str:
    from zfjl.reports.charts import charts
    from zfjl.reports.html import render_html

    return render_html(report, charts(report))

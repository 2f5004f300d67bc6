"""The monthly report as a person opens it (issue 13): the CSV in Chinese with a BOM for
Excel/WPS, a daily chart with every day of the month, count axes in whole numbers from zero
(also for an empty month), table headers never broken per character, a 文号 and a 落款."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from zfjl.render import report_pdf
from zfjl.render.templates import builtin_template_dirs
from zfjl.reports import charts as charts_module
from zfjl.reports import to_csv


def make_report(per_day: list[dict[str, Any]], late: int = 0, articles: dict[str, int] | None = None,
                period: str = "2024-02") -> dict[str, Any]:  # fmt: skip
    """A report as build_report gives it, made by hand (no vault): one unit, one officer,
    one device; recordings on the days given only."""
    n = sum(d["recordings"] for d in per_day)
    hours = round(sum(d["hours"] for d in per_day), 2)
    figures = {"recordings": n, "hours": hours, "late_uploads": late, "clock_skew": 0}
    unit = {"unit": "第一中队", **figures, "devices": 1, "devices_in_fault": 0, "cases_opened": 0,
            "cases_open": 0, "cases_with_violations": 0, "violations_by_article": {},
            "spotchecks": {"pass": 1}}  # fmt: skip
    year, month = map(int, period.split("-"))
    return {
        "bureau": "某市某局", "period": period, "unit": None, "from": f"{period}-01",
        "to": f"{year + month // 12}-{month % 12 + 1:02d}-01", "checked_as_of": f"{period}-28",
        "generated_at": "2024-03-05T09:00:00+08:00",
        "totals": {k: unit[k] for k in ("recordings", "hours", "late_uploads", "clock_skew",
                   "devices", "devices_in_fault", "cases_opened", "cases_open",
                   "cases_with_violations")},
        "units": [unit], "officers": [{"officer": "012345", "unit": "第一中队", **figures}],
        "devices": [{"device": "DSJ01", "unit": "第一中队", **figures, "officers": 1,
                     "fault_in_period": False, "registered": True}],
        "per_day": per_day, "faulty_devices": {}, "violations_by_article": articles or {},
    }  # fmt: skip


SPARSE = [{"day": "2024-02-03", "hours": 1.5, "recordings": 3},
          {"day": "2024-02-20", "hours": 0.25, "recordings": 1}]  # fmt: skip


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The matplotlib figures the charts draw, kept open to be inspected."""
    drawn: list[Any] = []
    real = charts_module._svg

    def keep(fig: Any) -> str:
        drawn.append(fig)
        return real(fig)

    monkeypatch.setattr(charts_module, "_svg", keep)
    return drawn


def test_the_daily_chart_has_every_day_of_the_month(figures: list[Any]) -> None:
    charts_module.hours_per_day(make_report(SPARSE))
    (ax,) = figures[0].axes
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [str(d) for d in range(1, 30)]  # February 2024: 29 days
    heights = [bar.get_height() for bar in ax.patches]
    assert len(heights) == 29 and heights[2] == 1.5 and heights[19] == 0.25
    assert sum(1 for h in heights if h == 0) == 27


@pytest.mark.parametrize("late, articles", [(0, {}), (7, {"第三十七条": 3, "第十五条": 1})])
def test_count_axes_are_whole_numbers_from_zero(
    figures: list[Any], late: int, articles: dict[str, int]
) -> None:
    per_day = SPARSE if late else []
    report = make_report(per_day, late, articles)
    charts_module.charts(report)
    hours_ax, late_ax, article_ax = (fig.axes[0] for fig in figures)
    assert hours_ax.get_ylim()[0] == 0 and hours_ax.get_ylim()[1] > 0
    for ax in (late_ax, article_ax):
        low, high = ax.get_xlim()
        assert low == 0 and high >= 1
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert ticks and all(float(t).is_integer() and t >= 0 for t in ticks), ticks


def test_an_empty_month_says_so_on_its_charts(figures: list[Any]) -> None:
    charts_module.charts(make_report([]))
    for fig in figures:
        assert "本期无数据" in [t.get_text() for t in fig.axes[0].texts]


def test_csv_has_a_bom_and_chinese_columns(tmp_path: Path) -> None:
    text = to_csv(make_report(SPARSE, 2, {"第三十七条": 3}))
    assert text.startswith("\ufeff")
    path = tmp_path / "r.csv"
    path.write_bytes(text.encode("utf-8"))  # as `zfjl report -o r.csv` writes it
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["类别", "对象", "指标", "数值"]
    assert {r[0] for r in rows[1:]} == {"单位", "人员", "记录仪", "日期", "违反条款", "合计"}
    assert ["合计", "", "逾期存储件数", "2"] in rows and ["违反条款", "第三十七条", "违反案件数", "3"] in rows
    assert not [r for r in rows[1:] if re.search(r"[A-Za-z_]{3,}", r[2])], "metrics in Chinese"


def test_report_pdf_headers_are_whole_and_it_has_a_number_and_a_closing(tmp_path: Path) -> None:
    report = make_report(SPARSE, 2, {"第三十七条": 3})
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(report_pdf(report, charts_module.charts(report), builtin_template_dirs(),
                               bureau="某市某局", number="某城管通〔2024〕3号"))  # fmt: skip
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    lines = [re.sub(r"\s+", "", line) for line in out.splitlines() if line.strip()]
    assert "某城管通〔2024〕3号" in lines
    for start, header in (("二、各单位情况", ["单位件数时长逾期时钟登记故障立案有违反抽查",
                                              "（小时）存储偏差记录仪案件结果"]),
                          ("五、各执法人员", ["人员单位件数时长逾期时钟", "（小时）存储偏差"]),
                          ("六、各记录仪", ["设备单位件数时长逾期时钟使用期间",
                                            "（小时）存储偏差人数故障"])):  # fmt: skip
        at = lines.index(start)
        assert lines[at + 1 : at + 3] == header, lines[at + 1 : at + 3]
    assert lines[-3:-1] == ["某市某局（印章）", "2024年3月5日"]
    unnumbered = tmp_path / "u.pdf"
    unnumbered.write_bytes(report_pdf(report, charts_module.charts(report),
                                      builtin_template_dirs(), bureau="某市某局"))  # fmt: skip
    text = subprocess.run(["pdftotext", str(unnumbered), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    assert "文号：" in text  # a line to write the number on


def test_report_reads_as_a_bureau_notice_not_a_program(tmp_path: Path) -> None:
    """One title; the month as 2024年2月 and its days as 2024年2月1日至2月29日 (no 不含, no
    ISO dates); spot checks by name, never 1/0/0/0."""
    from zfjl.reports import to_html
    from zfjl.reports.wording import TITLE

    report = make_report(SPARSE, 2, {"第三十七条": 3})
    html = to_html(report)
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(report_pdf(report, charts_module.charts(report), builtin_template_dirs(),
                               bureau="某市某局"))  # fmt: skip
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    flat = re.sub(r"\s+", "", text)
    for shown in (re.sub(r"<[^>]+>", "", html), flat):
        assert "2024年2月1日至2月29日" in shown and "（2024年2月）" in shown
        assert "不含" not in shown and "2024-02" not in shown
        assert "合格1件" in re.sub(r"\s+", "", shown)
        assert not re.search(r"\d/\d/\d/\d", shown)
    assert html.count(TITLE) >= 2 and "执法记录设备使用与执法情况通报" not in html
    assert TITLE in flat and "执法记录设备使用与执法情况通报" not in flat

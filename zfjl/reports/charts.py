"""The report's charts, drawn by matplotlib as SVG (glyphs as paths: they look the same in any
browser and in the PDF, with no font needed where they are shown)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from typing import Any

from zfjl.dates import chinese_month

CJK_FAMILIES = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Serif CJK SC", "Source Han Sans SC",
                "WenQuanYi Zen Hei", "SimHei"]  # fmt: skip


@cache
def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    installed = {f.name for f in font_manager.fontManager.ttflist}
    matplotlib.rcParams.update({
        "font.family": "sans-serif",
        "font.sans-serif": [f for f in CJK_FAMILIES if f in installed] + ["DejaVu Sans"],
        "axes.unicode_minus": False,
        "svg.fonttype": "path",
        "svg.hashsalt": "zfjl",  # stable ids: the same figures give the same bytes
        "figure.dpi": 100,
    })  # fmt: skip
    return plt


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]  # no XML prolog: the SVG goes inline into HTML and Typst


def every_day(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per day of the period [from, to), days without recordings as zeros."""
    import datetime as dt

    known = {d["day"]: d for d in report["per_day"]}
    day, end = dt.date.fromisoformat(report["from"]), dt.date.fromisoformat(report["to"])
    rows = []
    while day < end:
        iso = day.isoformat()
        rows.append(known.get(iso) or {"day": iso, "hours": 0.0, "recordings": 0})
        day += dt.timedelta(days=1)
    return rows


def _empty_note(ax: Any, values: Sequence[float]) -> None:
    if not any(values):
        ax.text(0.5, 0.5, "本期无数据", transform=ax.transAxes, ha="center", va="center",
                color="#777777", fontsize=12)  # fmt: skip


def hours_per_day(report: dict[str, Any]) -> str:
    plt = _pyplot()
    rows = every_day(report)
    days = [str(int(d["day"][8:])) for d in rows]
    hours = [d["hours"] or 0.0 for d in rows]
    fig, ax = plt.subplots(figsize=(9, 3.2))
    ax.bar(days, hours, color="#2f6ea3")
    ax.set_title(f"{chinese_month(report['period'])}每日录制时长（小时）")
    ax.set_xlabel("日")
    ax.set_ylabel("小时")
    ax.set_xlim(-0.6, len(days) - 0.4)
    ax.set_ylim(0, max(max(hours, default=0) * 1.1, 1))
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="y", alpha=0.3)
    _empty_note(ax, hours)
    return _svg(fig)


def _count_bars(title: str, xlabel: str, labels: list[str], values: Sequence[float],
                color: str) -> str:  # fmt: skip
    """Horizontal bars of counts: integer ticks, an axis from 0 (at least 0–1 when empty)."""
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 0.4 * max(len(labels), 3) + 1))
    if labels:
        ax.barh(labels, values, color=color)
        ax.invert_yaxis()
    else:
        ax.set_yticks([])
    ax.set_xlim(0, max(max(values, default=0) * 1.1, 1))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    _empty_note(ax, values)
    return _svg(fig)


def late_per_unit(report: dict[str, Any]) -> str:
    units = report["units"]
    return _count_bars("各单位逾期存储（第三十七条）件数", "件", [u["unit"] for u in units],
                       [u["late_uploads"] or 0 for u in units], "#c0504d")  # fmt: skip


def violations_per_article(report: dict[str, Any]) -> str:
    items = list(report["violations_by_article"].items())[:15]
    return _count_bars("案件违反条款（案件数，前 15 条）", "案件数", [a for a, _ in items],
                       [n for _, n in items], "#9b6a2f")  # fmt: skip


def charts(report: dict[str, Any]) -> dict[str, str]:
    return {
        "hours_per_day": hours_per_day(report),
        "late_per_unit": late_per_unit(report),
        "violations_per_article": violations_per_article(report),
    }

"""The report's charts, drawn by matplotlib as SVG (glyphs as paths: they look the same in any
browser and in the PDF, with no font needed where they are shown)."""

from __future__ import annotations

import io
from functools import cache
from typing import Any

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


def hours_per_day(report: dict[str, Any]) -> str:
    plt = _pyplot()
    days = [d["day"][5:] for d in report["per_day"]]
    fig, ax = plt.subplots(figsize=(9, 3.2))
    ax.bar(days, [d["hours"] for d in report["per_day"]], color="#2f6ea3")
    ax.set_title(f"{report['period']} 每日录制时长（小时）")
    ax.set_ylabel("小时")
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    ax.grid(axis="y", alpha=0.3)
    return _svg(fig)


def late_per_unit(report: dict[str, Any]) -> str:
    plt = _pyplot()
    units = report["units"]
    fig, ax = plt.subplots(figsize=(9, 0.4 * max(len(units), 3) + 1))
    ax.barh([u["unit"] for u in units], [u["late_uploads"] for u in units], color="#c0504d")
    ax.invert_yaxis()
    ax.set_title("各单位逾期存储（第三十七条）件数")
    ax.set_xlabel("件")
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def violations_per_article(report: dict[str, Any]) -> str:
    plt = _pyplot()
    items = list(report["violations_by_article"].items())[:15]
    fig, ax = plt.subplots(figsize=(9, 0.4 * max(len(items), 3) + 1))
    ax.barh([a for a, _ in items], [n for _, n in items], color="#9b6a2f")
    ax.invert_yaxis()
    ax.set_title("案件违反条款（案件数，前 15 条）")
    ax.set_xlabel("案件数")
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def charts(report: dict[str, Any]) -> dict[str, str]:
    return {
        "hours_per_day": hours_per_day(report),
        "late_per_unit": late_per_unit(report),
        "violations_per_article": violations_per_article(report),
    }

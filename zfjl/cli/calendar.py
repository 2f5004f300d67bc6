"""zfjl calendar add|ls: the State Council's public holidays (and make-up working days)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zfjl.cli.common import JsonOpt, open_vault
from zfjl.cli.output import emit, out

app = typer.Typer(
    name="calendar", help="工作日历：国务院节假日安排（含调休上班日）。", no_args_is_help=True,
    epilog="示例：\n  zfjl calendar ls",
)


@app.command(
    "add", help="录入一年的国务院节假日安排（YAML，格式见 docs/calendar.md）。",
    epilog="示例：\n  zfjl calendar add 2025年节假日.yaml",
)
def calendar_add_cmd(
    file: Annotated[
        Path, typer.Argument(help="节假日安排文件。", metavar="文件")
    ],
    as_json: JsonOpt = False
) -> None:
    from zfjl.workdays import add_notice

    payload = add_notice(open_vault(), file)
    emit(payload, as_json, f"已录入 {payload['year']} 年节假日安排：{payload['notice']}"
                           f"（{len(payload['days'])} 天）")  # fmt: skip


@app.command(
    "ls", help="列出工作日历覆盖的年份及来源。",
    epilog="示例：\n  zfjl calendar ls",
)
def calendar_ls_cmd(as_json: JsonOpt = False) -> None:
    from zfjl.workdays import load_calendar

    sources = load_calendar(open_vault()).sources()
    emit([{"year": s.year, "source": s.source} for s in sources], as_json, _print_sources)


def _print_sources(sources: list[dict[str, Any]]) -> None:
    for s in sources:
        source = s["source"]
        if source.startswith("chinese_calendar"):  # the package's data, not a notice entered
            source = f"内置节假日数据（{source}）"
        out.print(f"{s['year']} 年  {source}", markup=False)
    out.print("未列出的年份：无法判断工作日（相关期限报告为“无法判断”）")

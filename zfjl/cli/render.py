"""zfjl render: the enforcement documents as PDF/A (A4, for print) or an HTML preview."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zfjl.cli.common import ForceOpt, JsonOpt, open_vault
from zfjl.cli.output import emit, out

app = typer.Typer()


@app.command(
    "render", help="制作执法文书（PDF/A，A4 印刷版；或 HTML 预览）。",
    epilog="示例：\n"
    "  zfjl render CASE-2024-031 -o 文书/\n"
    "  zfjl render CASE-2024-031 送达回证 --format html",
)
def render_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。", metavar="案件编号")],
    doctype: Annotated[
        str | None,
        typer.Argument(
            help="文书类型（如 行政处罚决定书、送达回证、案卷封面）；省略则制作全部。",
            metavar="文书类型",
        ),
    ] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="输出目录。")] = Path("."),
    fmt: Annotated[str, typer.Option("--format", help="pdf / html / both。")] = "pdf",
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.errors import UsageError
    from zfjl.render import render_case

    formats = {"pdf": ("pdf",), "html": ("html",), "both": ("pdf", "html")}.get(fmt)
    if formats is None:
        raise UsageError("--format 只能是 pdf、html 或 both")
    result = render_case(open_vault(), case, output, doctype=doctype, formats=formats,
                         force=force)
    emit(result, as_json, _print_result)


def _print_result(result: Any) -> None:
    for p in result:
        out.print(str(p), markup=False)
    for s in result.skipped:
        out.print(f"⚠ 未制作：{s.document or s.type} {s.type}（{s.detail}）", markup=False)
    out.print(f"已制作 {len(result)} 个文件")

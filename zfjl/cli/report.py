"""zfjl report: the monthly report on how footage is recorded and used (art. 54)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zfjl.cli.common import ForceOpt, JsonOpt, month_option, open_vault
from zfjl.cli.output import emit, out

app = typer.Typer()


@app.command(
    "report",
    help="执法记录使用情况通报（第五十四条，按月）：-o 文件.html|.pdf|.csv；--json 输出全部数字。",
    epilog="示例：\n  zfjl report --period 2024-05 -o 通报-2024-05.pdf",
)
def report_cmd(
    period: Annotated[str, typer.Option(help="月份，如 2024-05。")],
    unit: Annotated[str | None, typer.Option(help="只统计此单位。")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="输出文件：.html、.pdf 或 .csv。")
    ] = None,
    number: Annotated[str | None, typer.Option("--number", help="通报文号，如 某城管通〔2024〕3号。")] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import reports, userfs
    from zfjl.errors import UsageError
    from zfjl.outputs import claim

    vault = open_vault()
    if output is not None and output.suffix.lower() not in (".html", ".pdf", ".csv"):
        raise UsageError("-o 须以 .html、.pdf 或 .csv 结尾")
    if output is not None:
        claim([output], force)
    r = reports.build_report(vault, month_option(period) or period, unit)
    if number:
        r["number"] = number
    if output is not None:
        kind = output.suffix.lower()
        if kind == ".pdf":
            from zfjl.render import report_pdf, vault_template_dirs
            from zfjl.reports.charts import charts

            data = report_pdf(r, charts(r), vault_template_dirs(vault), bureau=vault.config.bureau,
                              number=number)
        else:
            data = (reports.to_html(r, number) if kind == ".html" else reports.to_csv(r)).encode("utf-8")
        userfs.current().write_bytes(output, data)
    emit(r, as_json, lambda r: _print_report(r, output))


def _print_report(r: dict[str, Any], output: Path | None) -> None:
    from zfjl.reports.wording import TITLE, period_words, summary

    out.print(f"{TITLE}（{period_words(r)}）：{summary(r)}", markup=False)
    if output is not None:
        out.print(f"已写入 {output}", markup=False)

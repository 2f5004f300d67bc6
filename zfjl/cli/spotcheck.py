"""zfjl spotcheck draw|record|ledger: random spot checks and their ledger (art. 53)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zfjl.cli.common import ForceOpt, JsonOpt, month_option, open_vault
from zfjl.cli.output import emit, out

app = typer.Typer(
    name="spotcheck",
    help="抽查（第五十三条）：随机抽取、逐项检查、检查台帐。",
    no_args_is_help=True,
    epilog="示例：\n  zfjl spotcheck ledger",
)


def _print_spot_item(i: dict[str, Any]) -> None:
    from zfjl.cli import display as d
    from zfjl.cli.tables import para
    from zfjl.spotcheck import RESULTS

    recording = i["kind"] == "recording"
    what = (f"{i.get('device') or '-'} {i.get('officer') or '-'} {d.when(i.get('recorded_at'))}"
            if recording else f"{i.get('cause', '')} {i.get('party', '')}")  # fmt: skip
    res = RESULTS.get(i.get("result") or "", "未检查")
    shown = d.short_id(i["id"]) if recording else i["id"]
    out.print(f"{'音像' if recording else '案卷'}　{shown}　{d.safe(what)}　{res}", markup=False)
    para("检查项：", "；".join(f"{k} {v}" for k, v in i["checklist"].items()), indent=4)


@app.command(
    "draw", help="随机抽取一个单位某月的音像记录和案卷（同一 seed 抽到相同结果，记入日志）。",
    epilog="示例：\n  zfjl spotcheck draw --unit 天元大队 --period 2024-05 --n 10",
)
def spotcheck_draw_cmd(
    unit: Annotated[str, typer.Option(help="被抽查单位（记录仪登记的所属单位）。")],
    period: Annotated[str, typer.Option(help="月份，如 2024-05。")],
    n: Annotated[int, typer.Option("--n", help="音像记录、案卷各抽几件。")] = 10,
    seed: Annotated[str | None, typer.Option(help="随机种子（默认随机生成并记入日志）。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import spotcheck

    period = month_option(period) or period
    d = spotcheck.draw(open_vault(), unit, period, n, seed)
    emit(d, as_json, lambda d: _print_draw(d, unit, period))


def _print_draw(d: dict[str, Any], unit: str, period: str) -> None:
    p = d["population"]
    from zfjl.dates import chinese_month

    out.print(f"抽查批次 {d['draw']}：{unit} {chinese_month(period)}，种子 {d['seed']}；"
              f"从 {p['recordings']} 件音像记录、{p['cases']} 件案卷中抽取 {len(d['items'])} 件", markup=False)  # fmt: skip
    for i in d["items"]:
        _print_spot_item(i)


@app.command(
    "record", help="登记一件抽查结果：--result pass|minor|fail（合格/基本合格/不合格）。",
    epilog="示例：\n  zfjl spotcheck record 0ad1e9f62b22 --result minor --fail notice",
)
def spotcheck_record_cmd(
    item: Annotated[
        str, typer.Argument(help="抽中的记录编号（前缀）或案件编号。", metavar="抽查项")
    ],
    result: Annotated[str, typer.Option(help="pass 合格 / minor 基本合格 / fail 不合格。")],
    fail: Annotated[
        str | None, typer.Option("--fail", help="有问题的检查项，逗号分隔（如 notice,civility）。")
    ] = None,
    note: Annotated[str | None, typer.Option(help="说明。")] = None,
    draw: Annotated[
        str | None, typer.Option(help="抽查批次（默认最近一次抽中该项的批次）。")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import spotcheck

    failed = [f.strip() for f in fail.split(",") if f.strip()] if fail else None
    i = spotcheck.record(open_vault(), item, result, draw_id=draw, failed=failed, note=note)
    emit(i, as_json, _print_spot_item)


@app.command(
    "ledger", help="检查台帐：表格、JSON，或 --pdf 另存。",
    epilog="示例：\n  zfjl spotcheck ledger --period 2024-05 --pdf 检查台帐.pdf",
)
def spotcheck_ledger_cmd(
    unit: Annotated[str | None, typer.Option(help="单位。")] = None,
    period: Annotated[str | None, typer.Option(help="月份。")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="另存为 PDF。")] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import spotcheck
    from zfjl.outputs import claim

    if pdf is not None:
        claim([pdf], force)
    vault = open_vault()
    period = month_option(period)
    rows = spotcheck.ledger(vault, unit, period)
    if pdf is not None:
        from zfjl import userfs
        from zfjl.render import spotcheck_ledger_pdf, vault_template_dirs

        data = spotcheck_ledger_pdf(rows, vault_template_dirs(vault), bureau=vault.config.bureau,
                                    unit=unit, period=period, printed_at=vault.now_iso())  # fmt: skip
        userfs.current().write_bytes(pdf, data)
    emit(rows, as_json, _print_ledger)


def _print_ledger(rows: list[dict[str, Any]]) -> None:
    from zfjl.cli import display as d
    from zfjl.cli.tables import key, table, text

    grid = table(key("批次"), key("类别"), key("编号"), text("设备/人员/案由", ratio=2),
                 key("结果"), text("问题", ratio=2), text("检查人", ratio=1))  # fmt: skip
    for r in rows:
        recording = r["item_kind"] == "recording"
        what = " ".join(x for x in (r["device"], r["officer"]) if x) if recording else r["cause"]
        grid.add_row(r["draw"], "音像" if recording else "案卷",
                     d.short_id(r["item"]) if recording else r["item"], d.safe(what or ""),
                     r["result_text"], d.safe(r["failed_text"]), d.safe(r["checker"] or ""))  # fmt: skip
    out.print(grid)

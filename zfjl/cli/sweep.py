"""zfjl sweep: destroy routine footage whose keeping period is over (art. 42), with approval."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from zfjl.cli.common import ForceOpt, JsonOpt, open_vault, parse_day
from zfjl.cli.output import emit, out

app = typer.Typer()


@app.command("sweep", help="按保存期限清理（第四十二条）：默认只列出到期的日常巡查资料（拟销毁清册）；"
             "--execute 且有批准文号时才销毁。供 cron 使用：无事可做时不输出。",
    epilog="示例：\n"
    "  zfjl sweep --as-of 2025-12-31 --pdf 拟销毁清册.pdf\n"
    "  zfjl sweep --execute --approval-no 城管〔2024〕12号",
)  # fmt: skip
def sweep_cmd(
    execute: Annotated[bool, typer.Option("--execute", help="执行销毁（须有批准）。")] = False,
    approval_no: Annotated[
        str | None, typer.Option("--approval-no", help="销毁的批准文号。")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="按此日期计算到期（默认今天；仅限预览）。")
    ] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="另存清册为 PDF。")] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.errors import UsageError
    from zfjl.outputs import claim
    from zfjl.retention import sweep

    if pdf is not None:
        claim([pdf], force)
    vault = open_vault()
    day = parse_day(as_of)
    when = None
    if day is not None:
        if execute:
            raise UsageError("--as-of 只用于预览：执行销毁一律按今天计算")
        when = dt.datetime.combine(day, dt.time(23, 59, 59), vault.config.tz)
    result = sweep.destroy_due(vault, approval_no) if execute else sweep.plan(vault, when)
    if pdf is not None:  # with nothing due too: a register reading 无 is what an archive files
        from zfjl import userfs
        from zfjl.render import sweep_register_pdf, vault_template_dirs

        register = sweep_register_pdf(
            result.as_dict(), vault_template_dirs(vault), bureau=vault.config.bureau
        )
        userfs.current().write_bytes(pdf, register)
    emit(result, as_json, lambda r: _print_sweep(r, executing=execute, pdf=pdf))


def _print_sweep(result: Any, executing: bool, pdf: Path | None = None) -> None:
    if pdf is not None:
        out.print(f"已写入清册 {pdf}" + ("（无到期资料，清册写“无”）" if not result.due else ""),
                  markup=False)  # fmt: skip
    store = result.store
    if store is not None and store.message:  # pending for a person: said even when quiet
        from zfjl.cli.output import note

        note(store.message)
    acted = store is not None and (store.deleted or store.absent)
    if executing and not result.due and not result.finished_pending and not acted:
        return  # quiet for cron (unless a register was asked for, above)
    from zfjl.cli import display as d
    from zfjl.cli.tables import para

    title = "已销毁" if result.executed else "到期（拟销毁）"
    for i in result.due:
        para(f"{d.short_id(i.id)}　", f"{d.safe(i.device or '-')}　{d.safe(i.officer or '-')}　"
             f"{d.when(i.recorded_at)}　{d.size(i.size)}　{i.why}", indent=0)  # fmt: skip
    mb = sum(i.size for i in result.due) / 1e6
    out.print(f"{title}：{len(result.due)} 件，{mb:.1f} MB" +
              (f"（批准文号 {result.approval}，清理编号 {result.sweep}）" if result.executed and result.due else ""))  # fmt: skip
    if result.finished_pending:
        out.print(f"已完成上次中断的销毁：{result.finished_pending} 件")
    if store is not None and (acted or store.not_lapsed):
        out.print(f"局端存储：已删除到期版本 {store.deleted + store.absent} 个" +
                  (f"，{len(store.not_lapsed)} 个保存期限未届满或法律封存中，届满后清理时删除"
                   if store.not_lapsed else ""))  # fmt: skip
    kept = "，".join(f"{result.classes[c].name} {n}" for c, n in sorted(result.kept.items()))
    out.print(f"保留：未到期日常巡查 {result.not_yet_due}" + (f"，{kept}" if kept else ""))

"""Using the footage under an approval: zfjl view, export, and the custody log (zfjl log)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zfjl.cli.common import ForceOpt, JsonOpt, open_vault
from zfjl.cli.output import emit, err, out

app = typer.Typer()


@app.command(
    "view",
    help="查阅一条记录（须有查阅批准，每次查阅记入日志）：给出只读副本的路径，或用 --open 打开。",
    epilog="示例：\n  zfjl view 0ad1e9f62b22 --purpose 复核 --open",
)
def view_cmd(
    recording: Annotated[str, typer.Argument(help="记录编号（前缀）。", metavar="记录编号")],
    purpose: Annotated[str | None, typer.Option(help="查阅用途。")] = None,
    open_it: Annotated[bool, typer.Option("--open", help="用系统播放器打开。")] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import access

    result = access.view(open_vault(), recording, purpose)
    emit(result, as_json, lambda r: out.print(str(r.path), markup=False))
    if open_it:
        import shutil
        import subprocess

        opener = shutil.which("xdg-open")
        if opener is None:
            err.print("未找到 xdg-open：请用播放器打开上面的文件")
        else:
            subprocess.Popen(
                [opener, str(result.path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )


@app.command(
    "export", help="复制记录到目录（须有复制批准，第四十四条；逐件记入日志，附 SHA256SUMS）。",
    epilog="示例：\n  zfjl export 0ad1e9f62b22 175955ac0e5a -o /media/U盘/复制件",
)
def export_cmd(
    recordings: Annotated[
        list[str], typer.Argument(help="记录编号（前缀），可多个。", metavar="记录编号…")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出目录。")],
    purpose: Annotated[str | None, typer.Option(help="用途。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import access

    emit(access.export(open_vault(), recordings, output, purpose), as_json, _print_export)


def _print_export(report: Any) -> None:
    for f in report.files:
        out.print(f"{f['path']}　SHA-256 {f['sha256']}（依据 {f['grant']}）", markup=False)
    out.print(
        f"已复制 {len(report.files)} 件到 {report.dest}（校验：cd 该目录 && sha256sum -c SHA256SUMS）"
    )


@app.command(
    "log", help="保管日志（证据保管链）：入库、关联、查阅、复制、打包、长期保存、销毁，谁在何时。",
    epilog="示例：\n  zfjl log CASE-2024-031\n  zfjl log 0ad1e9f62b22 --pdf 保管日志.pdf",
)
def log_cmd(
    target: Annotated[
        str, typer.Argument(help="案件编号或记录编号（前缀）。", metavar="记录或案件")
    ],
    pdf: Annotated[Path | None, typer.Option("--pdf", help="另存为 PDF（供法院）。")] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import access
    from zfjl.vault.settings import user_names

    vault = open_vault()
    if pdf is not None:
        from zfjl.outputs import claim

        claim([pdf], force)
    log = access.custody_log(vault, target)
    if pdf is not None:
        from zfjl import userfs
        from zfjl.render import custody_log_pdf, vault_template_dirs

        data = custody_log_pdf(log.as_dict(), vault_template_dirs(vault), bureau=vault.config.bureau,
                               printed_at=vault.now_iso(), names=user_names(vault))  # fmt: skip
        userfs.current().write_bytes(pdf, data)
    emit(log, as_json, lambda log: _print_log(log, user_names(vault)))


def _print_log(log: Any, names: dict[str, str]) -> None:
    from zfjl.cli import display as d
    from zfjl.cli.tables import key, table, text

    grid = table(key("序号"), key("时间"), key("操作人"), text("事项", ratio=2),
                 text("内容", ratio=4))  # fmt: skip
    for e in log.entries:
        grid.add_row(str(e["seq"]), d.when(e["at"], seconds=True), d.actor(e["actor"], names, cell=True),
                     e["what"], d.safe(e["detail"]))  # fmt: skip
    out.print(grid)

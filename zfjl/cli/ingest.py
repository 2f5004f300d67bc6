"""zfjl ingest: store every file of a camera card, with a progress bar on a terminal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zfjl.cli.common import JsonOpt, open_vault
from zfjl.cli.output import emit, err, out

if TYPE_CHECKING:
    from zfjl.ingest import IngestReport
    from zfjl.ingest import Progress as IngestProgress

app = typer.Typer()


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from rich.progress import (  # here, not at start-up: only a terminal ingest draws it
        BarColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from zfjl.cli import display

    bar = Progress(
        TextColumn("入库"),
        BarColumn(bar_width=20),
        TextColumn("{task.fields[files]}"),
        TextColumn("{task.fields[size]}"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}", markup=False),
        console=err,
        transient=True,
    )
    with bar:
        # Until the first file is stored the card is being scanned: no totals yet.
        task = bar.add_task("ingest", total=None, files="正在扫描存储卡…", size="", current="")

        def update(p: IngestProgress) -> None:
            current = display.safe(p.current)
            if len(current) > 28:  # the tail of a long path: the file's own name
                current = "…" + current[-27:]
            bar.update(
                task,
                total=p.bytes_total,
                completed=p.bytes_done,
                files=f"{p.files_done}/{p.files_total} 个文件",
                size=f"{p.bytes_done / 1e6:.1f}/{p.bytes_total / 1e6:.1f} MB",
                current=current,
            )

        yield update


@app.command("ingest", help="把记录仪存储卡（或导出目录）中的全部文件存入保管库。")
def ingest_cmd(
    # str, not Path: Path("") is "." and would ingest (and with --clear-source empty) the
    # current folder; the library refuses an empty source as a usage error.
    source: Annotated[str, typer.Argument(help="记录仪挂载目录，如 /media/DSJ01。")],
    device: Annotated[
        str | None, typer.Option(help="文件名与元数据未载明时使用的记录仪编号。")
    ] = None,
    officer: Annotated[str | None, typer.Option(help="文件名未载明时使用的执法人员编号。")] = None,
    clear_source: Annotated[
        bool, typer.Option("--clear-source", help="入库并回读校验一致后删除源文件（默认不删）。")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.ingest import IngestOptions, ingest

    vault = open_vault()
    options = IngestOptions(device=device, officer=officer, clear_source=clear_source)
    with _progress_bar(not as_json and err.is_terminal) as update:
        report = ingest(vault, source, options, progress=update)
    emit(report, as_json, _print_ingest)
    if report.failed:
        raise typer.Exit(1)


def _print_ingest(report: IngestReport) -> None:
    from zfjl.cli.display import markup_safe

    s = report.summary()
    for f in report.files:
        if f.status in ("failed", "skipped"):
            out.print(f"[red]✘[/] {markup_safe(f.path)}：{markup_safe(f.reason)}")
        for w in f.warnings:
            out.print(f"[yellow]⚠[/] {markup_safe(f.path)}：{markup_safe(w['message'])}")
    if s["unregistered_devices"]:
        out.print(f"[yellow]⚠[/] 未登记的记录仪：{'、'.join(markup_safe(x) for x in s['unregistered_devices'])}"
                  "（已记为“未登记”，请用 zfjl device add 补登，第四十八条）")  # fmt: skip
    speed = f"，{s['mb_per_s']} MB/s" if s["mb_per_s"] else ""
    out.print(
        f"入库完成：共 {s['files']} 个文件，新入库 {s['new']}，已存在 {s['already_stored']}，"
        f"失败 {s['failed']}，跳过 {s['skipped']}；逾期存储 {s['late']}，"
        f"无法判断逾期 {s['late_unknown']}，时钟偏差 {s['clock_skew']}，告警 {s['warnings']}"
        + (f"，故障或报废设备录制 {s['device_fault']}" if s["device_fault"] else "")
        + (f"，已清除源文件 {s['cleared']}" if s["cleared"] else "")
        + f"（{s['bytes'] / 1e6:.1f} MB，{s['seconds']:.1f} 秒{speed}）"
    )

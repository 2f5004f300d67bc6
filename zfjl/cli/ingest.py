"""zfjl ingest: store every file of camera cards (several at once, one progress line each);
zfjl seal: the digests behind it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zfjl.cli.common import JsonOpt, open_vault
from zfjl.cli.output import emit, err, note, out

if TYPE_CHECKING:
    from zfjl.ingest import IngestReport
    from zfjl.ingest import Progress as IngestProgress
    from zfjl.ingest.describe import FinishReport
    from zfjl.ingest.station import SourceOutcome
    from zfjl.vault.seal import SealReport

app = typer.Typer()


@contextmanager
def _progress_bars(sources: list[str], enabled: bool, sealing: bool) -> Iterator[Any]:
    """One progress line per camera on a terminal; elsewhere (a pipe, a log) one plain line on
    stderr when each camera is stored — safe to unplug — and when the seal is done."""
    if not enabled:
        then = "正在封存摘要…" if sealing else "摘要由保管服务或 zfjl seal 封存"

        def plain(i: int, p: IngestProgress) -> None:
            if p.stage == "stored" and p.unstored:
                note(f"{sources[i]}：已安全存储 {p.files_total} 个文件（{p.bytes_total / 1e6:.1f} MB），"
                     f"另有 {p.unstored} 个条目未能入库（见下），请先不要拔下记录仪；{then}")  # fmt: skip
            elif p.stage == "stored":
                note(f"{sources[i]}：已安全存储 {p.files_total} 个文件（{p.bytes_total / 1e6:.1f} MB），"
                     f"可以拔下记录仪；{then}")  # fmt: skip
            elif p.stage == "queued":
                note(f"{sources[i]}：排队等候（同时入库的记录仪已达上限）")

        yield plain
        return
    from rich.progress import (  # here, not at start-up: only a terminal ingest draws it
        BarColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from zfjl.cli import display

    bar = Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(bar_width=20),
        TextColumn("{task.fields[files]}"),
        TextColumn("{task.fields[size]}"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}", markup=False),
        console=err,
        transient=False,
    )
    with bar:
        # Until a camera's first file is stored its card is being scanned: no totals yet.
        tasks = [
            bar.add_task(display.safe(src), total=None, files="等候…", size="", current="")
            for src in sources
        ]

        def update(i: int, p: IngestProgress) -> None:
            if p.stage == "queued":
                bar.update(tasks[i], files="排队等候")
            elif p.stage == "stored":
                files = (f"✘ 已存储 {p.files_total} 个文件，{p.unstored} 个未能入库，勿拔下"
                         if p.unstored else f"✔ 已安全存储 {p.files_total} 个文件，可拔下")  # fmt: skip
                bar.update(tasks[i], total=p.bytes_total or 1, completed=p.bytes_total or 1,
                           files=files, current="")  # fmt: skip
            elif p.stage == "described":
                bar.update(tasks[i], current="元数据已读取")
            elif p.stage == "store":
                current = display.safe(p.current)
                if len(current) > 28:  # the tail of a long path: the file's own name
                    current = "…" + current[-27:]
                files = (f"{p.files_done}/{p.files_total} 个文件" if p.files_total
                         else "正在扫描存储卡…")  # fmt: skip
                bar.update(tasks[i], total=p.bytes_total or None, completed=p.bytes_done,
                           files=files, size=display.size(p.bytes_done) if p.bytes_total else "",
                           current=current)  # fmt: skip

        yield update


@dataclass
class _Result:
    outcomes: list[SourceOutcome]
    seal: SealReport | None

    def as_dict(self) -> dict[str, Any]:
        seal = self.seal.as_dict() if self.seal else None
        if len(self.outcomes) == 1 and self.outcomes[0].report is not None:
            return {**self.outcomes[0].report.as_dict(), "seal": seal}  # one camera: as before
        return {
            "sources": [
                o.report.as_dict() if o.report else {"source": o.source, "error": o.error.message
                                                     if o.error else None}
                for o in self.outcomes
            ],
            "seal": seal,
        }  # fmt: skip


@app.command(
    "ingest", help="把记录仪存储卡（或导出目录）中的全部文件存入保管库；可一次给出多台记录仪。",
    epilog="示例：\n"
    "  zfjl ingest /media/DSJ01\n"
    "  zfjl ingest /media/U盘 --device DSJ05 --officer 010002",
)
def ingest_cmd(
    # str, not Path: Path("") is "." and would ingest (and with --clear-source empty) the
    # current folder; the library refuses an empty source as a usage error.
    sources: Annotated[
        list[str],
        typer.Argument(
            help="记录仪挂载目录，如 /media/DSJ01；多台同时入库（超过上限的排队）。",
            metavar="来源目录…",
        ),
    ],
    device: Annotated[
        str | None, typer.Option(help="文件名与元数据未载明时使用的记录仪编号。")
    ] = None,
    officer: Annotated[str | None, typer.Option(help="文件名未载明时使用的执法人员编号。")] = None,
    clear_source: Annotated[
        bool, typer.Option("--clear-source", help="入库并回读校验一致后删除源文件（默认不删）。")
    ] = False,
    no_seal: Annotated[
        bool,
        typer.Option("--no-seal", help="安全存储并读取元数据后即返回，SHA-256/SHA-512/SM3 由保管服务或 zfjl seal 封存。"),
    ] = False,
    workers: Annotated[
        int | None, typer.Option(min=1, help="同时入库的记录仪数上限（默认取设置 ingest.workers，即 4）。")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.ingest import IngestOptions
    from zfjl.ingest.station import ingest_sources

    vault = open_vault()
    options = IngestOptions(device=device, officer=officer, clear_source=clear_source,
                            seal=not no_seal)  # fmt: skip
    with _progress_bars(sources, not as_json and err.is_terminal, not no_seal) as update:
        outcomes, sealed = ingest_sources(
            vault, sources, options, progress=None if as_json else update, workers=workers
        )
    result = _Result(outcomes, sealed)
    emit(result, as_json, _print_result)
    if any(o.error or (o.report and o.report.unstored) for o in outcomes) or (
        sealed and sealed.problems
    ):
        raise typer.Exit(1)


@app.command(
    "seal", help="完成已安全存储的记录：读取尚未读取的元数据，计算并记录 SHA-256、SHA-512、SM3。",
    epilog="示例：\n  zfjl seal",
)
def seal_cmd(as_json: JsonOpt = False) -> None:
    from zfjl.ingest.describe import finish

    report = finish(open_vault())
    emit(report, as_json, _print_finish)
    if report.seal.problems:
        raise typer.Exit(1)


def _print_finish(report: FinishReport) -> None:
    if report.describe.described:
        out.print(f"读取元数据：{report.describe.described} 个对象（{report.describe.seconds:.1f} 秒）")
    _print_seal(report.seal)


def _print_seal(report: SealReport) -> None:
    for p in report.problems:
        out.print(f"[red]✘[/] {p.id[:16]}：无法封存（{p.code}：应为 {p.expected}，实为 {p.found}），"
                  "请运行 zfjl verify")  # fmt: skip
    out.print(f"封存完成：{report.sealed} 个对象（{report.bytes / 1e6:.1f} MB，{report.seconds:.1f} 秒）"
              + (f"，{len(report.problems)} 个无法封存" if report.problems else ""))  # fmt: skip


def _print_result(result: _Result) -> None:
    from zfjl.cli.display import markup_safe, message

    for o in result.outcomes:
        if len(result.outcomes) > 1:
            out.print(f"── {markup_safe(o.source)}")
        if o.error is not None:
            out.print(f"[red]✘[/] {markup_safe(o.source)}：{markup_safe(message(o.error.message))}")
        elif o.report is not None:
            _print_ingest(o.report)
    if result.seal is not None:
        _print_seal(result.seal)


WARNINGS_SHOWN = 3  # files listed per kind of warning


def _print_ingest(report: IngestReport) -> None:
    from zfjl.cli.display import markup_safe, message

    s = report.summary()
    for f in report.files:
        if f.status in ("failed", "skipped"):
            out.print(f"[red]✘[/] {markup_safe(f.path)}：{markup_safe(message(f.reason))}")
    by_code: dict[str, list[tuple[str, str]]] = {}
    for f in report.files:
        for w in f.warnings:
            by_code.setdefault(w["code"], []).append((f.path, w["message"]))
    for found in by_code.values():
        # A camera whose clock is off warns on every file: a few, then the count, not 500 lines.
        for path, said in found[:WARNINGS_SHOWN]:  # ffprobe's and exiftool's words in Chinese
            out.print(f"[yellow]⚠[/] {markup_safe(path)}：{markup_safe(message(said))}")
        if len(found) > WARNINGS_SHOWN:
            out.print(f"[yellow]⚠[/] ……另有 {len(found) - WARNINGS_SHOWN} 个文件同样告警"
                      "（告警已随每个文件记入保管库，zfjl show <记录编号> 可逐个查看）")  # fmt: skip
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
    out.print(_closing_line(report))


def _closing_line(report: IngestReport) -> str:
    """Whether the officer may unplug the camera: only when every entry of its card was
    stored; otherwise what failed and what to do."""
    if not report.unstored:
        return "已安全存储（已落盘、以 BLAKE3 标识），可以拔下记录仪"
    todo = []
    if report.failed:
        todo.append(f"{report.failed} 个文件未能读取或存储：排除原因（如存储卡接触不良）后"
                    "重新运行同一命令，已入库的不会重复存储")  # fmt: skip
    if skipped := report.count("skipped"):
        todo.append(f"{skipped} 个条目不是普通文件（管道、套接字、设备文件或符号链接）或在入库时被替换，"
                    "未入库：请交管理员核查")  # fmt: skip
    return (f"[red]✘[/] 有 {report.unstored} 个条目未能入库（见上，均已记入日志），"
            f"请先不要拔下记录仪。{'；'.join(todo)}")  # fmt: skip

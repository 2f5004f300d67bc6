"""The zfjl command line: parse, call one library function, render the result.

Errors from the library (`ZfjlError`) are caught once, in `main`, and printed as one Chinese
line on stderr with the exit code documented in README.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from zfjl import __version__
from zfjl.errors import ZfjlError

if TYPE_CHECKING:
    from zfjl.ingest import IngestReport
    from zfjl.ingest import Progress as IngestProgress
    from zfjl.vault import Vault

# Library modules are imported inside the commands that use them: `zfjl verify` from cron
# and `zfjl ls` should not pay for loading exiftool, ffmpeg and calendar bindings.

app = typer.Typer(
    help="执法记录（zfjl）：执法音像记录保管库与执法全过程记录合规检查。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
calendar_app = typer.Typer(
    help="工作日历：国务院节假日安排（含调休上班日）。", no_args_is_help=True
)
app.add_typer(calendar_app, name="calendar")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON（供程序读取）。")]


class State:
    vault_path: str | None = None


STATE = State()


def _vault() -> Vault:
    from zfjl.vault import Vault, resolve_vault_path

    return Vault.open(resolve_vault_path(STATE.vault_path))


def _emit_json(value: Any) -> None:
    # Plain write, not rich: a console would wrap long lines and break the JSON.
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def _show_version(value: bool) -> None:
    if value:
        out.print(f"zfjl {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    vault: Annotated[
        str | None,
        typer.Option("--vault", help="保管库目录（默认：$ZFJL_VAULT，否则用户数据目录）。"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", help="显示版本。", callback=_show_version, is_eager=True)
    ] = False,
) -> None:
    STATE.vault_path = vault


# -- init -------------------------------------------------------------------------------------
@app.command("init", help="新建保管库。")
def init_cmd(
    bureau: Annotated[str | None, typer.Option(help="执法机关名称（写入文书与案卷）。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault import Vault, resolve_vault_path

    vault = Vault.create(resolve_vault_path(STATE.vault_path), bureau=bureau)
    if as_json:
        _emit_json({"vault": str(vault.root), "id": vault.config.id, "bureau": vault.config.bureau})
    else:
        out.print(f"已新建保管库：{vault.root}（{vault.config.bureau}）")


# -- ingest -----------------------------------------------------------------------------------
@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("入库"),
        BarColumn(),
        TextColumn("{task.fields[files]} 个文件"),
        DownloadColumn(binary_units=False),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    with bar:
        task = bar.add_task("ingest", total=None, files="0/?")

        def update(p: IngestProgress) -> None:
            bar.update(
                task,
                total=p.bytes_total,
                completed=p.bytes_done,
                files=f"{p.files_done}/{p.files_total}",
            )

        yield update


@app.command("ingest", help="把记录仪存储卡（或导出目录）中的全部文件存入保管库。")
def ingest_cmd(
    source: Annotated[Path, typer.Argument(help="记录仪挂载目录，如 /media/DSJ01。")],
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

    vault = _vault()
    options = IngestOptions(device=device, officer=officer, clear_source=clear_source)
    with _progress_bar(not as_json and err.is_terminal) as update:
        report = ingest(vault, source, options, progress=update)
    if as_json:
        _emit_json(report.as_dict())
    else:
        _print_ingest(report)
    if report.failed:
        raise typer.Exit(1)


def _print_ingest(report: IngestReport) -> None:
    s = report.summary()
    for f in report.files:
        if f.status in ("failed", "skipped"):
            out.print(f"[red]✘[/] {f.path}：{f.reason}")
        for w in f.warnings:
            out.print(f"[yellow]⚠[/] {f.path}：{w['message']}")
    speed = f"，{s['mb_per_s']} MB/s" if s["mb_per_s"] else ""
    out.print(
        f"入库完成：共 {s['files']} 个文件，新入库 {s['new']}，已存在 {s['already_stored']}，"
        f"失败 {s['failed']}，跳过 {s['skipped']}；逾期存储 {s['late']}，"
        f"无法判断逾期 {s['late_unknown']}，时钟偏差 {s['clock_skew']}，告警 {s['warnings']}"
        + (f"，已清除源文件 {s['cleared']}" if s["cleared"] else "")
        + f"（{s['bytes'] / 1e6:.1f} MB，{s['seconds']:.1f} 秒{speed}）"
    )


# -- ls / show --------------------------------------------------------------------------------
def _yes_no(value: Any) -> str:
    return "—" if value is None else ("是" if value else "否")


@app.command("ls", help="列出保管库中的记录（可按设备、人员、时间、类型等筛选）。")
def ls_cmd(
    device: Annotated[str | None, typer.Option(help="记录仪编号。")] = None,
    officer: Annotated[str | None, typer.Option(help="执法人员编号。")] = None,
    since: Annotated[
        str | None, typer.Option("--from", help="录制时间起（YYYY-MM-DD[THH:MM]）。")
    ] = None,
    until: Annotated[str | None, typer.Option("--to", help="录制时间止（含当日）。")] = None,
    kind: Annotated[str | None, typer.Option(help="video / photo / audio / other。")] = None,
    late: Annotated[
        bool | None, typer.Option("--late/--not-late", help="只看逾期（或按时）存储的。")
    ] = None,
    important: Annotated[
        bool | None, typer.Option("--imp/--not-imp", help="只看标记为重要（IMP）的。")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="最多列出条数。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault.query import RecordingFilter, list_recordings

    flt = RecordingFilter(device, officer, since, until, kind, late, important, limit)
    rows = list_recordings(_vault(), flt)
    if as_json:
        _emit_json(rows)
        return
    table = Table(
        "编号", "类型", "设备", "人员", "录制时间", "时长(秒)", "原文件名", "逾期", "重要"
    )
    for r in rows:
        table.add_row(
            r["id"][:12], r["kind"], r["device"] or "—", r["officer"] or "—",
            (r["recorded_at"] or "—")[:19], f"{r['duration']:.1f}" if r["duration"] else "—",
            r["original_name"], _yes_no(r["late"]), "IMP" if r["important"] else "",
        )  # fmt: skip
    out.print(table)
    out.print(f"共 {len(rows)} 条")


@app.command("show", help="显示一条记录的全部信息、每次入库经过和日志事件。")
def show_cmd(
    id: Annotated[str, typer.Argument(help="编号（BLAKE3 摘要或其唯一前缀）。")],
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault.query import show_recording

    rec = show_recording(_vault(), id)
    if as_json:
        _emit_json(rec)
        return
    labels = {
        "id": "编号(BLAKE3)", "sha256": "SHA-256", "size": "大小(字节)", "kind": "类型",
        "file_type": "格式", "device": "记录仪", "officer": "执法人员", "recorded_at": "录制时间",
        "time_source": "时间来源", "duration": "时长(秒)", "original_name": "原文件名",
        "ingested_at": "入库时间", "late": "逾期存储", "late_deadline": "存储期限",
        "important": "重要(IMP)", "name_time": "文件名时间", "meta_time": "元数据时间",
        "mtime": "文件修改时间", "clock_skew": "时钟偏差", "skew_seconds": "偏差(秒)",
        "make": "厂商", "model": "型号", "serial": "序列号", "gps_lat": "纬度",
        "gps_lon": "经度", "path": "保管库路径",
    }  # fmt: skip
    table = Table(show_header=False)
    for key, label in labels.items():
        value = rec.get(key)
        table.add_row(label, _yes_no(value) if isinstance(value, bool) else str(value or "—"))
    out.print(table)
    for w in rec.get("warnings", []):
        out.print(f"[yellow]⚠[/] {w['message']}")
    out.print("入库经过：")
    for s in rec["sightings"]:
        out.print(f"  {s['seen_at']}  {s['source_path']}" + ("  [IMP]" if s["important"] else ""))
    out.print("日志事件：")
    for e in rec["events"]:
        out.print(f"  #{e['seq']} {e['ts']} {e['actor']} {e['kind']}")


# -- verify / rebuild -------------------------------------------------------------------------
@app.command("verify", help="校验保管库：重读对象核对摘要，核对日志哈希链和目录。")
def verify_cmd(
    subset: Annotated[
        str | None, typer.Option(help="只重读第 n 份（共 t 份）对象，如 3/7，供每晚轮流校验。")
    ] = None,
    read_data: Annotated[
        bool, typer.Option("--read-data/--no-read-data", help="是否重读对象内容。")
    ] = True,
    sha256: Annotated[bool, typer.Option("--sha256", help="同时重算 SHA-256（较慢）。")] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault.verify import verify

    report = verify(_vault(), subset=subset, read_data=read_data, sha256=sha256)
    if as_json:
        _emit_json(report.as_dict())
    else:
        for f in report.findings:
            mark = "[red]✘[/]" if f.severity == "error" else "[yellow]⚠[/]"
            out.print(f"{mark} {f.message}：{f.subject}（应为 {f.expected}，实为 {f.found}）")
        verdict = "[green]✔ 校验通过[/]" if report.ok else "[red]✘ 校验未通过[/]"
        out.print(
            f"{verdict}：对象 {report.objects_checked} 个（第 {report.subset} 份），"
            f"读取 {report.bytes_read / 1e6:.1f} MB，日志 {report.journal_rows} 条，"
            f"问题 {len(report.findings)} 项"
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command("rebuild", help="由日志重建全部目录表。")
def rebuild_cmd(as_json: JsonOpt = False) -> None:
    count = _vault().rebuild_catalog()
    if as_json:
        _emit_json({"events_replayed": count})
    else:
        out.print(f"已由 {count} 条日志重建目录")


# -- calendar ---------------------------------------------------------------------------------
@calendar_app.command("add", help="录入一年的国务院节假日安排（YAML，格式见 docs/calendar.md）。")
def calendar_add_cmd(
    file: Annotated[Path, typer.Argument(help="节假日安排文件。")], as_json: JsonOpt = False
) -> None:
    from zfjl.workdays import add_notice

    payload = add_notice(_vault(), file)
    if as_json:
        _emit_json(payload)
    else:
        out.print(
            f"已录入 {payload['year']} 年节假日安排：{payload['notice']}（{len(payload['days'])} 天）"
        )


@calendar_app.command("ls", help="列出工作日历覆盖的年份及来源。")
def calendar_ls_cmd(as_json: JsonOpt = False) -> None:
    from zfjl.workdays import load_calendar

    sources = load_calendar(_vault().conn).sources()
    if as_json:
        _emit_json([{"year": s.year, "source": s.source} for s in sources])
        return
    for s in sources:
        out.print(f"{s.year}  {s.source}")
    out.print("未列出的年份：无法判断工作日（相关期限报告为“无法判断”）")


# -- sample -----------------------------------------------------------------------------------
@app.command("sample", help="生成一个示例记录仪存储卡目录（演示与测试用）。")
def sample_cmd(
    dest: Annotated[Path, typer.Argument(help="输出目录。")], as_json: JsonOpt = False
) -> None:
    from zfjl.sample import make_camera_dump

    files = make_camera_dump(dest, dt.datetime.now().astimezone() - dt.timedelta(hours=3))
    if as_json:
        _emit_json([f.__dict__ for f in files])
    else:
        out.print(f"已生成示例存储卡：{dest}（{len(files)} 个文件）")


# -- entry point ------------------------------------------------------------------------------
def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        rc = app(args=argv, standalone_mode=False)
    except ZfjlError as exc:
        return _fail(exc.message, exc.exit_code, type(exc).__name__)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.TyperException as exc:  # typer's usage errors (bad option, missing argument)
        text = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        return _fail(f"用法错误：{text}（用 --help 查看用法）", 2, "UsageError")
    except (KeyboardInterrupt, typer.Abort):
        return _fail("已中断：已入库的内容完好，重新运行同一命令即可继续", 130, "Interrupted")
    except Exception as exc:  # a bug, not a user mistake: still one line, details on request
        if os.environ.get("ZFJL_DEBUG"):
            raise
        return _fail(
            f"内部错误（{type(exc).__name__}: {exc}）；设置 ZFJL_DEBUG=1 可查看详情并请报告",
            70,
            "InternalError",
        )
    return rc if isinstance(rc, int) else 0


def _fail(message: str, code: int, kind: str) -> int:
    err.print(f"错误：{message}", markup=False, soft_wrap=True)
    if "--json" in sys.argv:
        print(
            json.dumps(
                {"error": {"type": kind, "message": message, "exit_code": code}}, ensure_ascii=False
            )
        )
    return code


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()

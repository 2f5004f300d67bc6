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

import click
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
from rich.table import Column, Table

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
case_app = typer.Typer(help="案件：立案、导入导出、文书、历史。", no_args_is_help=True)
app.add_typer(case_app, name="case")
rules_app = typer.Typer(
    help="检查规则：逐条对应《行政执法全过程记录制度》及相关法律期限。", no_args_is_help=True
)
app.add_typer(rules_app, name="rules")

# `zfjl check` exit codes (besides 2 usage, 3 vault, 4 unknown case): see README.
CHECK_EXIT = {"pass": 0, "warnings": 10, "violations": 11}

out = Console(highlight=False, soft_wrap=True)  # prose wraps in the terminal, not in files
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
    from zfjl.vault import resolve_vault_path
    from zfjl.vault.setup import init_vault

    vault = init_vault(resolve_vault_path(STATE.vault_path), bureau=bureau)
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
    if s["unregistered_devices"]:
        out.print(f"[yellow]⚠[/] 未登记的记录仪：{'、'.join(s['unregistered_devices'])}"
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
            r["id"][:10], r["kind"], r["device"] or "—", r["officer"] or "—",
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
    if rec["cases"]:
        out.print(
            "关联案件：" + "；".join(f"{c['case_id']}（{c['activity']}）" for c in rec["cases"])
        )
    for h in rec["holds"]:
        out.print(
            f"长期保存：{h['id']}"
            + (f"（已解除 {h['released_at'][:10]}）" if h["released_at"] else "")
        )
    if rec["destroyed"]:
        d = rec["destroyed"]
        out.print(
            f"已销毁：{d['at'][:16]}，批准 {d['approval']}，清理编号 {d['sweep']}（内容已删除，摘要与记录保留）"
        )
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


# -- cases ----------------------------------------------------------------------------------
@case_app.command("open", help="立案：新建一个案件。")
def case_open_cmd(
    case: Annotated[str, typer.Argument(help="案件编号，如 CASE-2024-031。")],
    kind: Annotated[str, typer.Option(help="处罚 / 许可 / 强制 / 确认 / 征收。")],
    cause: Annotated[str, typer.Option(help="案由。")],
    party: Annotated[str, typer.Option(help="当事人名称（姓名）。")],
    origin: Annotated[str, typer.Option(help="申请 / 依职权 / 投诉举报 / 移送。")],
    procedure: Annotated[str, typer.Option(help="一般 / 简易。")] = "一般",
    party_type: Annotated[str, typer.Option(help="个人 / 单位。")] = "个人",
    opened_at: Annotated[str | None, typer.Option(help="立案时间（默认现在）。")] = None,
    major: Annotated[bool, typer.Option("--major", help="情节复杂或重大。")] = False,
    expert_review: Annotated[bool, typer.Option("--expert-review", help="须专家论证。")] = False,
    legal_review: Annotated[bool, typer.Option("--legal-review", help="须法制审核。")] = False,
    confidential: Annotated[bool, typer.Option("--confidential", help="涉密。")] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.store import open_case

    vault = _vault()
    header = {
        "case": case, "kind": kind, "procedure": procedure, "cause": cause,
        "party": {"type": party_type, "name": party}, "origin": origin,
        "opened_at": opened_at or vault.now().strftime("%Y-%m-%dT%H:%M"),
        "flags": {"major": major, "expert_review": expert_review,
                  "legal_review": legal_review, "confidential": confidential},
    }  # fmt: skip
    data = open_case(vault, header)
    _emit_json(data) if as_json else out.print(f"已立案：{case}（{kind}，{cause}，{party}）")


@case_app.command(
    "import", help="导入案件文件（YAML，格式见 docs/case-format.md）；已有同号案件则更新。"
)
def case_import_cmd(
    file: Annotated[Path, typer.Argument(help="案件文件。")], as_json: JsonOpt = False
) -> None:
    from zfjl.cases.io import read_case_file
    from zfjl.cases.store import import_case

    data = import_case(_vault(), read_case_file(file))
    if as_json:
        _emit_json(data)
    else:
        out.print(f"已导入案件 {data['case']}：文书 {len(data.get('documents', []))} 份，"
                  f"音像记录 {len(data.get('media', []))} 条")  # fmt: skip


@case_app.command("export", help="导出案件为 YAML（可编辑后再导入）。")
def case_export_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="输出文件（默认标准输出）。")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.io import dump_case
    from zfjl.cases.store import get_case

    data = get_case(_vault(), case)
    if as_json:
        _emit_json(data)
    elif output:
        output.write_text(dump_case(data), encoding="utf-8")
        out.print(f"已导出到 {output}")
    else:
        sys.stdout.write(dump_case(data))


@case_app.command("doc", help="向案件添加（或按代号替换）一份文书，文书以 YAML 写成。")
def case_doc_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。")],
    file: Annotated[Path, typer.Argument(help="文书 YAML（一份文书的映射）。")],
    as_json: JsonOpt = False,
) -> None:
    import yaml

    from zfjl.cases.store import add_document
    from zfjl.errors import CaseFormatError, NotFoundError

    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError(f"找不到文书文件：{file}") from None
    except yaml.YAMLError as exc:
        raise CaseFormatError(f"{file} 不是合法的 YAML：{exc}") from None
    added = add_document(_vault(), case, doc)
    _emit_json(added) if as_json else out.print(
        f"已添加文书 {added['type']}（{added['id']}）到 {case}"
    )


@case_app.command("ls", help="列出案件。")
def case_ls_cmd(
    status: Annotated[str | None, typer.Option(help="办理中 / 已结案 / 已归档。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.store import list_cases

    rows = list_cases(_vault(), status)
    if as_json:
        _emit_json(rows)
        return
    table = Table(Column("案件编号", no_wrap=True), "类别", "程序", "案由", "当事人", "来源", "状态",
                  Column("立案时间", no_wrap=True))  # fmt: skip
    for r in rows:
        table.add_row(r["id"], r["kind"], r["procedure"], r["cause"], r["party"], r["origin"],
                      r["status"], r["opened_at"][:16])  # fmt: skip
    out.print(table)
    out.print(f"共 {len(rows)} 件")


@case_app.command("show", help="显示案件的文书和关联的音像记录。")
def case_show_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。")], as_json: JsonOpt = False
) -> None:
    from zfjl.cases.store import get_case

    data = get_case(_vault(), case)
    if as_json:
        _emit_json(data)
        return
    party = data["party"]["name"]
    out.print(f"{data['case']}  {data['kind']}（{data['procedure']}程序）  {data['cause']}  "
              f"当事人：{party}  来源：{data['origin']}  状态：{data.get('status', '办理中')}")  # fmt: skip
    docs = Table("代号", "文书", "文号", "日期", "签名")
    for d in data.get("documents", []):
        docs.add_row(d["id"], d["type"], d.get("number") or "—", (d.get("date") or "—")[:16],
                     "、".join(x["role"] for x in d.get("signatures", [])) or "—")  # fmt: skip
    out.print(docs)
    media = Table("录音录像", "类型", "活动", "文书", "开始", "结束", "证明对象")
    for m in data.get("media", []):
        media.add_row(m["recording"][:12], m["kind"], m["activity"], m.get("document") or "—",
                      (m.get("start") or "—")[:19], (m.get("end") or "—")[:19], m.get("proves") or "—")  # fmt: skip
    out.print(media)


@case_app.command("status", help="变更案件状态：办理中 / 已结案 / 已归档。")
def case_status_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。")],
    status: Annotated[str, typer.Argument(help="办理中 / 已结案 / 已归档。")],
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.store import set_status

    set_status(_vault(), case, status)
    _emit_json({"case": case, "status": status}) if as_json else out.print(f"{case}：{status}")


@case_app.command("history", help="案件的全部变更记录（日志事件）。")
def case_history_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。")], as_json: JsonOpt = False
) -> None:
    from zfjl.cases.store import history

    events = history(_vault(), case)
    if as_json:
        _emit_json(events)
        return
    for e in events:
        out.print(f"#{e['seq']}  {e['ts']}  {e['actor']}  {e['kind']}")


@app.command(
    "attach", help="把录音录像关联到案件（按编号，或按设备和时间段），不复制、不改动原件。"
)
def attach_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。")],
    recordings: Annotated[
        list[str] | None, typer.Argument(help="录音录像编号（或唯一前缀）。")
    ] = None,
    activity: Annotated[
        str, typer.Option(help="所记录的执法活动：询问、现场检查、送达、强制拆除…")
    ] = "",
    proves: Annotated[str | None, typer.Option(help="证明对象（第三十八条）。")] = None,
    document: Annotated[str | None, typer.Option(help="对应文书的代号。")] = None,
    device: Annotated[str | None, typer.Option(help="按设备附加：记录仪编号。")] = None,
    since: Annotated[str | None, typer.Option("--from", help="时间段起。")] = None,
    until: Annotated[str | None, typer.Option("--to", help="时间段止。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.store import attach
    from zfjl.errors import UsageError

    if not activity:
        raise UsageError("请用 --activity 写明所记录的执法活动（如 询问、现场检查、送达）")
    links = attach(_vault(), case, recordings=recordings, device=device, since=since, until=until,
                   activity=activity, proves=proves, document=document)  # fmt: skip
    if as_json:
        _emit_json(links)
    else:
        out.print(f"已关联 {len(links)} 条音像记录到 {case}（{activity}）")


# -- check ----------------------------------------------------------------------------------
def _parse_day(text: str | None) -> dt.date | None:
    from zfjl.errors import UsageError

    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of 应为日期 YYYY-MM-DD，收到 {text!r}") from None


@app.command("check", help="按制度逐环节、逐条检查案件缺什么、晚了什么。")
def check_cmd(
    case: Annotated[str | None, typer.Argument(help="案件编号。")] = None,
    all_cases: Annotated[
        bool, typer.Option("--all", help="检查全部未归档案件，输出汇总表。")
    ] = False,
    archived: Annotated[
        bool, typer.Option("--archived", help="与 --all 同用：也检查已归档案件。")
    ] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="以该日期为“今天”判断期限（默认今天）。")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--verbose", "-v", help="也列出符合与不适用的条目。")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.checklists import check, check_all
    from zfjl.errors import UsageError

    today = _parse_day(as_of)
    if all_cases == bool(case):
        raise UsageError("请给出一个案件编号，或使用 --all")
    vault = _vault()
    if all_cases:
        reports = list(check_all(vault, today=today, include_closed=archived))
        if as_json:
            # One case per line: 10,000 cases stay a few MB and stream to jq line by line.
            lines = (json.dumps(r.summary_dict(), ensure_ascii=False) for r in reports)
            sys.stdout.write("[\n" + ",\n".join(lines) + "\n]\n")
        else:
            _print_summary(reports)
        worst = max((CHECK_EXIT[r.verdict] for r in reports), default=0)
        raise typer.Exit(worst)
    report = check(vault, case or "", today=today)
    if as_json:
        _emit_json(report.as_dict())
    else:
        _print_report(report, show_all)
    raise typer.Exit(CHECK_EXIT[report.verdict])


def _print_report(report: Any, show_all: bool) -> None:
    out.print(f"[bold]{report.case}[/] 逐环节检查")
    for stage, findings in report.by_stage().items():
        shown = [f for f in findings if show_all or f.status not in ("pass", "na")]
        passed = sum(1 for f in findings if f.status == "pass")
        na = sum(1 for f in findings if f.status == "na")
        mark = (
            "✘"
            if any(f.status == "fail" for f in findings)
            else ("⚠" if any(f.status in ("warn", "unknown") for f in findings) else "✔")
        )
        out.print(f"\n{mark} [bold]{stage}[/]（符合 {passed}，不适用 {na}）")
        for f in shown:
            status = "无法判断" if f.status == "unknown" else f.symbol
            out.print(f"  {status} {f.article} {f.title} [dim]({f.rule})[/]", markup=True)
            if f.status not in ("pass", "na"):
                out.print(f"      应为：{f.expected}", markup=False)
                out.print(f"      实为：{f.found}", markup=False)
                out.print(f"      整改：{f.fix}", markup=False)
    out.print("\n" + report.verdict_line())


def _print_summary(reports: list[Any]) -> None:
    from zfjl.cases.doctypes import STAGES

    table = Table(Column("案件", no_wrap=True), *STAGES, Column("结论", no_wrap=True))
    verdicts = {"pass": "✔ 符合", "warnings": "⚠ 警示", "violations": "✘ 不符合"}
    for r in reports:
        cells = []
        for findings in r.by_stage().values():
            fails = sum(1 for f in findings if f.status == "fail")
            warns = sum(1 for f in findings if f.status in ("warn", "unknown"))
            cells.append(f"✘{fails}" if fails else (f"⚠{warns}" if warns else "✔"))
        table.add_row(r.case, *cells[: len(STAGES)], verdicts[r.verdict])
    out.print(table)
    n_fail = sum(1 for r in reports if r.verdict == "violations")
    n_warn = sum(1 for r in reports if r.verdict == "warnings")
    out.print(
        f"共 {len(reports)} 件：不符合 {n_fail}，有警示 {n_warn}，符合 {len(reports) - n_fail - n_warn}"
    )


# -- render ---------------------------------------------------------------------------------
@app.command("render", help="制作执法文书（PDF/A，A4 印刷版；或 HTML 预览）。")
def render_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。")],
    doctype: Annotated[
        str | None,
        typer.Argument(help="文书类型（如 行政处罚决定书、送达回证、案卷封面）；省略则制作全部。"),
    ] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="输出目录。")] = Path("."),
    fmt: Annotated[str, typer.Option("--format", help="pdf / html / both。")] = "pdf",
    as_json: JsonOpt = False,
) -> None:
    from zfjl.errors import UsageError
    from zfjl.render import render_case

    formats = {"pdf": ("pdf",), "html": ("html",), "both": ("pdf", "html")}.get(fmt)
    if formats is None:
        raise UsageError("--format 只能是 pdf、html 或 both")
    paths = render_case(_vault(), case, output, doctype=doctype, formats=formats)
    if as_json:
        _emit_json(paths.as_dict())
    else:
        for p in paths:
            out.print(str(p))
        for s in paths.skipped:
            out.print(f"⚠ 未制作：{s.document or s.type} {s.type}（{s.detail}）", markup=False)
        out.print(f"已制作 {len(paths)} 个文件")


# -- bundle ---------------------------------------------------------------------------------
BUNDLE_PROBLEMS = {
    "checksum_mismatch": "校验值不符", "file_missing": "文件缺失", "unexpected_file": "多出文件",
    "not_in_vault": "保管库中没有该原始记录", "vault_mismatch": "与保管库中的原始记录不符",
    "custody_changed": "保管日志被改动", "invalid_bag": "不是合法的 BagIt 包",
    "checkpoint_invalid": "签名检查点无效", "proof_invalid": "保管日志记录的包含证明不成立",
    "not_covered": "保管日志记录晚于检查点（无包含证明，仅提示）",
    "checkpoint_inconsistent": "与留存的检查点不一致（日志被改写）",
    "checkpoint_newer": "留存的检查点晚于案件包（无从证明，仅提示）",
}  # fmt: skip


@app.command(
    "bundle",
    help="案件包（BagIt 1.0，任何人可用 bagit.py、sha256sum 校验）：zfjl bundle CASE --purpose court -o PATH；"
    "校验：zfjl bundle verify PATH。",
)
def bundle_cmd(
    target: Annotated[str, typer.Argument(help="案件编号；或 verify。")],
    path: Annotated[
        Path | None, typer.Argument(help="与 verify 同用：案件包目录或 .tar 文件。")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="输出目录，或以 .tar 结尾的文件。")
    ] = None,
    purpose: Annotated[
        str | None, typer.Option(help="court（法院）/ review（法规科审查）/ archive（归档）。")
    ] = None,
    approval: Annotated[
        str | None, typer.Option(help="涉密内容的提供批准文号（第四十四条）；无则涉密内容不入包。")
    ] = None,
    kept_checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint", help="与 verify 同用：此前留存（如打印在纸上）的检查点文本文件。"
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.errors import UsageError

    if target == "verify":
        if path is None:
            raise UsageError("请给出要校验的案件包：zfjl bundle verify PATH")
        _bundle_verify(path, as_json, kept_checkpoint)
        return
    if output is None or purpose is None:
        raise UsageError("打包须给出 -o PATH 与 --purpose court|review|archive")
    from zfjl.bundle import bundle_case

    report = bundle_case(_vault(), target, output, purpose=purpose, approval=approval)
    if as_json:
        _emit_json(report.as_dict())
        return
    out.print(f"已生成案件包：{report.path}（{report.files} 个文件，{report.bytes / 1e6:.1f} MB）")
    out.print(f"manifest-sha256.txt 的 SHA-256：{report.manifest_sha256}（已记入日志）")
    for w in report.withheld:
        out.print(f"⚠ 未入包：{w['id'][:12]}（{w['reason']}）")


def _bundle_verify(path: Path, as_json: bool, kept: Path | None) -> None:
    from zfjl.bundle import BUNDLE_WARNINGS, verify_bundle
    from zfjl.errors import SourceError, VaultNotFound

    try:
        vault = _vault()
    except VaultNotFound:
        vault = None  # a recipient without the vault still checks the bag and the log
    try:
        kept_text = kept.read_text(encoding="utf-8") if kept is not None else None
    except OSError as exc:
        raise SourceError(f"无法读取检查点文件 {kept}：{exc.strerror}") from exc
    report = verify_bundle(path, vault, kept_text)
    if as_json:
        _emit_json(report.as_dict())
    else:
        for f in report.findings:
            detail = f"（应为 {f.expected}，实为 {f.found}）" if f.expected else ""
            out.print(f"✘ {BUNDLE_PROBLEMS.get(f.code, f.code)}：{f.file}{detail}", markup=False)
        if report.anchored_rows is not None:
            out.print(
                f"✔ 与留存的检查点一致：包内 {report.anchored_rows} 条保管记录在其签发时已在日志中，此后未被改动"
            )
        problems = [f for f in report.findings if f.code not in BUNDLE_WARNINGS]
        out.print("✔ 案件包完好" if report.ok else f"✘ 案件包有 {len(problems)} 处问题")
    if not report.ok:
        raise typer.Exit(1)


def _emit_rows(rows: list[dict[str, Any]], as_json: bool, print_row: Any, empty: str) -> None:
    if as_json:
        _emit_json(rows)
        return
    for row in rows:
        print_row(row)
    if not rows:
        out.print(empty)


# -- retention: hold and sweep ----------------------------------------------------------------
def _print_hold(h: dict[str, Any]) -> None:
    state = (
        f"已解除（{h['released_at'][:16]}，{h['release_approval']}）"
        if h["released_at"]
        else "有效"
    )
    kind = "案件" if h["target_kind"] == "case" else "记录"
    out.print(f"{h['id']}　{kind} {h['target'][:16]}　{h['reason_text']}"
              f"{'：' + h['note'] if h['note'] else ''}　{h['placed_by']} {h['placed_at'][:16]}　{state}",
              markup=False)  # fmt: skip


@app.command("hold", help="长期保存（第四十三条）：zfjl hold 记录或案件 --reason dispute|obstruction|incident|other；"
             "解除：zfjl hold --release H-12 --approval-no 文号；列表：zfjl hold ls。")  # fmt: skip
def hold_cmd(
    target: Annotated[
        str | None, typer.Argument(help="记录编号（前缀）、案件编号；或 ls。")
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option(
            help="dispute 异议投诉上访 / obstruction 阻碍殴打执法人员 / "
            "incident 群体性突发事件 / other 其他重要情况。"
        ),
    ] = None,
    note: Annotated[str | None, typer.Option(help="情况说明。")] = None,
    release: Annotated[str | None, typer.Option(help="解除的长期保存编号（H-…）。")] = None,
    approval_no: Annotated[
        str | None, typer.Option("--approval-no", help="解除的批准文号。")
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", help="ls 时含已解除的。")] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.errors import UsageError
    from zfjl.retention import holds

    vault = _vault()
    if target == "ls":
        _emit_rows(holds.list_holds(vault, include_released=show_all), as_json, _print_hold,
                   "没有长期保存的记录")  # fmt: skip
        return
    if release:
        h = holds.release_hold(vault, release, approval_no, note)
    elif target and reason:
        h = holds.place_hold(vault, target, reason, note)
    else:
        raise UsageError(
            "用法：zfjl hold 记录或案件 --reason …，或 zfjl hold --release H-… --approval-no …"
        )
    if as_json:
        _emit_json(h)
    else:
        _print_hold(h)


@app.command("sweep", help="按保存期限清理（第四十二条）：默认只列出到期的日常巡查资料（拟销毁清册）；"
             "--execute 且有批准文号时才销毁。供 cron 使用：无事可做时不输出。")  # fmt: skip
def sweep_cmd(
    execute: Annotated[bool, typer.Option("--execute", help="执行销毁（须有批准）。")] = False,
    approval_no: Annotated[
        str | None, typer.Option("--approval-no", help="销毁的批准文号。")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="按此日期计算到期（默认今天；仅限预览）。")
    ] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="另存清册为 PDF。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.errors import UsageError
    from zfjl.retention import sweep

    vault = _vault()
    day = _parse_day(as_of)
    when = None
    if day is not None:
        if execute:
            raise UsageError("--as-of 只用于预览：执行销毁一律按今天计算")
        when = dt.datetime.combine(day, dt.time(23, 59, 59), vault.config.tz)
    result = sweep.execute(vault, approval_no) if execute else sweep.plan(vault, when)
    if pdf is not None and result.due:
        from zfjl.render import sweep_register_pdf, vault_template_dirs
        from zfjl.vault.objects import write_file_atomically

        write_file_atomically(pdf, sweep_register_pdf(result.as_dict(), vault_template_dirs(vault),
                                                      bureau=vault.config.bureau))  # fmt: skip
    if as_json:
        _emit_json(result.as_dict())
        return
    if execute and not result.due and not result.finished_pending:
        return  # quiet for cron
    _print_sweep(result)


def _print_sweep(result: Any) -> None:
    title = "已销毁" if result.executed else "到期（拟销毁）"
    for i in result.due:
        out.print(f"{i.id[:16]}　{i.device or '-'}　{i.officer or '-'}　{(i.recorded_at or '')[:16]}　"
                  f"{i.size / 1e6:.1f} MB　{i.why}", markup=False)  # fmt: skip
    mb = sum(i.size for i in result.due) / 1e6
    out.print(f"{title}：{len(result.due)} 件，{mb:.1f} MB" +
              (f"（批准文号 {result.approval}，清理编号 {result.sweep}）" if result.executed and result.due else ""))  # fmt: skip
    if result.finished_pending:
        out.print(f"已完成上次中断的销毁：{result.finished_pending} 件")
    kept = "，".join(f"{result.classes[c].name} {n}" for c, n in sorted(result.kept.items()))
    out.print(f"保留：未到期日常巡查 {result.not_yet_due}" + (f"，{kept}" if kept else ""))


# -- access: grant, view, export, log -------------------------------------------------------
def _print_grant(g: dict[str, Any]) -> None:
    from zfjl.access import SCOPES

    state = f"已撤销（{g['revoked_at'][:16]}）" if g["revoked_at"] else f"至 {g['until']}"
    kind = "案件" if g["target_kind"] == "case" else "记录"
    out.print(f"{g['id']}　{g['user']}　{SCOPES[g['scope']]}　{kind} {g['target'][:16]}　"
              f"{g['approved_by']} 批准（{g['approval_no']}）　{state}", markup=False)  # fmt: skip


@app.command("grant", help="查阅、复制批准（第四十四条、第四十七条）：zfjl grant 用户 --case 案件|--recording 编号 "
             "--scope view|copy --approved-by 批准人 --approval-no 文号 --until 日期；zfjl grant ls；"
             "zfjl grant revoke G-12。")  # fmt: skip
def grant_cmd(
    user: Annotated[str, typer.Argument(help="被批准的用户（操作系统用户名）；或 ls、revoke。")],
    grant_id: Annotated[str | None, typer.Argument(help="与 revoke 同用：批准编号 G-…。")] = None,
    case: Annotated[str | None, typer.Option(help="批准范围：整个案件。")] = None,
    recording: Annotated[str | None, typer.Option(help="批准范围：一条记录。")] = None,
    scope: Annotated[str, typer.Option(help="view 查阅 / copy 复制（含查阅）。")] = "view",
    approved_by: Annotated[
        str | None, typer.Option("--approved-by", help="批准人（局长）。")
    ] = None,
    approval_no: Annotated[str | None, typer.Option("--approval-no", help="批准文号。")] = None,
    until: Annotated[str | None, typer.Option(help="有效期至（含当日），YYYY-MM-DD。")] = None,
    purpose: Annotated[str | None, typer.Option(help="用途。")] = None,
    reason: Annotated[str | None, typer.Option(help="撤销原因。")] = None,
    for_user: Annotated[str | None, typer.Option("--user", help="ls：只列此用户。")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="ls：含过期和已撤销的。")] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import access
    from zfjl.errors import UsageError

    vault = _vault()
    if user == "ls":
        _emit_rows(access.list_grants(vault, for_user, include_inactive=show_all), as_json,
                   _print_grant, "没有有效的批准")  # fmt: skip
        return
    if user == "revoke":
        if not grant_id:
            raise UsageError("用法：zfjl grant revoke G-… [--reason …]")
        g = access.revoke_grant(vault, grant_id, reason)
    else:
        if bool(case) == bool(recording):
            raise UsageError("须给出 --case 或 --recording 之一")
        if not (approved_by and approval_no and until):
            raise UsageError("批准须写明 --approved-by、--approval-no 和 --until")
        g = access.add_grant(vault, user, case or recording or "", scope=scope, approved_by=approved_by,
                             approval_no=approval_no, until=until, purpose=purpose)  # fmt: skip
    if as_json:
        _emit_json(g)
    else:
        _print_grant(g)


@app.command(
    "view",
    help="查阅一条记录（须有查阅批准，每次查阅记入日志）：给出只读副本的路径，或用 --open 打开。",
)
def view_cmd(
    recording: Annotated[str, typer.Argument(help="记录编号（前缀）。")],
    purpose: Annotated[str | None, typer.Option(help="查阅用途。")] = None,
    open_it: Annotated[bool, typer.Option("--open", help="用系统播放器打开。")] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import access

    result = access.view(_vault(), recording, purpose)
    if as_json:
        _emit_json(result.as_dict())
    else:
        out.print(str(result.path), markup=False)
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
    "export", help="复制记录到目录（须有复制批准，第四十四条；逐件记入日志，附 SHA256SUMS）。"
)
def export_cmd(
    recordings: Annotated[list[str], typer.Argument(help="记录编号（前缀），可多个。")],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出目录。")],
    purpose: Annotated[str | None, typer.Option(help="用途。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import access

    report = access.export(_vault(), recordings, output, purpose)
    if as_json:
        _emit_json(report.as_dict())
        return
    for f in report.files:
        out.print(f"{f['path']}　SHA-256 {f['sha256']}（依据 {f['grant']}）", markup=False)
    out.print(
        f"已复制 {len(report.files)} 件到 {report.dest}（校验：cd 该目录 && sha256sum -c SHA256SUMS）"
    )


@app.command(
    "log", help="保管日志（证据保管链）：入库、关联、查阅、复制、打包、长期保存、销毁，谁在何时。"
)
def log_cmd(
    target: Annotated[str, typer.Argument(help="案件编号或记录编号（前缀）。")],
    pdf: Annotated[Path | None, typer.Option("--pdf", help="另存为 PDF（供法院）。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import access

    vault = _vault()
    log = access.custody_log(vault, target)
    if pdf is not None:
        from zfjl.render import custody_log_pdf, vault_template_dirs
        from zfjl.vault.objects import write_file_atomically

        write_file_atomically(pdf, custody_log_pdf(log.as_dict(), vault_template_dirs(vault),
                                                   bureau=vault.config.bureau, printed_at=vault.now_iso()))  # fmt: skip
    if as_json:
        _emit_json(log.as_dict())
        return
    table = Table("序号", "时间", "操作人", "事项", Column("内容", overflow="fold"))
    for e in log.entries:
        table.add_row(
            str(e["seq"]), e["at"][:19].replace("T", " "), e["actor"], e["what"], e["detail"]
        )
    out.print(table)


@app.command("checkpoint", help="签名检查点（供 cron）：对日志当前状态签名并记入日志，打印可留存于纸面的文本；"
             "--verify 文件：核对留存的检查点与今日日志是否一致。")  # fmt: skip
def checkpoint_cmd(
    verify_file: Annotated[
        Path | None, typer.Option("--verify", help="留存的检查点文本文件。")
    ] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="不打印检查点文本。")] = False,
    new_key: Annotated[
        bool, typer.Option("--new-key", help="更换签名密钥（原密钥遗失或泄露时；仅管理员）。")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault import checkpoint

    vault = _vault()
    if new_key:
        key = checkpoint.new_key(vault)
        _emit_json({"vkey": key.vkey}) if as_json else out.print(
            f"新公钥：{key.vkey}", markup=False
        )
        return
    if verify_file is not None:
        try:
            text = verify_file.read_text(encoding="utf-8")
        except OSError as exc:
            from zfjl.errors import SourceError

            raise SourceError(f"无法读取 {verify_file}：{exc.strerror}") from exc
        problems = checkpoint.check_external(vault, text)
        if as_json:
            _emit_json({"ok": not problems, "problems": [p.__dict__ for p in problems]})
        else:
            for p in problems:
                out.print(f"✘ {p.code}：应为 {p.expected}，实为 {p.found}", markup=False)
            if not problems:
                out.print("✔ 检查点有效：签名正确，今日日志的前段与之完全一致")
        if problems:
            raise typer.Exit(1)
        return
    cp, seq = checkpoint.append_checkpoint(vault)
    if as_json:
        _emit_json({"seq": seq, "size": cp.size, "root": cp.root.hex(), "note": cp.text})
    elif not quiet:
        sys.stdout.write(cp.text)


# -- devices, spot checks, reports (arts. 48-54) --------------------------------------------
device_app = typer.Typer(
    help="记录仪登记、配发与维护（第四十八条、第五十一条、第五十二条）。", no_args_is_help=True
)
app.add_typer(device_app, name="device")
spotcheck_app = typer.Typer(
    help="抽查（第五十三条）：随机抽取、逐项检查、检查台帐。", no_args_is_help=True
)
app.add_typer(spotcheck_app, name="spotcheck")


def _print_device(d: dict[str, Any]) -> None:
    out.print(f"{d['id']}　{d['status_text']}　{d.get('unit') or '-'}　{d.get('model') or '-'}　"
              f"{d.get('serial') or '-'}　使用人 {d.get('officer') or '-'}", markup=False)  # fmt: skip


@device_app.command("add", help="登记记录仪（也用于把入库时发现的“未登记”设备补登）。")
def device_add_cmd(
    device: Annotated[str, typer.Argument(help="设备编号，如 DSJ01。")],
    model: Annotated[str | None, typer.Option(help="型号。")] = None,
    serial: Annotated[str | None, typer.Option(help="序列号。")] = None,
    unit: Annotated[str | None, typer.Option(help="所属单位（科室、中队）。")] = None,
    assigned_to: Annotated[
        str | None, typer.Option("--assigned-to", help="配发给（执法人员编号，与文件名中一致）。")
    ] = None,
    since: Annotated[str | None, typer.Option(help="配发时间（默认现在）。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import devices

    d = devices.add_device(_vault(), device, model=model, serial=serial, unit=unit,
                           assigned_to=assigned_to, since=since)  # fmt: skip
    _emit_json(d) if as_json else _print_device(d)


@device_app.command("assign", help="改派：自某时起由另一执法人员使用。")
def device_assign_cmd(
    device: Annotated[str, typer.Argument(help="设备编号。")],
    officer: Annotated[str, typer.Argument(help="执法人员编号。")],
    since: Annotated[str | None, typer.Option(help="起始时间（默认现在）。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import devices

    d = devices.assign(_vault(), device.upper(), officer, since)
    _emit_json(d) if as_json else _print_device(d)


@device_app.command(
    "log", help="维护登记：check 检查 / fault 故障 / repair 维修完毕 / retire 报废。"
)
def device_log_cmd(
    device: Annotated[str, typer.Argument(help="设备编号。")],
    event: Annotated[str, typer.Option("--event", help="check / fault / repair / retire。")],
    note: Annotated[str | None, typer.Option(help="说明（维修须写明维修单位）。")] = None,
    at: Annotated[str | None, typer.Option(help="发生时间（默认现在）。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import devices

    d = devices.log_event(_vault(), device.upper(), event, note, at)
    _emit_json(d) if as_json else _print_device(d)


@device_app.command("ls", help="列出记录仪。")
def device_ls_cmd(
    unit: Annotated[str | None, typer.Option(help="只列此单位。")] = None, as_json: JsonOpt = False
) -> None:
    from zfjl import devices

    _emit_rows(devices.list_devices(_vault(), unit), as_json, _print_device, "没有登记的记录仪")


@device_app.command("show", help="一台记录仪：配发经过、维护记录、录制件数。")
def device_show_cmd(
    device: Annotated[str, typer.Argument(help="设备编号。")], as_json: JsonOpt = False
) -> None:
    from zfjl import devices

    d = devices.get_device(_vault(), device.upper())
    if as_json:
        _emit_json(d)
        return
    _print_device(
        {**d, "officer": next((a["officer"] for a in d["assignments"] if not a["until"]), None)}
    )
    for a in d["assignments"]:
        out.print(
            f"  配发：{a['officer']}　{a['since'][:16]} 至 {(a['until'] or '今')[:16]}",
            markup=False,
        )
    for e in d["log"]:
        out.print(
            f"  {e['at'][:16]}　{devices.EVENTS[e['event']]}　{e['note'] or ''}　{e['actor']}",
            markup=False,
        )
    out.print(f"  录制件数：{d['recordings']}")


def _print_spot_item(i: dict[str, Any]) -> None:
    from zfjl.spotcheck import RESULTS

    what = (f"{i.get('device') or '-'} {i.get('officer') or '-'} {(i.get('recorded_at') or '')[:16]}"
            if i["kind"] == "recording" else f"{i.get('cause', '')} {i.get('party', '')}")  # fmt: skip
    res = RESULTS.get(i.get("result") or "", "未检查")
    out.print(
        f"{'音像' if i['kind'] == 'recording' else '案卷'}　{i['id'][:16]}　{what}　{res}",
        markup=False,
    )
    out.print(
        "    检查项：" + "；".join(f"{k} {v}" for k, v in i["checklist"].items()), markup=False
    )


@spotcheck_app.command(
    "draw", help="随机抽取一个单位某月的音像记录和案卷（同一 seed 抽到相同结果，记入日志）。"
)
def spotcheck_draw_cmd(
    unit: Annotated[str, typer.Option(help="被抽查单位（记录仪登记的所属单位）。")],
    period: Annotated[str, typer.Option(help="月份，如 2024-05。")],
    n: Annotated[int, typer.Option("--n", help="音像记录、案卷各抽几件。")] = 10,
    seed: Annotated[str | None, typer.Option(help="随机种子（默认随机生成并记入日志）。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import spotcheck

    d = spotcheck.draw(_vault(), unit, period, n, seed)
    if as_json:
        _emit_json(d)
        return
    p = d["population"]
    out.print(f"抽查批次 {d['draw']}：{unit} {period}，种子 {d['seed']}；"
              f"从 {p['recordings']} 件音像记录、{p['cases']} 件案卷中抽取 {len(d['items'])} 件", markup=False)  # fmt: skip
    for i in d["items"]:
        _print_spot_item(i)


@spotcheck_app.command(
    "record", help="登记一件抽查结果：--result pass|minor|fail（合格/基本合格/不合格）。"
)
def spotcheck_record_cmd(
    item: Annotated[str, typer.Argument(help="抽中的记录编号（前缀）或案件编号。")],
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
    i = spotcheck.record(_vault(), item, result, draw_id=draw, failed=failed, note=note)
    _emit_json(i) if as_json else _print_spot_item(i)


@spotcheck_app.command("ledger", help="检查台帐：表格、JSON，或 --pdf 另存。")
def spotcheck_ledger_cmd(
    unit: Annotated[str | None, typer.Option(help="单位。")] = None,
    period: Annotated[str | None, typer.Option(help="月份。")] = None,
    pdf: Annotated[Path | None, typer.Option("--pdf", help="另存为 PDF。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import spotcheck

    vault = _vault()
    rows = spotcheck.ledger(vault, unit, period)
    if pdf is not None:
        from zfjl.render import spotcheck_ledger_pdf, vault_template_dirs
        from zfjl.vault.objects import write_file_atomically

        write_file_atomically(pdf, spotcheck_ledger_pdf(rows, vault_template_dirs(vault), bureau=vault.config.bureau,
                                                        unit=unit, period=period, printed_at=vault.now_iso()))  # fmt: skip
    if as_json:
        _emit_json(rows)
        return
    table = Table(
        "批次", "类别", "编号", "设备/人员/案由", "结果", Column("问题", overflow="fold"), "检查人"
    )
    for r in rows:
        what = (
            f"{r['device'] or ''} {r['officer'] or ''}"
            if r["item_kind"] == "recording"
            else r["cause"] or ""
        )
        table.add_row(r["draw"], "音像" if r["item_kind"] == "recording" else "案卷", r["item"][:16],
                      what, r["result_text"], r["failed_text"], r["checker"] or "")  # fmt: skip
    out.print(table)


@app.command(
    "report",
    help="执法记录使用情况通报（第五十四条）：-o 文件.html|.pdf|.csv；--json 输出全部数字。",
)
def report_cmd(
    period: Annotated[str, typer.Option(help="月份，如 2024-05。")],
    unit: Annotated[str | None, typer.Option(help="只统计此单位。")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="输出文件：.html、.pdf 或 .csv。")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import reports
    from zfjl.errors import UsageError
    from zfjl.vault.objects import write_file_atomically

    vault = _vault()
    if output is not None and output.suffix.lower() not in (".html", ".pdf", ".csv"):
        raise UsageError("-o 须以 .html、.pdf 或 .csv 结尾")
    r = reports.build_report(vault, period, unit)
    if output is not None:
        kind = output.suffix.lower()
        from zfjl.render import report_pdf, vault_template_dirs
        from zfjl.reports.charts import charts

        data = (report_pdf(r, charts(r), vault_template_dirs(vault), bureau=vault.config.bureau) if kind == ".pdf"
                else (reports.to_html(r) if kind == ".html" else reports.to_csv(r)).encode("utf-8"))  # fmt: skip
        write_file_atomically(output, data)
    if as_json:
        _emit_json(r)
        return
    t = r["totals"]
    out.print(f"{r['period']}：录制 {t['recordings']} 件 {t['hours']} 小时，逾期存储 {t['late_uploads']}，"
              f"时钟偏差 {t['clock_skew']}，故障设备 {t['devices_in_fault']}/{t['devices']}，"
              f"立案 {t['cases_opened']}（有违反 {t['cases_with_violations']}）", markup=False)  # fmt: skip
    if output is not None:
        out.print(f"已写入 {output}", markup=False)


# -- rules ----------------------------------------------------------------------------------
def _rules() -> list[Any]:
    from zfjl.checklists import vault_rules
    from zfjl.checklists.engine import load_rules
    from zfjl.errors import VaultNotFound

    try:
        return vault_rules(_vault())
    except VaultNotFound:
        return load_rules()  # no vault yet: the built-in packs


@rules_app.command("ls", help="列出全部检查规则。")
def rules_ls_cmd(as_json: JsonOpt = False) -> None:
    rules = _rules()
    if as_json:
        _emit_json([{"id": r.id, "article": r.article, "stage": r.stage, "title": r.title,
                     "severity": r.severity, "kind": r.kind, "pack": r.pack} for r in rules])  # fmt: skip
        return
    table = Table("规则", "条款", "环节", "内容", "程度")
    for r in rules:
        table.add_row(
            r.id, r.article, r.stage, r.title, "违反" if r.severity == "error" else "警示"
        )
    out.print(table)
    out.print(f"共 {len(rules)} 条")


@rules_app.command("show", help="显示一条规则、所依据条文，以及符合与不符合的示例。")
def rules_show_cmd(
    rule_id: Annotated[str, typer.Argument(help="规则编号，如 R31-lodged-service。")],
    as_json: JsonOpt = False,
) -> None:
    from zfjl.checklists.engine import find_rule
    from zfjl.checklists.examples import describe_edits
    from zfjl.checklists.regulation import article_text

    rule = find_rule(_rules(), rule_id)
    text = rule.text or article_text(rule.article)
    ex = rule.examples
    data = {"id": rule.id, "article": rule.article, "basis": rule.basis, "stage": rule.stage,
            "title": rule.title, "when": rule.when, "check": rule.check, "severity": rule.severity,
            "message": rule.message, "fix": rule.fix, "article_text": text,
            "example_pass": {"case": ex.get("case"), "edits": describe_edits(ex.get("pass", []))},
            "example_fail": {"case": ex.get("case"), "edits": describe_edits(ex.get("fail", []))}}  # fmt: skip
    if as_json:
        _emit_json(data)
        return
    out.print(f"[bold]{rule.id}[/]  {rule.article}（{rule.stage}）  {rule.title}")
    out.print(f"依据：{rule.basis}", markup=False)
    if text:
        out.print(f"条文：{text}", markup=False)
    out.print(f"适用：{rule.when or '所有案件'}", markup=False)
    out.print(f"检查：{rule.check}", markup=False)
    out.print(f"不符合时：{rule.message}；整改：{rule.fix}", markup=False)
    if ex:
        out.print(
            f"符合的示例：样例案件 {ex['case']}"
            + "".join(f"\n    {line}" for line in data["example_pass"]["edits"]),
            markup=False,
        )
        out.print(
            f"不符合的示例：样例案件 {ex['case']}"
            + "".join(f"\n    {line}" for line in data["example_fail"]["edits"]),
            markup=False,
        )


@rules_app.command("doctypes", help="列出可用的文书类型（按环节）。")
def rules_doctypes_cmd(as_json: JsonOpt = False) -> None:
    from zfjl.cases.doctypes import STAGES, load_doctypes
    from zfjl.vault import resolve_vault_path

    doctypes = load_doctypes([resolve_vault_path(STATE.vault_path) / "doctypes"])  # none yet: shipped
    if as_json:
        _emit_json(doctypes)
        return
    for stage in STAGES:
        out.print(f"{stage}：{'、'.join(t for t, s in doctypes.items() if s == stage)}")


# -- sample -----------------------------------------------------------------------------------
@app.command("sample", help="生成一个示例记录仪存储卡目录（演示与测试用）。")
def sample_cmd(
    dest: Annotated[Path, typer.Argument(help="输出目录。")],
    cases: Annotated[
        bool, typer.Option("--cases", help="改为生成三个样例案件所引用的录像和照片（2024 年）。")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.sample import make_camera_dump, make_case_dump

    if cases:
        paths = make_case_dump(dest)
        if as_json:
            _emit_json([str(p) for p in paths])
        else:
            out.print(f"已生成样例案件的录音录像：{dest}（{len(paths)} 个文件）")
        return
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
        return _fail(exc.message, exc.exit_code, type(exc).__name__, argv)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:  # usage errors: bad option, missing argument
        return _fail(
            f"用法错误：{exc.format_message()}（用 --help 查看用法）", 2, "UsageError", argv
        )
    except (KeyboardInterrupt, click.exceptions.Abort):
        return _fail("已中断：已入库的内容完好，重新运行同一命令即可继续", 130, "Interrupted", argv)
    except Exception as exc:  # a bug, not a user mistake: still one line, details on request
        if os.environ.get("ZFJL_DEBUG"):
            raise
        return _fail(
            f"内部错误（{type(exc).__name__}: {exc}）；设置 ZFJL_DEBUG=1 可查看详情并请报告",
            70,
            "InternalError",
            argv,
        )
    return rc if isinstance(rc, int) else 0


def _fail(message: str, code: int, kind: str, argv: list[str] | None) -> int:
    err.print(f"错误：{message}", markup=False, soft_wrap=True)
    if "--json" in (sys.argv if argv is None else argv):
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

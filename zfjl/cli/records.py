"""The recordings in the vault: zfjl ls, show."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from zfjl.cli.common import JsonOpt, check_span, open_vault, yes_no
from zfjl.cli.output import emit, out

app = typer.Typer()


@app.command(
    "ls", help="列出保管库中的记录（可按设备、人员、时间、类型等筛选）。",
    epilog="示例：\n"
    "  zfjl ls --device DSJ01 --from 2024-05-01 --to 2024-05-31\n"
    "  zfjl ls --kind video --late\n"
    "  zfjl ls --json --limit 10",
)
def ls_cmd(
    device: Annotated[str | None, typer.Option(help="记录仪编号。")] = None,
    officer: Annotated[str | None, typer.Option(
        help="执法人员编号（文件名未载明的，按当时的配发登记认定）。")] = None,
    since: Annotated[
        str | None, typer.Option("--from", help="录制时间起（YYYY-MM-DD[THH:MM]）。")
    ] = None,
    until: Annotated[str | None, typer.Option("--to", help="录制时间止（含当日）。")] = None,
    kind: Annotated[str | None, typer.Option(help="视频 / 照片 / 录音 / 其他（或 video / photo / audio / other）。")] = None,
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
    vault = open_vault()
    check_span(since, until, vault.config.tz)
    emit(list_recordings(vault, flt), as_json, lambda rows: _print_recordings(vault, rows))


def _print_recordings(vault: Any, rows: list[dict[str, Any]]) -> None:
    from zfjl.cli import display as d
    from zfjl.cli.tables import footer, key, table, text
    from zfjl.vault.query import unique_prefixes

    ids = unique_prefixes(vault, [r["id"] for r in rows])
    # 80 columns: the kind with its flags, the time with its duration, each on two lines, so
    # that a camera's file name (DSJ01_20240506_100500_0001.MP4) fits on one.
    grid = table(key("编号"), key("类型"), key("设备/人员"), key("录制时间/时长"),
                 text("原文件名", ratio=1))  # fmt: skip
    for r in rows:
        flags = ["逾期" if r["late"] else "逾期？" if r["late"] is None else "",
                 "重要" if r["important"] else "", r.get("where_text", "")]  # fmt: skip
        who = "\n".join(d.safe(x) for x in (r["device"], r["officer"]) if x) or "—"
        span = d.when(r["recorded_at"]) + (f"\n{d.duration(r['duration'])}" if r["duration"] else "")
        grid.add_row(ids[r["id"]], "\n".join([d.kind(r["kind"]), *filter(None, flags)]), who,
                     span, d.safe(r["original_name"]))  # fmt: skip
    out.print(grid)
    footer(f"共 {len(rows)} 条（编号为唯一前缀，可直接用于 zfjl show；“逾期？”为无法判断）")


@app.command(
    "show", help="显示一条记录的全部信息、每次入库经过和日志事件。",
    epilog="示例：\n  zfjl show 0ad1e9f62b22",
)
def show_cmd(
    id: Annotated[str, typer.Argument(help="编号（BLAKE3 摘要或其唯一前缀）。", metavar="编号")],
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault.query import show_recording
    from zfjl.vault.settings import user_names

    vault = open_vault()
    emit(show_recording(vault, id), as_json, lambda r: _print_recording(r, user_names(vault)))


_LABELS = {
    "id": "编号(BLAKE3)", "sha256": "SHA-256", "size": "大小", "kind": "类型",
    "file_type": "格式", "device": "记录仪", "officer": "执法人员", "officer_source_text": "人员依据",
    "recorded_at": "录制时间",
    "time_source": "时间来源", "duration": "时长", "original_name": "原文件名",
    "ingested_at": "入库时间", "late": "逾期存储", "late_deadline": "存储期限",
    "important": "重要(IMP)", "name_time": "文件名时间", "meta_time": "元数据时间",
    "mtime": "文件修改时间", "clock_skew": "时钟偏差", "skew_seconds": "偏差",
    "make": "厂商", "model": "型号", "serial": "序列号", "gps_lat": "纬度",
    "gps_lon": "经度", "path": "保管库路径", "where_text": "存放位置",
}  # fmt: skip


def _value(key: str, value: Any) -> str:
    from zfjl.cli import display as d

    if isinstance(value, bool):
        return yes_no(value)
    if value is None or value == "":
        return "—"
    if key in ("recorded_at", "ingested_at", "name_time", "meta_time", "mtime"):
        return d.when(value, seconds=True)
    if key == "size":
        return f"{d.size(value)}（{value} 字节）"
    if key == "duration":
        return d.duration(value)
    if key == "skew_seconds":
        return d.skew(value)
    if key == "kind":
        return d.kind(value)
    if key == "time_source":
        return d.TIME_SOURCES.get(value, d.safe(value))
    return d.safe(value)


def _print_recording(rec: dict[str, Any], names: dict[str, str]) -> None:
    from zfjl.cli import display as d
    from zfjl.cli.tables import key, table, text
    from zfjl.vault.events import label_of

    grid = table(key("项目"), text("内容", ratio=1), show_header=False)
    for k, label in _LABELS.items():
        if k == "where_text" and k not in rec:  # a station vault: everything is here
            continue
        grid.add_row(label, _value(k, rec.get(k)))
    out.print(grid)
    for w in rec.get("warnings", []):
        out.print(f"[yellow]⚠[/] {d.markup_safe(d.message(w['message']))}")
    out.print("入库经过：")
    for s in rec["sightings"]:
        out.print(f"  {d.when(s['seen_at'], seconds=True)}  {d.safe(s['source_path'])}"
                  + ("  [IMP]" if s["important"] else ""), markup=False)  # fmt: skip
    if rec["cases"]:
        out.print(
            "关联案件：" + "；".join(f"{c['case_id']}（{c['activity']}）" for c in rec["cases"]),
            markup=False,
        )
    for h in rec["holds"]:
        out.print(
            f"长期保存：{h['id']}"
            + (f"（已解除 {h['released_at'][:10]}）" if h["released_at"] else "")
        )
    for line in _derivative_lines(rec):
        out.print(line, markup=False)
    if rec["destroyed"]:
        x = rec["destroyed"]
        out.print(
            f"已销毁：{d.when(x['at'])}，批准 {x['approval']}，清理编号 {x['sweep']}（内容已删除，摘要与记录保留）",
            markup=False,
        )
    out.print("日志事件：")
    for e in rec["events"]:
        out.print(f"  #{e['seq']} {d.when(e['ts'], seconds=True)} {d.actor(e['actor'], names)} "
                  f"{label_of(e['kind'])}", markup=False)  # fmt: skip


_DERIVED = {"proxy": "播放副本", "redaction": "删减副本"}


def _derivative_lines(rec: dict[str, Any]) -> list[str]:
    """派生件 lines: what was made from this recording (issue 26), or what it was made from."""
    from zfjl.cli import display as d

    lines = []
    made_from = rec.get("derived_from")
    if made_from:
        lines.append(f"派生自：{made_from['source'][:12]}（{_DERIVED.get(made_from['kind'], made_from['kind'])}，"
                     f"{d.when(made_from['made_at'])} {made_from['made_by']} 制作）")  # fmt: skip
    for x in rec.get("derivatives") or []:
        what = _DERIVED.get(x["kind"], x["kind"])
        detail = ""
        if x["kind"] == "redaction":
            p = x["params"]
            detail = f"，遮挡 {len(p.get('boxes') or [])} 处、静音 {len(p.get('mutes') or [])} 段"
        lines.append(f"派生件：{x['id'][:12]} {what}{detail}，{d.size(x['size'])}，"
                     f"{d.when(x['made_at'])} {x['made_by']} 制作，SHA-256 {x['sha256'][:16]}…")  # fmt: skip
    return lines

"""Cases: zfjl case open|import|export|doc|withdraw-doc|ls|show|status|history|withdraw|reopen,
and zfjl attach|detach."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from zfjl.cli.common import ForceOpt, JsonOpt, check_span, moment_option, open_vault
from zfjl.cli.output import emit, out

app = typer.Typer(
    name="case", help="案件：立案、导入导出、文书、历史，以及更正、撤销与重新启用。",
    no_args_is_help=True,
    epilog="示例：\n  zfjl case ls\n  zfjl case show CASE-2024-031",
)  # fmt: skip
attach_app = typer.Typer()  # `zfjl attach`, `zfjl detach`: top-level commands

ReasonOpt = Annotated[str | None, typer.Option("--reason", help="原因（更正必填，记入日志）。")]


@app.command(
    "open", help="立案：新建一个案件。",
    epilog="示例：\n"
    "  zfjl case open CASE-2024-060 --kind 处罚 --cause 占道经营 --party 张某 --origin 依职权",
)
def case_open_cmd(
    case: Annotated[str, typer.Argument(help="案件编号，如 CASE-2024-031。", metavar="案件编号")],
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

    vault = open_vault()
    header = {
        "case": case, "kind": kind, "procedure": procedure, "cause": cause,
        "party": {"type": party_type, "name": party}, "origin": origin,
        "opened_at": moment_option(opened_at, "--opened-at", vault)
        or vault.now().strftime("%Y-%m-%dT%H:%M"),
        "flags": {"major": major, "expert_review": expert_review,
                  "legal_review": legal_review, "confidential": confidential},
    }  # fmt: skip
    emit(open_case(vault, header), as_json, f"已立案：{case}（{kind}，{cause}，{party}）")


@app.command(
    "import",
    help="导入案件文件（YAML，格式见 docs/case-format.md）；已有同号案件则更新："
    "改动或去掉已有文书、关联、案件信息即为更正，须用 --reason 写明原因。",
    epilog="示例：\n  zfjl case import CASE-2024-031.yaml",
)
def case_import_cmd(
    file: Annotated[Path, typer.Argument(help="案件文件。", metavar="文件")],
    reason: ReasonOpt = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import userfs
    from zfjl.cases.doctypes import vault_doctypes
    from zfjl.cases.io import media_locations, parse_case
    from zfjl.cases.store import import_case

    vault = open_vault()
    text = userfs.current().read_text(file, "案件文件")
    data = parse_case(text, str(file), vault_doctypes(vault))
    data = import_case(vault, data, media_locations(text, str(file)), reason=reason)
    emit(data, as_json, f"已导入案件 {data['case']}：文书 {len(data.get('documents', []))} 份，"
                        f"音像记录 {len(data.get('media', []))} 条")  # fmt: skip


@app.command(
    "export", help="导出案件为 YAML（可编辑后再导入）。",
    epilog="示例：\n  zfjl case export CASE-2024-031 -o CASE-2024-031.yaml",
)
def case_export_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。", metavar="案件编号")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="输出文件（默认标准输出）。")
    ] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.io import dump_case
    from zfjl.cases.store import get_case
    from zfjl.outputs import claim

    if output:
        claim([output], force)

    def write(data: dict[str, Any]) -> None:
        if output:
            from zfjl import userfs

            userfs.current().write_bytes(output, dump_case(data).encode("utf-8"))
            out.print(f"已导出到 {output}")
        else:
            sys.stdout.write(dump_case(data))

    emit(get_case(open_vault(), case, withdrawn_ok=True), as_json, write)


@app.command(
    "doc",
    help="向案件添加一份文书（YAML 写成）；代号已有的，替换原文书即为更正，须用 --reason 写明原因"
    "（原文书留在历史中）。",
    epilog="示例：\n"
    "  zfjl case doc CASE-2024-031 询问笔录.yaml\n"
    "  zfjl case doc CASE-2024-031 询问笔录.yaml --reason 笔录时间写错",
)
def case_doc_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。", metavar="案件编号")],
    file: Annotated[Path, typer.Argument(help="文书 YAML（一份文书的映射）。", metavar="文件")],
    reason: ReasonOpt = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import userfs
    from zfjl.cases.io import parse_document
    from zfjl.cases.store import add_document

    doc = parse_document(userfs.current().read_text(file, "文书文件"), str(file))
    vault = open_vault()
    from zfjl.cases.store import get_case

    existing = {d["id"] for d in get_case(vault, case, withdrawn_ok=True)["documents"]}
    added = add_document(vault, case, doc, reason=reason)
    verb = "已替换文书" if added["id"] in existing else "已添加文书"
    emit(added, as_json, f"{verb} {added['type']}（{added['id']}）到 {case}")


@app.command(
    "withdraw-doc", help="撤回案件中误录的一份文书（更正：原文书留在历史和保管日志中）。",
    epilog="示例：\n  zfjl case withdraw-doc CASE-2024-031 d-inquiry-2 --reason 重复录入",
)
def case_withdraw_doc_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。", metavar="案件编号")],
    document: Annotated[str, typer.Argument(help="文书代号（id）。", metavar="文书代号")],
    reason: ReasonOpt = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.store import withdraw_document

    doc = withdraw_document(open_vault(), case, document, reason)
    emit({"case": case, "withdrawn": doc, "reason": reason}, as_json,
         f"已撤回 {case} 的文书 {doc.get('type', '')}（{document}）")  # fmt: skip


@app.command(
    "withdraw",
    help="撤销立案或撤回误导入的案件（法规科、局长或管理员）：不再列出、不再检查，历史保留，"
    "案件编号不得另作他用。",
    epilog="示例：\n  zfjl case withdraw CASE-2024-099 --reason 误导入他局案件",
)
def case_withdraw_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。", metavar="案件编号")],
    reason: ReasonOpt = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.store import withdraw_case

    w = withdraw_case(open_vault(), case, reason)
    emit({"case": case, **w}, as_json, f"已撤销案件 {case}（原因：{w.get('reason', '')}）")


@app.command(
    "reopen",
    help="重新启用已归档的案件以便更正，或恢复误撤销的案件（法规科、局长或管理员，须写明原因）。",
    epilog="示例：\n  zfjl case reopen CASE-2024-031 --reason 补录送达回证",
)
def case_reopen_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。", metavar="案件编号")],
    reason: ReasonOpt = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.store import reopen_case

    data = reopen_case(open_vault(), case, reason)
    emit({"case": case, "status": data.get("status")}, as_json,
         f"已重新启用案件 {case}（状态：{data.get('status')}）")  # fmt: skip


@app.command(
    "ls", help="列出案件。",
    epilog="示例：\n  zfjl case ls --status 办理中",
)
def case_ls_cmd(
    status: Annotated[str | None, typer.Option(help="办理中 / 已结案 / 已归档。")] = None,
    withdrawn: Annotated[
        bool, typer.Option("--withdrawn", help="也列出已撤销的案件（标明撤销时间和原因）。")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.store import list_cases

    emit(list_cases(open_vault(), status, include_withdrawn=withdrawn), as_json, _print_cases)


def _print_cases(rows: list[dict[str, Any]]) -> None:
    from zfjl.cli import display as d
    from zfjl.cli.tables import footer, key, table, text

    grid = table(key("案件编号"), text("类别"), text("案由", ratio=3), text("当事人", ratio=2),
                 key("来源"), key("状态"), key("立案日期"))  # fmt: skip
    for r in rows:
        state = "已撤销" if r.get("withdrawn_at") else r["status"]
        kind = r["kind"] if r["procedure"] == "一般" else f"{r['kind']}（{r['procedure']}）"
        grid.add_row(r["id"], kind, d.safe(r["cause"]), d.safe(r["party"]), r["origin"],
                     state, d.day(r["opened_at"]))  # fmt: skip
    out.print(grid)
    for r in rows:
        if r.get("withdrawn_at"):
            footer(f"{r['id']} 已于 {d.when(r['withdrawn_at'])} 撤销"
                   f"（原因：{d.safe(r['withdraw_reason'])}）")  # fmt: skip
    footer(f"共 {len(rows)} 件（类别未注明程序的为一般程序）")


@app.command(
    "show", help="显示案件的文书和关联的音像记录。",
    epilog="示例：\n  zfjl case show CASE-2024-031",
)
def case_show_cmd(
    case: Annotated[
        str, typer.Argument(help="案件编号。", metavar="案件编号")
    ],
    as_json: JsonOpt = False
) -> None:
    from zfjl.cases.store import show_case

    emit(show_case(open_vault(), case), as_json, _print_case)


def _print_case(data: dict[str, Any]) -> None:
    from zfjl.cli import display as d
    from zfjl.cli.tables import footer, key, table, text

    party = data["party"]["name"]
    footer(f"{data['case']}  {data['kind']}（{data['procedure']}程序）  {d.safe(data['cause'])}  "
           f"当事人：{d.safe(party)}  来源：{data['origin']}  状态：{data.get('status', '办理中')}")  # fmt: skip
    docs = table(key("代号"), text("文书", ratio=2), text("文号", ratio=2), key("日期"),
                 text("签名", ratio=2))  # fmt: skip
    for x in data.get("documents", []):
        docs.add_row(x["id"], x["type"], d.safe(x.get("number") or "—"), d.when(x.get("date")),
                     "、".join(s["role"] for s in x.get("signatures", [])) or "—")  # fmt: skip
    out.print(docs)
    media = table(key("录音录像"), key("类型"), text("活动", ratio=1), key("文书"),
                  key("开始/结束"), text("证明对象", ratio=2))  # fmt: skip
    for m in data.get("media", []):
        span = f"{d.when(m.get('start'))}\n{d.when(m.get('end'))}" if m.get("start") else "—"
        media.add_row(d.short_id(m["recording"]), d.kind(m["kind"]), d.safe(m["activity"]),
                      m.get("document") or "—", span, d.safe(m.get("proves") or "—"))  # fmt: skip
    out.print(media)
    if data.get("withdrawn"):
        w = data["withdrawn"]
        out.print(f"本案已于 {w['at'][:16]} 由 {w['actor']} 撤销，原因：{w['reason']}")
    for c in data.get("corrections", []):
        out.print(f"更正 #{c['seq']}  {c['at'][:16]}  {c['actor']}  {c['what']}"
                  f"{'  ' + c['target'][:40] if c['target'] else ''}  原因：{c['reason']}")  # fmt: skip


@app.command(
    "status", help="变更案件状态：办理中 / 已结案 / 已归档。",
    epilog="示例：\n  zfjl case status CASE-2024-031 已结案",
)
def case_status_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。", metavar="案件编号")],
    status: Annotated[str, typer.Argument(help="办理中 / 已结案 / 已归档。", metavar="状态")],
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.store import set_status

    set_status(open_vault(), case, status)
    emit({"case": case, "status": status}, as_json, f"{case}：{status}")


@app.command(
    "history", help="案件的全部变更记录（日志事件）。",
    epilog="示例：\n  zfjl case history CASE-2024-031",
)
def case_history_cmd(
    case: Annotated[
        str, typer.Argument(help="案件编号。", metavar="案件编号")
    ],
    as_json: JsonOpt = False
) -> None:
    from zfjl.access.custody import case_history
    from zfjl.vault.settings import user_names

    vault = open_vault()
    emit(case_history(vault, case), as_json, lambda ev: _print_history(ev, user_names(vault)))


def _print_history(events: list[dict[str, Any]], names: dict[str, str]) -> None:
    from zfjl.cli import display as d
    from zfjl.cli.tables import para
    from zfjl.vault.events import label_of

    for e in events:  # a long detail folds under itself (80 columns)
        head = f"#{e['seq']}  {d.when(e['ts'], seconds=True)}  {d.actor(e['actor'], names)}  "
        para(head, f"{label_of(e['kind'])}  {d.message(e.get('detail') or '')}".rstrip(), indent=0)


@attach_app.command(
    "attach", help="把录音录像关联到案件（按编号，或按设备和时间段），不复制、不改动原件。",
    epilog="示例：\n"
    "  zfjl attach CASE-2024-031 0ad1e9f62b22 --activity 询问 --proves 当事人陈述\n"
    "  zfjl attach CASE-2024-031 --device DSJ01 --from 2024-05-06T10:00 --to 2024-05-06T11:00 "
    "--activity 现场检查",
)
def attach_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。", metavar="案件编号")],
    recordings: Annotated[
        list[str] | None, typer.Argument(help="录音录像编号（或唯一前缀）。", metavar="[记录编号]…")
    ] = None,
    activity: Annotated[
        str, typer.Option(help="所记录的执法活动：询问、现场检查、送达、强制拆除…")
    ] = "",
    proves: Annotated[str | None, typer.Option(help="证明对象（第三十八条）。")] = None,
    document: Annotated[str | None, typer.Option(help="对应文书的代号。")] = None,
    device: Annotated[str | None, typer.Option(help="按设备附加：记录仪编号。")] = None,
    since: Annotated[str | None, typer.Option("--from", help="时间段起。")] = None,
    until: Annotated[str | None, typer.Option("--to", help="时间段止。")] = None,
    maker: Annotated[str | None, typer.Option(help="制作人（第三十八条；默认为录制的执法人员）。")] = None,
    transcript: Annotated[
        str | None, typer.Option(help="录音的文字记录：所在文书的代号，或文字记录本身（第三十八条）。")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.store import attach
    from zfjl.dates import parse_moment
    from zfjl.errors import UsageError

    if not activity:
        raise UsageError("请用 --activity 写明所记录的执法活动（如 询问、现场检查、送达）")
    vault = open_vault()
    tz = vault.config.tz  # a bare --to day is through that day, as for zfjl ls
    check_span(since, until, tz)
    since = None if since is None else parse_moment(since, "--from", tz).at.isoformat()
    until = None if until is None else parse_moment(until, "--to", tz).end.isoformat()
    links = attach(vault, case, recordings=recordings, device=device, since=since,
                   until=until, activity=activity, proves=proves, document=document,
                   maker=maker, transcript=transcript)  # fmt: skip
    emit(links, as_json, f"已关联 {len(links)} 条音像记录到 {case}（{activity}）")


@attach_app.command(
    "detach",
    help="解除误关联的录音录像（更正：须写明原因；原关联留在历史和保管日志中，不改动原件）。",
    epilog="示例：\n  zfjl detach CASE-2024-031 0ad1e9f62b22 --reason 误关联：非本案现场",
)
def detach_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。", metavar="案件编号")],
    recordings: Annotated[
        list[str],
        typer.Argument(help="录音录像编号（或在本案中唯一的前缀）。", metavar="记录编号…"),
    ],
    reason: ReasonOpt = None,
    activity: Annotated[str | None, typer.Option(help="只解除该执法活动的关联。")] = None,
    document: Annotated[str | None, typer.Option(help="只解除对应该文书代号的关联。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.store import detach

    links = detach(open_vault(), case, recordings, reason=reason, activity=activity,
                   document=document)  # fmt: skip
    emit(links, as_json, f"已解除 {len(links)} 条音像记录与 {case} 的关联（原因：{reason}）")

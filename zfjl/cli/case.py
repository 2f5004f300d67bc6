"""Cases: zfjl case open|import|export|doc|ls|show|status|history, and zfjl attach."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from zfjl.cli.common import JsonOpt, open_vault
from zfjl.cli.output import emit, out

app = typer.Typer(name="case", help="案件：立案、导入导出、文书、历史。", no_args_is_help=True)
attach_app = typer.Typer()  # `zfjl attach`: a top-level command


@app.command("open", help="立案：新建一个案件。")
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

    vault = open_vault()
    header = {
        "case": case, "kind": kind, "procedure": procedure, "cause": cause,
        "party": {"type": party_type, "name": party}, "origin": origin,
        "opened_at": opened_at or vault.now().strftime("%Y-%m-%dT%H:%M"),
        "flags": {"major": major, "expert_review": expert_review,
                  "legal_review": legal_review, "confidential": confidential},
    }  # fmt: skip
    emit(open_case(vault, header), as_json, f"已立案：{case}（{kind}，{cause}，{party}）")


@app.command(
    "import", help="导入案件文件（YAML，格式见 docs/case-format.md）；已有同号案件则更新。"
)
def case_import_cmd(
    file: Annotated[Path, typer.Argument(help="案件文件。")], as_json: JsonOpt = False
) -> None:
    from zfjl import userfs
    from zfjl.cases.doctypes import vault_doctypes
    from zfjl.cases.io import media_locations, parse_case
    from zfjl.cases.store import import_case

    vault = open_vault()
    text = userfs.current().read_text(file, "案件文件")
    data = parse_case(text, str(file), vault_doctypes(vault))
    data = import_case(vault, data, media_locations(text, str(file)))
    emit(data, as_json, f"已导入案件 {data['case']}：文书 {len(data.get('documents', []))} 份，"
                        f"音像记录 {len(data.get('media', []))} 条")  # fmt: skip


@app.command("export", help="导出案件为 YAML（可编辑后再导入）。")
def case_export_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="输出文件（默认标准输出）。")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.io import dump_case
    from zfjl.cases.store import get_case

    def write(data: dict[str, Any]) -> None:
        if output:
            from zfjl import userfs

            userfs.current().write_bytes(output, dump_case(data).encode("utf-8"))
            out.print(f"已导出到 {output}")
        else:
            sys.stdout.write(dump_case(data))

    emit(get_case(open_vault(), case), as_json, write)


@app.command("doc", help="向案件添加（或按代号替换）一份文书，文书以 YAML 写成。")
def case_doc_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。")],
    file: Annotated[Path, typer.Argument(help="文书 YAML（一份文书的映射）。")],
    as_json: JsonOpt = False,
) -> None:
    import yaml

    from zfjl import userfs
    from zfjl.cases.store import add_document
    from zfjl.errors import CaseFormatError

    text = userfs.current().read_text(file, "文书文件")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CaseFormatError(f"{file} 不是合法的 YAML：{exc}") from None
    added = add_document(open_vault(), case, doc)
    emit(added, as_json, f"已添加文书 {added['type']}（{added['id']}）到 {case}")


@app.command("ls", help="列出案件。")
def case_ls_cmd(
    status: Annotated[str | None, typer.Option(help="办理中 / 已结案 / 已归档。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.store import list_cases

    emit(list_cases(open_vault(), status), as_json, _print_cases)


def _print_cases(rows: list[dict[str, Any]]) -> None:
    from zfjl.cli import display as d
    from zfjl.cli.tables import footer, key, table, text

    grid = table(key("案件编号"), text("类别"), text("案由", ratio=3), text("当事人", ratio=2),
                 key("来源"), key("状态"), key("立案日期"))  # fmt: skip
    for r in rows:
        kind = r["kind"] if r["procedure"] == "一般" else f"{r['kind']}（{r['procedure']}）"
        grid.add_row(r["id"], kind, d.safe(r["cause"]), d.safe(r["party"]), r["origin"],
                     r["status"], d.day(r["opened_at"]))  # fmt: skip
    out.print(grid)
    footer(f"共 {len(rows)} 件（类别未注明程序的为一般程序）")


@app.command("show", help="显示案件的文书和关联的音像记录。")
def case_show_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。")], as_json: JsonOpt = False
) -> None:
    from zfjl.cases.store import get_case

    emit(get_case(open_vault(), case), as_json, _print_case)


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


@app.command("status", help="变更案件状态：办理中 / 已结案 / 已归档。")
def case_status_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。")],
    status: Annotated[str, typer.Argument(help="办理中 / 已结案 / 已归档。")],
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cases.store import set_status

    set_status(open_vault(), case, status)
    emit({"case": case, "status": status}, as_json, f"{case}：{status}")


@app.command("history", help="案件的全部变更记录（日志事件）。")
def case_history_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。")], as_json: JsonOpt = False
) -> None:
    from zfjl.cases.store import history
    from zfjl.vault.settings import user_names

    vault = open_vault()
    emit(history(vault, case), as_json, lambda ev: _print_history(ev, user_names(vault)))


def _print_history(events: list[dict[str, Any]], names: dict[str, str]) -> None:
    from zfjl.cli import display as d
    from zfjl.vault.events import label_of

    for e in events:
        out.print(f"#{e['seq']}  {d.when(e['ts'], seconds=True)}  {d.actor(e['actor'], names)}  "
                  f"{label_of(e['kind'])}", markup=False)  # fmt: skip


@attach_app.command(
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
    links = attach(open_vault(), case, recordings=recordings, device=device, since=since,
                   until=until, activity=activity, proves=proves, document=document)  # fmt: skip
    emit(links, as_json, f"已关联 {len(links)} 条音像记录到 {case}（{activity}）")

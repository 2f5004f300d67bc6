"""zfjl custom add|ls|rm: a bureau's own templates, rule packs and document types, installed
by an administrator with an approval number and journaled with their SHA-256."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zfjl.cli.common import JsonOpt, open_vault
from zfjl.cli.output import emit, emit_rows, out

app = typer.Typer(
    name="custom",
    no_args_is_help=True,
    help="本局自定义的文书模板（templates）、检查规则包（rules）、文书类型（doctypes）："
    "仅保管库管理员凭审批编号安装，记入日志（含 SHA-256）；未经安装登记或被改动的文件不加载，"
    "zfjl verify 列出。安装：zfjl custom add templates 文件 --approval 文号；"
    "列表：zfjl custom ls；移除：zfjl custom rm templates 名称 --approval 文号。",
    epilog="示例：\n  zfjl custom ls",
)

KindArg = Annotated[str, typer.Argument(
    help="类别：templates（文书模板）、rules（检查规则包）或 doctypes（文书类型）。", metavar="类别"
)]  # fmt: skip
ApprovalOpt = Annotated[str | None, typer.Option("--approval", help="审批编号（必填）。")]


def _print_row(r: dict[str, Any]) -> None:
    from zfjl.cli import display as d
    from zfjl.vault.custom import LABELS, STATE_TEXT

    state = "已移除" if r.get("removed") else STATE_TEXT.get(r.get("state", "installed"), "")
    digest = r.get("sha256") or r.get("found_sha256") or ""
    who = (f"　{d.safe(r['installed_by'])} {d.when(r['installed_at'])}（{d.safe(r['approval'])}）"
           if r.get("installed_at") else "")  # fmt: skip
    problem = f"　{r['problem']}" if r.get("problem") else ""
    out.print(f"{LABELS[r['kind']]}　{r['kind']}/{d.safe(r['name'])}　{state}{problem}　"
              f"SHA-256 {digest[:16]}{who}", markup=False)  # fmt: skip


@app.command(
    "add", help="安装（或更新）一个本局文件到保管库（仅管理员，须 --approval 审批编号）。",
    epilog="示例：\n"
    "  zfjl custom add templates 询问笔录.typ.j2 --approval 局批〔2024〕9号\n"
    "  zfjl custom add rules 本局.yaml --approval 局批〔2024〕10号",
)
def custom_add_cmd(
    kind: KindArg,
    file: Annotated[
        Path,
        typer.Argument(help="要安装的文件（模板 .typ.j2，规则或文书类型 .yaml）。", metavar="文件"),
    ],
    approval: ApprovalOpt = None,
    name: Annotated[
        str | None, typer.Option("--name", help="在保管库中的文件名（默认同原文件名）。")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault.custom import install

    emit(install(open_vault(), kind, file, approval=approval, name=name), as_json, _print_row)


@app.command(
    "ls", help="列出本局文件：已安装的，以及未经安装登记、被改动或缺失的。",
    epilog="示例：\n  zfjl custom ls\n  zfjl custom ls templates --json",
)
def custom_ls_cmd(
    kind: Annotated[
        str | None, typer.Argument(help="只列一类：templates、rules 或 doctypes。", metavar="类别")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault.custom import KINDS, check_kind, states

    if kind is not None:
        check_kind(kind)
    rows = states(open_vault(), (kind,) if kind else KINDS)
    emit_rows(rows, as_json, _print_row, "没有本局自定义的模板、规则或文书类型")


@app.command(
    "rm", help="移除一个本局文件（已安装的或未经登记的；仅管理员，须 --approval 审批编号）。",
    epilog="示例：\n  zfjl custom rm templates 询问笔录.typ.j2 --approval 局批〔2024〕11号",
)
def custom_rm_cmd(
    kind: KindArg,
    name: Annotated[str, typer.Argument(help="保管库中该类别目录下的文件名。", metavar="文件名")],
    approval: ApprovalOpt = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault.custom import remove

    emit(remove(open_vault(), kind, name, approval=approval), as_json, _print_row)

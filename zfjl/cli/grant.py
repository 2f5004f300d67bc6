"""zfjl grant add|ls|revoke: approvals to view or copy footage (arts. 44, 47)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from zfjl.cli.common import JsonOpt, open_vault
from zfjl.cli.output import emit, emit_rows, out
from zfjl.cli.verbs import DefaultVerbGroup, OldSpelling


class GrantGroup(DefaultVerbGroup):
    default_verb = OldSpelling(
        "add",
        "zfjl grant 用户 --case … --approved-by …",
        "zfjl grant add 用户 --case … --approved-by …",
    )


app = typer.Typer(
    name="grant",
    cls=GrantGroup,
    no_args_is_help=True,
    help="查阅、复制批准（第四十四条、第四十七条）：zfjl grant add 用户 --case 案件|--recording 编号 "
    "--scope view|copy --approved-by 批准人 --approval-no 文号 --until 日期；zfjl grant ls；"
    "zfjl grant revoke G-12 --approval-no 文号。",
)


def _print_grant(g: dict[str, Any]) -> None:
    from zfjl.access import SCOPES
    from zfjl.cli import display as d

    state = f"已撤销（{d.when(g['revoked_at'])}）" if g["revoked_at"] else f"至 {g['until']}"
    kind = "案件" if g["target_kind"] == "case" else "记录"
    target = g["target"] if g["target_kind"] == "case" else d.short_id(g["target"])
    out.print(f"{g['id']}　{d.safe(g['user'])}　{SCOPES[g['scope']]}　{kind} {target}　"
              f"{g['approved_by']} 批准（{g['approval_no']}）　{state}", markup=False)  # fmt: skip


@app.command("add", help="批准一名用户查阅或复制一个案件（或一条记录）的音像记录，至某日为止。")
def grant_add_cmd(
    user: Annotated[str, typer.Argument(help="被批准的用户（操作系统用户名）。")],
    case: Annotated[str | None, typer.Option(help="批准范围：整个案件。")] = None,
    recording: Annotated[str | None, typer.Option(help="批准范围：一条记录。")] = None,
    scope: Annotated[str, typer.Option(help="view 查阅 / copy 复制（含查阅）。")] = "view",
    approved_by: Annotated[
        str | None, typer.Option("--approved-by", help="批准人（局长）。")
    ] = None,
    approval_no: Annotated[str | None, typer.Option("--approval-no", help="批准文号。")] = None,
    until: Annotated[str | None, typer.Option(help="有效期至（含当日），YYYY-MM-DD。")] = None,
    purpose: Annotated[str | None, typer.Option(help="用途。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import access
    from zfjl.errors import UsageError

    vault = open_vault()
    if bool(case) == bool(recording):
        raise UsageError("须给出 --case 或 --recording 之一")
    if not (approved_by and approval_no and until):
        raise UsageError("批准须写明 --approved-by、--approval-no 和 --until")
    g = access.add_grant(vault, user, case or recording or "", scope=scope, approved_by=approved_by,
                         approval_no=approval_no, until=until, purpose=purpose)  # fmt: skip
    emit(g, as_json, _print_grant)


@app.command("ls", help="列出批准（默认只列有效的）。")
def grant_ls_cmd(
    for_user: Annotated[str | None, typer.Option("--user", help="只列此用户。")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="含过期和已撤销的。")] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import access

    rows = access.list_grants(open_vault(), for_user, include_inactive=show_all)
    emit_rows(rows, as_json, _print_grant, "没有有效的批准")


@app.command(
    "revoke",
    help="撤销一项批准（须有批准文号）：zfjl grant revoke G-12 --approval-no 文号 [--reason 原因]。",
)
def grant_revoke_cmd(
    grant_id: Annotated[str, typer.Argument(help="批准编号 G-…。")],
    approval_no: Annotated[
        str | None,
        typer.Option("--approval-no", help="撤销的批准文号（记入日志）。"),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="撤销原因。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import access

    emit(access.revoke_grant(open_vault(), grant_id, reason, approval_no=approval_no), as_json,
         _print_grant)  # fmt: skip

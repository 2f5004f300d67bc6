"""zfjl grant add|ls|revoke: approvals to view or copy footage (arts. 44, 47)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from zfjl.cli.common import JsonOpt, open_vault
from zfjl.cli.output import emit, out
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
    epilog="示例：\n  zfjl grant ls",
)


def _print_grant(g: dict[str, Any]) -> None:
    """One grant, as `grant add` and `grant revoke` answer."""
    from zfjl.access import SCOPES
    from zfjl.cli import display as d

    out.print(f"{g['id']}　{d.safe(g['user'])}　{SCOPES[g['scope']]}　{_target(g)}　"
              f"{_approval(g)}　{_state(g)}", markup=False)  # fmt: skip


def _target(g: dict[str, Any], cell: bool = False) -> str:
    from zfjl.cli import display as d

    gap = "\n" if cell else " "
    if g["target_kind"] == "case":
        return f"案件{gap}{d.safe(g['target'])}"
    return f"记录{gap}{d.short_id(g['target'])}"


def _approval(g: dict[str, Any], cell: bool = False) -> str:
    from zfjl.cli import display as d

    return f"{d.safe(g['approved_by'])}{chr(10) if cell else ' 批准'}（{d.safe(g['approval_no'])}）"


def _state(g: dict[str, Any], today: str | None = None, cell: bool = False) -> str:
    """至 2024年9月30日 (the last day it covers), or when it was revoked or lapsed."""
    from zfjl.dates import chinese_day, chinese_time

    gap = "\n" if cell else "，"
    if g["revoked_at"]:
        return f"已撤销{gap}{chinese_time(g['revoked_at'])}"
    until = f"至 {chinese_day(g['until'])}"
    return f"已过期{gap}{until}" if today and g["until"] < today else until


def _print_grants(rows: list[dict[str, Any]], names: dict[str, str], today: str) -> None:
    """The grants as a table that fits 80 columns: ids, objects and dates whole, the
    approving person and number fold."""
    from zfjl.access import SCOPES
    from zfjl.cli import display as d
    from zfjl.cli.tables import footer, key, table, text

    grid = table(key("编号"), key("用户"), key("范围"), key("对象"),
                 text("批准人（文号）", ratio=1), key("有效期/已撤销"))  # fmt: skip
    for g in rows:
        grid.add_row(g["id"], d.actor(g["user"], names, cell=True), SCOPES[g["scope"]],
                     _target(g, cell=True), _approval(g, cell=True),
                     _state(g, today, cell=True))  # fmt: skip
    out.print(grid)
    footer(f"共 {len(rows)} 项（范围：查阅；复制，含查阅。有效期含当日）")


@app.command(
    "add", help="批准一名用户查阅或复制一个案件（或一条记录）的音像记录，至某日为止。",
    epilog="示例：\n"
    "  zfjl grant add lisi --case CASE-2024-031 --scope copy --approved-by 王局长 "
    "--approval-no 局批〔2024〕8号 --until 2024-09-30",
)
def grant_add_cmd(
    user: Annotated[str, typer.Argument(help="被批准的用户（操作系统用户名）。", metavar="用户")],
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


@app.command(
    "ls", help="列出批准（默认只列有效的）。",
    epilog="示例：\n  zfjl grant ls --user lisi --all",
)
def grant_ls_cmd(
    for_user: Annotated[str | None, typer.Option("--user", help="只列此用户。")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="含过期和已撤销的。")] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import access
    from zfjl.vault.settings import user_names

    vault = open_vault()
    rows = access.list_grants(vault, for_user, include_inactive=show_all)
    today = vault.now().date().isoformat()
    empty = "没有批准" if show_all else "没有有效的批准（zfjl grant ls --all 含过期和已撤销的）"
    emit(rows, as_json, lambda r: _print_grants(r, user_names(vault), today) if r else out.print(empty))


@app.command(
    "revoke",
    help="撤销一项批准（须有批准文号）：zfjl grant revoke G-12 --approval-no 文号 [--reason 原因]。",
    epilog="示例：\n  zfjl grant revoke G-12 --approval-no 局批〔2024〕11号 --reason 案件已办结",
)
def grant_revoke_cmd(
    grant_id: Annotated[str, typer.Argument(help="批准编号 G-…。", metavar="批准编号")],
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

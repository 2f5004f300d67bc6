"""zfjl role add|rm|ls: who is 承办人员, 法规科, 局长 or 保管库管理员 — journaled facts."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from zfjl.cli import display as d
from zfjl.cli.common import JsonOpt, open_vault
from zfjl.cli.output import emit, out

app = typer.Typer(
    name="role",
    no_args_is_help=True,
    help="角色（记入日志，仅保管库管理员可改）：zfjl role add 用户 角色 [--approval 审批编号]；"
    "zfjl role rm 用户 角色；zfjl role ls。角色：clerk 承办人员、legal 法规科、director 局长、"
    "admin 保管库管理员；登记 legal、director、admin 须有审批编号。",
    epilog="示例：\n  zfjl role ls",
)


def _print_role(r: dict[str, Any]) -> None:
    how = f"（{r['approval_no']}）" if r.get("approval_no") else ""
    via = f"　{r['via']}" if r.get("via") else ""
    out.print(f"{d.safe(r['user'])}　{r['label']}（{r['role']}）　{_state(r)}　"
              f"{d.safe(r['granted_by'])} 登记{how}{via}", markup=False)  # fmt: skip


def _state(r: dict[str, Any]) -> str:
    return "已撤销" if r.get("removed") else f"自 {d.when(r['since'])}"


def _print_roles(rows: list[dict[str, Any]]) -> None:
    """The roles as a table with a header that fits 80 columns."""
    from zfjl.cli.tables import key, table, text

    grid = table(key("用户"), key("角色"), key("起始"), key("登记人"), text("依据", ratio=1))
    for r in rows:
        basis = "；".join(x for x in (r.get("approval_no"), r.get("via")) if x)
        grid.add_row(d.safe(r["user"]), f"{r['label']}\n{r['role']}", _state(r),
                     d.safe(r["granted_by"]), d.safe(basis) or "—")  # fmt: skip
    out.print(grid)


@app.command(
    "add", help="给用户登记一个角色（legal、director、admin 须 --approval 审批编号）。",
    epilog="示例：\n  zfjl role add wangju director --approval 局批〔2024〕1号",
)
def role_add_cmd(
    user: Annotated[str, typer.Argument(help="操作系统用户名。", metavar="用户")],
    role: Annotated[str, typer.Argument(help="clerk、legal、director 或 admin。", metavar="角色")],
    approval: Annotated[str | None, typer.Option("--approval", help="审批编号。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault.settings import add_role

    emit(add_role(open_vault(), user, role, approval_no=approval), as_json, _print_role)


@app.command(
    "rm", help="撤销用户的一个角色（最后一名管理员不能撤销）。",
    epilog="示例：\n  zfjl role rm zhangsan clerk --reason 调离",
)
def role_rm_cmd(
    user: Annotated[str, typer.Argument(help="操作系统用户名。", metavar="用户")],
    role: Annotated[str, typer.Argument(help="要撤销的角色。", metavar="角色")],
    reason: Annotated[str | None, typer.Option(help="撤销原因。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault.settings import remove_role

    emit(remove_role(open_vault(), user, role, reason=reason), as_json, _print_role)


@app.command(
    "ls", help="列出登记的角色。",
    epilog="示例：\n  zfjl role ls",
)
def role_ls_cmd(as_json: JsonOpt = False) -> None:
    from zfjl.vault.settings import list_roles

    rows = list_roles(open_vault())
    emit(rows, as_json, lambda r: _print_roles(r) if r else out.print("没有登记的角色"))

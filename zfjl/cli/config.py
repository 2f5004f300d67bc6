"""zfjl config ls|get|set: the vault's settings — journaled facts, no longer vault.json."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from zfjl.cli.common import JsonOpt, open_vault
from zfjl.cli.output import emit, emit_rows, out

app = typer.Typer(
    name="config",
    no_args_is_help=True,
    help="保管库设置（记入日志，仅保管库管理员可改）：zfjl config ls；zfjl config get 键；"
    "zfjl config set 键 值 [--approval 审批编号]（retention.* 须有审批编号）。",
    epilog="示例：\n  zfjl config ls",
)


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _print_setting(s: dict[str, Any]) -> None:
    if s.get("changed_at"):
        how = f"（{s['approval_no']}）" if s.get("approval_no") else ""
        when = f"　{s['changed_by']} 于 {str(s['changed_at'])[:16]} 设置{how}"
    else:
        when = "　（默认值）"
    out.print(f"{s['key']} = {_value(s['value'])}{when}", markup=False)


@app.command(
    "ls", help="列出全部设置（含默认值）。",
    epilog="示例：\n  zfjl config ls",
)
def config_ls_cmd(as_json: JsonOpt = False) -> None:
    from zfjl.vault.settings import list_settings

    emit_rows(list_settings(open_vault()), as_json, _print_setting, "没有设置")


@app.command(
    "get", help="显示一项设置：zfjl config get retention.patrol_months。",
    epilog="示例：\n  zfjl config get retention.patrol_months",
)
def config_get_cmd(
    key: Annotated[str, typer.Argument(help="设置的键（以点分隔）。", metavar="键")],
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault.settings import get_setting

    emit(get_setting(open_vault(), key), as_json, _print_setting)


@app.command(
    "set", help="更改一项设置：值按 JSON 读取（文本类设置按原文），校验后记入日志。",
    epilog="示例：\n"
    "  zfjl config set users.zhangsan.name 张三\n"
    "  zfjl config set retention.patrol_months 12 --approval 局批〔2024〕3号",
)
def config_set_cmd(
    key: Annotated[
        str,
        typer.Argument(help="设置的键，如 timezone、devices.DSJ09.metadata_clock。", metavar="键"),
    ],
    value: Annotated[str, typer.Argument(help='新值，如 12、utc、["/mnt/usb"]。', metavar="值")],
    approval: Annotated[str | None, typer.Option("--approval", help="审批编号。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault.settings import set_setting

    emit(set_setting(open_vault(), key, value, approval_no=approval), as_json, _print_setting)

"""What the commands share: the --json option, the vault chosen with --vault, day parsing."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from zfjl.vault import Vault

JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON（供程序读取）。")]


class State:
    vault_path: str | None = None


STATE = State()  # set by the root callback from --vault


def open_vault() -> Vault:
    from zfjl.vault import Vault, resolve_vault_path

    return Vault.open(resolve_vault_path(STATE.vault_path))


def parse_day(text: str | None) -> dt.date | None:
    from zfjl.errors import UsageError

    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--as-of 应为日期 YYYY-MM-DD，收到 {text!r}") from None


def yes_no(value: Any) -> str:
    return "—" if value is None else ("是" if value else "否")

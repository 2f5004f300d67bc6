"""What the commands share: the --json option, the vault chosen with --vault, and the date,
time and month options (parsed by zfjl.dates)."""

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


def parse_day(text: str | None, option: str = "--as-of") -> dt.date | None:
    """A day option's value (zfjl.dates: 2024-06-01, 2024/6/1, 20240601), None when not given."""
    from zfjl.dates import parse_day as day

    return None if text is None else day(text, option)


def moment_option(text: str | None, option: str, vault: Vault) -> str | None:
    """A date/time option's value as ISO 8601 in the bureau's zone (a day alone stays a day),
    None when not given: the library then reads one form only."""
    from zfjl.dates import moment_text

    return moment_text(text, option, vault.config.tz)


def month_option(text: str | None, option: str = "--period") -> str | None:
    """A month option's value as 2024-06 (zfjl.dates: 2024/6, 202406 too), None when not given."""
    from zfjl.dates import month_text

    return None if text is None else month_text(text, option)


def yes_no(value: Any) -> str:
    return "—" if value is None else ("是" if value else "否")

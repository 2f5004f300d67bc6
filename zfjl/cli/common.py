"""What the commands share: the --json option, the vault chosen with --vault, and the date,
time and month options (parsed by zfjl.dates)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from zfjl.vault import Vault

JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON（供程序读取）。")]
# Every command that writes a document, report or register for a person: an existing file is
# replaced only with --force (zfjl.outputs.claim; exit 6 without it).
ForceOpt = Annotated[bool, typer.Option("--force", help="输出文件已存在时覆盖（否则不写入，退出码 6）。")]


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


def check_span(since: str | None, until: str | None, tz: dt.tzinfo,
               names: tuple[str, str] = ("--from", "--to")) -> None:  # fmt: skip
    """Refuse a span that ends before it begins (`--from 2024-07-01 --to 2024-06-01` would
    silently list nothing): a usage error naming both options."""
    from zfjl.dates import chinese_day, chinese_time, parse_moment
    from zfjl.errors import UsageError

    if since is None or until is None:
        return
    start, end = parse_moment(since, names[0], tz), parse_moment(until, names[1], tz)
    if end.end <= start.at:
        said = [chinese_time(m.at) if m.has_time else chinese_day(m.at.date()) for m in (start, end)]
        raise UsageError(f"{names[0]} {said[0]} 晚于 {names[1]} {said[1]}：起点须早于终点")


def month_option(text: str | None, option: str = "--period") -> str | None:
    """A month option's value as 2024-06 (zfjl.dates: 2024/6, 202406 too), None when not given."""
    from zfjl.dates import month_text

    return None if text is None else month_text(text, option)


def yes_no(value: Any) -> str:
    return "—" if value is None else ("是" if value else "否")

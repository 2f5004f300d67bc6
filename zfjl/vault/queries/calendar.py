"""The holiday notices the bureau entered (`zfjl calendar add`), as deadlines count on them."""

from __future__ import annotations

import datetime as dt

from zfjl.vault.vault import Vault


def calendar_years(vault: Vault) -> list[int]:
    """The years a holiday notice entered into the vault covers."""
    return [int(r[0]) for r in vault.conn.execute("SELECT year FROM calendar_years")]


def calendar_days(vault: Vault) -> dict[dt.date, bool]:
    """Each day a notice entered names -> whether it is a working day."""
    return {
        dt.date.fromisoformat(r[0]): bool(r[1])
        for r in vault.conn.execute("SELECT date, workday FROM calendar_days")
    }

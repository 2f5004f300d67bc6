"""Running the rules over a vault's cases: its rule packs, its calendar and clock."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

from zfjl.cases.store import get_case
from zfjl.checklists.engine import CaseReport, Rule, check_case, load_rules
from zfjl.checklists.predicates import Context
from zfjl.vault.vault import Vault
from zfjl.workdays import load_calendar


def vault_rules(vault: Vault, extra: list[Path] | None = None) -> list[Rule]:
    """Built-in packs, then the vault's own rules/ folder, then any folders given."""
    return load_rules([vault.root / "rules", *(extra or [])])


def vault_context(vault: Vault, today: dt.date | None = None) -> Context:
    return Context(today=today or vault.now().date(), calendar=load_calendar(vault.conn),
                   tz=vault.config.tz)  # fmt: skip


def check(vault: Vault, case_id: str, *, today: dt.date | None = None,
          rules: list[Rule] | None = None) -> CaseReport:  # fmt: skip
    return check_case(get_case(vault, case_id), rules or vault_rules(vault),
                      vault_context(vault, today))  # fmt: skip


def check_all(vault: Vault, *, today: dt.date | None = None, include_closed: bool = False,
              rules: list[Rule] | None = None) -> Iterator[CaseReport]:  # fmt: skip
    """Every open case (or every case), streamed from the catalog in id order."""
    rules = rules or vault_rules(vault)
    ctx = vault_context(vault, today)
    sql = "SELECT data FROM cases" + ("" if include_closed else " WHERE status != '已归档'")
    for (data,) in vault.conn.execute(sql + " ORDER BY id"):
        yield check_case(json.loads(data), rules, ctx)

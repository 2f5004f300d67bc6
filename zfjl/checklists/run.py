"""Running the rules over a vault's cases: its rule packs, its calendar, clock and bureau."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zfjl.cases.store import get_case
from zfjl.checklists.engine import CaseReport, Rule, check_case, load_rules
from zfjl.checklists.predicates import HEARING_FINES, Context
from zfjl.vault.queries.cases import cases_to_check, skewed_recordings
from zfjl.vault.vault import Vault
from zfjl.workdays import load_calendar


def vault_rules(vault: Vault, extra: list[Path] | None = None) -> list[Rule]:
    """Built-in packs, then the vault's own rules/ folder (the packs an administrator
    installed; any other file there is warned about and not loaded), then any folders given."""
    from zfjl.vault.custom import trusted_files

    return load_rules(extra or [], texts=trusted_files(vault, "rules"))


def hearing_fines(vault: Vault) -> dict[str, float]:
    """行政处罚法第六十三条's 较大数额罚款 by party type: the vault's settings
    (check.hearing_fine_individual, check.hearing_fine_organisation), else Hunan's."""
    section = vault.config.extra.get("check", {})
    return {"个人": float(section.get("hearing_fine_individual", HEARING_FINES["个人"])),
            "单位": float(section.get("hearing_fine_organisation", HEARING_FINES["单位"]))}  # fmt: skip


def vault_context(vault: Vault, today: dt.date | None = None) -> Context:
    return Context(today=today or vault.now().date(), calendar=load_calendar(vault),
                   tz=vault.config.tz, bureau=vault.config.bureau,
                   hearing_fines=hearing_fines(vault))  # fmt: skip


def check(vault: Vault, case_id: str, *, today: dt.date | None = None,
          rules: list[Rule] | None = None) -> CaseReport:  # fmt: skip
    case = get_case(vault, case_id)
    skewed = skewed_recordings(vault, [m["recording"] for m in case.get("media", [])
                                       if m.get("recording")])  # fmt: skip
    return check_case(case, rules or vault_rules(vault), vault_context(vault, today), skewed)


def check_all(vault: Vault, *, today: dt.date | None = None, include_closed: bool = False,
              include_withdrawn: bool = False,
              rules: list[Rule] | None = None) -> Iterator[CaseReport]:  # fmt: skip
    """Every open case (or every case), streamed from the catalog in id order; withdrawn
    cases only with `include_withdrawn`."""
    rules = rules or vault_rules(vault)
    ctx = vault_context(vault, today)
    skewed = skewed_recordings(vault)
    for case in cases_to_check(vault, include_closed=include_closed,
                               include_withdrawn=include_withdrawn):  # fmt: skip
        yield check_case(case, rules, ctx, skewed)


def pending_items(reports: list[CaseReport]) -> list[dict[str, Any]]:
    """The requirements not yet due (待办) across cases, earliest due first: what the monthly
    report lists apart from violations. One dict per item: case, rule, article, stage, title,
    due (ISO day or None: due at the next stage or on closing), found."""
    items = [{"case": r.case, "rule": f.rule, "article": f.article, "stage": f.stage,
              "title": f.title, "due": f.due, "found": f.found}
             for r in reports for f in r.pending()]  # fmt: skip
    return sorted(items, key=lambda i: (i["due"] is None, i["due"] or "", i["case"], i["rule"]))

"""The figures of `zfjl report` (art. 54): how recording was used and managed in a month, per
unit, officer and device — from the catalog's answers (zfjl.vault.queries.reports).

Definitions (docs/supervision.md): a recording belongs to the month of its recording time and to the
unit of its device (a device not in the registry counts under 未登记单位); hours are the summed
durations of video and audio; late means stored after art. 37's deadline; a device is "in fault"
in the month if it was in fault at any moment of it; cases are those of the unit opened in the
month, checked as of the month's last day (or today, if earlier); spot checks are those drawn
for the month.
"""


from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any, cast

from zfjl.devices.registry import STATUS
from zfjl.errors import UsageError
from zfjl.spotcheck import parse_period
from zfjl.vault.catalog import DEVICE_STATUS_AFTER
from zfjl.vault.queries import devices as devices_q
from zfjl.vault.queries import reports as q
from zfjl.vault.queries.reports import NO_UNIT
from zfjl.vault.vault import Vault

__all__ = ["NO_UNIT", "build_report", "known_units"]


def _faulty_devices(vault: Vault, start: str, end: str) -> dict[str, list[str]]:
    """Devices in fault (or retired) at any moment of [start, end): device -> states seen."""
    state: dict[str, str] = {}
    seen: dict[str, set[str]] = defaultdict(set)
    for dev, at, event in devices_q.device_events(vault, before_day=end):
        if event not in DEVICE_STATUS_AFTER:
            continue
        new = DEVICE_STATUS_AFTER[event]
        if at[:10] < start:
            state[dev] = new  # the state the month began with
        else:
            seen[dev].add(new)
    for dev, st in state.items():
        seen[dev].add(st)
    return {d: sorted(s) for d, s in seen.items() if s & {"fault", "retired"}}


def _check_cases(vault: Vault, cases: list[q.OpenedCase], as_of: dt.date) -> dict[str, Any]:
    from zfjl.checklists import pending_items, vault_context, vault_rules
    from zfjl.checklists.engine import check_case

    rules, ctx = vault_rules(vault), vault_context(vault, as_of)
    by_article: Counter[str] = Counter()
    by_unit_article: dict[str, Counter[str]] = defaultdict(Counter)
    with_violations: Counter[str] = Counter()
    reports = []
    for c in cases:
        report = check_case(c["data"], rules, ctx)
        reports.append(report)
        articles = {f.article for f in report.findings if f.status == "fail"}
        for a in articles:
            by_article[a] += 1
            by_unit_article[c["unit"]][a] += 1
        if articles:
            with_violations[c["unit"]] += 1
    return {"by_article": by_article, "by_unit_article": by_unit_article,
            "with_violations": with_violations, "pending": pending_items(reports)}  # fmt: skip


def _fault_notes(vault: Vault, start: str, end: str) -> dict[str, list[str]]:
    """The faults logged in [start, end), as 'MM-DD note' per device."""
    found: dict[str, list[str]] = defaultdict(list)
    for dev, at, note in devices_q.fault_reports(vault, start, end):
        found[dev].append(f"{at[5:10]} 报告故障" + (f"：{note}" if note else ""))
    return found


def known_units(vault: Vault) -> list[str]:
    """The units the vault knows: of its devices, cases and spot checks."""
    names = q.unit_names(vault)
    return sorted(n for n in names if n)


def build_report(vault: Vault, period: str, unit: str | None = None) -> dict[str, Any]:
    start, end = parse_period(period)
    if unit is not None and unit != NO_UNIT:
        units_known = known_units(vault)
        if unit not in units_known:
            raise UsageError(
                f"没有单位“{unit}”；已知单位：{'、'.join(units_known) or '（尚无，用 zfjl device add --unit 登记）'}"
            )
    tz = vault.config.tz
    lo = dt.datetime.fromisoformat(start).replace(tzinfo=tz).isoformat()
    hi = dt.datetime.fromisoformat(end).replace(tzinfo=tz).isoformat()
    month = q.month_recordings(vault, lo, hi, unit)
    units: dict[str, Any] = {r["unit"]: r for r in month.units}
    officers, per_day = month.officers, month.per_day
    devices = cast(list[dict[str, Any]], month.devices)
    registry = q.registered_devices(vault)
    faulty = _faulty_devices(vault, start, end)
    # Every registered device of the unit is listed, with or without footage (issue 13).
    listed = {d["device"] for d in devices}
    zero = {"recordings": 0, "hours": 0.0, "late_uploads": 0, "clock_skew": 0, "officers": 0}
    for dev, reg in registry.items():
        if dev not in listed and reg["registered"] and (not unit or reg["unit"] == unit):
            devices.append({"device": dev, "unit": reg["unit"] or NO_UNIT, **zero})
    devices.sort(key=lambda d: d["device"])
    notes = _fault_notes(vault, start, end)
    for d in devices:
        d["fault_in_period"] = d["device"] in faulty
        d["fault"] = "；".join(
            [STATUS[st] for st in faulty.get(d["device"], []) if st in ("fault", "retired")]
            + notes.get(d["device"], [])
        )
        d["registered"] = d["device"] in registry and bool(registry[d["device"]]["registered"])
    today = vault.now().date()
    as_of = min(dt.date.fromisoformat(end) - dt.timedelta(days=1), today)
    cases = q.cases_opened(vault, start, end, unit)
    checks = _check_cases(vault, cases, as_of)
    spot = q.spotcheck_tally(vault, period, unit)

    unit_names = sorted(set(units) | {c["unit"] for c in cases} | {s["unit"] for s in spot}
                        | {r["unit"] or NO_UNIT for r in registry.values() if not unit or r["unit"] == unit})  # fmt: skip
    unit_rows = []
    for name in unit_names:
        u = units.get(name, {})
        unit_cases = [c for c in cases if c["unit"] == name]
        unit_rows.append({
            "unit": name,
            "recordings": u.get("recordings", 0), "hours": u.get("hours", 0.0) or 0.0,
            "late_uploads": u.get("late_uploads", 0), "clock_skew": u.get("clock_skew", 0),
            # Registered cameras only; one seen in footage but never registered is counted
            # apart (a unit of four unregistered cameras has no 登记记录仪).
            "devices": sum(1 for r in registry.values()
                           if r["registered"] and (r["unit"] or NO_UNIT) == name),
            "devices_unregistered": sum(1 for r in registry.values()
                                        if not r["registered"] and (r["unit"] or NO_UNIT) == name),
            "devices_in_fault": sum(1 for dev in faulty
                                    if _unit_of(registry, dev) == name),
            "cases_opened": len(unit_cases),
            "cases_open": sum(1 for c in unit_cases if c["status"] == "办理中"),
            "cases_with_violations": checks["with_violations"].get(name, 0),
            "violations_by_article": dict(sorted(checks["by_unit_article"].get(name, {}).items())),
            "spotchecks": {s["result"]: s["n"] for s in spot if s["unit"] == name},
        })  # fmt: skip
    totals = {k: sum(r[k] for r in unit_rows) for k in (
        "recordings", "late_uploads", "clock_skew", "devices", "devices_unregistered",
        "devices_in_fault", "cases_opened", "cases_open", "cases_with_violations")}  # fmt: skip
    totals["hours"] = round(sum(r["hours"] for r in unit_rows), 2)
    # Requirements not yet due (待办) are not violations: listed apart, with their due day.
    totals["pending_items"] = len(checks["pending"])
    return {
        "bureau": vault.config.bureau, "period": period, "unit": unit, "from": start, "to": end,
        "checked_as_of": as_of.isoformat(), "generated_at": vault.now_iso(),
        "totals": totals, "units": unit_rows, "officers": officers, "devices": devices,
        "per_day": per_day, "faulty_devices": faulty, "pending": checks["pending"],
        "violations_by_article": dict(sorted(checks["by_article"].items(), key=_article_order)),
    }  # fmt: skip


def _unit_of(registry: dict[str, q.RegisteredDevice], device: str) -> str:
    """The unit a device counts under: the registry's, else NO_UNIT."""
    found = registry.get(device)
    return (found["unit"] if found else None) or NO_UNIT


def _article_order(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])

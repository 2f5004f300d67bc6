"""The figures of `zfjl report` (art. 54): how recording was used and managed in a month, per
unit, officer and device — from the catalog, with SQL.

Definitions (docs/supervision.md): a recording belongs to the month of its recording time and to the
unit of its device (a device not in the registry counts under 未登记单位); hours are the summed
durations of video and audio; late means stored after art. 37's deadline; a device is "in fault"
in the month if it was in fault at any moment of it; cases are those of the unit opened in the
month, checked as of the month's last day (or today, if earlier); spot checks are those drawn
for the month.
"""


from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from typing import Any

from zfjl.devices.registry import STATUS
from zfjl.errors import UsageError
from zfjl.spotcheck import parse_period
from zfjl.vault.catalog import DEVICE_STATUS_AFTER
from zfjl.vault.vault import Vault

NO_UNIT = "未登记单位"
MEDIA = "('video', 'audio')"


def _recording_rows(vault: Vault, start: str, end: str, unit: str | None) -> str:
    """The month's recordings with their unit, as a CTE every figure selects from."""
    from zfjl.devices.officers import officer_columns

    cond = " AND COALESCE(d.unit, ?) = ?" if unit else ""
    return (
        f"WITH b AS (SELECT r.*, {officer_columns('r')} FROM recordings r"
        " WHERE r.recorded_at >= ? AND r.recorded_at < ?),"
        " m AS (SELECT r.id, r.kind, r.device, COALESCE(r.rec_officer, '未知') AS officer,"
        f" COALESCE(d.unit, '{NO_UNIT}') AS unit, substr(r.recorded_at, 1, 10) AS day,"
        f" CASE WHEN r.kind IN {MEDIA} THEN COALESCE(r.duration, 0) ELSE 0 END AS secs,"
        " COALESCE(r.late, 0) AS late, r.clock_skew AS skew"
        " FROM b r LEFT JOIN devices d ON d.id = r.device"
        " WHERE 1" + cond + ")"
    )


def _params(start: str, end: str, unit: str | None) -> list[Any]:
    return [start, end] + ([NO_UNIT, unit] if unit else [])


GROUP_FIGURES = (
    "COUNT(*) AS recordings, ROUND(SUM(secs) / 3600.0, 2) AS hours,"
    " SUM(late) AS late_uploads, SUM(skew) AS clock_skew"
)


def _grouped(vault: Vault, cte: str, params: list[Any], key: str) -> list[dict[str, Any]]:
    sql = f"{cte} SELECT {key}, {GROUP_FIGURES} FROM m GROUP BY {key} ORDER BY {key}"
    return list(vault.db.query(sql, params))


def _faulty_devices(vault: Vault, start: str, end: str) -> dict[str, list[str]]:
    """Devices in fault (or retired) at any moment of [start, end): device -> states seen."""
    state: dict[str, str] = {}
    seen: dict[str, set[str]] = defaultdict(set)
    for dev, at, event in vault.conn.execute(
        "SELECT device, at, event FROM device_log WHERE substr(at, 1, 10) < ? ORDER BY at, seq",
        (end,),
    ):
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


def _cases(vault: Vault, start: str, end: str, unit: str | None) -> list[dict[str, Any]]:
    sql = (
        "SELECT id, status, COALESCE(json_extract(data, '$.unit'), ?) AS unit, data FROM cases"
        " WHERE substr(opened_at, 1, 10) >= ? AND substr(opened_at, 1, 10) < ?"
        " AND withdrawn_seq IS NULL"  # a withdrawn case is no case of the month (issue 13)
    )
    params: list[Any] = [NO_UNIT, start, end]
    if unit:
        sql += " AND COALESCE(json_extract(data, '$.unit'), ?) = ?"
        params += [NO_UNIT, unit]
    return list(vault.db.query(sql + " ORDER BY id", params))


def _check_cases(vault: Vault, cases: list[dict[str, Any]], as_of: dt.date) -> dict[str, Any]:
    from zfjl.checklists import pending_items, vault_context, vault_rules
    from zfjl.checklists.engine import check_case

    rules, ctx = vault_rules(vault), vault_context(vault, as_of)
    by_article: Counter[str] = Counter()
    by_unit_article: dict[str, Counter[str]] = defaultdict(Counter)
    with_violations: Counter[str] = Counter()
    reports = []
    for c in cases:
        report = check_case(json.loads(c["data"]), rules, ctx)
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
    for dev, at, note in vault.conn.execute(
        "SELECT device, at, note FROM device_log WHERE event = 'fault'"
        " AND substr(at, 1, 10) >= ? AND substr(at, 1, 10) < ? ORDER BY at, seq", (start, end)
    ):
        found[dev].append(f"{at[5:10]} 报告故障" + (f"：{note}" if note else ""))
    return found


def known_units(vault: Vault) -> list[str]:
    """The units the vault knows: of its devices, cases and spot checks."""
    names = {r[0] for r in vault.conn.execute("SELECT unit FROM devices WHERE unit IS NOT NULL")}
    names |= {r[0] for r in vault.conn.execute(
        "SELECT json_extract(data, '$.unit') FROM cases WHERE json_extract(data, '$.unit') IS NOT NULL")}  # fmt: skip
    names |= {r[0] for r in vault.conn.execute("SELECT unit FROM spotcheck_items")}
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
    cte, params = _recording_rows(vault, lo, hi, unit), _params(lo, hi, unit)
    units = {r["unit"]: r for r in _grouped(vault, cte, params, "unit")}
    officers = list(vault.db.query(
        f"{cte} SELECT officer, MIN(unit) AS unit, {GROUP_FIGURES} FROM m GROUP BY officer"
        " ORDER BY officer", params))  # fmt: skip
    devices = list(vault.db.query(
        f"{cte} SELECT device, MIN(unit) AS unit, {GROUP_FIGURES}, COUNT(DISTINCT officer)"
        " AS officers FROM m WHERE device IS NOT NULL GROUP BY device ORDER BY device", params))  # fmt: skip
    per_day = list(vault.db.query(
        f"{cte} SELECT day, ROUND(SUM(secs) / 3600.0, 2) AS hours, COUNT(*) AS recordings"
        " FROM m GROUP BY day ORDER BY day", params))  # fmt: skip

    registry = {
        r["id"]: r for r in vault.db.query("SELECT id, unit, status, registered FROM devices")
    }
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
        d["registered"] = bool(registry.get(d["device"], {}).get("registered"))
    today = vault.now().date()
    as_of = min(dt.date.fromisoformat(end) - dt.timedelta(days=1), today)
    cases = _cases(vault, start, end, unit)
    checks = _check_cases(vault, cases, as_of)
    spot = list(vault.db.query(
        "SELECT unit, COALESCE(result, 'unchecked') AS result, COUNT(*) AS n FROM spotcheck_items"
        " WHERE period = ?" + (" AND unit = ?" if unit else "") + " GROUP BY unit, result",
        [period] + ([unit] if unit else [])))  # fmt: skip

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
                                    if ((registry.get(dev) or {}).get("unit") or NO_UNIT) == name),
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


def _article_order(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])

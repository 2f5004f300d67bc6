"""The monthly report's questions (art. 54): a month's recordings summed per unit, officer,
device and day; the cases opened in it; the spot checks drawn for it; the units the vault
knows. Definitions are docs/supervision.md's (zfjl.reports.figures says them)."""

from __future__ import annotations

import json
from typing import Any, NamedTuple, TypedDict, cast

from zfjl.vault.queries.devices import officer_columns
from zfjl.vault.vault import Vault

# The unit a recording of a device the registry does not place in a unit counts under.
NO_UNIT = "未登记单位"
MEDIA = "('video', 'audio')"
# ROUND of a NUMERIC: PostgreSQL has no two-argument ROUND of a double; SQLite rounds either
# to a float, as before.
GROUP_FIGURES = (
    "COUNT(*) AS recordings, ROUND(CAST(SUM(secs) / 3600.0 AS NUMERIC), 2) AS hours,"
    " SUM(late) AS late_uploads, SUM(skew) AS clock_skew"
)


class UnitFigures(TypedDict):
    unit: str
    recordings: int
    hours: float | None
    late_uploads: int
    clock_skew: int | None


class OfficerFigures(TypedDict):
    officer: str
    unit: str
    recordings: int
    hours: float | None
    late_uploads: int
    clock_skew: int | None


class DeviceFigures(TypedDict):
    device: str
    unit: str
    recordings: int
    hours: float | None
    late_uploads: int
    clock_skew: int | None
    officers: int


class DayFigures(TypedDict):
    day: str
    hours: float | None
    recordings: int


class MonthRecordings(NamedTuple):
    """A month's recordings summed four ways, each list ordered by its key."""

    units: list[UnitFigures]
    officers: list[OfficerFigures]
    devices: list[DeviceFigures]
    per_day: list[DayFigures]


class OpenedCase(TypedDict):
    id: str
    status: str
    unit: str  # NO_UNIT when the case file names none
    data: dict[str, Any]  # the case as journaled


class RegisteredDevice(TypedDict):
    id: str
    unit: str | None
    status: str
    registered: int  # 0: only met by ingest


class SpotcheckTally(TypedDict):
    unit: str
    result: str  # pass, minor, fail, or unchecked
    n: int


def _month_rows(lo: str, hi: str, unit: str | None) -> tuple[str, list[Any]]:
    """The recordings of [lo, hi) with their unit (of the unit, if given), as a CTE `m` every
    figure selects from, and its parameters."""
    cond = " WHERE COALESCE(d.unit, ?) = ?" if unit else ""
    cte = (
        f"WITH b AS (SELECT r.*, {officer_columns('r')} FROM recordings r"
        " WHERE r.recorded_at >= ? AND r.recorded_at < ?),"
        " m AS (SELECT r.id, r.kind, r.device, COALESCE(r.rec_officer, '未知') AS officer,"
        f" COALESCE(d.unit, '{NO_UNIT}') AS unit, substr(r.recorded_at, 1, 10) AS day,"
        f" CASE WHEN r.kind IN {MEDIA} THEN COALESCE(r.duration, 0) ELSE 0 END AS secs,"
        " COALESCE(r.late, 0) AS late, r.clock_skew AS skew"
        " FROM b r LEFT JOIN devices d ON d.id = r.device" + cond + ")"
    )
    return cte, [lo, hi] + ([NO_UNIT, unit] if unit else [])


def month_recordings(vault: Vault, lo: str, hi: str, unit: str | None = None) -> MonthRecordings:
    """The recordings recorded at [lo, hi) (ISO times in the bureau's zone) of the unit (every
    unit if None): count, hours of video and audio, late uploads and clock skews per unit,
    officer, device and day."""
    cte, params = _month_rows(lo, hi, unit)
    units = list(vault.query(
        f"{cte} SELECT unit, {GROUP_FIGURES} FROM m GROUP BY unit ORDER BY unit", params))  # fmt: skip
    officers = list(vault.query(
        f"{cte} SELECT officer, MIN(unit) AS unit, {GROUP_FIGURES} FROM m GROUP BY officer"
        " ORDER BY officer", params))  # fmt: skip
    devices = list(vault.query(
        f"{cte} SELECT device, MIN(unit) AS unit, {GROUP_FIGURES}, COUNT(DISTINCT officer)"
        " AS officers FROM m WHERE device IS NOT NULL GROUP BY device ORDER BY device", params))  # fmt: skip
    per_day = list(vault.query(
        f"{cte} SELECT day, ROUND(CAST(SUM(secs) / 3600.0 AS NUMERIC), 2) AS hours, COUNT(*) AS recordings"
        " FROM m GROUP BY day ORDER BY day", params))  # fmt: skip
    return MonthRecordings(
        cast(list[UnitFigures], units), cast(list[OfficerFigures], officers),
        cast(list[DeviceFigures], devices), cast(list[DayFigures], per_day),
    )  # fmt: skip


def cases_opened(
    vault: Vault, start_day: str, end_day: str, unit: str | None = None
) -> list[OpenedCase]:
    """The cases opened on [start_day, end_day) (of the unit, if given), not withdrawn, by id."""
    sql = (
        "SELECT id, status, COALESCE(unit, ?) AS unit, data FROM cases"
        " WHERE substr(opened_at, 1, 10) >= ? AND substr(opened_at, 1, 10) < ?"
        " AND withdrawn_seq IS NULL"  # a withdrawn case is no case of the month (issue 13)
    )
    params: list[Any] = [NO_UNIT, start_day, end_day]
    if unit:
        sql += " AND COALESCE(unit, ?) = ?"
        params += [NO_UNIT, unit]
    return [
        OpenedCase(id=r[0], status=r[1], unit=r[2], data=json.loads(r[3]))
        for r in vault.conn.execute(sql + " ORDER BY id", params)
    ]


def registered_devices(vault: Vault) -> dict[str, RegisteredDevice]:
    """Every device the catalog knows, by id: its unit, status and whether it is registered."""
    return {r["id"]: cast(RegisteredDevice, r)
            for r in vault.query("SELECT id, unit, status, registered FROM devices")}  # fmt: skip


def spotcheck_tally(vault: Vault, period: str, unit: str | None = None) -> list[SpotcheckTally]:
    """How many items drawn for the month ('YYYY-MM') got each result, per unit."""
    return cast(list[SpotcheckTally], list(vault.query(
        "SELECT unit, COALESCE(result, 'unchecked') AS result, COUNT(*) AS n FROM spotcheck_items"
        " WHERE period = ?" + (" AND unit = ?" if unit else "") + " GROUP BY unit, result",
        [period] + ([unit] if unit else []))))  # fmt: skip


def unit_names(vault: Vault) -> set[str]:
    """The units named by the vault's devices, cases and spot checks."""
    names = {r[0] for r in vault.conn.execute("SELECT unit FROM devices WHERE unit IS NOT NULL")}
    names |= {r[0] for r in vault.conn.execute("SELECT unit FROM cases WHERE unit IS NOT NULL")}
    names |= {r[0] for r in vault.conn.execute("SELECT unit FROM spotcheck_items")}
    return names

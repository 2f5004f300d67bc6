"""The device registry's questions (arts. 48, 51, 52): devices, who carried which when, their
upkeep; and who carried the camera of a recording, as every listing derives it.

The officer of a recording is the one its file name (or `ingest --officer`) states, as the
sightings journaled it; else the officer the registry assigned its device to at its recording
time (an assignment holds from its `since` to the next one, so a reassignment never changes
earlier footage). Footage of an unregistered camera, or of a registered one with no
assignment at that time, has no officer, and `officer_source` says why. Recordings journaled
without any sighting (the synthetic month of `zfjl.sample`) keep the officer their event
states, as stated.
"""

from __future__ import annotations

from typing import NamedTuple, TypedDict, cast

from zfjl.vault.vault import Vault

# officer_source -> what a person reads for it.
OFFICER_SOURCES = {
    "stated": "文件名或入库时载明",
    "assignment": "按配发登记",
    "no_assignment": "未知（该时段无配发登记）",
    "unregistered": "未知（记录仪未登记）",
    "no_device": "未知（记录仪不明）",
}
UNKNOWN_OFFICER = "未知"


def _stated_officer(r: str) -> str:
    return (
        f"COALESCE((SELECT s.officer FROM sightings s WHERE s.object_id = {r}.id"
        " AND s.officer IS NOT NULL ORDER BY s.seq LIMIT 1),"
        f" CASE WHEN NOT EXISTS (SELECT 1 FROM sightings s WHERE s.object_id = {r}.id)"
        f" THEN {r}.officer END)"
    )


def _assigned_officer(r: str) -> str:
    at = f"{r}.at_utc"  # UTC keys (catalog.utc_key): compared as text, no date function
    return (
        f"(SELECT a.officer FROM device_assignments a WHERE a.device = {r}.device"
        f" AND a.since_utc <= {at} AND (a.until IS NULL OR {at} < a.until_utc)"
        " ORDER BY a.since DESC LIMIT 1)"
    )


def derived_officer(r: str = "r") -> str:
    """The SQL expression of a recording's officer as every listing derives it (stated, else
    assigned), for the recordings row aliased `r`: what `rec_officer` is."""
    return f"COALESCE({_stated_officer(r)}, {_assigned_officer(r)})"


def officer_columns(r: str = "r") -> str:
    """SQL select-list items `rec_officer, officer_source` for the recordings row aliased `r`
    (the catalog's tables sightings, device_assignments and devices must be reachable). For
    the statements under zfjl/vault/ only."""
    stated, assigned = _stated_officer(r), _assigned_officer(r)
    registered = f"EXISTS (SELECT 1 FROM devices d WHERE d.id = {r}.device AND d.registered = 1)"
    return (
        f"{derived_officer(r)} AS rec_officer,"
        f" CASE WHEN {stated} IS NOT NULL THEN 'stated'"
        f" WHEN {assigned} IS NOT NULL THEN 'assignment'"
        f" WHEN {r}.device IS NULL THEN 'no_device'"
        f" WHEN {registered} THEN 'no_assignment' ELSE 'unregistered' END AS officer_source"
    )


class DeviceRow(TypedDict):
    """A device as the registry holds it (the catalog's `devices` row, in its column order)."""

    id: str
    model: str | None
    serial: str | None
    unit: str | None
    status: str  # active, fault, retired, unregistered
    registered: int  # 0/1
    added_at: str
    note: str | None
    seq: int


class ListedDevice(DeviceRow):
    officer: str | None  # the current assignment's


class Assignment(TypedDict):
    officer: str
    since: str
    until: str | None


class DeviceLogEntry(TypedDict):
    seq: int
    at: str
    event: str
    note: str | None
    actor: str


class DeviceEvent(NamedTuple):
    """One maintenance-log line, as status over time needs it."""

    device: str
    at: str
    event: str


class DeviceNote(NamedTuple):
    device: str
    at: str
    note: str | None


class DeviceAssignment(NamedTuple):
    device: str
    officer: str
    since: str
    until: str | None


DEVICE_COLUMNS = "id, model, serial, unit, status, registered, added_at, note, seq"


def device(vault: Vault, device_id: str) -> DeviceRow | None:
    rows = list(vault.query(f"SELECT {DEVICE_COLUMNS} FROM devices WHERE id = ?", [device_id]))
    return cast(DeviceRow, rows[0]) if rows else None


def device_assignments(vault: Vault, device_id: str) -> list[Assignment]:
    """The device's assignments, oldest first."""
    return cast(list[Assignment], list(vault.query(
        "SELECT officer, since, until FROM device_assignments WHERE device = ? ORDER BY since",
        [device_id])))  # fmt: skip


def device_log(vault: Vault, device_id: str) -> list[DeviceLogEntry]:
    """The device's maintenance log in time order."""
    return cast(list[DeviceLogEntry], list(vault.query(
        "SELECT seq, at, event, note, actor FROM device_log WHERE device = ? ORDER BY at, seq",
        [device_id])))  # fmt: skip


def count_device_recordings(vault: Vault, device_id: str) -> int:
    row = vault.conn.execute(
        "SELECT COUNT(*) FROM recordings WHERE device = ?", (device_id,)
    ).fetchone()
    return int(row[0])


def devices_with_officer(vault: Vault, unit: str | None = None) -> list[ListedDevice]:
    """Every device (of the unit, if given) by id, with the officer it is assigned to now."""
    sql = (
        f"SELECT {', '.join('d.' + c for c in DEVICE_COLUMNS.split(', '))},"
        " (SELECT officer FROM device_assignments a WHERE a.device = d.id"
        " AND a.until IS NULL) AS officer FROM devices d"
    )
    params: list[str] = []
    if unit:
        sql += " WHERE d.unit = ?"
        params.append(unit)
    return cast(list[ListedDevice], list(vault.query(sql + " ORDER BY d.id", params)))


def is_registered(vault: Vault, device_id: str) -> bool:
    """True once the device was added to the registry (not only met by ingest)."""
    row = vault.conn.execute("SELECT registered FROM devices WHERE id = ?", (device_id,)).fetchone()
    return bool(row and row[0])


def known_device_ids(vault: Vault) -> set[str]:
    """Every device the catalog knows, registered or only met by ingest."""
    return {r[0] for r in vault.conn.execute("SELECT id FROM devices")}


def registered_device_ids(vault: Vault) -> set[str]:
    return {r[0] for r in vault.conn.execute("SELECT id FROM devices WHERE registered = 1")}


def device_events(vault: Vault, before_day: str | None = None) -> list[DeviceEvent]:
    """The maintenance log of every device in time order; only the days before `before_day`
    (YYYY-MM-DD) if given."""
    sql, params = "SELECT device, at, event FROM device_log", []
    if before_day is not None:
        sql, params = sql + " WHERE substr(at, 1, 10) < ?", [before_day]
    return [DeviceEvent(*r) for r in vault.conn.execute(sql + " ORDER BY at, seq", params)]


def fault_reports(vault: Vault, start_day: str, end_day: str) -> list[DeviceNote]:
    """The faults logged on the days [start_day, end_day), in time order."""
    return [DeviceNote(*r) for r in vault.conn.execute(
        "SELECT device, at, note FROM device_log WHERE event = 'fault'"
        " AND substr(at, 1, 10) >= ? AND substr(at, 1, 10) < ? ORDER BY at, seq",
        (start_day, end_day))]  # fmt: skip


def all_assignments(vault: Vault) -> list[DeviceAssignment]:
    """Every assignment of every device, by `since`."""
    return [DeviceAssignment(*r) for r in vault.conn.execute(
        "SELECT device, officer, since, until FROM device_assignments ORDER BY since")]  # fmt: skip

"""Who carried the camera: the officer of a recording, everywhere it is shown (ls, show, the
report, the sweep register, spot checks).

The officer of a recording is the one its file name (or `ingest --officer`) states, as the
sightings journaled it; else the officer the registry assigned its device to at its recording
time (an assignment holds from its `since` to the next one, so a reassignment never changes
earlier footage). Footage of an unregistered camera, or of a registered one with no
assignment at that time, has no officer, and `officer_source` says why.

Recordings journaled without any sighting (the synthetic month of `zfjl.sample`) keep the
officer their event states, as stated.
"""

from __future__ import annotations

SOURCES = {
    "stated": "文件名或入库时载明",
    "assignment": "按配发登记",
    "no_assignment": "未知（该时段无配发登记）",
    "unregistered": "未知（记录仪未登记）",
    "no_device": "未知（记录仪不明）",
}
UNKNOWN = "未知"


def officer_columns(r: str = "r") -> str:
    """SQL select-list items `rec_officer, officer_source` for the recordings row aliased `r`
    (the catalog's tables sightings, device_assignments and devices must be reachable)."""
    at = f"julianday(COALESCE({r}.recorded_at, {r}.ingested_at))"
    stated = (
        f"COALESCE((SELECT s.officer FROM sightings s WHERE s.object_id = {r}.id"
        " AND s.officer IS NOT NULL ORDER BY s.seq LIMIT 1),"
        f" CASE WHEN NOT EXISTS (SELECT 1 FROM sightings s WHERE s.object_id = {r}.id)"
        f" THEN {r}.officer END)"
    )
    assigned = (
        f"(SELECT a.officer FROM device_assignments a WHERE a.device = {r}.device"
        f" AND julianday(a.since) <= {at} AND (a.until IS NULL OR {at} < julianday(a.until))"
        " ORDER BY a.since DESC LIMIT 1)"
    )
    registered = f"EXISTS (SELECT 1 FROM devices d WHERE d.id = {r}.device AND d.registered = 1)"
    return (
        f"COALESCE({stated}, {assigned}) AS rec_officer,"
        f" CASE WHEN {stated} IS NOT NULL THEN 'stated'"
        f" WHEN {assigned} IS NOT NULL THEN 'assignment'"
        f" WHEN {r}.device IS NULL THEN 'no_device'"
        f" WHEN {registered} THEN 'no_assignment' ELSE 'unregistered' END AS officer_source"
    )

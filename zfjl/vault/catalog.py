"""Tables derived from the journal: what `ls`, `show` and the checks read.

Every table here is a projection of journal events. `apply` folds one event into them in the
same transaction that appends the event, and `rebuild` replays the whole journal, so the
catalog can always be thrown away and made again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from zfjl.vault.journal import Event, events

DERIVED_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    stored_at TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS objects_size ON objects(size);
CREATE TABLE IF NOT EXISTS recordings (
    id TEXT PRIMARY KEY REFERENCES objects(id),
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    kind TEXT NOT NULL,
    mime TEXT,
    file_type TEXT,
    device TEXT,
    officer TEXT,
    recorded_at TEXT,
    time_source TEXT,
    duration REAL,
    original_name TEXT,
    ingested_at TEXT NOT NULL,
    late INTEGER,
    late_deadline TEXT,
    late_note TEXT,
    important INTEGER NOT NULL DEFAULT 0,
    make TEXT,
    model TEXT,
    serial TEXT,
    gps_lat REAL,
    gps_lon REAL,
    name_time TEXT,
    meta_time TEXT,
    mtime TEXT,
    clock_skew INTEGER NOT NULL DEFAULT 0,
    skew_seconds REAL,
    warnings TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    run TEXT
);
CREATE INDEX IF NOT EXISTS recordings_device_time ON recordings(device, recorded_at);
CREATE INDEX IF NOT EXISTS recordings_officer_time ON recordings(officer, recorded_at);
CREATE INDEX IF NOT EXISTS recordings_time ON recordings(recorded_at);
CREATE TABLE IF NOT EXISTS sightings (
    seq INTEGER PRIMARY KEY,
    object_id TEXT NOT NULL,
    run TEXT,
    seen_at TEXT NOT NULL,
    source_path TEXT NOT NULL,
    original_name TEXT NOT NULL,
    name_hex TEXT,
    size INTEGER NOT NULL,
    mtime TEXT,
    device TEXT,
    officer TEXT,
    important INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sightings_object ON sightings(object_id);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    source TEXT NOT NULL,
    actor TEXT NOT NULL,
    host TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    ended_at TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    summary TEXT
);
CREATE TABLE IF NOT EXISTS failures (
    seq INTEGER PRIMARY KEY,
    run TEXT,
    at TEXT NOT NULL,
    source_path TEXT NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cleared_sources (
    seq INTEGER PRIMARY KEY,
    object_id TEXT NOT NULL,
    source_path TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS calendar_years (
    year INTEGER PRIMARY KEY,
    notice TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    procedure TEXT NOT NULL,
    cause TEXT NOT NULL,
    party TEXT NOT NULL,
    origin TEXT NOT NULL,
    status TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    data TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS case_media (
    case_id TEXT NOT NULL,
    recording_id TEXT NOT NULL,
    activity TEXT NOT NULL,
    document TEXT,
    PRIMARY KEY (case_id, recording_id, activity, document)
);
CREATE INDEX IF NOT EXISTS case_media_recording ON case_media(recording_id);
CREATE TABLE IF NOT EXISTS object_digests (
    id TEXT PRIMARY KEY,
    sha512 TEXT NOT NULL,
    sm3 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS calendar_days (
    date TEXT PRIMARY KEY,
    workday INTEGER NOT NULL,
    name TEXT
);
CREATE TABLE IF NOT EXISTS holds (
    id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    note TEXT,
    placed_at TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    released_at TEXT,
    released_by TEXT,
    release_approval TEXT,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS holds_target ON holds(target);
CREATE TABLE IF NOT EXISTS grants (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    target TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    approved_by TEXT NOT NULL,
    approval_no TEXT NOT NULL,
    until TEXT NOT NULL,
    purpose TEXT,
    granted_at TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT,
    revoke_reason TEXT,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS grants_user ON grants(user, target);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY,
    model TEXT,
    serial TEXT,
    unit TEXT,
    status TEXT NOT NULL,
    registered INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    note TEXT,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS device_assignments (
    seq INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    officer TEXT NOT NULL,
    since TEXT NOT NULL,
    until TEXT
);
CREATE INDEX IF NOT EXISTS device_assignments_device ON device_assignments(device, since);
CREATE TABLE IF NOT EXISTS device_log (
    seq INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    note TEXT,
    actor TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS device_log_device ON device_log(device, at);
CREATE TABLE IF NOT EXISTS spotcheck_items (
    draw TEXT NOT NULL,
    item TEXT NOT NULL,
    item_kind TEXT NOT NULL,
    unit TEXT NOT NULL,
    period TEXT NOT NULL,
    drawn_at TEXT NOT NULL,
    result TEXT,
    failed TEXT,
    note TEXT,
    checker TEXT,
    checked_at TEXT,
    PRIMARY KEY (draw, item)
);
CREATE TABLE IF NOT EXISTS tombstones (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    sweep TEXT NOT NULL,
    class TEXT NOT NULL,
    approval TEXT NOT NULL,
    size INTEGER NOT NULL,
    seq INTEGER NOT NULL
);
"""

DERIVED_TABLES = (
    "objects",
    "recordings",
    "sightings",
    "runs",
    "failures",
    "cleared_sources",
    "calendar_years",
    "calendar_days",
    "cases",
    "case_media",
    "object_digests",
    "holds",
    "grants",
    "tombstones",
    "devices",
    "device_assignments",
    "device_log",
    "spotcheck_items",
)

RECORDING_COLUMNS = [
    "kind",
    "mime",
    "file_type",
    "device",
    "officer",
    "recorded_at",
    "time_source",
    "duration",
    "original_name",
    "late",
    "late_deadline",
    "late_note",
    "important",
    "make",
    "model",
    "serial",
    "gps_lat",
    "gps_lon",
    "name_time",
    "meta_time",
    "mtime",
    "clock_skew",
    "skew_seconds",
    "warnings",
    "metadata",
    "run",
]


def create_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(DERIVED_SCHEMA)


def _insert(
    conn: sqlite3.Connection, table: str, row: dict[str, Any], verb: str = "INSERT"
) -> None:
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    conn.execute(f"{verb} INTO {table} ({cols}) VALUES ({marks})", tuple(row.values()))


def _as_text(value: Any) -> Any:
    return (
        json.dumps(value, ensure_ascii=False, sort_keys=True)
        if isinstance(value, dict | list)
        else value
    )


def _on_object_add(conn: sqlite3.Connection, ev: Event) -> None:
    obj = ev.data["object"]
    _insert(
        conn,
        "objects",
        {
            "id": obj["id"],
            "sha256": obj["sha256"],
            "size": obj["size"],
            "stored_at": ev.ts,
            "seq": ev.seq,
        },
        "INSERT OR IGNORE",
    )
    rec = ev.data.get("recording")
    if rec is None:
        return
    row = {"id": obj["id"], "sha256": obj["sha256"], "size": obj["size"], "ingested_at": ev.ts}
    row.update({c: _as_text(rec.get(c)) for c in RECORDING_COLUMNS if c in rec})
    _insert(conn, "recordings", row, "INSERT OR IGNORE")


def _on_object_seen(conn: sqlite3.Connection, ev: Event) -> None:
    d = ev.data
    _insert(
        conn,
        "sightings",
        {
            "seq": ev.seq,
            "object_id": d["id"],
            "run": d.get("run"),
            "seen_at": ev.ts,
            "source_path": d["source_path"],
            "original_name": d["original_name"],
            "name_hex": d.get("name_hex"),
            "size": d["size"],
            "mtime": d.get("mtime"),
            "device": d.get("device"),
            "officer": d.get("officer"),
            "important": int(bool(d.get("important"))),
        },
    )
    # A later sighting can only add facts: the IMP mark, or a device/officer the first lacked.
    conn.execute(
        "UPDATE recordings SET important = MAX(important, ?), device = COALESCE(device, ?),"
        " officer = COALESCE(officer, ?) WHERE id = ?",
        (int(bool(d.get("important"))), d.get("device"), d.get("officer"), d["id"]),
    )


def _on_ingest_begin(conn: sqlite3.Connection, ev: Event) -> None:
    d = ev.data
    _insert(
        conn,
        "runs",
        {
            "id": d["run"],
            "started_at": ev.ts,
            "source": d["source"],
            "actor": ev.actor,
            "host": d.get("host"),
            "options": _as_text(d.get("options", {})),
        },
    )


def _on_ingest_end(conn: sqlite3.Connection, ev: Event) -> None:
    d = ev.data
    conn.execute(
        "UPDATE runs SET ended_at = ?, status = ?, summary = ? WHERE id = ?",
        (ev.ts, d["status"], _as_text(d.get("summary", {})), d["run"]),
    )


def _on_file_failed(conn: sqlite3.Connection, ev: Event) -> None:
    d = ev.data
    _insert(
        conn,
        "failures",
        {
            "seq": ev.seq,
            "run": d.get("run"),
            "at": ev.ts,
            "source_path": d["source_path"],
            "code": d["code"],
            "reason": d["reason"],
        },
    )


def _on_source_cleared(conn: sqlite3.Connection, ev: Event) -> None:
    d = ev.data
    _insert(
        conn,
        "cleared_sources",
        {"seq": ev.seq, "object_id": d["id"], "source_path": d["source_path"], "at": ev.ts},
    )


def _on_calendar_add(conn: sqlite3.Connection, ev: Event) -> None:
    d = ev.data
    year = int(d["year"])
    # A newer notice for a year replaces the older one's days (the journal keeps both).
    conn.execute("DELETE FROM calendar_days WHERE date LIKE ?", (f"{year:04d}-%",))
    _insert(
        conn,
        "calendar_years",
        {"year": year, "notice": d["notice"], "seq": ev.seq},
        "INSERT OR REPLACE",
    )
    for day in d["days"]:
        _insert(
            conn,
            "calendar_days",
            {"date": day["date"], "workday": int(day["workday"]), "name": day.get("name")},
            "INSERT OR REPLACE",  # a notice may name days of the adjacent year (元旦)
        )


def _store_case(conn: sqlite3.Connection, case: dict[str, Any], seq: int) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO cases (id, kind, procedure, cause, party, origin, status,"
        " opened_at, data, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (case["case"], case["kind"], case["procedure"], case["cause"], case["party"]["name"],
         case["origin"], case.get("status", "办理中"), case["opened_at"],
         json.dumps(case, ensure_ascii=False, sort_keys=True), seq),
    )  # fmt: skip
    conn.execute("DELETE FROM case_media WHERE case_id = ?", (case["case"],))
    conn.executemany(
        "INSERT OR IGNORE INTO case_media VALUES (?, ?, ?, ?)",
        [(case["case"], m["recording"], m["activity"], m.get("document") or "")
         for m in case.get("media", [])],
    )  # fmt: skip


def _load_case(conn: sqlite3.Connection, case_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT data FROM cases WHERE id = ?", (case_id,)).fetchone()
    return json.loads(row[0])  # type: ignore[no-any-return]


def _on_case_state(conn: sqlite3.Connection, ev: Event) -> None:
    _store_case(conn, ev.data["case"], ev.seq)


def _on_case_document(conn: sqlite3.Connection, ev: Event) -> None:
    case = _load_case(conn, ev.data["case"])
    doc = ev.data["document"]
    case["documents"] = [d for d in case["documents"] if d["id"] != doc["id"]] + [doc]
    _store_case(conn, case, ev.seq)


def _on_case_status(conn: sqlite3.Connection, ev: Event) -> None:
    case = _load_case(conn, ev.data["case"])
    case["status"] = ev.data["status"]
    _store_case(conn, case, ev.seq)


def _on_case_attach(conn: sqlite3.Connection, ev: Event) -> None:
    case = _load_case(conn, ev.data["case"])
    case["media"] = case.get("media", []) + ev.data["links"]
    _store_case(conn, case, ev.seq)


def _on_object_digests(conn: sqlite3.Connection, ev: Event) -> None:
    d = ev.data
    conn.execute(
        "INSERT OR IGNORE INTO object_digests (id, sha512, sm3) VALUES (?, ?, ?)",
        (d["id"], d["sha512"], d["sm3"]),
    )


def _on_hold_place(conn: sqlite3.Connection, ev: Event) -> None:
    d = ev.data
    _insert(conn, "holds", {
        "id": f"H-{ev.seq}", "target": d["target"], "target_kind": d["target_kind"],
        "reason": d["reason"], "note": d.get("note"), "placed_at": ev.ts, "placed_by": ev.actor,
        "seq": ev.seq,
    })  # fmt: skip


def _on_hold_release(conn: sqlite3.Connection, ev: Event) -> None:
    conn.execute(
        "UPDATE holds SET released_at = ?, released_by = ?, release_approval = ? WHERE id = ?",
        (ev.ts, ev.actor, ev.data["approval"], ev.data["hold"]),
    )


def _on_grant_add(conn: sqlite3.Connection, ev: Event) -> None:
    d = ev.data
    _insert(conn, "grants", {
        "id": f"G-{ev.seq}", "user": d["user"], "target": d["target"],
        "target_kind": d["target_kind"], "scope": d["scope"], "approved_by": d["approved_by"],
        "approval_no": d["approval_no"], "until": d["until"], "purpose": d.get("purpose"),
        "granted_at": ev.ts, "granted_by": ev.actor, "seq": ev.seq,
    })  # fmt: skip


def _on_grant_revoke(conn: sqlite3.Connection, ev: Event) -> None:
    conn.execute(
        "UPDATE grants SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE id = ?",
        (ev.ts, ev.actor, ev.data.get("reason"), ev.data["grant"]),
    )


def _on_tombstone(conn: sqlite3.Connection, ev: Event) -> None:
    d = ev.data
    _insert(conn, "tombstones", {
        "id": d["id"], "at": ev.ts, "actor": ev.actor, "sweep": d["sweep"], "class": d["class"],
        "approval": d["approval"], "size": d["size"], "seq": ev.seq,
    }, "INSERT OR IGNORE")  # fmt: skip


def _on_object_restored(conn: sqlite3.Connection, ev: Event) -> None:
    # The bytes are back (a device presented them again): the object is no longer destroyed.
    conn.execute("DELETE FROM tombstones WHERE id = ?", (ev.subject,))


DEVICE_STATUS_AFTER = {"fault": "fault", "repair": "active", "retire": "retired"}


def _on_device_add(conn: sqlite3.Connection, ev: Event) -> None:
    # OR REPLACE: a device ingest met as "unregistered" becomes registered.
    d = ev.data
    _insert(
        conn,
        "devices",
        {
            "id": d["device"],
            "model": d.get("model"),
            "serial": d.get("serial"),
            "unit": d.get("unit"),
            "status": "active",
            "registered": 1,
            "added_at": d["since"],
            "note": d.get("note"),
            "seq": ev.seq,
        },
        "INSERT OR REPLACE",
    )
    if d.get("assigned_to"):
        _assign(conn, ev.seq, d["device"], d["assigned_to"], d["since"])


def _assign(conn: sqlite3.Connection, seq: int, device: str, officer: str, since: str) -> None:
    conn.execute(
        "UPDATE device_assignments SET until = ? WHERE device = ? AND until IS NULL",
        (since, device),
    )
    _insert(conn, "device_assignments",
            {"seq": seq, "device": device, "officer": officer, "since": since})  # fmt: skip


def _on_device_assign(conn: sqlite3.Connection, ev: Event) -> None:
    _assign(conn, ev.seq, ev.data["device"], ev.data["officer"], ev.data["since"])


def _on_device_log(conn: sqlite3.Connection, ev: Event) -> None:
    d = ev.data
    _insert(conn, "device_log", {"seq": ev.seq, "device": d["device"], "at": d["at"],
                                 "event": d["event"], "note": d.get("note"), "actor": ev.actor})  # fmt: skip
    if d["event"] in DEVICE_STATUS_AFTER:
        conn.execute("UPDATE devices SET status = ? WHERE id = ?",
                     (DEVICE_STATUS_AFTER[d["event"]], d["device"]))  # fmt: skip


def _on_device_unregistered(conn: sqlite3.Connection, ev: Event) -> None:
    _insert(conn, "devices", {"id": ev.data["device"], "status": "unregistered", "registered": 0,
                              "added_at": ev.ts, "seq": ev.seq}, "INSERT OR IGNORE")  # fmt: skip


def _on_spotcheck_draw(conn: sqlite3.Connection, ev: Event) -> None:
    d = ev.data
    conn.executemany(
        "INSERT INTO spotcheck_items (draw, item, item_kind, unit, period, drawn_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(f"SC-{ev.seq}", i["id"], i["kind"], d["unit"], d["period"], ev.ts) for i in d["items"]],
    )


def _on_spotcheck_record(conn: sqlite3.Connection, ev: Event) -> None:
    d = ev.data
    conn.execute(
        "UPDATE spotcheck_items SET result = ?, failed = ?, note = ?, checker = ?, checked_at = ?"
        " WHERE draw = ? AND item = ?",
        (d["result"], json.dumps(d.get("failed", []), ensure_ascii=False), d.get("note"),
         ev.actor, ev.ts, d["draw"], d["item"]),
    )  # fmt: skip


def _ignore(conn: sqlite3.Connection, ev: Event) -> None:
    """Events kept for the record only (vault.init, vault.verify, …)."""


HANDLERS: dict[str, Callable[[sqlite3.Connection, Event], None]] = {
    "object.add": _on_object_add,
    "object.seen": _on_object_seen,
    "ingest.begin": _on_ingest_begin,
    "ingest.end": _on_ingest_end,
    "ingest.file_failed": _on_file_failed,
    "source.cleared": _on_source_cleared,
    "calendar.add": _on_calendar_add,
    "case.open": _on_case_state,
    "case.import": _on_case_state,
    "case.document": _on_case_document,
    "case.attach": _on_case_attach,
    "case.status": _on_case_status,
    "object.digests": _on_object_digests,
    "hold.place": _on_hold_place,
    "hold.release": _on_hold_release,
    "grant.add": _on_grant_add,
    "grant.revoke": _on_grant_revoke,
    "object.tombstone": _on_tombstone,
    "object.restored": _on_object_restored,
    "device.add": _on_device_add,
    "device.assign": _on_device_assign,
    "device.log": _on_device_log,
    "device.unregistered": _on_device_unregistered,
    "spotcheck.draw": _on_spotcheck_draw,
    "spotcheck.record": _on_spotcheck_record,
}


def apply(conn: sqlite3.Connection, ev: Event) -> None:
    HANDLERS.get(ev.kind, _ignore)(conn, ev)


def rebuild(conn: sqlite3.Connection) -> int:
    """Drop and replay every derived table from the journal; returns events replayed."""
    for table in DERIVED_TABLES:
        conn.execute(f"DELETE FROM {table}")
    count = 0
    for ev in events(conn):
        apply(conn, ev)
        count += 1
    return count


def snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every derived row, ordered: to compare the live catalog with a replay."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for table in DERIVED_TABLES:
        out[table] = [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
    return out

"""Tables derived from the journal: what `ls`, `show` and the checks read.

Every table here is a projection of journal events. `apply` folds one event into them in the
same transaction that appends the event, and `rebuild` replays the whole journal, so the
catalog can always be thrown away and made again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from zfjl.vault import events
from zfjl.vault.backend import Connection, backend_of
from zfjl.vault.journal import Event, run_script
from zfjl.vault.journal import read_events as journal_events

DERIVED_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    id TEXT PRIMARY KEY,
    sha256 TEXT,
    size INTEGER NOT NULL,
    stored_at TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sealed_at TEXT
);
CREATE INDEX IF NOT EXISTS objects_size ON objects(size);
-- at_utc: COALESCE(recorded_at, ingested_at) as a UTC key (utc_key; catalog migration 10).
CREATE TABLE IF NOT EXISTS recordings (
    id TEXT PRIMARY KEY REFERENCES objects(id),
    sha256 TEXT,
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
    run TEXT,
    at_utc TEXT
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
-- unit: data's unit (catalog migration 10: a column, not a JSON lookup).
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
    seq INTEGER NOT NULL,
    withdrawn_seq INTEGER,
    unit TEXT
);
-- The scan of each of a case's current documents (catalog migration 10).
CREATE TABLE IF NOT EXISTS case_scans (
    case_id TEXT NOT NULL,
    object_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS case_scans_case ON case_scans(case_id);
CREATE INDEX IF NOT EXISTS case_scans_object ON case_scans(object_id);
-- Every text value under a `recording` or `scan` key, at any depth, of every journal row on a
-- case and of every case document event (catalog migration 10): which objects such a row
-- names, without walking its JSON in SQL.
CREATE TABLE IF NOT EXISTS journal_refs (
    seq INTEGER NOT NULL,
    subject TEXT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_refs_subject ON journal_refs(subject, seq);
CREATE TABLE IF NOT EXISTS case_corrections (
    seq INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT,
    reason TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS case_corrections_case ON case_corrections(case_id, seq);
CREATE TABLE IF NOT EXISTS case_links_ever (
    case_id TEXT NOT NULL,
    recording_id TEXT NOT NULL,
    PRIMARY KEY (recording_id, case_id)
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
-- since_utc, until_utc: since and until as UTC keys (utc_key), compared as text (catalog
-- migration 10).
CREATE TABLE IF NOT EXISTS device_assignments (
    seq INTEGER PRIMARY KEY,
    device TEXT NOT NULL,
    officer TEXT NOT NULL,
    since TEXT NOT NULL,
    until TEXT,
    since_utc TEXT,
    until_utc TEXT
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
CREATE TABLE IF NOT EXISTS roles (
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    since TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    approval_no TEXT,
    via TEXT,
    seq INTEGER NOT NULL,
    PRIMARY KEY (user, role)
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    approval_no TEXT,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS custom_files (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    approval TEXT NOT NULL,
    installed_at TEXT NOT NULL,
    installed_by TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
);
-- Objects made from an original (issue 26): a playable proxy, a redacted copy.
CREATE TABLE IF NOT EXISTS derivatives (
    id TEXT PRIMARY KEY REFERENCES objects(id),
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    params TEXT NOT NULL,
    tools TEXT NOT NULL,
    made_at TEXT NOT NULL,
    made_by TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS derivatives_source ON derivatives(source, kind);
-- The bureau's store (issue 25): the bucket bound by `store.bind`, the objects shipped to it
-- and their lock as last journaled (`object.shipped`, `object.store_lock`); a version a sweep
-- deleted from the bucket (`object.store_delete`) is no longer a shipment.
CREATE TABLE IF NOT EXISTS store_binding (
    url TEXT PRIMARY KEY,
    case_years INTEGER NOT NULL,
    keep_days INTEGER NOT NULL,
    bound_at TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS shipments (
    id TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    retain_until TEXT NOT NULL,
    legal_hold INTEGER NOT NULL DEFAULT 0,
    checksum TEXT NOT NULL,
    url TEXT NOT NULL,
    shipped_at TEXT NOT NULL,
    seq INTEGER NOT NULL
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
    "case_corrections",
    "case_links_ever",
    "case_scans",
    "journal_refs",
    "object_digests",
    "holds",
    "grants",
    "tombstones",
    "devices",
    "device_assignments",
    "device_log",
    "spotcheck_items",
    "roles",
    "settings",
    "custom_files",
    "derivatives",
    "store_binding",
    "shipments",
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


def create_schema(conn: Connection) -> None:
    run_script(conn, DERIVED_SCHEMA)


# The key a newer row of these tables replaces an older one by (`on_conflict="replace"`).
REPLACED_BY = {
    "calendar_years": ("year",),
    "calendar_days": ("date",),
    "devices": ("id",),
    "settings": ("key",),
    "custom_files": ("kind", "name"),
}

Conflict = Literal["fail", "ignore", "replace"]

# Column names that are reserved words in standard SQL (PostgreSQL reads a bare `user` as
# CURRENT_USER): every statement quotes them ("user"), which SQLite reads the same.
RESERVED = frozenset({"user"})


def _insert(conn: Connection, table: str, row: dict[str, Any], on_conflict: Conflict = "fail") -> None:
    """One row; on a key already present: fail, keep the old row ("ignore"), or put this one
    in its place ("replace": every column is given, so an update of all is a replacement).
    Standard `ON CONFLICT`, not SQLite's `INSERT OR`."""
    cols = ", ".join(f'"{c}"' if c in RESERVED else c for c in row)
    marks = ", ".join("?" for _ in row)
    sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"
    if on_conflict == "ignore":
        sql += " ON CONFLICT DO NOTHING"
    elif on_conflict == "replace":
        key = REPLACED_BY[table]
        sets = ", ".join(f"{c} = excluded.{c}" for c in row if c not in key)
        sql += f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets}"
    conn.execute(sql, tuple(row.values()))


def utc_key(moment: Any) -> str | None:
    """An ISO moment as a key whose text order is time order: in UTC when it states an offset,
    as written when it does not (SQLite's julianday reads it so); None if it is no moment.
    Any backend compares these with `<`, no date function needed."""
    if not isinstance(moment, str):
        return None
    try:
        at = dt.datetime.fromisoformat(moment.strip())
    except ValueError:
        return None
    if at.tzinfo is not None:
        at = at.astimezone(dt.UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


REF_KEYS = frozenset({"recording", "scan"})
_ARRAYS = (list, tuple)  # a tuple is an array in the journal's JSON
_CONTAINERS = (dict, list, tuple)


def _refs(value: Any) -> list[tuple[str, str]]:
    """(key, text) for every text under a key of REF_KEYS, at any depth of a payload (as
    SQLite's json_tree finds them in its JSON; a tuple is an array there). A loop, not
    recursion: a payload may nest deep."""
    out: list[tuple[str, str]] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                if isinstance(item, str):
                    if key in REF_KEYS:
                        out.append((key, item))
                elif isinstance(item, _CONTAINERS):
                    stack.append(item)
        elif isinstance(node, _ARRAYS):
            stack.extend(item for item in node if isinstance(item, _CONTAINERS))
    return out


# The rows whose named objects journal_refs keeps: those on a case, and every document event
# (withdrawn and replaced documents' scans stay case evidence). Not ingest's: its rows are many.
_REF_KINDS = frozenset(k.kind for k in (events.CaseOpen, events.CaseImport, events.CaseDocument,
                                        events.CaseDocumentReplace, events.CaseDocumentWithdraw))  # fmt: skip


def _record_refs(conn: Connection, ev: Event) -> None:
    if ev.kind not in _REF_KINDS and not (ev.subject or "").startswith("case:"):
        return
    rows = [(ev.seq, ev.subject, ev.kind, k, v) for k, v in _refs(ev.data)]
    if rows:
        conn.executemany("INSERT INTO journal_refs VALUES (?, ?, ?, ?, ?)", rows)


def _as_text(value: Any) -> Any:
    return (
        json.dumps(value, ensure_ascii=False, sort_keys=True)
        if isinstance(value, dict | list)
        else value
    )


def _on_object_add(conn: Connection, ev: Event, d: events.ObjectAdd) -> None:
    obj = d.object
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
        "ignore",
    )
    if d.recording is not None:  # journaled before catalog migration 6
        row = {"id": obj["id"], "sha256": obj["sha256"], "size": obj["size"], "ingested_at": ev.ts}
        _insert_recording(conn, row, d.recording)


def _insert_recording(conn: Connection, row: dict[str, Any], rec: dict[str, Any]) -> None:
    row.update({c: _as_text(rec.get(c)) for c in RECORDING_COLUMNS if c in rec})
    row["at_utc"] = utc_key(row.get("recorded_at") or row["ingested_at"])
    _insert(conn, "recordings", row, "ignore")


def _on_recording_describe(conn: Connection, ev: Event, d: events.RecordingDescribe) -> None:
    obj = conn.execute("SELECT sha256, size, stored_at FROM objects WHERE id = ?", (d.id,)).fetchone()
    if obj is None:
        return
    # Ingested when stored, not when described: art. 37's lateness counts to the storing.
    row = {"id": d.id, "sha256": obj[0], "size": obj[1], "ingested_at": obj[2]}
    _insert_recording(conn, row, d.recording)
    # Sightings journaled before the description add what they add to a described one (an
    # object never sighted keeps its own: MAX with a NULL would be NULL).
    conn.execute(
        "UPDATE recordings SET important = COALESCE((SELECT MAX(s.important) FROM sightings s"
        " WHERE s.object_id = ? AND s.important > recordings.important), important), device = COALESCE(device, (SELECT device FROM sightings WHERE"
        " object_id = ? AND device IS NOT NULL ORDER BY seq LIMIT 1)), officer = COALESCE(officer,"
        " (SELECT officer FROM sightings WHERE object_id = ? AND officer IS NOT NULL ORDER BY seq"
        " LIMIT 1)) WHERE id = ?",
        (d.id, d.id, d.id, d.id),
    )


def _on_object_seen(conn: Connection, ev: Event, d: events.ObjectSeen) -> None:
    _insert(
        conn,
        "sightings",
        {
            "seq": ev.seq,
            "object_id": d.id,
            "run": d.run,
            "seen_at": ev.ts,
            "source_path": d.source_path,
            "original_name": d.original_name,
            "name_hex": d.name_hex,
            "size": d.size,
            "mtime": d.mtime,
            "device": d.device,
            "officer": d.officer,
            "important": int(d.important),
        },
    )
    # A later sighting can only add facts: the IMP mark, or a device/officer the first lacked.
    conn.execute(
        "UPDATE recordings SET important = CASE WHEN ? > important THEN ? ELSE important END,"
        " device = COALESCE(device, ?), officer = COALESCE(officer, ?) WHERE id = ?",
        (int(d.important), int(d.important), d.device, d.officer, d.id),
    )


def _on_ingest_begin(conn: Connection, ev: Event, d: events.IngestBegin) -> None:
    _insert(
        conn,
        "runs",
        {
            "id": d.run,
            "started_at": ev.ts,
            "source": d.source,
            "actor": ev.actor,
            "host": d.host,
            "options": _as_text(d.options),
        },
    )


def _on_ingest_end(conn: Connection, ev: Event, d: events.IngestEnd) -> None:
    conn.execute(
        "UPDATE runs SET ended_at = ?, status = ?, summary = ? WHERE id = ?",
        (ev.ts, d.status, _as_text(d.summary), d.run),
    )


def _on_file_failed(conn: Connection, ev: Event, d: events.IngestFileFailed) -> None:
    _insert(
        conn,
        "failures",
        {
            "seq": ev.seq,
            "run": d.run,
            "at": ev.ts,
            "source_path": d.source_path,
            "code": d.code,
            "reason": d.reason,
        },
    )


def _on_source_cleared(conn: Connection, ev: Event, d: events.SourceCleared) -> None:
    _insert(
        conn,
        "cleared_sources",
        {"seq": ev.seq, "object_id": d.id, "source_path": d.source_path, "at": ev.ts},
    )


def _on_calendar_add(conn: Connection, ev: Event, d: events.CalendarAdd) -> None:
    # A newer notice for a year replaces the older one's days (the journal keeps both).
    conn.execute("DELETE FROM calendar_days WHERE date LIKE ?", (f"{d.year:04d}-%",))
    _insert(
        conn,
        "calendar_years",
        {"year": d.year, "notice": d.notice, "seq": ev.seq},
        "replace",
    )
    for day in d.days:
        _insert(
            conn,
            "calendar_days",
            {"date": day["date"], "workday": int(day["workday"]), "name": day.get("name")},
            "replace",  # a notice may name days of the adjacent year (元旦)
        )


def _store_case(conn: Connection, case: dict[str, Any], seq: int) -> None:
    # An upsert: a new state of a case keeps its withdrawal mark (only case.reopen lifts it).
    conn.execute(
        "INSERT INTO cases (id, kind, procedure, cause, party, origin, status,"
        " opened_at, data, seq, unit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id)"
        " DO UPDATE SET kind = excluded.kind, procedure = excluded.procedure, cause ="
        " excluded.cause, party = excluded.party, origin = excluded.origin, status ="
        " excluded.status, opened_at = excluded.opened_at, data = excluded.data,"
        " seq = excluded.seq, unit = excluded.unit",
        (case["case"], case["kind"], case["procedure"], case["cause"], case["party"]["name"],
         case["origin"], case.get("status", "办理中"), case["opened_at"],
         json.dumps(case, ensure_ascii=False, sort_keys=True), seq, case.get("unit")),
    )  # fmt: skip
    conn.execute("DELETE FROM case_scans WHERE case_id = ?", (case["case"],))
    conn.executemany(
        "INSERT INTO case_scans VALUES (?, ?)",
        [(case["case"], doc["scan"]) for doc in case.get("documents") or []
         if isinstance(doc, dict) and doc.get("scan") is not None],
    )  # fmt: skip
    conn.execute("DELETE FROM case_media WHERE case_id = ?", (case["case"],))
    conn.executemany(
        "INSERT INTO case_media VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(case["case"], m["recording"], m["activity"], m.get("document") or "")
         for m in case.get("media", [])],
    )  # fmt: skip
    # Every recording a case ever linked, detached or not: its custody log keeps the case's
    # events, and it stays case evidence for the sweep (a detach is no approval to destroy).
    conn.executemany(
        "INSERT INTO case_links_ever VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(case["case"], m["recording"]) for m in case.get("media", [])],
    )


def _load_case(conn: Connection, case_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT data FROM cases WHERE id = ?", (case_id,)).fetchone()
    if row is None:
        raise events.MalformedEvent(f"案件 {case_id} 尚未立案，其后的事件无从更改")
    return json.loads(row[0])  # type: ignore[no-any-return]


def _correction(conn: Connection, ev: Event, case_id: str, target: str | None,
                reason: str) -> None:  # fmt: skip
    _insert(conn, "case_corrections", {"seq": ev.seq, "case_id": case_id, "kind": ev.kind,
            "target": target, "reason": reason, "at": ev.ts, "actor": ev.actor})  # fmt: skip


def link_key(link: dict[str, Any]) -> tuple[str, str, str]:
    """What names a link within its case: the recording, the activity and the document."""
    return (link["recording"], link.get("activity") or "", link.get("document") or "")


def _on_case_state(
    conn: Connection, ev: Event, d: events.CaseOpen | events.CaseImport
) -> None:
    _store_case(conn, d.case, ev.seq)
    if isinstance(d, events.CaseImport) and d.reason is not None:
        _correction(conn, ev, d.case["case"], None, d.reason)


def _on_case_document(conn: Connection, ev: Event, d: events.CaseDocument) -> None:
    case = _load_case(conn, d.case)
    doc = d.document
    case["documents"] = [x for x in case["documents"] if x["id"] != doc["id"]] + [doc]
    _store_case(conn, case, ev.seq)


def _on_document_replace(
    conn: Connection, ev: Event, d: events.CaseDocumentReplace
) -> None:
    case = _load_case(conn, d.case)
    # The new version takes the old one's place in the file's order.
    case["documents"] = [d.document if x["id"] == d.replaces else x for x in case["documents"]]
    _store_case(conn, case, ev.seq)
    _correction(conn, ev, d.case, d.replaces, d.reason)


def _on_document_withdraw(
    conn: Connection, ev: Event, d: events.CaseDocumentWithdraw
) -> None:
    case = _load_case(conn, d.case)
    case["documents"] = [x for x in case["documents"] if x["id"] != d.document]
    _store_case(conn, case, ev.seq)
    _correction(conn, ev, d.case, d.document, d.reason)


def _on_case_status(conn: Connection, ev: Event, d: events.CaseStatus) -> None:
    case = _load_case(conn, d.case)
    case["status"] = d.status
    _store_case(conn, case, ev.seq)


def _on_case_attach(conn: Connection, ev: Event, d: events.CaseAttach) -> None:
    case = _load_case(conn, d.case)
    case["media"] = case.get("media", []) + d.links
    _store_case(conn, case, ev.seq)


def _on_case_detach(conn: Connection, ev: Event, d: events.CaseDetach) -> None:
    case = _load_case(conn, d.case)
    gone = {link_key(m) for m in d.links}
    case["media"] = [m for m in case.get("media", []) if link_key(m) not in gone]
    _store_case(conn, case, ev.seq)
    targets = "、".join(dict.fromkeys(m["recording"] for m in d.links))
    _correction(conn, ev, d.case, targets, d.reason)


def _on_case_withdraw(conn: Connection, ev: Event, d: events.CaseWithdraw) -> None:
    _load_case(conn, d.case)
    conn.execute("UPDATE cases SET withdrawn_seq = ? WHERE id = ?", (ev.seq, d.case))
    _correction(conn, ev, d.case, None, d.reason)


def _on_case_reopen(conn: Connection, ev: Event, d: events.CaseReopen) -> None:
    case = _load_case(conn, d.case)
    if d.status is not None:
        case["status"] = d.status
        _store_case(conn, case, ev.seq)
    conn.execute("UPDATE cases SET withdrawn_seq = NULL WHERE id = ?", (d.case,))
    _correction(conn, ev, d.case, None, d.reason)


def _on_object_digests(conn: Connection, ev: Event, d: events.ObjectDigests) -> None:
    conn.execute(
        "INSERT INTO object_digests (id, sha512, sm3) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (d.id, d.sha512, d.sm3),
    )
    if d.sha256 is not None:  # the seal (issue 14): SHA-256 arrives here, not with object.add
        for table in ("objects", "recordings"):
            conn.execute(f"UPDATE {table} SET sha256 = COALESCE(sha256, ?) WHERE id = ?",
                         (d.sha256, d.id))  # fmt: skip
    # Sealed: SHA-256, SHA-512 and SM3 all journaled (older vaults: SHA-256 with object.add).
    conn.execute(
        "UPDATE objects SET sealed_at = ? WHERE id = ? AND sealed_at IS NULL AND sha256 IS NOT NULL",
        (ev.ts, d.id),
    )


def _on_hold_place(conn: Connection, ev: Event, d: events.HoldPlace) -> None:
    _insert(conn, "holds", {
        "id": f"H-{ev.seq}", "target": d.target, "target_kind": d.target_kind,
        "reason": d.reason, "note": d.note, "placed_at": ev.ts, "placed_by": ev.actor,
        "seq": ev.seq,
    })  # fmt: skip


def _on_hold_release(conn: Connection, ev: Event, d: events.HoldRelease) -> None:
    conn.execute(
        "UPDATE holds SET released_at = ?, released_by = ?, release_approval = ? WHERE id = ?",
        (ev.ts, ev.actor, d.approval, d.hold),
    )


def _on_grant_add(conn: Connection, ev: Event, d: events.GrantAdd) -> None:
    _insert(conn, "grants", {
        "id": f"G-{ev.seq}", "user": d.user, "target": d.target,
        "target_kind": d.target_kind, "scope": d.scope, "approved_by": d.approved_by,
        "approval_no": d.approval_no, "until": d.until, "purpose": d.purpose,
        "granted_at": ev.ts, "granted_by": ev.actor, "seq": ev.seq,
    })  # fmt: skip


def _on_grant_revoke(conn: Connection, ev: Event, d: events.GrantRevoke) -> None:
    conn.execute(
        "UPDATE grants SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE id = ?",
        (ev.ts, ev.actor, d.reason, d.grant),
    )


def _on_tombstone(conn: Connection, ev: Event, d: events.ObjectTombstone) -> None:
    _insert(conn, "tombstones", {
        "id": d.id, "at": ev.ts, "actor": ev.actor, "sweep": d.sweep, "class": d.cls,
        "approval": d.approval, "size": d.size, "seq": ev.seq,
    }, "ignore")  # fmt: skip


def _on_object_restored(conn: Connection, ev: Event, d: events.ObjectRestored) -> None:
    # The bytes are back (a device presented them again): the object is no longer destroyed.
    conn.execute("DELETE FROM tombstones WHERE id = ?", (ev.subject,))


def _on_store_bind(conn: Connection, ev: Event, d: events.StoreBind) -> None:
    conn.execute("DELETE FROM store_binding")  # one store per vault: the latest binding
    _insert(conn, "store_binding", {"url": d.url, "case_years": d.case_years,
            "keep_days": d.keep_days, "bound_at": ev.ts, "seq": ev.seq})  # fmt: skip


def _on_object_shipped(conn: Connection, ev: Event, d: events.ObjectShipped) -> None:
    conn.execute("DELETE FROM shipments WHERE id = ?", (d.id,))
    _insert(conn, "shipments", {"id": d.id, "version": d.version, "retain_until": d.retain_until,
            "legal_hold": 0, "checksum": d.checksum, "url": d.url, "shipped_at": ev.ts,
            "seq": ev.seq})  # fmt: skip


def _on_object_store_lock(conn: Connection, ev: Event, d: events.ObjectStoreLock) -> None:
    conn.execute("UPDATE shipments SET retain_until = ?, legal_hold = ? WHERE id = ?",
                 (d.retain_until, int(d.legal_hold), d.id))  # fmt: skip


def _on_object_store_delete(conn: Connection, ev: Event, d: events.ObjectStoreDelete) -> None:
    # That version is no longer in the bucket: `shipments` holds what the bucket keeps.
    conn.execute("DELETE FROM shipments WHERE id = ? AND version = ?", (d.id, d.version))


DEVICE_STATUS_AFTER = {"fault": "fault", "repair": "active", "retire": "retired"}


def _on_device_add(conn: Connection, ev: Event, d: events.DeviceAdd) -> None:
    # Replace: a device ingest met as "unregistered" becomes registered.
    _insert(
        conn,
        "devices",
        {
            "id": d.device,
            "model": d.model,
            "serial": d.serial,
            "unit": d.unit,
            "status": "active",
            "registered": 1,
            "added_at": d.since,
            "note": d.note,
            "seq": ev.seq,
        },
        "replace",
    )
    if d.assigned_to:
        _assign(conn, ev.seq, d.device, d.assigned_to, d.since)


def _assign(conn: Connection, seq: int, device: str, officer: str, since: str) -> None:
    conn.execute(
        "UPDATE device_assignments SET until = ?, until_utc = ? WHERE device = ? AND until IS NULL",
        (since, utc_key(since), device),
    )
    _insert(conn, "device_assignments", {"seq": seq, "device": device, "officer": officer,
            "since": since, "since_utc": utc_key(since)})  # fmt: skip


def _on_device_assign(conn: Connection, ev: Event, d: events.DeviceAssign) -> None:
    _assign(conn, ev.seq, d.device, d.officer, d.since)


def _on_device_log(conn: Connection, ev: Event, d: events.DeviceLog) -> None:
    _insert(conn, "device_log", {"seq": ev.seq, "device": d.device, "at": d.at,
                                 "event": d.event, "note": d.note, "actor": ev.actor})  # fmt: skip
    if d.event in DEVICE_STATUS_AFTER:
        conn.execute("UPDATE devices SET status = ? WHERE id = ?",
                     (DEVICE_STATUS_AFTER[d.event], d.device))  # fmt: skip


def _on_device_unregistered(
    conn: Connection, ev: Event, d: events.DeviceUnregistered
) -> None:
    _insert(conn, "devices", {"id": d.device, "status": "unregistered", "registered": 0,
                              "added_at": ev.ts, "seq": ev.seq}, "ignore")  # fmt: skip


def _on_spotcheck_draw(conn: Connection, ev: Event, d: events.SpotcheckDraw) -> None:
    conn.executemany(
        "INSERT INTO spotcheck_items (draw, item, item_kind, unit, period, drawn_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(f"SC-{ev.seq}", i["id"], i["kind"], d.unit, d.period, ev.ts) for i in d.items],
    )


def _on_spotcheck_record(conn: Connection, ev: Event, d: events.SpotcheckRecord) -> None:
    conn.execute(
        "UPDATE spotcheck_items SET result = ?, failed = ?, note = ?, checker = ?, checked_at = ?"
        " WHERE draw = ? AND item = ?",
        (d.result, json.dumps(d.failed, ensure_ascii=False), d.note,
         ev.actor, ev.ts, d.draw, d.item),
    )  # fmt: skip


# vault.init keys that are not settings: the format, the vault's identity, and its first
# roles (its creator as admin; later ones are role.add, and migration 3 imported vault.json's).
NOT_SETTINGS = frozenset({"format", "version", "id", "created_at", "catalog_version", "roles"})


def _put_setting(conn: Connection, ev: Event, path: list[str], value: Any,
                 approval_no: str | None) -> None:  # fmt: skip
    """Set (or, for None, remove) one dotted setting inside its top-level row."""
    top = path[0]
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (top,)).fetchone()
    if len(path) == 1:
        new = value
    else:
        current = json.loads(row[0]) if row is not None else None
        new = current if isinstance(current, dict) else {}
        node = new
        for part in path[1:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if value is None:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    if new is None:
        conn.execute("DELETE FROM settings WHERE key = ?", (top,))
        return
    _insert(conn, "settings", {"key": top, "value": json.dumps(new, ensure_ascii=False, sort_keys=True),
            "changed_at": ev.ts, "changed_by": ev.actor, "approval_no": approval_no,
            "seq": ev.seq}, "replace")  # fmt: skip


def _on_vault_init(conn: Connection, ev: Event, d: events.VaultInit) -> None:
    # The settings the vault was made with are its first settings; its creator its admin.
    for key, value in d.payload().items():
        if key not in NOT_SETTINGS and value is not None:
            _put_setting(conn, ev, [key], value, None)
    for user, roles in (d.roles or {}).items():
        for role in roles if isinstance(roles, list) else [roles]:
            _insert(conn, "roles", {"user": user, "role": str(role), "since": ev.ts,
                    "granted_by": ev.actor, "via": "zfjl init", "seq": ev.seq},
                    "ignore")  # fmt: skip


def _on_setting_set(conn: Connection, ev: Event, d: events.SettingSet) -> None:
    _put_setting(conn, ev, d.key.split("."), d.value, d.approval_no)


def _on_role_add(conn: Connection, ev: Event, d: events.RoleAdd) -> None:
    _insert(conn, "roles", {"user": d.user, "role": d.role, "since": ev.ts,
            "granted_by": ev.actor, "approval_no": d.approval_no, "via": d.via,
            "seq": ev.seq}, "ignore")  # fmt: skip


def _on_role_remove(conn: Connection, ev: Event, d: events.RoleRemove) -> None:
    conn.execute('DELETE FROM roles WHERE "user" = ? AND role = ?', (d.user, d.role))


def _on_custom_install(conn: Connection, ev: Event, d: events.CustomInstall) -> None:
    _insert(conn, "custom_files", {"kind": d.folder, "name": d.name, "sha256": d.sha256,
            "size": d.size, "approval": d.approval, "installed_at": ev.ts,
            "installed_by": ev.actor, "seq": ev.seq}, "replace")  # fmt: skip


def _on_custom_remove(conn: Connection, ev: Event, d: events.CustomRemove) -> None:
    conn.execute("DELETE FROM custom_files WHERE kind = ? AND name = ?", (d.folder, d.name))


def _on_derivative_make(conn: Connection, ev: Event, d: events.DerivativeMake) -> None:
    # The derivative is an object like any other (verify reads it back, resolve_id finds it);
    # it has no recordings row, so retention classes it "unknown": never swept on its own.
    _insert(conn, "objects", {"id": d.id, "sha256": d.sha256, "size": d.size,
                              "stored_at": ev.ts, "seq": ev.seq}, "ignore")  # fmt: skip
    _insert(conn, "derivatives", {
        "id": d.id, "source": d.source, "kind": d.derivative_kind, "size": d.size,
        "sha256": d.sha256, "source_sha256": d.source_sha256, "params": _as_text(d.params),
        "tools": _as_text(d.tools), "made_at": ev.ts, "made_by": ev.actor, "seq": ev.seq,
    }, "ignore")  # fmt: skip


Handler = Callable[[Connection, Event, Any], None]

HANDLERS: dict[type[events.EventData], Handler] = {
    events.ObjectAdd: _on_object_add,
    events.ObjectSeen: _on_object_seen,
    events.RecordingDescribe: _on_recording_describe,
    events.IngestBegin: _on_ingest_begin,
    events.IngestEnd: _on_ingest_end,
    events.IngestFileFailed: _on_file_failed,
    events.SourceCleared: _on_source_cleared,
    events.CalendarAdd: _on_calendar_add,
    events.CaseOpen: _on_case_state,
    events.CaseImport: _on_case_state,
    events.CaseDocument: _on_case_document,
    events.CaseAttach: _on_case_attach,
    events.CaseStatus: _on_case_status,
    events.CaseDetach: _on_case_detach,
    events.CaseDocumentWithdraw: _on_document_withdraw,
    events.CaseDocumentReplace: _on_document_replace,
    events.CaseWithdraw: _on_case_withdraw,
    events.CaseReopen: _on_case_reopen,
    events.ObjectDigests: _on_object_digests,
    events.HoldPlace: _on_hold_place,
    events.HoldRelease: _on_hold_release,
    events.GrantAdd: _on_grant_add,
    events.GrantRevoke: _on_grant_revoke,
    events.ObjectTombstone: _on_tombstone,
    events.ObjectRestored: _on_object_restored,
    events.DeviceAdd: _on_device_add,
    events.DeviceAssign: _on_device_assign,
    events.DeviceLog: _on_device_log,
    events.DeviceUnregistered: _on_device_unregistered,
    events.SpotcheckDraw: _on_spotcheck_draw,
    events.SpotcheckRecord: _on_spotcheck_record,
    events.VaultInit: _on_vault_init,
    events.SettingSet: _on_setting_set,
    events.RoleAdd: _on_role_add,
    events.RoleRemove: _on_role_remove,
    events.CustomInstall: _on_custom_install,
    events.CustomRemove: _on_custom_remove,
    events.DerivativeMake: _on_derivative_make,
    events.StoreBind: _on_store_bind,
    events.ObjectShipped: _on_object_shipped,
    events.ObjectStoreLock: _on_object_store_lock,
    events.ObjectStoreDelete: _on_object_store_delete,
}

# Kept for the record only: no table is derived from them (`log` and `verify` read them).
RECORD_ONLY: frozenset[type[events.EventData]] = frozenset({
    events.VaultMigrate, events.VaultGuardsRestored, events.VaultVerify, events.VaultJsonRestored,
    events.VaultCatalogMoved, events.StationJoin, events.StationMerged,
    events.IngestFileWarning, events.CaseRender, events.CaseBundle, events.RetentionSweep,
    events.AccessDenial, events.AccessView, events.AccessExport, events.JournalCheckpoint,
    events.CheckpointKey, events.CheckpointStateRestored, events.AccessRead,
    events.DerivativeDisclose, events.ObjectStationReleased,
})  # fmt: skip


def settings_of(conn: Connection) -> dict[str, Any]:
    """The journaled settings, by top-level key (what is not here has its default)."""
    return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM settings ORDER BY key")}


def roles_of(conn: Connection) -> dict[str, list[str]]:
    """User -> roles, as journaled."""
    out: dict[str, list[str]] = {}
    for user, role in conn.execute('SELECT "user", role FROM roles ORDER BY "user", role'):
        out.setdefault(user, []).append(role)
    return out


def apply_typed(conn: Connection, ev: Event, data: events.EventData) -> None:
    _record_refs(conn, ev)
    handler = HANDLERS.get(type(data))
    if handler is not None:
        handler(conn, ev, data)


def apply(conn: Connection, ev: Event) -> None:
    """Fold one journal row into the derived tables; MalformedEvent if it does not fit (the
    objects it names are still recorded: they are what the row says, fit or not)."""
    try:
        data = events.parse(ev.kind, ev.data)
    except events.MalformedEvent:
        _record_refs(conn, ev)
        raise
    apply_typed(conn, ev, data)


@dataclass(frozen=True)
class ReplayProblem:
    seq: int
    kind: str
    message: str


def drop_derived(conn: Connection, tables: tuple[str, ...] = DERIVED_TABLES) -> None:
    for table in tables:
        conn.execute(f"DROP TABLE IF EXISTS {table}")


def rebuild(conn: Connection) -> tuple[int, list[ReplayProblem]]:
    """Drop, recreate and replay every derived table from the journal (they are projections,
    so their shape always comes from the current DERIVED_SCHEMA). A row that does not fit
    its declaration is skipped and reported; returns (events replayed, problems)."""
    drop_derived(conn)
    create_schema(conn)
    return replay(conn)


def refill(conn: Connection) -> tuple[int, list[ReplayProblem]]:
    """Empty every derived table and replay the journal into it, its shape kept: a rebuild
    for a role that may not drop or create tables (PostgreSQL's working role, which could
    not have changed a shape either)."""
    for table in DERIVED_TABLES:
        conn.execute(f"DELETE FROM {table}")
    return replay(conn)


def replay(conn: Connection) -> tuple[int, list[ReplayProblem]]:
    count, problems = 0, []
    for ev in journal_events(conn):
        try:
            apply(conn, ev)
        except events.MalformedEvent as exc:
            problems.append(ReplayProblem(ev.seq, ev.kind, exc.message))
        count += 1
    return count, problems


def snapshot(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every derived row, ordered: to compare the live catalog with a replay."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    present = backend_of(conn).tables(conn)
    for table in DERIVED_TABLES:
        out[table] = (
            [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
            if table in present
            else []
        )
    return out

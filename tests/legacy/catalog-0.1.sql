-- The catalog of zfjl 0.1 (commit c040912), frozen: no schema version (user_version 0).
-- tests/test_migrations.py builds a vault of that format from it. Never edit this file.
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_subject ON journal(subject);
CREATE TRIGGER IF NOT EXISTS journal_no_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS journal_no_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only: DELETE refused'); END;
CREATE TRIGGER IF NOT EXISTS journal_in_sequence BEFORE INSERT ON journal
WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM journal)
BEGIN SELECT RAISE(ABORT, 'journal rows are appended in sequence only'); END;
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

"""The append-only, hash-chained journal: the vault's single source of truth.

Each row stores the hash of the previous row and its own hash over its canonical content,
so editing, deleting or inserting a row shows up in `verify`. The backend's guards (SQLite:
triggers) stop UPDATE, DELETE and out-of-sequence INSERT, but they stop mistakes only: the
chain is what makes tampering visible. Every row enters through `append`, whose ordering the
backend provides (backend.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from zfjl.vault.backend import Connection, backend_of

GENESIS = "0" * 64

# `station` as migration 13's ALTER TABLE leaves it in SQLite's stored schema: an upgraded
# catalog and a new one have the very same shape (test_migrations checks).
SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
    , station TEXT);
CREATE INDEX IF NOT EXISTS journal_subject ON journal(subject);
CREATE INDEX IF NOT EXISTS journal_kind ON journal(kind);
"""

JOURNAL_COLUMNS = "seq, ts, actor, kind, subject, data, prev_hash, hash, station"
# Which station of a bureau's vault wrote the row (catalog migration 13, docs/scale.md): NULL
# for a vault's own folder (a station alone, or the station that made a bureau's vault).

# The guards' names (verify's trigger_missing names them); each backend makes them its way.
GUARD_TRIGGERS = ("journal_no_update", "journal_no_delete", "journal_in_sequence")


def station_is(station: str | None) -> tuple[str, tuple[str, ...]]:
    """A WHERE clause and its parameters for the journal rows `station` wrote (NULL: the
    vault's own folder), portable across backends (no `IS ?`)."""
    return ("station IS NULL", ()) if station is None else ("station = ?", (station,))


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Event:
    seq: int
    ts: str
    actor: str
    kind: str
    subject: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str
    station: str | None = None

    def as_dict(self) -> dict[str, Any]:
        station = {} if self.station is None else {"station": self.station}
        return {**station,
            "seq": self.seq,
            "ts": self.ts,
            "actor": self.actor,
            "kind": self.kind,
            "subject": self.subject,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def row_hash(
    prev_hash: str, seq: int, ts: str, actor: str, kind: str, subject: str | None, data: str,
    station: str | None = None,
) -> str:  # fmt: skip
    """The row's chain hash. The station is hashed when there is one, so it cannot be changed
    unseen, and a row without one (every row before migration 13) hashes as it always did."""
    fields: list[Any] = [seq, ts, actor, kind, subject, data]
    if station is not None:
        fields.append(station)
    body = canonical_json(fields)
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def run_script(conn: Connection, script: str) -> None:
    """Run DDL statement by statement inside the caller's transaction (see the backend)."""
    backend_of(conn).run_script(conn, script)


def create_schema(conn: Connection) -> None:
    run_script(conn, SCHEMA)
    backend_of(conn).create_guards(conn)


def has_table(conn: Connection) -> bool:
    return "journal" in backend_of(conn).tables(conn)


def missing_guards(conn: Connection) -> list[str]:
    return backend_of(conn).missing_guards(conn)


def last_link(conn: Connection) -> tuple[int, str]:
    row = conn.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def append(
    conn: Connection,
    *,
    ts: str,
    actor: str,
    kind: str,
    subject: str | None,
    data: dict[str, Any],
    station: str | None = None,
) -> Event:
    """Append one event: the only way a row enters the journal. The caller holds the write
    transaction; the backend orders appenders first, so that the last row read here is still
    the last at COMMIT and `seq` = last + 1 is taken once (SQLite: its write lock)."""
    backend = backend_of(conn)
    last_seq, prev = backend.order_appends(conn) or last_link(conn)
    seq = last_seq + 1
    text = canonical_json(data)
    digest = row_hash(prev, seq, ts, actor, kind, subject, text, station)
    if station is None:  # the row as before migration 13 (and a catalog not yet migrated)
        conn.execute(
            "INSERT INTO journal (seq, ts, actor, kind, subject, data, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, ts, actor, kind, subject, text, prev, digest),
        )
    else:
        conn.execute(
            "INSERT INTO journal (seq, ts, actor, kind, subject, data, prev_hash, hash, station)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, ts, actor, kind, subject, text, prev, digest, station),
        )
    backend.appended(conn, seq, digest)
    return Event(seq, ts, actor, kind, subject, data, prev, digest, station)


def _event_from_row(row: tuple[Any, ...]) -> Event:
    seq, ts, actor, kind, subject, data, prev, digest, station = row
    return Event(int(seq), ts, actor, kind, subject, json.loads(data), prev, digest, station)


def read_events(conn: Connection, subject: str | None = None) -> Iterator[Event]:
    cols = JOURNAL_COLUMNS
    if subject is None:
        cur = conn.execute(f"SELECT {cols} FROM journal ORDER BY seq")
    else:
        cur = conn.execute(f"SELECT {cols} FROM journal WHERE subject = ? ORDER BY seq", (subject,))
    for row in cur:
        yield _event_from_row(row)


@dataclass(frozen=True)
class ChainProblem:
    # row_changed | chain_broken | row_missing | trigger_missing | guards_were_removed;
    # checkpoint_signature | checkpoint_mismatch | checkpoint_unreadable (checkpoint.py)
    code: str
    seq: int | None
    expected: str
    found: str


RowSink = Callable[[int, str, str, str, str | None], None]
# (seq, kind, data, recomputed hash, station)


def check_chain(conn: Connection, each_row: RowSink | None = None) -> list[ChainProblem]:
    """Recompute every row hash and link; name each row that does not fit. `each_row` gets
    every row with its recomputed hash, for checks that need it too (checkpoints)."""
    problems: list[ChainProblem] = []
    prev_seq, prev_hash = 0, GENESIS
    cur = conn.execute(f"SELECT {JOURNAL_COLUMNS} FROM journal ORDER BY seq")
    for seq, ts, actor, kind, subject, data, stored_prev, stored_hash, station in cur:
        if seq != prev_seq + 1:
            problems.append(ChainProblem("row_missing", seq, f"#{prev_seq + 1}", f"#{seq}"))
        if stored_prev != prev_hash:
            problems.append(ChainProblem("chain_broken", seq, prev_hash, stored_prev))
        recomputed = row_hash(stored_prev, seq, ts, actor, kind, subject, data, station)
        if each_row is not None:
            each_row(seq, kind, data, recomputed, station)
        if recomputed != stored_hash:
            problems.append(ChainProblem("row_changed", seq, recomputed, stored_hash))
        prev_seq, prev_hash = seq, stored_hash
    for name in missing_guards(conn):
        problems.append(ChainProblem("trigger_missing", None, name, "缺失"))
    from zfjl.vault.events import VaultGuardsRestored  # events import nothing of the vault

    restored = conn.execute(
        "SELECT seq, data FROM journal WHERE kind = ? ORDER BY seq", (VaultGuardsRestored.kind,)
    )
    for seq, data in restored:
        names = "、".join(json.loads(data).get("missing", []))
        problems.append(
            ChainProblem("guards_were_removed", seq, "防改触发器始终存在", f"{names} 曾被删除")
        )
    return problems

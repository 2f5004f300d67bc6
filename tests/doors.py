"""The doors tests use to reach a vault (issue 24), so the suite runs against another object
store (S3) or catalog (PostgreSQL) by changing these functions and the fixtures, not twenty
files:

- objects: read, spoil or remove an object's bytes, never through a path under objects/;
- "what did the journal record": events of a kind or subject, their typed payloads, the last
  one, how many, the chain's links;
- "what does the catalog say": a recording's, case's, object's row as the vault's own typed
  queries return it, a derived table's rows, the whole derived catalog, its schema version;
- "spoil the journal or catalog behind the vault's back": what an insider with the sqlite3
  shell does (edit or delete a journal row and rechain, drop the guards, forge a derived row).
  These are the only SQL in tests/ besides test_migrations.py (building vaults of earlier
  formats) and the tests of the SQLite backend itself.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from zfjl.vault import catalog, events, migrations
from zfjl.vault.journal import GENESIS, Event, read_events, row_hash
from zfjl.vault.queries import cases as case_queries
from zfjl.vault.queries import evidence as evidence_queries
from zfjl.vault.queries import journal as journal_queries
from zfjl.vault.vault import Vault

E = TypeVar("E", bound=events.EventData)


def object_bytes(vault: Vault, oid: str) -> bytes:
    """The stored bytes of an object, whole."""
    with vault.objects.open(oid) as f:
        return f.read()


def object_version(vault: Vault, oid: str) -> tuple[str, bytes]:
    """What must not change when a command only reads or links an object: the version the
    store holds (its tombstone token: inode and mtime locally) and its bytes."""
    return vault.objects.stat(oid).token, object_bytes(vault, oid)


def stored_objects(vault: Vault) -> dict[str, bytes]:
    """Every stored object's bytes, by oid."""
    return {oid: object_bytes(vault, oid) for oid in vault.objects.list_oids()}


def corrupt_object(vault: Vault, oid: str, *, keep_read_only: bool = True) -> None:
    """Flip one bit in the middle of a stored object, as a failing disk would (behind the
    store's back). `keep_read_only=False` leaves the file writable, as a careless hand would."""
    with vault.objects.local_path(oid) as path:
        os.chmod(path, 0o644)
        with open(path, "r+b") as f:
            middle = os.fstat(f.fileno()).st_size // 2
            f.seek(middle)
            b = f.read(1)
            f.seek(middle)
            f.write(bytes([b[0] ^ 1]))
        if keep_read_only:
            os.chmod(path, 0o444)


def remove_object(vault: Vault, oid: str) -> None:
    """Lose an object behind the vault's back (no tombstone, no token)."""
    with vault.objects.local_path(oid) as path:
        path.unlink()


def store_again(vault: Vault, oid: str, data: bytes) -> None:
    """Remove an object and put the same bytes back as a new version (a restore in
    progress) behind the vault's back."""
    with vault.objects.local_path(oid) as path:
        path.unlink()
        path.write_bytes(data)


def object_files(vault: Vault) -> list[tuple[str | None, bytes]]:
    """Everything the store holds, stray files included (oid None): what a test asserting
    "nothing half-stored, nothing else" must see, beyond `list_oids`."""
    return [(oid, path.read_bytes()) for oid, path in vault.objects.iter_oids()]


def all_read_only(vault: Vault) -> bool:
    """Whether every stored object is read-only, as the store reports it (0444 locally)."""
    return all(vault.objects.protection(oid).read_only for oid in vault.objects.list_oids())


# -- what did the journal record --------------------------------------------------------------
def journal_events(vault: Vault, kind: str | type[events.EventData] | None = None,
                   subject: str | None = None) -> list[Event]:  # fmt: skip
    """The journal's rows, oldest first: all, or of one kind (a kind string or its declared
    class), or on one subject, or both."""
    name = kind if isinstance(kind, str) or kind is None else kind.kind
    if name is not None:
        rows = journal_queries.events_of_kind(vault, name)
        return [e for e in rows if subject is None or e.subject == subject]
    return list(read_events(vault.conn, subject))


def journal_kinds(vault: Vault, subject: str | None = None) -> list[str]:
    """The kinds of the journal's rows (on `subject`), oldest first."""
    return [e.kind for e in journal_events(vault, subject=subject)]


def payloads(vault: Vault, cls: type[E], subject: str | None = None) -> list[E]:
    """The typed payloads of every event of one declared type, oldest first."""
    out = []
    for e in journal_events(vault, cls, subject):
        parsed = events.parse(e.kind, e.data)
        assert isinstance(parsed, cls)
        out.append(parsed)
    return out


def last_event(vault: Vault) -> Event:
    """The newest journal row."""
    *_, last = read_events(vault.conn)
    return last


def journal_count(vault: Vault, kind: str | type[events.EventData] | None = None,
                  subject: str | None = None) -> int:  # fmt: skip
    """How many rows the journal holds (of one kind, on one subject)."""
    return len(journal_events(vault, kind, subject))


def journal_links(vault: Vault) -> list[tuple[int, str]]:
    """Every row's (seq, hash): what no command may ever change, only extend."""
    return [(e.seq, e.hash) for e in read_events(vault.conn)]


# -- what does the catalog say -------------------------------------------------------------
def recording(vault: Vault, oid: str) -> case_queries.RecordingFacts | None:
    """A recording's catalogued facts, as the checks read them (None: not catalogued)."""
    return case_queries.recording_facts(vault, oid)


def catalogued_object(vault: Vault, oid: str) -> evidence_queries.Catalogued | None:
    """An object's catalog row as the vault's evidence query returns it."""
    return evidence_queries.catalogued(vault, oid)


def case_state(vault: Vault, case_id: str) -> case_queries.CaseState | None:
    """A case's state as the catalog derived it (None: no such case)."""
    return case_queries.case_state(vault, case_id)


def catalog_rows(vault: Vault, table: str, **where: Any) -> list[dict[str, Any]]:
    """The rows of one derived table whose columns equal `where`, in the table's order: what
    the catalog says where no typed question fits a test's assertion."""
    if table not in catalog.DERIVED_TABLES:
        raise ValueError(f"not a derived table: {table}")
    return [dict(r) for r in vault.db[table].rows if _matches(r, where)]


def _matches(row: dict[str, Any], where: dict[str, Any]) -> bool:
    return all(row.get(k) == v for k, v in where.items())


def catalog_column(vault: Vault, table: str, column: str, **where: Any) -> list[Any]:
    """One column of `catalog_rows`."""
    return [r[column] for r in catalog_rows(vault, table, **where)]


def catalog_count(vault: Vault, table: str, **where: Any) -> int:
    return len(catalog_rows(vault, table, **where))


def catalog_snapshot(vault: Vault) -> dict[str, list[tuple[Any, ...]]]:
    """Every derived row: to assert that a refused command changed nothing."""
    return catalog.snapshot(vault.conn)


def schema_version(vault: Vault) -> int:
    """The catalog's recorded schema version."""
    return migrations.catalog_version(vault.conn)


# -- spoil the journal and catalog behind the vault's back ----------------------------------
CATALOG = "catalog.db"
GUARDS = ("journal_no_update", "journal_no_delete", "journal_in_sequence")


def insider_sql(root: Path, sql: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """What a person with shell access to the vault would do: the sqlite3 command-line tool on
    its catalog. `check=False` returns a refusal (a guard) instead of failing the test."""
    proc = subprocess.run(["sqlite3", str(root / CATALOG)], input=sql, capture_output=True,
                          text=True)  # fmt: skip
    if check:
        assert proc.returncode == 0 and not proc.stderr, proc.stderr
    return proc


@contextmanager
def insider_connection(root: Path) -> Iterator[sqlite3.Connection]:
    """An open connection to the vault's catalog, as the insider's own script would hold it
    (committed when the block ends)."""
    with closing(sqlite3.connect(root / CATALOG, isolation_level=None)) as conn:
        conn.execute("BEGIN")
        yield conn
        conn.execute("COMMIT")


def drop_guards(root: Path, *names: str) -> None:
    """Drop the journal's guard triggers (all by default)."""
    insider_sql(root, "".join(f"DROP TRIGGER {n};" for n in names or GUARDS))


def edit_journal_row(root: Path, seq: int, *, check: bool = True, **columns: Any
                     ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """UPDATE one journal row's columns as they stand (no rehash): the guards refuse it unless
    dropped first (`check=False` to see the refusal)."""
    sets = ", ".join(f"{c} = {_literal(v)}" for c, v in columns.items())
    return insider_sql(root, f"UPDATE journal SET {sets} WHERE seq = {seq};", check=check)


def delete_journal_rows(root: Path, *seqs: int, check: bool = True) -> subprocess.CompletedProcess[str]:
    return insider_sql(root, f"DELETE FROM journal WHERE seq IN ({', '.join(map(str, seqs))});",
                       check=check)  # fmt: skip


def rechain(root: Path, *, keep: int | None = None, skip: int | None = None,
            change: Callable[[int, str, str, str, str | None, str, list[str]], tuple[str, str]]
            | None = None,
            keep_guards: bool = False) -> list[str]:  # fmt: skip
    """The insider's rewrite: drop the guards, cut the journal after row `keep`, remove row
    `skip` (renumbering the rest), let `change(seq, ts, actor, kind, subject, data, earlier)`
    return a row's new (actor, data) (`earlier`: the new hashes of the rows before), and recompute every hash so the chain links again.
    `keep_guards` puts the guards back as they were (opening the vault notices nothing).
    Returns the new hashes in order."""
    with insider_connection(root) as conn:
        guards = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'journal'"
        ).fetchall()
        for name, _ in guards:
            conn.execute(f"DROP TRIGGER {name}")
        if keep is not None:
            conn.execute("DELETE FROM journal WHERE seq > ?", (keep,))
        if skip is not None:
            conn.execute("DELETE FROM journal WHERE seq = ?", (skip,))
            conn.execute("UPDATE journal SET seq = seq - 1 WHERE seq > ?", (skip,))
        rows = conn.execute("SELECT seq, ts, actor, kind, subject, data FROM journal ORDER BY seq")
        prev, hashes = GENESIS, list[str]()
        for seq, ts, actor, kind, subject, data in rows.fetchall():
            if change is not None:
                actor, data = change(seq, ts, actor, kind, subject, data, hashes)
            h = row_hash(prev, seq, ts, actor, kind, subject, data)
            conn.execute("UPDATE journal SET actor = ?, data = ?, prev_hash = ?, hash = ?"
                         " WHERE seq = ?", (actor, data, prev, h, seq))  # fmt: skip
            hashes.append(h)
            prev = h
        if keep_guards:
            for _, sql in guards:
                conn.execute(sql)
    return hashes


def append_forged_row(root: Path, kind: str, data: dict[str, Any], *, subject: str | None = None,
                      ts: str = "2024-05-04T09:00:00.000+08:00", actor: str = "root") -> int:  # fmt: skip
    """A correctly chained row the vault's code never wrote (through the guards: it is in
    sequence). Returns its seq."""
    with closing(sqlite3.connect(root / CATALOG)) as conn:
        seq, prev = conn.execute("SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1").fetchone()
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    digest = row_hash(prev, seq + 1, ts, actor, kind, subject, text)
    insider_sql(root, "INSERT INTO journal (seq, ts, actor, kind, subject, data, prev_hash, hash)"
                f" VALUES ({seq + 1}, {_literal(ts)}, {_literal(actor)}, {_literal(kind)},"
                f" {_literal(subject)}, {_literal(text)}, '{prev}', '{digest}');")  # fmt: skip
    return int(seq) + 1


def forge_catalog(root: Path, sql: str, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Change a derived table by hand (an UPDATE, INSERT or DELETE on `recordings`, `roles`…):
    what verify's catalog_drift and a rebuild must see through."""
    return insider_sql(root, sql if sql.rstrip().endswith(";") else sql + ";", check=check)


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def forge_event(vault: Vault, event: events.EventData, subject: str | None = None,
                actor: str = "x") -> int:  # fmt: skip
    """Append a declared event and its derived rows straight through the journal, as a forger
    with the sqlite3 shell could (correctly chained), past every check of the domain code that
    would have refused it. Returns its seq."""
    from zfjl.vault.journal import append

    with vault.writing():
        ev = append(vault.conn, ts=vault.now_iso(), actor=actor, kind=event.kind,
                    subject=subject, data=event.payload())  # fmt: skip
        catalog.apply(vault.conn, ev)
    return ev.seq


def lose_catalog(root: Path) -> None:
    """Delete the whole catalog (journal included) behind the vault's back."""
    for path in root.glob(f"{CATALOG}*"):
        path.unlink()


# -- the same questions of a vault another process owns (a station's service), read only -------
@contextmanager
def _read_only(root: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(f"file:{root / CATALOG}?mode=ro", uri=True)) as conn:
        yield conn


def journal_events_at(root: Path, kind: str | type[events.EventData] | None = None,
                      subject: str | None = None) -> list[Event]:  # fmt: skip
    """`journal_events` of the vault at `root` without opening it (no write, no journaled
    open): what root sees of a running station's vault."""
    name = kind if isinstance(kind, str) or kind is None else kind.kind
    with _read_only(root) as conn:
        return [e for e in read_events(conn, subject) if name is None or e.kind == name]


def catalog_rows_at(root: Path, table: str, **where: Any) -> list[dict[str, Any]]:
    """`catalog_rows` of the vault at `root` without opening it (see `journal_events_at`)."""
    if table not in catalog.DERIVED_TABLES:
        raise ValueError(f"not a derived table: {table}")
    with _read_only(root) as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute(f"SELECT * FROM {table}")]
    return [r for r in rows if _matches(r, where)]


def forge_object_rows(root: Path, oids: list[str]) -> None:
    """Catalog objects that were never stored (every other column a placeholder): ids with
    the shapes a test needs, without finding content that hashes to them."""
    with insider_connection(root) as conn:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(objects)")]
        for oid in oids:
            values = [oid if c == "id" else 0 if c == "size" else "x" for c in cols]
            conn.execute(f"INSERT INTO objects ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                         values)  # fmt: skip


# What a read of a vault another process is writing may meet (try again): the driver's error.
CatalogBusy = sqlite3.Error

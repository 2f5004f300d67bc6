"""The SQLite catalog backend: catalog.db beside the objects, in WAL mode.

Writers serialise on SQLite's database write lock, taken by BEGIN IMMEDIATE at the start of
every write transaction; that lock is also what orders journal appends. Statements that may
meet the lock without SQLite's busy handler (switching to WAL, BEGIN IMMEDIATE) are retried
here until the vault is free (BUSY_WAIT_SECONDS).
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from zfjl.errors import VaultError, ZfjlError
from zfjl.vault import faults
from zfjl.vault.backend import SCHEMA_VERSION_DDL, Connection, register

BUSY_WAIT_SECONDS = 600.0  # a station docking many cameras at once queues, it does not fail

GUARDS = {
    "journal_no_update": "CREATE TRIGGER IF NOT EXISTS journal_no_update BEFORE UPDATE ON journal"
    " BEGIN SELECT RAISE(ABORT, 'journal is append-only: UPDATE refused'); END;",
    "journal_no_delete": "CREATE TRIGGER IF NOT EXISTS journal_no_delete BEFORE DELETE ON journal"
    " BEGIN SELECT RAISE(ABORT, 'journal is append-only: DELETE refused'); END;",
    "journal_in_sequence": "CREATE TRIGGER IF NOT EXISTS journal_in_sequence BEFORE INSERT ON"
    " journal WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM journal)"
    " BEGIN SELECT RAISE(ABORT, 'journal rows are appended in sequence only'); END;",
}


class SQLiteBackend:
    name = "sqlite"
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    def connect(self, root: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(root / "catalog.db", timeout=BUSY_WAIT_SECONDS, isolation_level=None)
        # Switching an older catalog to WAL needs it to itself: SQLite answers "locked" at
        # once, without its busy handler, while another opener (a second camera's thread)
        # reads it.
        execute_when_free(conn, "PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")  # an acknowledged event survives power loss
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_WAIT_SECONDS * 1000)}")
        return conn

    def begin_write(self, conn: Connection) -> None:
        execute_when_free(conn, "BEGIN IMMEDIATE")

    def commit(self, conn: Connection) -> None:
        conn.execute("COMMIT")

    def rollback(self, conn: Connection) -> None:
        if _sqlite(conn).in_transaction:
            conn.execute("ROLLBACK")

    def order_appends(self, conn: Connection) -> tuple[int, str] | None:
        # BEGIN IMMEDIATE holds the database's write lock until COMMIT: nothing to take. An
        # append outside a write transaction could interleave with another writer's.
        if not _sqlite(conn).in_transaction:
            raise RuntimeError("journal append outside a write transaction (begin_write)")
        return None  # reading the last row is a call, not a round trip

    def appended(self, conn: Connection, seq: int, digest: str) -> None:
        pass

    def run_script(self, conn: Connection, script: str) -> None:
        # Not executescript: it would COMMIT the caller's transaction, and migrations must
        # land whole or not at all.
        statement = ""
        for line in script.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                conn.execute(statement)
                statement = ""
        if statement.strip():
            conn.execute(statement)

    def tables(self, conn: Connection) -> set[str]:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def create_guards(self, conn: Connection) -> None:
        for ddl in GUARDS.values():
            conn.execute(ddl)

    def missing_guards(self, conn: Connection) -> list[str]:
        present = {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
        return [name for name in GUARDS if name not in present]

    def schema_version(self, conn: Connection) -> int:
        """The schema_version table since migration 9; before it, the database header's
        user_version (0 for a 0.1 catalog)."""
        if "schema_version" in self.tables(conn):
            row = conn.execute("SELECT version FROM schema_version WHERE id = 1").fetchone()
            if row is not None:
                return int(row[0])
        return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def set_schema_version(self, conn: Connection, version: int) -> None:
        conn.execute(SCHEMA_VERSION_DDL)
        conn.execute(
            "INSERT INTO schema_version (id, version) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET version = excluded.version",
            (int(version),),
        )
        # Releases before migration 9 read only user_version: kept equal, they refuse a
        # catalog newer than they know instead of writing into it.
        conn.execute(f"PRAGMA user_version = {int(version)}")

    def is_disk_full(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "full" in str(exc)

    def fault(self, exc: BaseException, root: Path) -> ZfjlError | None:
        return faults.sqlite_fault(exc, root) if isinstance(exc, sqlite3.Error) else None

    def may_change_schema(self, conn: Connection) -> bool:
        return True  # whoever may write catalog.db may change it


def _sqlite(conn: Connection) -> sqlite3.Connection:
    assert isinstance(conn, sqlite3.Connection)
    return conn


def execute_when_free(conn: Connection, sql: str) -> None:
    """A statement that may meet SQLite's lock without its busy handler, tried again until
    the vault is free (BUSY_WAIT_SECONDS)."""
    deadline = time.monotonic() + BUSY_WAIT_SECONDS
    delay = 0.01
    while True:
        try:
            conn.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise VaultError("保管库长时间被其他进程占用，请稍后重试") from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def sqlite_utils_db() -> Any:
    """sqlite_utils.db, imported on first use with numpy and pandas hidden.

    sqlite_utils imports them, when installed (matplotlib brings numpy), only to map their
    column types, which no vault stores: a tenth of a second of every command that reads the
    catalog through it, and of `zfjl verify` of a gigabyte. Nothing else changes: numpy stays
    importable afterwards, for the report's figures.
    """
    if "sqlite_utils.db" in sys.modules or "numpy" in sys.modules:
        import sqlite_utils.db

        return sqlite_utils.db
    hidden = {name: sys.modules.get(name) for name in ("numpy", "pandas")}
    sys.modules.update(dict.fromkeys(hidden))  # type: ignore[arg-type]  # None: "not installed"
    try:
        import sqlite_utils.db
    finally:
        for name, module in hidden.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return sqlite_utils.db


SQLITE = SQLiteBackend()
register(sqlite3.Connection, SQLITE)

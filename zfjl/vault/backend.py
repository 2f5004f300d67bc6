"""The catalog backend seam: what a database must provide to hold a vault's catalog.

Everything the catalog does that is not plain SQL goes through one `CatalogBackend`: opening
a connection with its settings, the write transaction, the ordering of journal appends, the
journal's guards (no UPDATE, no DELETE, rows in sequence), schema introspection, the schema
version and what a driver's error means. `journal`, `catalog` and `migrations` write portable
SQL only (`INSERT … ON CONFLICT`, no `INSERT OR`, no PRAGMA, no `sqlite_master`), with qmark
(`?`) parameters; `SQLiteBackend` (sqlite_backend.py) is the first implementation.

A second backend (PostgreSQL, pg_backend.py) implements this Protocol; `backend_of(conn)` is
how code holding only a connection (the journal's single `append`) finds it: the connection's
own `backend` attribute when its adapter has one, else the registry by connection type
(`register`). `Connection` is the one type every catalog function takes: a Protocol of what
the catalog uses (`execute`, `executemany`, `close`), which `sqlite3.Connection` satisfies as
it is and PostgreSQL's adapter implements (turning `?` into its own placeholder).
`backend_for(vault.json's "catalog")` picks the backend a vault names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from zfjl.errors import VaultError, ZfjlError


class Cursor(Protocol):
    """What the catalog reads from a statement: rows as tuples (indexable), and the column
    names (`description`) for rows as dicts."""

    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A catalog connection: qmark (`?`) SQL in, cursors out; transactions are the backend's
    (`begin_write`, `commit`, `rollback`), never the driver's implicit ones."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...

    def close(self) -> None: ...


def dict_rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
    """Each row of a query as {column: value}, on any backend."""
    cur = conn.execute(sql, tuple(params))
    names = [d[0] for d in cur.description]
    for row in cur:
        yield dict(zip(names, row, strict=True))

# The schema version lives in this table (catalog migration 9); standard SQL, one row.
SCHEMA_VERSION_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)"
)


class CatalogBackend(Protocol):
    """One database holding the catalog. Every method is called with the connection it
    opened; the write methods run inside `begin_write`'s transaction."""

    name: str
    # The driver's exceptions (sqlite3.Error): what `fault` may translate.
    errors: tuple[type[BaseException], ...]

    def connect(self, root: Path) -> Connection:
        """Open the vault's catalog with the settings that make an acknowledged write
        durable and writers wait for each other rather than fail."""
        ...

    def begin_write(self, conn: Connection) -> None:
        """Start the one write transaction, waiting for other writers (SQLite: BEGIN
        IMMEDIATE, the database's write lock from the first statement)."""
        ...

    def commit(self, conn: Connection) -> None: ...

    def rollback(self, conn: Connection) -> None:
        """Undo the open write transaction, if there is one."""
        ...

    def order_appends(self, conn: Connection) -> tuple[int, str] | None:
        """Called by `journal.append` before it reads the last row: from here to COMMIT no
        other writer may append, so the next `seq` (last + 1) and `prev_hash` are this
        transaction's alone. SQLite: the write lock `begin_write` took (checked, not taken
        again); PostgreSQL: pg_advisory_xact_lock(<vault key>). Returns the (seq, hash) this
        transaction last appended when the backend kept it (`appended`; PostgreSQL: a round
        trip saved an append), else None: the last row is read."""
        ...

    def appended(self, conn: Connection, seq: int, digest: str) -> None:
        """`journal.append` wrote row `seq` with hash `digest` in the open transaction."""
        ...

    def run_script(self, conn: Connection, script: str) -> None:
        """Run DDL statement by statement inside the caller's transaction."""
        ...

    def tables(self, conn: Connection) -> set[str]:
        """The names of the tables the catalog holds (schema introspection)."""
        ...

    def create_guards(self, conn: Connection) -> None:
        """Make the journal refuse UPDATE, DELETE and out-of-sequence INSERT."""
        ...

    def missing_guards(self, conn: Connection) -> list[str]:
        """The guards (by name, `GUARDS` order) someone removed."""
        ...

    def schema_version(self, conn: Connection) -> int:
        """The catalog's recorded schema version; 0 for a catalog that has none (0.1)."""
        ...

    def set_schema_version(self, conn: Connection, version: int) -> None: ...

    def is_disk_full(self, exc: BaseException) -> bool:
        """Whether a failed write failed for want of space."""
        ...

    def fault(self, exc: BaseException, root: Path) -> ZfjlError | None:
        """What a driver error on open means to the user (None: a bug)."""
        ...

    def may_change_schema(self, conn: Connection) -> bool:
        """Whether this connection may create tables and guards (SQLite: always; PostgreSQL:
        only the owner role, never the working role)."""
        ...


_BACKENDS: dict[type[object], CatalogBackend] = {}


def register(connection_type: type[object], backend: CatalogBackend) -> None:
    _BACKENDS[connection_type] = backend


def backend_of(conn: Connection) -> CatalogBackend:
    """The backend that opened `conn`: its adapter's own, or by the connection's type."""
    own: CatalogBackend | None = getattr(conn, "backend", None)
    if own is not None:
        return own
    backend = _BACKENDS.get(type(conn))
    if backend is None:
        default_backend()  # registers SQLite on first use
        backend = _BACKENDS.get(type(conn))
    if backend is None:
        raise TypeError(f"no catalog backend for {type(conn).__name__}")
    return backend


def default_backend() -> CatalogBackend:
    """The backend of a vault whose vault.json names no catalog: SQLite (catalog.db)."""
    from zfjl.vault.sqlite_backend import SQLITE

    return SQLITE


CATALOG_SCHEMES = ("postgresql://", "postgres://")


def backend_for(catalog: str | None) -> CatalogBackend:
    """The backend of the catalog vault.json names (`catalog`): none, SQLite beside the
    objects; a libpq URL (`postgresql://ROLE@HOST:PORT/DB`, no password: libpq's PGPASSWORD,
    PGPASSFILE or PGSERVICE supply it), PostgreSQL."""
    if catalog is None:
        return default_backend()
    if not isinstance(catalog, str) or not catalog.startswith(CATALOG_SCHEMES):
        raise VaultError(
            f"vault.json：catalog 应为 postgresql://角色@主机:端口/数据库，收到 {catalog!r:.80}"
        )
    from zfjl.vault.pg_backend import PostgresBackend

    return PostgresBackend(catalog)

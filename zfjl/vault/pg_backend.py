"""The PostgreSQL catalog backend (psycopg 3): a bureau's one catalog for many stations.

The catalog's SQL is written once, portable, with qmark (`?`) parameters (backend.py). What
PostgreSQL needs otherwise is done here, each in one place:

- **Parameters**: `PgConnection` turns `?` into psycopg's `%s` (and a literal `%` into `%%`)
  outside quoted text, and binds on the client (`ClientCursor`): values become literals the
  server casts as SQLite would store them (an integer into a TEXT column is its text). A
  Python bool is bound as 0/1 and booleans and numerics come back as int/float, as from
  SQLite (`SUM` of integers is `numeric` in PostgreSQL, a Decimal in psycopg).
- **DDL** (`pg_ddl`): INTEGER → BIGINT (sizes pass 2 GiB), REAL → DOUBLE PRECISION, BLOB →
  BYTEA, TEXT → TEXT COLLATE "C" (text orders by code point, as in SQLite, whatever the
  database's locale), no REFERENCES (SQLite does not enforce them: the catalog is a
  projection of the journal, replayed in journal order), and the column `user` quoted.
- **Writers**: `begin_write` is BEGIN + `pg_advisory_xact_lock(JOURNAL_LOCK)`, held to COMMIT:
  one writer of the vault's catalog at a time, as SQLite's BEGIN IMMEDIATE, so everything a
  write transaction reads (is this object catalogued? the last row) stays true until it
  commits. `order_appends` takes it again (a no-op when held). `UNIQUE (prev_hash)` makes a
  fork impossible even for a writer that skipped the lock.
- **Guards**: plpgsql triggers refuse UPDATE, DELETE, TRUNCATE and out-of-sequence INSERT;
  above all, privileges: the working role every station connects as has only SELECT and
  INSERT on the journal and owns nothing, so it cannot drop or disable a trigger, alter the
  table or create one (`grant_working`). The owner role creates and migrates the schema.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql as pgsql
from psycopg.adapt import Loader
from psycopg.conninfo import conninfo_to_dict

from zfjl.errors import UsageError, VaultError, ZfjlError
from zfjl.vault.backend import SCHEMA_VERSION_DDL, Connection, Cursor

# One advisory lock per database (they are scoped to it): the journal's.
JOURNAL_LOCK = int.from_bytes(hashlib.sha256(b"zfjl.journal").digest()[:8], "big", signed=True)

_REFUSE_FN = """CREATE OR REPLACE FUNCTION zfjl_journal_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN
  RAISE EXCEPTION 'journal is append-only: % refused', TG_OP;
END $$"""
_IN_SEQUENCE_FN = """CREATE OR REPLACE FUNCTION zfjl_journal_in_sequence() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN
  IF NEW.seq IS DISTINCT FROM (SELECT COALESCE(MAX(seq), 0) + 1 FROM journal) THEN
    RAISE EXCEPTION 'journal rows are appended in sequence only';
  END IF;
  RETURN NEW;
END $$"""
GUARDS = {
    "journal_no_update": "CREATE OR REPLACE TRIGGER journal_no_update BEFORE UPDATE ON journal"
    " FOR EACH ROW EXECUTE FUNCTION zfjl_journal_refuse()",
    "journal_no_delete": "CREATE OR REPLACE TRIGGER journal_no_delete BEFORE DELETE ON journal"
    " FOR EACH ROW EXECUTE FUNCTION zfjl_journal_refuse()",
    "journal_in_sequence": "CREATE OR REPLACE TRIGGER journal_in_sequence BEFORE INSERT ON"
    " journal FOR EACH ROW EXECUTE FUNCTION zfjl_journal_in_sequence()",
    "journal_no_truncate": "CREATE OR REPLACE TRIGGER journal_no_truncate BEFORE TRUNCATE ON"
    " journal FOR EACH STATEMENT EXECUTE FUNCTION zfjl_journal_refuse()",
    # Not a trigger: two rows naming the same predecessor (a fork) are refused.
    "journal_one_successor": "CREATE UNIQUE INDEX IF NOT EXISTS journal_one_successor"
    " ON journal (prev_hash)",
}

# -- the dialect, in one place --------------------------------------------------------------

_DDL_TYPES = (
    (re.compile(r"--[^\n]*"), ""),
    (re.compile(r"\s+REFERENCES\s+\w+\s*\(\w+\)", re.I), ""),
    (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.I), "BYTEA"),
    (re.compile(r"\bTEXT\b", re.I), 'TEXT COLLATE "C"'),
    (re.compile(r'(?<!")\buser\b(?!")'), '"user"'),
)


@functools.lru_cache(maxsize=64)
def pg_ddl(script: str) -> str:
    """The catalog's portable DDL (journal.SCHEMA, catalog.DERIVED_SCHEMA, migrations'
    `sql`) as PostgreSQL wants it."""
    for pattern, replacement in _DDL_TYPES:
        script = pattern.sub(replacement, script)
    return script


_QMARK_TOKENS = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|\?|%")


@functools.lru_cache(maxsize=1024)
def pg_placeholders(sql: str) -> str:
    """qmark SQL → psycopg's format style: `?` → `%s`, `%` → `%%`, quoted text untouched."""

    def swap(m: re.Match[str]) -> str:
        token = m.group(0)
        return "%s" if token == "?" else "%%" if token == "%" else token

    return _QMARK_TOKENS.sub(swap, sql)


def _bound(params: Sequence[Any]) -> tuple[Any, ...]:
    # SQLite stores a bool as 0/1 and the catalog's columns are INTEGER: so here.
    return tuple(int(p) if isinstance(p, bool) else p for p in params)


class _NumberLoader(Loader):
    """numeric → int when whole, else float (SQLite's answer to SUM, AVG, ROUND)."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        try:
            return int(text)
        except ValueError:  # 1.50, 1e+20, NaN, Infinity
            return float(text)


class _BoolLoader(Loader):
    """boolean → 1/0, as SQLite answers `x IS NULL`."""

    def load(self, data: Any) -> int:
        return 1 if bytes(data) == b"t" else 0


class PgConnection:
    """A psycopg connection speaking the catalog's Connection protocol (qmark SQL, tuples),
    in autocommit mode: the backend's begin_write/commit make the transactions."""

    def __init__(self, raw: psycopg.Connection[Any], backend: PostgresBackend) -> None:
        self.raw = raw
        self.backend = backend
        self.holds_journal_lock = False  # this transaction took JOURNAL_LOCK
        # The last row this transaction appended, (seq, hash): under the lock it is the
        # journal's last, so the next append need not ask (a round trip) — forgotten at
        # COMMIT and ROLLBACK, when another writer may append.
        self.appended_link: tuple[int, str] | None = None
        self._pipeline: AbstractContextManager[psycopg.Pipeline] | None = None

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor:
        if parameters and self.holds_journal_lock and _writes_only(sql):
            self._pipelined()
        else:
            self.flush()
        cur = self.raw.cursor()
        try:
            if parameters:
                cur.execute(pg_placeholders(sql), _bound(parameters))
            else:
                cur.execute(sql)  # no parameters: `%` is itself, several statements allowed
        except psycopg.OperationalError as exc:
            raise self._lost(exc) from exc
        return cur

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor:
        if self.holds_journal_lock and _writes_only(sql):
            self._pipelined()
        else:
            self.flush()
        cur = self.raw.cursor()
        try:
            cur.executemany(pg_placeholders(sql), [_bound(p) for p in parameters])
        except psycopg.OperationalError as exc:
            raise self._lost(exc) from exc
        return cur

    def _pipelined(self) -> None:
        """Queue this write transaction's writes without waiting for each answer (psycopg's
        pipeline mode): a statement that returns nothing costs no round trip of its own. The
        next read, statement without parameters, or COMMIT sends them and waits (`flush`), so
        a read sees every write before it and an error still surfaces before COMMIT."""
        if self._pipeline is None:
            pipeline = self.raw.pipeline()
            pipeline.__enter__()
            self._pipeline = pipeline

    def flush(self) -> None:
        """Leave pipeline mode: the queued writes are sent and their answers awaited; the
        first failed one raises here (the transaction is then aborted, as it would be)."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is None:
            return
        try:
            pipeline.__exit__(None, None, None)
        except psycopg.OperationalError as exc:
            raise self._lost(exc) from exc

    def abandon(self) -> None:
        """Leave pipeline mode after a failure, whatever is queued (ROLLBACK follows)."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            exc = RuntimeError("write transaction abandoned")
            pipeline.__exit__(type(exc), exc, None)  # errors are logged, not raised

    def _lost(self, exc: psycopg.OperationalError) -> Exception:
        """A connection the server dropped (restart, failover, network) is a machine's
        fault, said in one line; nothing of the open transaction was committed."""
        if not self.raw.broken:
            return exc
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return VaultError(f"与目录数据库 {_safe_url(self.backend.url)} 的连接中断，本次写入未生效，"
                          f"请稍后重试：{first}")  # fmt: skip

    def close(self) -> None:
        self.raw.close()

    @property
    def broken(self) -> bool:
        """The server dropped this connection (Vault.conn then opens a new one)."""
        return bool(self.raw.broken)

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE


_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.I)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)


@functools.lru_cache(maxsize=1024)
def _writes_only(sql: str) -> bool:
    """A statement whose answer nobody reads (no rows come back): it may be pipelined."""
    return bool(_WRITE.match(sql)) and not _RETURNING.search(sql)


def _pg(conn: Connection) -> PgConnection:
    assert isinstance(conn, PgConnection)
    return conn


def _raw_connect(url: str) -> psycopg.Connection[Any]:
    # JIT off: the catalog's statements are short, and the planner's estimate for the
    # correlated look-ups (a recording's officer) passes jit_above_cost on a month of
    # footage, so each search paid ~0.1-2 s of LLVM compiling for ms of work.
    options = f"{conninfo_to_dict(url).get('options') or ''} -c jit=off".strip()
    raw = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor,
                          application_name="zfjl", options=options)  # fmt: skip
    raw.adapters.register_loader("numeric", _NumberLoader)
    raw.adapters.register_loader("bool", _BoolLoader)
    return raw


class PostgresBackend:
    name = "postgresql"
    errors: tuple[type[BaseException], ...] = (psycopg.Error,)

    def __init__(self, url: str) -> None:
        refuse_password(url)
        self.url = url

    def connect(self, root: Path) -> Connection:
        # root: the station's own folder; the catalog is wherever the URL says.
        return PgConnection(_raw_connect(self.url), self)

    def begin_write(self, conn: Connection) -> None:
        # One round trip: a writer holds the lock for its whole transaction.
        conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({JOURNAL_LOCK})")
        pg = _pg(conn)
        pg.holds_journal_lock, pg.appended_link = True, None

    def commit(self, conn: Connection) -> None:
        pg = _pg(conn)
        pg.flush()  # the queued writes answered first: one failed, nothing is committed
        pg.holds_journal_lock, pg.appended_link = False, None
        conn.execute("COMMIT")

    def rollback(self, conn: Connection) -> None:
        pg = _pg(conn)
        pg.abandon()
        pg.holds_journal_lock, pg.appended_link = False, None
        if pg.in_transaction and not pg.raw.broken:  # a dropped connection rolled back itself
            conn.execute("ROLLBACK")

    def order_appends(self, conn: Connection) -> tuple[int, str] | None:
        pg = _pg(conn)
        if not pg.in_transaction:
            raise RuntimeError("journal append outside a write transaction (begin_write)")
        if not pg.holds_journal_lock:  # a transaction begun otherwise: take it now
            conn.execute(f"SELECT pg_advisory_xact_lock({JOURNAL_LOCK})")
            pg.holds_journal_lock = True
            pg.appended_link = None
        return pg.appended_link

    def appended(self, conn: Connection, seq: int, digest: str) -> None:
        _pg(conn).appended_link = (seq, digest)

    def run_script(self, conn: Connection, script: str) -> None:
        conn.execute(pg_ddl(script))

    def tables(self, conn: Connection) -> set[str]:
        return {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}  # fmt: skip

    def create_guards(self, conn: Connection) -> None:
        conn.execute(_REFUSE_FN)
        conn.execute(_IN_SEQUENCE_FN)
        for ddl in GUARDS.values():
            conn.execute(ddl)

    def missing_guards(self, conn: Connection) -> list[str]:
        # A disabled trigger (ALTER TABLE … DISABLE TRIGGER, the owner's) guards nothing.
        present = {r[0] for r in conn.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'journal'::regclass"
            " AND NOT tgisinternal AND tgenabled <> 'D'"
            " UNION SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename = 'journal'")}  # fmt: skip
        return [name for name in GUARDS if name not in present]

    def schema_version(self, conn: Connection) -> int:
        if "schema_version" not in self.tables(conn):
            return 0
        row = conn.execute("SELECT version FROM schema_version WHERE id = 1").fetchone()
        return 0 if row is None else int(row[0])

    def set_schema_version(self, conn: Connection, version: int) -> None:
        self.run_script(conn, SCHEMA_VERSION_DDL)
        conn.execute(
            "INSERT INTO schema_version (id, version) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET version = excluded.version",
            (int(version),),
        )

    def is_disk_full(self, exc: BaseException) -> bool:
        return isinstance(exc, psycopg.errors.DiskFull)

    def fault(self, exc: BaseException, root: Path) -> ZfjlError | None:
        if not isinstance(exc, psycopg.Error):
            return None
        where = _safe_url(self.url)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return VaultError(f"目录数据库 {where} 拒绝了本角色的操作（权限不足）：{first}")
        if isinstance(exc, psycopg.OperationalError):
            return VaultError(f"无法连接目录数据库 {where}：{first}（密码由 PGPASSWORD、"
                              "PGPASSFILE 或 PGSERVICE 提供，不写在 vault.json 中）")  # fmt: skip
        return None

    def may_change_schema(self, conn: Connection) -> bool:
        row = conn.execute(
            "SELECT COALESCE((SELECT pg_has_role(tableowner, 'MEMBER') FROM pg_tables"
            " WHERE schemaname = current_schema() AND tablename = 'journal'),"
            " has_schema_privilege(current_schema(), 'CREATE'))"
        ).fetchone()
        return bool(row[0])


def _safe_url(url: str) -> str:
    """The URL as a person may see it: never a password, even one written into it."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "（无法解析的地址）"
    return (f"postgresql://{parts.get('user', '')}@{parts.get('host', '')}:"
            f"{parts.get('port', '')}/{parts.get('dbname', '')}")  # fmt: skip


def refuse_password(url: str) -> None:
    """A catalog address carries no password (it would sit in vault.json, a command line, a
    process list): libpq's PGPASSWORD, PGPASSFILE or PGSERVICE give it."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise UsageError(f"目录地址无法解析：{str(exc).splitlines()[0]}") from None
    if parts.get("password"):
        raise UsageError(
            f"目录地址 {_safe_url(url)} 中不得含密码：请用 PGPASSFILE（.pgpass）、PGSERVICE 或"
            " PGPASSWORD 提供"
        )


def role_of(url: str) -> str:
    """The role a catalog URL connects as (its user part)."""
    role = conninfo_to_dict(url).get("user")
    if not role:
        raise VaultError(f"目录地址须写明角色：postgresql://角色@主机:端口/数据库，收到 {_safe_url(url)}")
    return str(role)


def grant_working(conn: Connection, working_role: str, tables: Iterable[str]) -> None:
    """The working role's privileges, as the owner: the journal SELECT and INSERT only (so
    no UPDATE, DELETE, TRUNCATE nor `INSERT … ON CONFLICT DO UPDATE`); the derived tables
    (projections it maintains as it appends) SELECT, INSERT, UPDATE, DELETE; the schema
    version SELECT. Run after every schema change (a migration recreates tables)."""
    raw = _pg(conn).raw
    role = pgsql.Identifier(working_role)
    raw.execute(pgsql.SQL("REVOKE ALL ON journal FROM PUBLIC, {}").format(role))
    raw.execute(pgsql.SQL("GRANT SELECT, INSERT ON journal TO {}").format(role))
    raw.execute(pgsql.SQL("GRANT SELECT ON schema_version TO {}").format(role))
    for table in tables:
        raw.execute(pgsql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(
            pgsql.Identifier(table), role))  # fmt: skip


def upgrade_as_owner(owner_url: str, working_url: str, *, root: Path, actor: str,
                     now_iso: Callable[[], str]) -> None:  # fmt: skip
    """Create or migrate the catalog's schema as its owner role (the same migrations as on
    SQLite, journaled the same way), then grant the working role what it needs."""
    from zfjl.vault import catalog, migrations

    conn = PostgresBackend(owner_url).connect(root)
    try:
        migrations.refuse_newer(migrations.catalog_version(conn))
        migrations.bring_up_to_date(conn, now_iso=now_iso, actor=actor, root=root,
                                    vault_json=None)  # fmt: skip
        grant_working(conn, role_of(working_url), catalog.DERIVED_TABLES)
    finally:
        conn.close()


def move_catalog(root: Path, owner_url: str, working_url: str) -> int:
    """Move a vault's catalog from catalog.db onto an empty PostgreSQL database: its journal
    copied row for row (hashes and all), the derived tables replayed from it, the same
    snapshot checked, the move journaled there (`vault.catalog_moved`, chained on), then
    vault.json names the new catalog (format 3). catalog.db is kept as it was and read by
    nothing since. Done under catalog.db's write lock, so no row can
    be appended there meanwhile. Returns the rows moved."""
    from zfjl.vault import catalog, events, journal, migrations
    from zfjl.vault.vault import Vault

    with Vault.open(root) as vault, vault.writing():
        if journal.check_chain(vault.conn):
            raise VaultError("日志哈希链有问题，不能迁移目录：请先运行 zfjl verify")
        rows = vault.conn.execute(
            f"SELECT {journal.JOURNAL_COLUMNS} FROM journal ORDER BY seq").fetchall()  # fmt: skip
        expected = catalog.snapshot(vault.conn)
        owner = PostgresBackend(owner_url)
        conn = owner.connect(root)
        try:
            owner.begin_write(conn)
            if journal.has_table(conn):
                raise VaultError(f"目录数据库 {_safe_url(owner_url)} 已有日志，不能迁入")
            journal.create_schema(conn)
            catalog.create_schema(conn)
            marks = ", ".join("?" * len(journal.JOURNAL_COLUMNS.split(",")))
            conn.executemany(f"INSERT INTO journal ({journal.JOURNAL_COLUMNS}) VALUES ({marks})",
                             rows)  # fmt: skip
            _, problems = catalog.replay(conn)
            if problems or _unordered(catalog.snapshot(conn)) != _unordered(expected):
                raise VaultError("迁入 PostgreSQL 后目录与原目录不一致，未迁移（原目录未改动）")
            moved = events.VaultCatalogMoved(source="catalog.db", target=_safe_url(working_url),
                                             rows=len(rows))  # fmt: skip
            ev = journal.append(conn, ts=vault.now_iso(), actor=vault.actor, kind=moved.kind,
                                subject=None, data=moved.payload())  # fmt: skip
            catalog.apply_typed(conn, ev, moved)
            owner.set_schema_version(conn, migrations.SCHEMA_VERSION)
            grant_working(conn, role_of(working_url), catalog.DERIVED_TABLES)
            owner.commit(conn)
        except BaseException:
            owner.rollback(conn)
            raise
        finally:
            conn.close()
        vault.catalog = working_url
        vault._write_config()
    return len(rows)


def _unordered(snapshot: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """A snapshot whose rows are compared as sets (ORDER BY 1 leaves ties in any order)."""
    return {table: sorted(rows, key=repr) for table, rows in snapshot.items()}

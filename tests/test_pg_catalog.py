"""The catalog on PostgreSQL (issue 25): the same journal, chain, derived tables and
migrations as on SQLite, through the CatalogBackend seam; the working role refused by the
server itself; many writers appending to one chain without forks or gaps."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import sqlite3
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from zfjl.errors import VaultError
from zfjl.ingest import IngestOptions, ingest
from zfjl.vault import Vault, catalog, events, journal, migrations
from zfjl.vault.pg_backend import GUARDS, PostgresBackend, pg_ddl, pg_placeholders
from zfjl.vault.verify import verify

from .conftest import INGEST_CLOCK, fixed_clock, zfjl_run
from .postgres import PgDatabase


def _pg(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


def test_the_dialect_is_translated_in_one_place() -> None:
    assert pg_placeholders("SELECT * FROM t WHERE a = ? AND b LIKE '?%' AND c LIKE ?") == (
        "SELECT * FROM t WHERE a = %s AND b LIKE '?%' AND c LIKE %s"
    )
    assert pg_placeholders("SELECT 100 % ?") == "SELECT 100 %% %s"
    ddl = pg_ddl("CREATE TABLE x (seq INTEGER PRIMARY KEY, id TEXT REFERENCES objects(id),"
                 " d REAL, b BLOB, user TEXT, PRIMARY KEY (user, role)); -- a user's")  # fmt: skip
    assert ddl == ('CREATE TABLE x (seq BIGINT PRIMARY KEY, id TEXT COLLATE "C", d DOUBLE'
                   ' PRECISION, b BYTEA, "user" TEXT COLLATE "C", PRIMARY KEY ("user", role)); ')


def test_a_vault_on_postgresql_ingests_journals_and_verifies(pg_vault: Vault, dump: Path) -> None:
    vault = pg_vault
    assert isinstance(vault.backend, PostgresBackend)
    assert not (vault.root / "catalog.db").exists()
    saved = json.loads((vault.root / "vault.json").read_text("utf-8"))
    assert saved["catalog"] == vault.catalog and saved["version"] == 3
    assert "password" not in saved["catalog"] and ":" not in saved["catalog"].split("@")[0][13:]
    report = ingest(vault, dump, IngestOptions())
    stored = report.count("new")
    assert stored >= 3 and not report.failed
    vault.close()
    with Vault.open(vault.root, clock=fixed_clock(INGEST_CLOCK)) as v:
        assert isinstance(v.backend, PostgresBackend)
        rows = v.conn.execute("SELECT COUNT(*) FROM recordings").fetchone()[0]
        assert rows == stored
        assert journal.check_chain(v.conn) == []
        result = verify(v)
        assert result.ok, [f.as_dict() for f in result.findings]
        kinds = [e.kind for e in journal.read_events(v.conn)]
    assert kinds[:2] == ["vault.init", "checkpoint.key"] and "object.add" in kinds


def test_verify_names_a_row_changed_by_the_owner_behind_the_triggers(
    pg_vault: Vault, pg_database: PgDatabase
) -> None:
    """The owner can disable a trigger and edit a row (the journal's hash chain, not the
    trigger, is what shows it): verify names the row and the disabled guard."""
    vault = pg_vault
    vault.record(events.SettingSet(key="clock_skew_seconds", value=600), None)
    with _pg(pg_database.owner_url) as owner:
        owner.execute("ALTER TABLE journal DISABLE TRIGGER journal_no_update")
        owner.execute("UPDATE journal SET actor = 'mallory' WHERE seq = 3")
    problems = {(p.code, p.seq) for p in journal.check_chain(vault.conn)}
    assert ("row_changed", 3) in problems
    assert ("trigger_missing", None) in problems
    assert "journal_no_update" in journal.missing_guards(vault.conn)


def _refused(url: str, sql: str) -> str:
    """The server's SQLSTATE for `sql` run as `url`'s role (inside a rolled-back transaction)."""
    with _pg(url) as conn:
        try:
            with conn.transaction():
                conn.execute(sql)
        except psycopg.Error as exc:
            return str(exc.sqlstate)
    return "accepted"


def test_the_server_refuses_the_working_role_what_could_rewrite_the_journal(
    pg_vault: Vault, pg_database: PgDatabase
) -> None:
    station = pg_database.station_url
    denied = "42501"  # insufficient_privilege
    row = "(99, 't', 'a', 'k', NULL, '{}', 'p', 'h')"
    for sql in (
        "UPDATE journal SET actor = 'x' WHERE seq = 1",
        "DELETE FROM journal WHERE seq = 2",
        "TRUNCATE journal",
        f"INSERT INTO journal VALUES {row} ON CONFLICT (seq) DO UPDATE SET actor = 'x'",
        "ALTER TABLE journal DISABLE TRIGGER journal_no_update",
        "DROP TRIGGER journal_no_delete ON journal",
        "CREATE TABLE journal2 (seq BIGINT)",
        "DROP TABLE objects",
        "UPDATE schema_version SET version = 1",
    ):
        assert _refused(station, sql) == denied, sql
    # What it may do: append in sequence (the guard refuses anything else, even to it).
    assert _refused(station, f"INSERT INTO journal VALUES {row}") == "P0001"  # raise_exception
    with _pg(station) as conn:
        assert conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == 2
    # The owner is refused by the triggers: a mistake stopped, TRUNCATE included.
    owner = pg_database.owner_url
    for sql in ("UPDATE journal SET actor = 'x'", "DELETE FROM journal", "TRUNCATE journal"):
        assert _refused(owner, sql) == "P0001", sql


def test_a_fork_is_refused_by_the_unique_predecessor(
    pg_vault: Vault, pg_database: PgDatabase
) -> None:
    """Two rows naming the same predecessor cannot both stand, whatever the sequence says:
    here the in-sequence trigger is off (the owner could do that) and the index still refuses."""
    vault = pg_vault
    with _pg(pg_database.owner_url) as owner:
        owner.execute("ALTER TABLE journal DISABLE TRIGGER journal_in_sequence")
        prev = owner.execute("SELECT prev_hash FROM journal WHERE seq = 2").fetchone()[0]
        with pytest.raises(psycopg.errors.UniqueViolation):
            owner.execute("INSERT INTO journal VALUES (3, 't', 'a', 'k', NULL, '{}', %s, 'h')",
                          (prev,))  # fmt: skip
    assert [g for g in GUARDS if g in journal.missing_guards(vault.conn)] == ["journal_in_sequence"]


def test_the_working_role_cannot_migrate_and_says_so(
    pg_vault: Vault, pg_database: PgDatabase
) -> None:
    vault = pg_vault
    vault.close()
    with _pg(pg_database.owner_url) as owner:
        owner.execute("UPDATE schema_version SET version = 9")
    with pytest.raises(VaultError, match="须先由其所有者角色升级"):
        Vault.open(vault.root)


def _sqlite_journal(root: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(root / "catalog.db") as conn:
        return conn.execute(f"SELECT {journal.JOURNAL_COLUMNS} FROM journal ORDER BY seq").fetchall()


def test_every_migration_runs_on_postgresql(
    sample_cases_vault: Vault, pg_empty_database: PgDatabase
) -> None:
    """A version-0 catalog on PostgreSQL (a station's journal, no derived table, no version)
    is brought up to date by the owner through every migration, as on SQLite: the same
    derived rows, every migration journaled, the chain and verify clean."""
    from zfjl.vault.pg_backend import upgrade_as_owner

    v = sample_cases_vault
    expected = catalog.snapshot(v.conn)
    rows = _sqlite_journal(v.root)
    root, actor = v.root, v.actor
    v.close()
    owner = PostgresBackend(pg_empty_database.owner_url).connect(root)
    journal.create_schema(owner)
    owner.execute("ALTER TABLE journal DROP COLUMN station")  # before migration 13
    assert all(r[-1] is None for r in rows)
    owner.executemany("INSERT INTO journal (seq, ts, actor, kind, subject, data, prev_hash, hash)"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [r[:-1] for r in rows])  # fmt: skip
    assert migrations.catalog_version(owner) == 0
    owner.close()
    upgrade_as_owner(pg_empty_database.owner_url, pg_empty_database.station_url, root=root, actor=actor,
                     now_iso=lambda: "2024-06-01T09:00:00.000+08:00")  # fmt: skip
    data = json.loads((root / "vault.json").read_text("utf-8"))
    data.update(version=3, catalog=pg_empty_database.station_url)
    (root / "vault.json").write_text(json.dumps(data), "utf-8")
    (root / "catalog.db").unlink()
    with Vault.open(root) as pg:
        assert migrations.catalog_version(pg.conn) == migrations.SCHEMA_VERSION
        migrated = [e.data["number"] for e in journal.read_events(pg.conn)
                    if e.kind == events.VaultMigrate.kind]  # fmt: skip
        assert migrated == [m.number for m in migrations.MIGRATIONS]
        got = catalog.snapshot(pg.conn)
        for table in catalog.DERIVED_TABLES:
            assert sorted(got[table], key=repr) == sorted(expected[table], key=repr), table
        assert journal.check_chain(pg.conn) == []
        report = verify(pg, read_data=False)
        assert report.ok, [f.as_dict() for f in report.findings]


APPENDS_PER_WRITER = 40


def _writer(root: str, number: int, start: Any) -> None:
    with Vault.open(Path(root)) as v:
        start.wait()  # every writer open: they append together
        for i in range(APPENDS_PER_WRITER):
            v.record(events.SettingSet(key=f"test.w{number}", value=i), None)


def test_eight_writers_append_to_one_chain_without_forks_or_gaps(pg_vault: Vault) -> None:
    vault = pg_vault
    root = str(vault.root)
    before = vault.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
    vault.close()
    ctx = multiprocessing.get_context("fork")  # the vault closed: no connection shared
    start = ctx.Barrier(9)
    procs = [ctx.Process(target=_writer, args=(root, n, start)) for n in range(8)]
    for p in procs:
        p.start()
    start.wait(60)
    began = time.monotonic()
    for p in procs:
        p.join(120)
    elapsed = time.monotonic() - began
    assert [p.exitcode for p in procs] == [0] * 8
    with Vault.open(Path(root)) as v:
        seqs = [r[0] for r in v.conn.execute("SELECT seq FROM journal ORDER BY seq")]
        assert seqs == list(range(1, before + 8 * APPENDS_PER_WRITER + 1))  # no gap, no twice
        assert journal.check_chain(v.conn) == []
        writes = v.conn.execute("SELECT data FROM journal WHERE kind = ?",
                                (events.SettingSet.kind,)).fetchall()  # fmt: skip
        per_writer: dict[str, list[int]] = {}
        for (data,) in writes:
            d = json.loads(data)
            per_writer.setdefault(d["key"], []).append(d["value"])
        # Every append once, each writer's in its own order.
        assert per_writer == {f"test.w{n}": list(range(APPENDS_PER_WRITER)) for n in range(8)}
    rate = 8 * APPENDS_PER_WRITER / elapsed
    print(f"\n8 writers, {8 * APPENDS_PER_WRITER} appends in {elapsed:.2f} s: {rate:.0f} appends/s")


def test_init_on_postgresql_from_the_command_line(
    tmp_path: Path, pg_empty_database: PgDatabase
) -> None:
    """Into an empty database: the owner makes the schema, the working role journals."""
    pg_database = pg_empty_database
    root = tmp_path / "station"
    secret = pg_database.station_url.replace("zfjl_station@", "zfjl_station:hunter2@")
    bureau = ["--bureau", "株洲市城市管理和综合执法局"]
    refused = zfjl_run("--vault", str(root), "init", *bureau, "--catalog", secret,
                       "--catalog-owner", pg_database.owner_url)  # fmt: skip
    assert refused.returncode == 2 and "不得含密码" in refused.stderr
    assert "hunter2" not in refused.stderr and not (root / "vault.json").exists()
    half = zfjl_run("--vault", str(root), "init", *bureau, "--catalog", pg_database.station_url)
    assert half.returncode == 2 and "--catalog-owner" in half.stderr
    made = zfjl_run("--vault", str(root), "init", *bureau, "--catalog", pg_database.station_url,
                    "--catalog-owner", pg_database.owner_url, "--json")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads((root / "vault.json").read_text("utf-8"))["catalog"] == pg_database.station_url
    assert not (root / "catalog.db").exists()
    checked = zfjl_run("--vault", str(root), "verify", "--json")
    assert checked.returncode == 0 and json.loads(checked.stdout)["journal_rows"] >= 2, checked.stderr


def test_an_unreachable_catalog_is_one_line_naming_it_without_a_password(
    pg_vault: Vault, pg_database: PgDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = pg_vault
    vault.close()
    monkeypatch.setenv("PGPASSFILE", str(vault.root / "no-such-pgpass"))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    proc = zfjl_run("--vault", str(vault.root), "ls")
    assert proc.returncode == 3
    assert proc.stderr.strip().startswith("错误：无法连接目录数据库 postgresql://zfjl_station@127.0.0.1")
    assert "PGPASSFILE" in proc.stderr and "Traceback" not in proc.stderr


def test_a_connection_dropped_mid_write_is_one_line_and_nothing_half_written(
    pg_vault: Vault, pg_database: PgDatabase
) -> None:
    vault = pg_vault
    before = vault.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
    with pytest.raises(VaultError, match="连接中断，本次写入未生效"), vault.writing() as w:
        w.append(events.SettingSet(key="test.a", value=1), None)
        pg_database.server.superuser_sql(  # a failover, a restart: the server drops us
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{pg_database.name}' AND usename = 'zfjl_station'")  # fmt: skip
        w.append(events.SettingSet(key="test.b", value=2), None)
    # The same Vault (a long-running service) connects anew at its next use.
    assert vault.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == before
    vault.record(events.SettingSet(key="test.c", value=3), None)
    assert journal.check_chain(vault.conn) == []


def test_the_monthly_report_and_the_web_search_are_the_same_on_both_catalogs(
    tmp_path: Path, pg_database: PgDatabase
) -> None:
    """The same generated month (cameras, assignments, faults, cases, spot-check units) in a
    vault on SQLite and one on PostgreSQL: the report's every figure is equal, and so is
    every page the review pages' search shows (all, page 2, one camera, one officer)."""
    from zfjl.reports import build_report
    from zfjl.sample import make_bureau_month
    from zfjl.vault.queries.web import RecordingSearch, search_recordings

    searches = [(RecordingSearch(), 1), (RecordingSearch(), 2),
                (RecordingSearch(device="DSJ002"), 1), (RecordingSearch(officer="10001"), 1)]  # fmt: skip
    pages = []

    clock = fixed_clock(dt.datetime(2024, 6, 20, 9, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    reports = []
    for name, pg in (("sqlite", {}), ("postgresql", {"catalog": pg_database.station_url,
                                                      "catalog_owner": pg_database.owner_url})):  # fmt: skip
        with Vault.create(tmp_path / name, clock=clock, **pg) as v:  # type: ignore[arg-type]
            make_bureau_month(v, "2024-05", cameras=4, recordings=120, cases=6, seed=7)
            reports.append(build_report(v, "2024-05"))
            pages.append([search_recordings(v, s, page) for s, page in searches])
    sqlite_report, pg_report = reports
    sqlite_pages, pg_pages = pages
    assert pg_pages[0].total == 120 and len(pg_pages[1].rows) == 50 and pg_pages[3].rows
    assert pg_pages == sqlite_pages
    assert pg_report["totals"]["recordings"] == 120 and pg_report["units"]
    assert pg_report == sqlite_report


@pytest.mark.parametrize("sample_cases_vault", ["postgresql"], indirect=True)
def test_a_station_catalog_moved_onto_postgresql_keeps_every_row_and_journals_the_move(
    sample_cases_vault: Vault,
) -> None:
    """conftest's on_catalog moved it (pg_backend.move_catalog): the journal is the same row
    for row, hashes and all, then one `vault.catalog_moved`, chained on; catalog.db is kept."""
    v = sample_cases_vault
    assert isinstance(v.backend, PostgresBackend)
    before = _sqlite_journal(v.root)
    rows = v.conn.execute(f"SELECT {journal.JOURNAL_COLUMNS} FROM journal ORDER BY seq").fetchall()
    assert [tuple(r) for r in rows[: len(before)]] == before
    moved = [e for e in journal.read_events(v.conn) if e.seq > len(before)]
    assert [e.kind for e in moved] == [events.VaultCatalogMoved.kind]
    assert moved[0].data == {"source": "catalog.db", "target": v.catalog, "rows": len(before)}
    assert journal.check_chain(v.conn) == []
    assert json.loads((v.root / "vault.json").read_text("utf-8"))["version"] == 3
    assert verify(v, read_data=False).ok


def test_the_catalog_connection_runs_without_jit(pg_vault: Vault) -> None:
    """JIT compiling cost the web search's officer filter ~2 s on a month of 500 cameras (the
    planner's estimate for the correlated look-ups passes jit_above_cost): it is off."""
    assert pg_vault.conn.execute("SHOW jit").fetchone()[0] == "off"

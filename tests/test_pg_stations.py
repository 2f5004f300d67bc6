"""Many stations, one bureau catalog (issue 25): a station joins the bureau's vault on
PostgreSQL with its own folder and signing key; every journal row names its station; two
stations ingest at once; a station's catalog is moved into the bureau's from the command line."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from zfjl.vault import Vault, events, journal, migrations
from zfjl.vault.anchors import STATE_FILE, read_state
from zfjl.vault.signer import KEY_FILE, make_checkpoint
from zfjl.vault.verify import verify

from .conftest import INGEST_CLOCK, fixed_clock, zfjl_run
from .postgres import PgDatabase

BUREAU = ["--bureau", "株洲市城市管理和综合执法局"]


def _bureau(tmp_path: Path, db: PgDatabase) -> Path:
    root = tmp_path / "bureau"
    made = zfjl_run("--vault", str(root), "init", *BUREAU, "--catalog", db.station_url,
                    "--catalog-owner", db.owner_url)  # fmt: skip
    assert made.returncode == 0, made.stderr
    return root


def _join(tmp_path: Path, db: PgDatabase, name: str) -> Path:
    root = tmp_path / name
    joined = zfjl_run("--vault", str(root), "init", "--catalog", db.station_url,
                      "--station", name, "--json")  # fmt: skip
    assert joined.returncode == 0, joined.stderr
    assert json.loads(joined.stdout)["station"] == name
    return root


def test_a_station_joins_with_its_own_key_and_signer_and_every_row_names_it(
    tmp_path: Path, pg_database: PgDatabase
) -> None:
    bureau = _bureau(tmp_path, pg_database)
    station = _join(tmp_path, pg_database, "芦淞中队")
    saved = json.loads((station / "vault.json").read_text("utf-8"))
    assert saved["station"] == "芦淞中队" and saved["catalog"] == pg_database.station_url
    assert saved["id"] == json.loads((bureau / "vault.json").read_text("utf-8"))["id"]
    # Its own key, its own signer state, both in its own folder.
    assert (station / KEY_FILE).read_bytes() != (bureau / KEY_FILE).read_bytes()
    assert (station / STATE_FILE).exists()
    again = zfjl_run("--vault", str(tmp_path / "other"), "init", "--catalog",
                     pg_database.station_url, "--station", "芦淞中队")  # fmt: skip
    assert again.returncode != 0 and "已加入" in again.stderr
    bad = zfjl_run("--vault", str(tmp_path / "bad"), "init", "--catalog", pg_database.station_url,
                   "--station", "../x")  # fmt: skip
    assert bad.returncode == 2 and "站点名" in bad.stderr
    with Vault.open(bureau) as b, Vault.open(station) as s:
        assert s.station == "芦淞中队" and b.station is None
        join = [e for e in journal.read_events(s.conn) if e.kind == events.StationJoin.kind]
        assert len(join) == 1 and join[0].station == "芦淞中队"
        key_rows = [e for e in journal.read_events(s.conn) if e.kind == events.CheckpointKey.kind]
        assert [e.station for e in key_rows] == [None, "芦淞中队"]
        assert join[0].data["vkey"] == key_rows[1].data["vkey"]
        # Checkpoints signed by whichever station makes them, interleaved: each signer's
        # state follows its own, and neither station's verify calls the other's stale.
        first = make_checkpoint(b)
        second = make_checkpoint(s)
        third = make_checkpoint(b)
        assert second.seq > first.seq and third.seq > second.seq
        assert read_state(s).size == second.checkpoint.size  # type: ignore[union-attr]
        for v in (b, s):
            report = verify(v)
            assert report.ok, [f.as_dict() for f in report.findings]
            assert "signer_state_stale" not in {f.code for f in report.findings}
        stations = {r[0] for r in s.conn.execute("SELECT DISTINCT station FROM journal")}
        assert stations == {None, "芦淞中队"}
        # A checkpoint row made by one station but signed with another's key does not count.
        row = b.conn.execute("SELECT data FROM journal WHERE seq = ?", (second.seq,)).fetchone()
        with b.writing() as w:
            w.append(events.JournalCheckpoint(**{k: v for k, v in json.loads(row[0]).items()}),
                     None)  # fmt: skip
        codes = {f.code for f in verify(b, read_data=False).findings}
        assert "checkpoint_signature" in codes


def test_join_needs_a_bureau_vault_in_the_catalog(tmp_path: Path, pg_database: PgDatabase) -> None:
    proc = zfjl_run("--vault", str(tmp_path / "s"), "init", "--catalog", pg_database.station_url,
                    "--station", "天元中队")  # fmt: skip
    assert proc.returncode != 0 and "还没有全局保管库" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "s" / "vault.json").exists()


def test_a_vault_of_the_previous_schema_gains_the_station_column(vault: Vault, dump: Path) -> None:
    """A catalog.db of schema 12 (no `station` column): opened, migrated by number 13, its
    rows hash as before and verify is clean; new rows of a station-less folder stay NULL."""
    from zfjl.ingest import IngestOptions, ingest

    ingest(vault, dump, IngestOptions())
    root = vault.root
    vault.close()
    db = sqlite3.connect(root / "catalog.db")
    db.execute("ALTER TABLE journal DROP COLUMN station")
    db.execute("UPDATE schema_version SET version = 12")
    db.execute("PRAGMA user_version = 12")
    db.commit()
    db.close()
    with Vault.open(root, clock=fixed_clock(INGEST_CLOCK)) as v:
        assert migrations.catalog_version(v.conn) == migrations.SCHEMA_VERSION
        migrated = [e.data["number"] for e in journal.read_events(v.conn)
                    if e.kind == events.VaultMigrate.kind]  # fmt: skip
        assert migrated == [m.number for m in migrations.pending(12)]  # 13 and any later
        assert journal.check_chain(v.conn) == []
        report = verify(v)
        assert report.ok, [f.as_dict() for f in report.findings]
        assert v.conn.execute("SELECT COUNT(*) FROM journal WHERE station IS NOT NULL").fetchone()[0] == 0


def _ingest_process(root: Path, source: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "zfjl", "--vault", str(root), "ingest",
                             str(source), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))  # fmt: skip


def test_two_stations_ingest_at_once_into_one_catalog(
    tmp_path: Path, pg_database: PgDatabase, dump: Path, case_dump: Path
) -> None:
    from .conftest import SAMPLE_CASES

    a = _bureau(tmp_path, pg_database)
    b = _join(tmp_path, pg_database, "荷塘中队")
    procs = [_ingest_process(a, dump), _ingest_process(b, case_dump)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    files = {a: sorted(f for f in dump.rglob("*") if f.is_file()),
             b: sorted(f for f in case_dump.rglob("*") if f.is_file())}  # fmt: skip
    with Vault.open(a) as va, Vault.open(b) as vb:
        # Every file once, in the folder of the station that read it.
        adds = va.conn.execute("SELECT subject, station FROM journal WHERE kind = ?",
                               (events.ObjectAdd.kind,)).fetchall()  # fmt: skip
        subjects = [s for s, _ in adds]
        assert len(subjects) == len(set(subjects)) == len(files[a]) + len(files[b])
        for v, station in ((va, None), (vb, "荷塘中队")):
            mine = [s for s, st in adds if st == station]
            assert len(mine) == len(files[v.root])
            assert all(v.objects.exists(oid) for oid in mine)
        assert journal.check_chain(va.conn) == []
        seqs = [r[0] for r in va.conn.execute("SELECT seq FROM journal ORDER BY seq")]
        assert seqs == list(range(1, len(seqs) + 1))
        for v in (va, vb):
            report = verify(v)
            assert report.ok, [f.as_dict() for f in report.findings]
            assert report.objects_checked == len(files[v.root])
    # `ls` from either station shows both stations' recordings.
    listed = [json.loads(zfjl_run("--vault", str(r), "ls", "--json").stdout) for r in (a, b)]
    assert listed[0] == listed[1]
    assert len(listed[0]) == len(files[a]) + len(files[b]), listed[0][:2]
    # A case linked from one station is checked from the other.
    case = SAMPLE_CASES / "penalty.yaml"
    imported = zfjl_run("--vault", str(b), "case", "import", str(case), "--json")
    assert imported.returncode == 0, imported.stderr
    checks = [zfjl_run("--vault", str(r), "check", "CASE-2024-031", "--json") for r in (b, a)]
    assert checks[0].stdout and checks[0].returncode == checks[1].returncode, checks[1].stderr
    there, here = (json.loads(c.stdout) for c in checks)
    assert here == there
    assert "CASE-2024-031" in checks[1].stdout


def test_a_station_vault_moves_into_the_bureau_catalog_from_the_command_line(
    vault: Vault, dump: Path, tmp_path: Path, pg_empty_database: PgDatabase, pg_database: PgDatabase
) -> None:
    """`zfjl migrate-to-bureau`: verify passes before and after, every row moved as it was,
    the move journaled; then another station joins the vault it became."""
    from zfjl.ingest import IngestOptions, ingest

    ingest(vault, dump, IngestOptions())
    make_checkpoint(vault)
    root = vault.root
    before = [tuple(r) for r in vault.conn.execute(
        f"SELECT {journal.JOURNAL_COLUMNS} FROM journal ORDER BY seq")]  # fmt: skip
    assert verify(vault).ok
    vault.close()
    db = pg_empty_database
    taken = zfjl_run("--vault", str(root), "migrate-to-bureau", "--catalog", pg_database.station_url,
                     "--catalog-owner", pg_database.owner_url)  # fmt: skip
    assert taken.returncode == 3 and "已有日志" in taken.stderr  # a database holding a vault
    moved = zfjl_run("--vault", str(root), "migrate-to-bureau", "--catalog", db.station_url,
                     "--catalog-owner", db.owner_url, "--json")  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    with sqlite3.connect(root / "catalog.db") as old:  # kept as it was, read by nothing since
        kept = old.execute(f"SELECT {journal.JOURNAL_COLUMNS} FROM journal ORDER BY seq").fetchall()
    assert kept[: len(before)] == before and kept[-1][3] == events.VaultVerify.kind
    assert json.loads(moved.stdout)["rows"] == len(kept)
    assert json.loads((root / "vault.json").read_text("utf-8"))["catalog"] == db.station_url
    again = zfjl_run("--vault", str(root), "migrate-to-bureau", "--catalog", db.station_url,
                     "--catalog-owner", db.owner_url)  # fmt: skip
    assert again.returncode == 2 and "已在 PostgreSQL 上" in again.stderr
    station = _join(tmp_path, db, "石峰中队")
    with Vault.open(root) as v:
        rows = [tuple(r) for r in v.conn.execute(
            f"SELECT {journal.JOURNAL_COLUMNS} FROM journal ORDER BY seq")]  # fmt: skip
        assert rows[: len(kept)] == kept
        assert rows[len(kept)][3] == events.VaultCatalogMoved.kind
        report = verify(v)
        assert report.ok, [f.as_dict() for f in report.findings]
        assert report.objects_checked == len([f for f in dump.rglob("*") if f.is_file()])
        make_checkpoint(v)  # its signer goes on from its state, over the moved journal
    with Vault.open(station) as s:
        make_checkpoint(s)
        report = verify(s)
        assert report.ok and report.objects_checked == 0, [f.as_dict() for f in report.findings]


def test_one_init_command_makes_the_bureau_vault_then_joins_it(
    tmp_path: Path, pg_database: PgDatabase
) -> None:
    """The issue's interface: the same `init --bureau --catalog --catalog-owner --station` on
    every station; the first makes the bureau's vault (its folder a named station), the next
    ones join it."""
    def init(name: str) -> subprocess.CompletedProcess[str]:
        return zfjl_run("--vault", str(tmp_path / name), "init", *BUREAU, "--catalog",
                        pg_database.station_url, "--catalog-owner", pg_database.owner_url,
                        "--station", name, "--json")  # fmt: skip

    first, second = init("天元中队"), init("石峰中队")
    assert first.returncode == 0 and second.returncode == 0, (first.stderr, second.stderr)
    with Vault.open(tmp_path / "天元中队") as v:
        kinds = [(e.kind, e.station) for e in journal.read_events(v.conn)]
        assert kinds[0] == (events.VaultInit.kind, "天元中队")
        joins = [s for k, s in kinds if k == events.StationJoin.kind]
        assert joins == ["天元中队", "石峰中队"]
        assert verify(v).ok
    with Vault.open(tmp_path / "石峰中队") as s:
        assert s.config.id == v.config.id and s.station == "石峰中队"
        assert verify(s).ok


def test_two_folders_joining_under_one_name_at_once_make_one_station(
    tmp_path: Path, pg_database: PgDatabase
) -> None:
    _bureau(tmp_path, pg_database)
    procs = [subprocess.Popen([sys.executable, "-m", "zfjl", "--vault", str(tmp_path / f"s{n}"),
                               "init", "--catalog", pg_database.station_url, "--station", "芦淞中队"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in range(2)]  # fmt: skip
    outs = [p.communicate(timeout=60) for p in procs]
    assert sorted(p.returncode for p in procs) == [0, 3], outs
    assert any("已加入" in err for _, err in outs)
    # The loser keeps no vault.json: no second folder acts as the same station.
    assert sum((tmp_path / f"s{n}" / "vault.json").exists() for n in range(2)) == 1
    with Vault.open(tmp_path / "bureau") as v:
        rows = v.conn.execute("SELECT COUNT(*) FROM journal WHERE kind = ?",
                              (events.StationJoin.kind,)).fetchone()  # fmt: skip
        assert rows[0] == 1

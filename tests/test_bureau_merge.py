"""A station's own vault merged into a bureau catalog that already holds one (issue 25 item 6):
`zfjl migrate-to-bureau --catalog URL --station NAME` replays its journal as the station's
rows, each naming its original, under `station.merged` naming the old journal; nothing lost,
verify clean from both folders, its case checked the same; a clashing case number refused
with nothing written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from zfjl.cases.io import read_case_file
from zfjl.cases.store import import_case
from zfjl.devices.registry import add_device
from zfjl.errors import VaultError
from zfjl.ingest import ingest
from zfjl.retention.holds import place_hold, release_hold
from zfjl.spotcheck.draw import draw as spotcheck_draw
from zfjl.spotcheck.ledger import record as spotcheck_record
from zfjl.vault import Vault, catalog, events, journal, merge
from zfjl.vault.anchors import STATE_FILE
from zfjl.vault.settings import add_role
from zfjl.vault.setup import init_vault
from zfjl.vault.signer import make_checkpoint
from zfjl.vault.verify import verify

from .conftest import SAMPLE_CASES, zfjl_run
from .postgres import PgDatabase

BUREAU = "株洲市城市管理和综合执法局"
CASE = "CASE-2024-045"
STATION = "石峰中队"


@pytest.fixture
def bureau(tmp_path: Path, pg_database: PgDatabase, dump: Path) -> Path:
    """The bureau's vault on PostgreSQL, its first station (station A) holding a camera dump
    (station B will hold it too)."""
    root = tmp_path / "bureau"
    with init_vault(root, bureau=BUREAU, catalog=pg_database.station_url,
                    catalog_owner=pg_database.owner_url) as v:  # fmt: skip
        ingest(v, dump)
        add_role(v, "zfjl-clerk-a", "clerk")
    return root


@pytest.fixture
def station_b(sample_cases_vault: Vault, dump: Path) -> Path:
    """Station B's own vault (catalog.db): the case footage, three cases, the bureau's dump
    too, a hold placed and released and one still on, a role of its own, a signed checkpoint."""
    v = sample_cases_vault
    ingest(v, dump)
    first = place_hold(v, CASE, "纠纷", None)
    release_hold(v, first["id"], "株城管复〔2024〕7号", None)
    place_hold(v, CASE, "阻碍", None)
    add_role(v, "zfjl-clerk-b", "clerk")
    add_device(v, "DSJ02", model=None, serial=None, unit="天元大队", assigned_to=None,
               since="2024-01-01")  # fmt: skip
    drawn = spotcheck_draw(v, "天元大队", "2024-05", 2, seed="s")
    spotcheck_record(v, drawn["items"][0]["id"], "pass", draw_id=drawn["draw"])
    make_checkpoint(v)
    root = v.root
    v.close()
    return root


def _check(root: Path) -> tuple[int, Any]:
    run = zfjl_run("--vault", str(root), "check", CASE, "--as-of", "2024-09-02", "--json")
    return run.returncode, json.loads(run.stdout)


def _rows(conn: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(
        f"SELECT {journal.JOURNAL_COLUMNS} FROM journal ORDER BY seq")]  # fmt: skip


def _merge(root: Path, db: PgDatabase, *more: str) -> Any:
    return zfjl_run("--vault", str(root), "migrate-to-bureau", "--catalog", db.station_url,
                    "--station", STATION, *more)  # fmt: skip


def test_a_station_vault_merges_into_a_bureau_that_holds_one(
    bureau: Path, station_b: Path, pg_database: PgDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = _check(station_b)
    with Vault.open(bureau) as a:
        untouched = _rows(a.conn)
    # A replay whose derived rows differ from the station's (here: the hold's release left
    # naming its old id) is rolled back whole, before COMMIT.
    with monkeypatch.context() as m:
        m.setattr(merge, "_SEQ_ID_KEYS", ())
        with pytest.raises(VaultError, match="holds"):
            merge.merge_station(station_b, catalog_url=pg_database.station_url, station=STATION)
    with Vault.open(bureau) as a:
        assert _rows(a.conn) == untouched
    assert "station" not in json.loads((station_b / "vault.json").read_text("utf-8"))
    with sqlite3.connect(station_b / "catalog.db") as db:
        old = _rows(db)
        old_holds = db.execute("SELECT target, reason, released_at FROM holds ORDER BY seq").fetchall()
        b_objects = {r[0] for r in db.execute("SELECT id FROM objects")}
    with Vault.open(bureau) as a:
        a_roles, a_settings = catalog.roles_of(a.conn), catalog.settings_of(a.conn)
        a_objects = {r[0] for r in a.conn.execute("SELECT id FROM objects")}
        bureau_rows = len(_rows(a.conn))
    shared = a_objects & b_objects
    assert shared and b_objects - a_objects  # the dump is held by both, the case footage by B

    merged = _merge(station_b, pg_database, "--json")
    assert merged.returncode == 0, merged.stderr
    summary = json.loads(merged.stdout)
    with sqlite3.connect(station_b / "catalog.db") as db:  # kept, read by nothing since
        kept = _rows(db)
    assert kept[: len(old)] == old and kept[-1][3] == events.VaultVerify.kind  # checked first
    old = kept
    assert summary["station"] == STATION and summary["rows"] == len(old)
    saved = json.loads((station_b / "vault.json").read_text("utf-8"))
    assert saved["station"] == STATION and saved["catalog"] == pg_database.station_url
    with Vault.open(bureau) as a, Vault.open(station_b) as b:
        assert b.config.id == a.config.id
        new = _rows(b.conn)[bureau_rows:]
        kinds = [r[3] for r in new[:3]]
        assert kinds == [events.CheckpointKey.kind, events.StationJoin.kind, events.StationMerged.kind]
        assert {r[8] for r in new} == {STATION}
        source = events.StationMerged.from_payload(json.loads(new[2][5]))
        assert source.source_head == old[-1][7] and source.source_rows == len(old)
        assert source.last_checkpoint is not None and source.last_checkpoint["seq"] in {r[0] for r in old}
        not_applied = {(n["seq"], n["kind"]) for n in source.not_applied}
        assert (old[0][0], events.VaultInit.kind) in not_applied
        assert any(k == events.RoleAdd.kind for _, k in not_applied)
        # Every other old row replayed in order, as it was, naming its original by seq and hash.
        by_seq = {r[0]: r for r in old}
        replayed = new[3:]
        assert len(replayed) == len(old) - len(source.not_applied) == source.replayed
        origins = []
        for row in replayed:
            data = json.loads(row[5])
            origin = data.pop(events.MERGED_FROM)
            was = by_seq[origin["seq"]]
            assert origin["hash"] == was[7] and row[1:4] == was[1:4]  # ts, actor, kind
            renamed = {"hold.release": "hold", "spotcheck.record": "draw"}.get(row[3])
            was_data = json.loads(was[5])
            if renamed:  # the seq-made id it names, renumbered
                assert data.pop(renamed) != was_data.pop(renamed)
            assert data == was_data
            origins.append(origin["seq"])
        assert origins == sorted(origins)
        # The bureau's settings and roles stand; the station's are recorded only.
        assert catalog.roles_of(a.conn) == a_roles and "zfjl-clerk-b" not in a_roles
        assert catalog.settings_of(a.conn) == a_settings
        # Its holds as they were (the release names the renumbered hold), objects one each.
        holds = a.conn.execute("SELECT target, reason, released_at FROM holds WHERE seq > ?"
                               " ORDER BY seq", (bureau_rows,)).fetchall()  # fmt: skip
        assert holds == old_holds and holds[0][2] is not None and holds[1][2] is None
        draw_row = next(r for r in replayed if r[3] == events.SpotcheckDraw.kind)
        results = a.conn.execute("SELECT draw, result FROM spotcheck_items WHERE result IS NOT NULL"
                                 ).fetchall()  # fmt: skip
        assert results == [(f"SC-{draw_row[0]}", "pass")]  # the result names the new draw
        mark = next(r for r in replayed if r[3] == events.SpotcheckRecord.kind)
        assert mark[4] == f"spotcheck:SC-{draw_row[0]}"
        ids = [r[0] for r in a.conn.execute("SELECT id FROM objects")]
        assert len(ids) == len(set(ids)) and set(ids) == a_objects | b_objects
        # Each re-reads what it holds: one both held is the station's since (its row is last).
        for v, objects in ((a, len(a_objects - b_objects)), (b, len(b_objects))):
            report = verify(v)
            assert report.ok, [f.as_dict() for f in report.findings]
            assert report.objects_checked == objects
        assert (station_b / STATE_FILE).exists()
        make_checkpoint(b)  # its signer goes on, over the bureau's journal
        assert verify(b, read_data=False).ok
    assert _check(station_b) == checked  # its case checked the same from the bureau
    assert _check(bureau) == checked
    # Committed but vault.json not yet rewritten (a crash): run again, it finishes, once.
    kept_json = station_b / f"vault.json.before-merge-{source.source_vault}"
    (station_b / "vault.json").write_bytes(kept_json.read_bytes())
    again = _merge(station_b, pg_database)
    assert again.returncode == 0, again.stderr
    assert f"作为站点 {STATION}" in again.stdout and "请运行 zfjl sync" in again.stdout
    with Vault.open(station_b) as b:
        assert b.station == STATION
        merges = b.conn.execute("SELECT COUNT(*) FROM journal WHERE kind = ?",
                                (events.StationMerged.kind,)).fetchone()  # fmt: skip
        assert merges[0] == 1 and verify(b, read_data=False).ok
    twice = _merge(station_b, pg_database)
    assert twice.returncode == 2 and "已在 PostgreSQL 上" in twice.stderr


def test_a_merge_is_refused_with_nothing_written_when_a_case_number_clashes(
    bureau: Path, station_b: Path, pg_database: PgDatabase, case_dump: Path
) -> None:
    with Vault.open(bureau) as a:  # the bureau opened a case under one of B's numbers
        ingest(a, case_dump)
        import_case(a, read_case_file(SAMPLE_CASES / "penalty.yaml"))
        before = _rows(a.conn)
    vault_json = (station_b / "vault.json").read_bytes()
    with sqlite3.connect(station_b / "catalog.db") as db:
        old = _rows(db)
    mixed = _merge(station_b, pg_database, "--catalog-owner", pg_database.owner_url)
    assert mixed.returncode == 2 and "不用 --catalog-owner" in mixed.stderr  # never silently ignored
    refused = _merge(station_b, pg_database)
    assert refused.returncode == 3, refused.stderr
    assert "案件编号在全局保管库中已存在" in refused.stderr and "CASE-2024-031" in refused.stderr
    assert CASE not in refused.stderr  # only the clashing one is named
    assert "Traceback" not in refused.stderr
    with Vault.open(bureau) as a:
        assert _rows(a.conn) == before
    assert (station_b / "vault.json").read_bytes() == vault_json
    with sqlite3.connect(station_b / "catalog.db") as db:
        assert _rows(db) == old
    with Vault.open(station_b) as b:
        assert b.catalog is None and verify(b, read_data=False).ok

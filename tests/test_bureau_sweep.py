"""The sweep in a bureau vault (issue 25 item 3, zfjl/retention/bucket.py): a tombstoned
object's version is deleted from the bucket once the store reports its lock lapsed, by the
owner's credential only; verify stays clean; `where` names the station holding a recording
not yet shipped. Real SeaweedFS (tests/seaweed.py) and PostgreSQL (tests/postgres.py).

Time travel: the vault's clock is a year after the footage (so patrol footage is due), and
`bureau.MIN_LEAD` — how far ahead a lock of overdue footage ends when shipped — is seconds,
not a day, so the store's own (real) lock lapses within the test."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.seaweed import OWNER_PROFILE, STATION_PROFILE, Seaweed
from zfjl.cases.io import read_case_file
from zfjl.cases.store import import_case
from zfjl.errors import StorageError
from zfjl.retention import sweep
from zfjl.retention.bucket import pending_deletions
from zfjl.retention.holds import place_hold
from zfjl.vault import Vault, bureau, migrations
from zfjl.vault.bureau import bind_store, binding, open_store, sync, where
from zfjl.vault.queries.journal import events_of_kind
from zfjl.vault.s3store import S3ObjectStore
from zfjl.vault.verify import verify

from .conftest import CASE_CLOCK, copy_vault, fixed_clock, write_random_files, zfjl_run
from .postgres import PgDatabase

SAMPLES = Path(__file__).resolve().parent.parent / "zfjl" / "checklists" / "samples"
SWEEP_CLOCK = dt.datetime(2025, 6, 1, 9, tzinfo=CASE_CLOCK.tzinfo)  # patrol of 2024 is due
APPROVAL = "城管销〔2025〕3号"
LEAD = dt.timedelta(seconds=3)  # an overdue recording's lock, once shipped: seconds ahead


@pytest.fixture
def swept_vault(
    seaweed: Seaweed, case_vault_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Vault]:
    """The case footage, the penalty case imported (its links made on time), bound to its own
    prefix of the shared bucket, opened a year on; the station's credential."""
    monkeypatch.setenv("AWS_PROFILE", STATION_PROFILE)
    monkeypatch.setattr(bureau, "MIN_LEAD", LEAD)
    root = copy_vault(case_vault_template, tmp_path / "vault")
    with Vault.open(root, clock=fixed_clock(CASE_CLOCK)) as v:
        import_case(v, read_case_file(SAMPLES / "penalty.yaml"))
        bind_store(v, f"s3://{seaweed.bucket}/{seaweed.prefix()}")
    with Vault.open(root, clock=fixed_clock(SWEEP_CLOCK)) as v:
        yield v


def _versions(seaweed: Seaweed, store: S3ObjectStore, oid: str) -> list[str]:
    """The versions and delete markers the bucket keeps under the object's key."""
    got = seaweed.client().list_object_versions(Bucket=seaweed.bucket, Prefix=store.key_for(oid))
    return [v["VersionId"] for v in got.get("Versions", []) + got.get("DeleteMarkers", [])]


def _wait_lapsed(store: S3ObjectStore, oids: list[str]) -> None:
    until = max(store.protection(o).retain_until or dt.datetime.now(dt.UTC) for o in oids)
    time.sleep(max(0.0, (until - dt.datetime.now(dt.UTC)).total_seconds()) + 0.2)


def test_lapsed_versions_are_deleted_by_the_owner_and_pending_for_a_station(
    seaweed: Seaweed, swept_vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = swept_vault
    patrol = [i.id for i in sweep.plan(vault).due]
    linked = {r[0] for r in vault.conn.execute("SELECT recording_id FROM case_media")}
    assert len(patrol) >= 4 and linked and not linked & set(patrol)
    held, extended, unshipped, *lapsing = patrol
    place_hold(vault, held, "dispute", "当事人当场投诉")
    # One due recording is never shipped: its station copy is away while the sync runs.
    away = vault.objects.path_for(unshipped)
    away.rename(away.with_name("away"))
    with pytest.raises(StorageError, match=unshipped[:12]):
        sync(vault)
    away.with_name("away").rename(away)
    store = open_store(vault.root, binding(vault).url)  # type: ignore[union-attr]
    shipped = {e.data["id"]: e.data["version"] for e in events_of_kind(vault, "object.shipped")}
    assert unshipped not in shipped and {held, extended, *lapsing, *linked} <= set(shipped)
    # The owner extends one lock a day (outside zfjl): the sweep must not even ask to delete it.
    later = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=1)
    seaweed.client().put_object_retention(
        Bucket=seaweed.bucket, Key=store.key_for(extended), VersionId=shipped[extended],
        Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})  # fmt: skip
    _wait_lapsed(store, [held, *lapsing])
    asked: list[tuple[str, str]] = []
    real_delete_many = S3ObjectStore.delete_many

    def spy(self: S3ObjectStore, items: Any) -> list[str]:
        items = list(items)
        asked.extend(items)
        return real_delete_many(self, items)

    monkeypatch.setattr(S3ObjectStore, "delete_many", spy)

    # The station's sweep: tombstones, local copies gone, the store refuses the deletions.
    result = sweep.destroy_due(vault, APPROVAL)

    assert {i.id for i in result.due} == {extended, unshipped, *lapsing}
    tombstones = {e.data["id"]: e.data for e in events_of_kind(vault, "object.tombstone")}
    assert {o: t["bucket_version"] for o, t in tombstones.items()} == \
        {extended: shipped[extended], unshipped: None, **{o: shipped[o] for o in lapsing}}  # fmt: skip
    assert not any(vault.objects.exists(o) for o in tombstones)
    assert sorted(asked) == sorted((o, shipped[o]) for o in lapsing)  # never the locked one
    assert result.store is not None
    assert (result.store.deleted, sorted(result.store.refused), result.store.not_lapsed) == \
        (0, sorted(lapsing), [extended])  # fmt: skip
    assert all(_versions(seaweed, store, o) == [shipped[o]] for o in [extended, *lapsing])
    again = zfjl_run("--vault", str(vault.root), "sweep", "--execute", "--approval-no", APPROVAL)
    assert again.returncode == 0 and "Traceback" not in again.stderr
    (line,) = again.stderr.strip().splitlines()  # one line, naming what to do
    assert f"局端存储拒绝删除 {len(lapsing)} 个已到期的版本" in line
    assert "AWS_PROFILE=" in line and "zfjl sweep --execute" in line
    report = verify(vault, read_data=False)
    assert report.ok, [f for f in report.findings if f.severity == "error"]
    pending = sorted(f.subject[-13:-1] for f in report.findings if f.code == "store_delete_pending")
    assert pending == sorted(o[:12] for o in [extended, *lapsing])

    # A sweep stopped after a deletion and before its record: the next one finds it absent.
    gone = lapsing[0]
    seaweed.client().delete_object(Bucket=seaweed.bucket, Key=store.key_for(gone),
                                   VersionId=shipped[gone])  # fmt: skip
    owner = zfjl_run("--vault", str(vault.root), "sweep", "--execute", "--approval-no", APPROVAL,
                     env={"AWS_PROFILE": OWNER_PROFILE})  # fmt: skip

    assert owner.returncode == 0 and owner.stderr == "", owner.stderr  # nothing refused
    assert f"局端存储：已删除到期版本 {len(lapsing)} 个，1 个保存期限未届满" in owner.stdout
    deletions = {e.data["id"]: e.data for e in events_of_kind(vault, "object.store_delete")}
    assert {o: (d["version"], d["outcome"]) for o, d in deletions.items()} == \
        {o: (shipped[o], "absent" if o == gone else "deleted") for o in lapsing}  # fmt: skip
    assert all(_versions(seaweed, store, o) == [] for o in lapsing)  # no delete marker either
    for kept in (held, extended, *linked):  # held, not lapsed, case evidence: untouched
        assert _versions(seaweed, store, kept) == [shipped[kept]]
    assert pending_deletions(vault) == [(extended, shipped[extended])]
    checked = zfjl_run("--vault", str(vault.root), "verify", "--json")
    findings = json.loads(checked.stdout)["findings"]
    assert checked.returncode == 0, findings
    assert [(f["code"], f["severity"]) for f in findings] == [("store_delete_pending", "warning")]
    assert extended[:12] in findings[0]["subject"]


def test_where_names_the_station_holding_a_recording_not_yet_shipped(
    seaweed: Seaweed, pg_database: PgDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two stations, one catalog, one bucket: what the other station holds unshipped is
    其他站点（its name） in ls and show, `elsewhere` with `where_station` in --json."""
    monkeypatch.setenv("AWS_PROFILE", STATION_PROFILE)
    bureau_root, station = tmp_path / "bureau", tmp_path / "荷塘中队"
    made = zfjl_run("--vault", str(bureau_root), "init", "--bureau", "株洲市城市管理和综合执法局",
                    "--catalog", pg_database.station_url, "--catalog-owner",
                    pg_database.owner_url, "--store", f"s3://{seaweed.bucket}/{seaweed.prefix()}")  # fmt: skip
    assert made.returncode == 0, made.stderr
    joined = zfjl_run("--vault", str(station), "init", "--catalog", pg_database.station_url,
                      "--station", "荷塘中队")  # fmt: skip
    assert joined.returncode == 0, joined.stderr
    for root, folder in ((bureau_root, tmp_path / "card-b"), (station, tmp_path / "card-s")):
        write_random_files(folder, 1, 1000, prefix=folder.name)
        assert zfjl_run("--vault", str(root), "ingest", str(folder)).returncode == 0

    listed = {r["original_name"]: r for r in json.loads(
        zfjl_run("--vault", str(bureau_root), "ls", "--json").stdout)}  # fmt: skip
    ours, theirs = (next(r for n, r in listed.items() if n.startswith(p))
                    for p in ("card-b", "card-s"))  # fmt: skip
    assert (ours["where"], ours["where_station"], ours["where_text"]) == ("station", None, "站内")
    assert (theirs["where"], theirs["where_station"], theirs["where_text"]) == \
        ("elsewhere", "荷塘中队", "其他站点（荷塘中队）")  # fmt: skip
    shown = zfjl_run("--vault", str(bureau_root), "show", theirs["id"][:12])
    assert "其他站点（荷塘中队）" in shown.stdout
    with Vault.open(station) as s:  # the other way round: the vault's own folder has no name
        assert where(s, [ours["id"], theirs["id"]]) == {ours["id"]: "elsewhere",
                                                         theirs["id"]: "station"}  # fmt: skip
    seen = json.loads(zfjl_run("--vault", str(station), "show", ours["id"][:12], "--json").stdout)
    assert seen["where_text"] == "其他站点（建库站点）"


def test_a_vault_of_catalog_13_opens_with_bucket_deletions(tmp_path: Path) -> None:
    """Migration 14 (bucket_deletions): no table changes; an older vault opens, says so in its
    journal, and an older zfjl is refused a vault whose journal it cannot read."""
    from zfjl.vault.setup import init_vault

    root = tmp_path / "vault"
    with init_vault(root, bureau="某市城市管理和综合执法局") as v:
        migrations.set_catalog_version(v.conn, 13)
        v.conn.commit()
    with Vault.open(root) as v:
        assert migrations.catalog_version(v.conn) == migrations.SCHEMA_VERSION == 14
        (ev,) = [e for e in events_of_kind(v, "vault.migrate") if e.data["number"] == 14]
        assert ev.data["name"] == "bucket_deletions"
        assert verify(v, read_data=False).ok

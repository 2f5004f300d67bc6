"""A bureau vault (issue 25, zfjl/vault/bureau.py): the station's folder and an S3 bucket with
Object Lock behind it, on the session's real SeaweedFS (tests/seaweed.py). Each test works
in its own key prefix of the shared bucket."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.seaweed import OWNER_PROFILE, STATION_PROFILE, Seaweed, free_ports
from zfjl.cases.io import read_case_file
from zfjl.cases.store import attach, import_case, reopen_case
from zfjl.errors import Busy, StorageError, StoreRefused, StoreUnreachable, UsageError
from zfjl.retention.holds import place_hold, release_hold
from zfjl.vault import Vault
from zfjl.vault.bureau import (
    bind_store,
    binding,
    open_store,
    reconcile_locks,
    required_locks,
    sync,
    where,
)
from zfjl.vault.queries.journal import events_of_kind
from zfjl.vault.verify import verify

from .conftest import zfjl_run
from .doors import catalog_column

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "zfjl" / "checklists" / "samples"
APPROVAL = "城管〔2024〕9号"


@pytest.fixture
def station_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a station's service runs with: the station credential, from the AWS chain."""
    monkeypatch.setenv("AWS_PROFILE", STATION_PROFILE)


@pytest.fixture
def bureau_vault(seaweed: Seaweed, case_vault: Vault, station_profile: None) -> Iterator[Vault]:
    """The case footage's vault bound to the shared bucket (its own prefix), one case
    imported (its links made before anything is shipped), not yet synced."""
    import_case(case_vault, read_case_file(SAMPLE_DIR / "penalty.yaml"))
    bind_store(case_vault, f"s3://{seaweed.bucket}/{seaweed.prefix()}")
    yield case_vault


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_init_names_its_store_and_refuses_a_bucket_without_object_lock(
    seaweed: Seaweed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", OWNER_PROFILE)  # the first station's init creates it
    bucket = f"zfjl-bureau-{secrets.token_hex(4)}"
    root = tmp_path / "station"
    made = zfjl_run("--vault", str(root), "init", "--bureau", "某市城市管理和综合执法局",
                    "--store", f"s3://{bucket}/station-1", "--json")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["store"] == f"s3://{bucket}/station-1"
    lock = seaweed.client().get_object_lock_configuration(Bucket=bucket)
    assert lock["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    assert {p.name for p in root.iterdir()} >= {"objects", "tmp", "locks", "keys", "vault.json"}
    with Vault.open(root) as v:
        bound = binding(v)
        assert bound is not None and (bound.url.bucket, bound.url.prefix) == (bucket, "station-1/")
        (ev,) = events_of_kind(v, "store.bind")
        assert ev.data["url"] == f"s3://{bucket}/station-1"
        # nothing about the endpoint or a credential is journaled or written down
        assert seaweed.endpoint not in json.dumps(ev.data)
        with pytest.raises(UsageError, match="已绑定"):  # its shipments are in that bucket
            bind_store(v, f"s3://{seaweed.bucket}")
    assert seaweed.endpoint not in (root / "vault.json").read_text()

    seaweed.client().create_bucket(Bucket="zfjl-no-lock")
    refused = zfjl_run("--vault", str(tmp_path / "other"), "init", "--bureau", "某局",
                       "--store", "s3://zfjl-no-lock")  # fmt: skip
    assert refused.returncode == 3 and "未启用对象锁定" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "other" / "vault.json").exists()
    bad = zfjl_run("--vault", str(tmp_path / "x"), "init", "--bureau", "某局", "--store", "s3://A_B")
    assert bad.returncode == 2 and "s3://存储桶" in bad.stderr


def test_sync_ships_reads_back_and_locks_each_object_as_its_class_asks(
    seaweed: Seaweed, bureau_vault: Vault
) -> None:
    vault = bureau_vault
    oids = catalog_column(vault, "objects", "id")
    linked = set(catalog_column(vault, "case_media", "recording_id"))
    assert oids and linked and set(where(vault, oids).values()) == {"station"}
    listed = zfjl_run("--vault", str(vault.root), "ls", "--json")
    assert {r["where_text"] for r in json.loads(listed.stdout)} == {"站内"}

    report = sync(vault)

    assert (report.shipped, report.failed) == (len(oids), {})
    shipped = {e.data["id"]: e.data for e in events_of_kind(vault, "object.shipped")}
    assert set(shipped) == set(oids)
    store = open_store(vault.root, binding(vault).url)  # type: ignore[union-attr]
    now = dt.datetime.now(dt.UTC)
    for oid in oids:
        p = store.protection(oid)
        assert p.mode == "COMPLIANCE" and p.retain_until == utc(shipped[oid]["retain_until"])
        assert shipped[oid]["version"] == store.stat(oid).token
        assert shipped[oid]["checksum"].startswith("sha256:")
        years = (p.retain_until - now).days / 365.25
        if oid in linked:  # linked before shipping: the case's period at once (2024 + 30 y)
            assert 27 < years < 30
        else:  # patrol footage of 2024, overdue already: a lock ending soon, never in the past
            assert p.retain_until > now and years < 0.01
        assert vault.objects.exists(oid)  # the station keeps its copy
    assert set(where(vault, oids).values()) == {"both"}
    shown = zfjl_run("--vault", str(vault.root), "show", oids[0][:12])
    assert "存放位置" in shown.stdout and "两处" in shown.stdout
    again = sync(vault)  # nothing pending: nothing sent, nothing journaled
    assert (again.shipped, again.already_there, again.relocked) == (0, 0, 0)
    assert len(events_of_kind(vault, "object.shipped")) == len(oids)
    assert verify(vault).ok
    with open(vault.root / "locks" / "sync.lock", "w") as held:  # a timer's sync running
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(Busy, match="zfjl sync"):
            sync(vault)


def test_a_station_without_its_link_loses_nothing_and_the_next_sync_finishes(
    seaweed: Seaweed, bureau_vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = bureau_vault
    stopped = f"http://127.0.0.1:{free_ports(1)[0]}"  # nothing listens there
    down = zfjl_run("--vault", str(vault.root), "sync", env={"AWS_ENDPOINT_URL": stopped})
    assert down.returncode == 6 and "无法连接对象存储" in down.stderr, down.stderr
    assert "Traceback" not in down.stderr
    lost = zfjl_run("--vault", str(vault.root), "sync", env={"AWS_PROFILE": "no-such-profile"})
    assert lost.returncode == 6 and "AWS 配置有误" in lost.stderr and "Traceback" not in lost.stderr
    monkeypatch.setenv("AWS_ENDPOINT_URL", stopped)
    with pytest.raises(StoreUnreachable):
        sync(vault)
    assert events_of_kind(vault, "object.shipped") == []
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    up = zfjl_run("--vault", str(vault.root), "sync", "--json")
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["shipped"] == len(catalog_column(vault, "objects", "id"))


def test_retention_is_the_stores_a_case_extends_the_lock_a_hold_is_a_legal_hold(
    seaweed: Seaweed, bureau_vault: Vault
) -> None:
    vault = bureau_vault
    sync(vault)
    store = open_store(vault.root, binding(vault).url)  # type: ignore[union-attr]
    rec = catalog_column(vault, "recordings", "id", device="DSJ03")[0]
    patrol = store.protection(rec)
    assert patrol.retain_until is not None and patrol.retain_until < utc("2030-01-01T00:00:00+00:00")

    reopen_case(vault, "CASE-2024-031", reason="补充关联")  # the sample is archived
    attach(vault, "CASE-2024-031", recordings=[rec[:12]], activity="现场检查")
    case = store.protection(rec)
    assert case.retain_until == required_locks(vault, [rec], binding(vault))[rec].until  # type: ignore[arg-type]
    assert case.retain_until is not None and case.retain_until.year >= 2053
    (lock,) = events_of_kind(vault, "object.store_lock")
    assert utc(lock.data["retain_until"]) == case.retain_until

    held = place_hold(vault, rec, "dispute", "当事人当场投诉")
    assert store.protection(rec).legal_hold
    release_hold(vault, held["id"], APPROVAL, "投诉已办结")
    assert not store.protection(rec).legal_hold
    assert [e.data["legal_hold"] for e in events_of_kind(vault, "object.store_lock")] == \
        [False, True, False]  # fmt: skip
    assert reconcile_locks(vault) == 0  # all as the journal asks

    # The store itself refuses an early delete and a shorter lock to the station credential.
    version = store.stat(rec).token
    with pytest.raises(StoreRefused):
        store.delete(rec, version)
    c = seaweed.client(STATION_PROFILE)
    from botocore.exceptions import ClientError

    for mode, until in (("COMPLIANCE", patrol.retain_until), ("GOVERNANCE", case.retain_until)):
        with pytest.raises(ClientError):  # shortened, or downgraded
            c.put_object_retention(Bucket=seaweed.bucket, Key=store.key_for(rec),
                                   VersionId=version,
                                   Retention={"Mode": mode, "RetainUntilDate": until})  # fmt: skip
    assert store.digest_uncached(rec) == rec and store.protection(rec).retain_until == case.retain_until


def test_verify_names_a_recording_removed_behind_the_stores_back(
    seaweed: Seaweed, bureau_vault: Vault
) -> None:
    vault = bureau_vault
    sync(vault)
    store = open_store(vault.root, binding(vault).url)  # type: ignore[union-attr]
    rec = catalog_column(vault, "recordings", "id", device="DSJ03")[0]
    name = catalog_column(vault, "recordings", "original_name", id=rec)[0]
    assert seaweed.filer_delete(store.key_for(rec)) in (200, 202, 204)
    assert not store.exists(rec)

    result = zfjl_run("--vault", str(vault.root), "verify", "--json")

    assert result.returncode == 1
    findings = json.loads(result.stdout)["findings"]
    missing = [f for f in findings if f["code"] == "store_object_missing"]
    assert len(missing) == 1 and name in missing[0]["subject"] and rec[:12] in missing[0]["subject"]
    assert missing[0]["severity"] == "error"
    assert {f["code"] for f in findings} == {"store_object_missing"}  # the station copy is fine


def test_a_vault_of_catalog_11_opens_as_a_station_vault(tmp_path: Path) -> None:
    """Migration 12 (bureau_store): an older vault gets the empty tables, stays a station
    vault, and its listings are as they were."""
    from zfjl.vault import migrations
    from zfjl.vault.setup import init_vault

    root = tmp_path / "vault"
    with init_vault(root, bureau="某市城市管理和综合执法局") as v:
        for table in ("store_binding", "shipments"):
            v.conn.execute(f"DROP TABLE {table}")
        migrations.set_catalog_version(v.conn, 11)
        v.conn.commit()
    with Vault.open(root) as v:
        assert migrations.catalog_version(v.conn) == migrations.SCHEMA_VERSION
        (ev,) = [e for e in events_of_kind(v, "vault.migrate") if e.data["number"] == 12]
        assert ev.data["number"] == 12 and set(ev.data["rebuilt"]) == {"store_binding", "shipments"}
        assert binding(v) is None and reconcile_locks(v) == 0
        assert verify(v, read_data=False).ok


def test_a_link_and_a_hold_made_while_the_store_is_down_reach_it_at_the_next_sync(
    seaweed: Seaweed, bureau_vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = bureau_vault
    sync(vault)
    rec = catalog_column(vault, "recordings", "id", device="DSJ03")[0]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_ports(1)[0]}")
    reopen_case(vault, "CASE-2024-031", reason="补充关联")
    attach(vault, "CASE-2024-031", recordings=[rec[:12]], activity="现场检查")
    place_hold(vault, rec, "obstruction", None)  # both journaled all the same
    assert events_of_kind(vault, "object.store_lock") == []
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    store = open_store(vault.root, binding(vault).url)  # type: ignore[union-attr]
    assert not store.protection(rec).legal_hold
    report = verify(vault, read_data=False)
    errors = {f.code: f for f in report.findings if f.severity == "error"}
    assert set(errors) == {"store_hold_missing", "store_lock_weak"}
    assert all(rec[:12] in f.subject for f in errors.values())
    assert "案件证据" in errors["store_lock_weak"].expected

    assert sync(vault).relocked == 1

    p = store.protection(rec)
    assert p.legal_hold and p.retain_until is not None and p.retain_until.year >= 2053
    assert verify(vault, read_data=False).ok


def test_a_missing_station_copy_is_named_and_the_rest_is_shipped(bureau_vault: Vault) -> None:
    vault = bureau_vault
    oids = catalog_column(vault, "objects", "id")
    gone = oids[0]
    vault.objects.path_for(gone).unlink()  # lost on the station before it was shipped

    with pytest.raises(StorageError, match=f"1 个对象未能上传.*{gone[:12]}.*站内副本缺失"):
        sync(vault)

    shipped = {e.data["id"] for e in events_of_kind(vault, "object.shipped")}
    assert shipped == set(oids) - {gone}
    assert where(vault, [gone]) == {gone: "none"}

"""The station's copy expires (issue 25 item 2, zfjl/vault/station_copy.py): released after
`keep_days` once the bucket vouches for its version, read from the bucket afterwards; on the
session's real SeaweedFS (tests/seaweed.py), the vault's clock moved forward."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.seaweed import STATION_PROFILE, Seaweed, free_ports
from zfjl.bundle import bundle_case, verify_bundle
from zfjl.cases.io import read_case_file
from zfjl.cases.store import attach, import_case, reopen_case
from zfjl.ingest import ingest
from zfjl.vault import Vault
from zfjl.vault.bureau import bind_store, binding, open_store, ship_pending, sync, where
from zfjl.vault.queries.journal import events_of_kind
from zfjl.vault.s3store import S3ObjectStore
from zfjl.vault.seal import seal
from zfjl.vault.station_copy import release_due
from zfjl.vault.verify import verify

from .conftest import APPROVAL, CASE_CLOCK, SAMPLE_CASES, fixed_clock, zfjl_run
from .doors import catalog_column


def keep_vault(seaweed: Seaweed, vault: Vault, keep_days: int) -> Vault:
    """The case footage's vault, sealed, bound to its own corner of the bucket."""
    seal(vault)
    bind_store(vault, f"s3://{seaweed.bucket}/{seaweed.prefix()}", keep_days=keep_days)
    return vault


@pytest.fixture
def station(
    seaweed: Seaweed, case_vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Vault]:
    monkeypatch.setenv("AWS_PROFILE", STATION_PROFILE)  # the station's credential, as served
    yield keep_vault(seaweed, case_vault, 30)


def days_on(vault: Vault, days: float) -> None:
    vault._clock = fixed_clock(CASE_CLOCK + dt.timedelta(days=days))


def blake3_hex(path: Path) -> str:
    import blake3

    return blake3.blake3(path.read_bytes()).hexdigest()


def test_a_station_copy_is_released_after_keep_days_and_read_from_the_bucket(
    station: Vault, case_dump: Path, tmp_path: Path
) -> None:
    vault = station
    oids = catalog_column(vault, "objects", "id")
    assert sync(vault).released == 0  # shipped today: kept
    days_on(vault, 29)
    assert sync(vault).released == 0 and all(vault.objects.exists(o) for o in oids)

    days_on(vault, 31)
    report = sync(vault)

    assert (report.released, report.kept) == (len(oids), {})
    assert not any(vault.objects.exists(o) for o in oids)  # the station's disk is free
    assert set(where(vault, oids).values()) == {"bureau"}
    shipped = {e.data["id"]: e.data["version"] for e in events_of_kind(vault, "object.shipped")}
    released = {e.subject: e.data for e in events_of_kind(vault, "object.station_released")}
    assert {o: d["version"] for o, d in released.items()} == shipped
    assert all(vault.objects.location(o).endswith(f"?versionId={shipped[o]}")
               and vault.objects.location(o).startswith("s3://") for o in oids)  # show's 保管库路径
    assert all(d["keep_days"] == 30 for d in released.values())
    store = open_store(vault.root, binding(vault).url)  # type: ignore[union-attr]
    assert all(store.stat(o).token == shipped[o] for o in oids)  # the bucket has each
    checked = verify(vault)  # the bucket's part re-reads them; no station copy is "missing"
    assert checked.ok and "object_missing" not in {f.code for f in checked.findings}
    assert sync(vault).released == 0  # nothing twice

    # view and export through the command line: the bucket's bytes, journaled first
    rec = catalog_column(vault, "recordings", "id", device="DSJ03")[0]
    sha256 = catalog_column(vault, "objects", "sha256", id=rec)[0]
    v = ("--vault", str(vault.root))
    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    granted = zfjl_run(*v, "grant", "add", getpass.getuser(), "--recording", rec, "--scope", "copy",
                       "--approved-by", "王局长", "--approval-no", "局批〔2024〕8号", "--until", until)  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    viewed = zfjl_run(*v, "view", rec[:12], "--json")
    assert viewed.returncode == 0, viewed.stderr
    assert blake3_hex(Path(json.loads(viewed.stdout)["path"])) == rec
    out = tmp_path / "copies"
    exported = zfjl_run(*v, "export", rec[:12], "-o", str(out), "--json")
    assert exported.returncode == 0, exported.stderr
    (copied,) = json.loads(exported.stdout)["files"]
    assert (
        copied["sha256"] == sha256 == hashlib.sha256(Path(copied["path"]).read_bytes()).hexdigest()
    )
    kinds = [e.kind for e in events_of_kind(vault, "access.view") + events_of_kind(vault, "access.export")
             if e.subject == rec]  # fmt: skip
    assert kinds == ["access.view", "access.export"]
    assert not vault.objects.exists(rec)  # read through, not brought back
    with vault.objects.local_path(rec) as path:  # what render, bundle and redaction use
        assert blake3_hex(path) == rec
    assert not list((vault.root / "spool" / "tmp").iterdir())  # downloads are cleaned up
    # view and export opened it from the bucket once: one verified, read-only cache entry
    # (a browser's many range requests each open it), which a sweep's destruction removes.
    cached = vault.root / "spool" / "read-cache" / f"{rec}.{shipped[rec]}"
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]
    assert cached.stat().st_mode & 0o777 == 0o400 and blake3_hex(cached) == rec
    with pytest.MonkeyPatch.context() as patch:  # any request to the bucket would be seen
        asked: list[str] = []
        real_read = S3ObjectStore.read
        patch.setattr(S3ObjectStore, "read",
                      lambda self, oid, *a, **k: asked.append(oid) or real_read(self, oid, *a, **k))  # fmt: skip
        with vault.objects.open(rec) as again_opened:
            assert again_opened.read() == cached.read_bytes()
    assert asked == []  # served from the cache
    assert vault.objects.forget([rec]) == 1 and not cached.exists()

    # The same card again: the station copy is back, kept another keep_days from now.
    again = ingest(vault, case_dump)
    assert again.count("already_stored") == len(again.files)
    assert all(vault.objects.exists(o) for o in oids)
    assert len(events_of_kind(vault, "object.restored")) == len(oids)
    assert set(where(vault, oids).values()) == {"both"}
    assert sync(vault).released == 0 and verify(vault, read_data=False).ok
    days_on(vault, 62)  # the service's background shipper releases them too
    background = ship_pending(vault)
    assert background is not None and background.released == len(oids)
    assert ship_pending(vault) is None  # nothing due, nothing pending: no request


def test_a_bucket_version_missing_or_weakly_locked_blocks_the_release(
    seaweed: Seaweed, station: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault = station
    import_case(vault, read_case_file(SAMPLE_CASES / "penalty.yaml"))
    sync(vault)
    bound = binding(vault)
    assert bound is not None
    store = open_store(vault.root, bound.url)
    linked = set(catalog_column(vault, "case_media", "recording_id"))
    patrol = sorted(set(catalog_column(vault, "recordings", "id")) - linked)
    gone, weak = patrol[0], patrol[1]
    assert seaweed.filer_delete(store.key_for(gone)) in (200, 202, 204)  # behind its back
    # Linked to a case while the store is down: journaled, its lock not yet extended.
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_ports(1)[0]}")
    reopen_case(vault, "CASE-2024-031", reason="补充关联")
    attach(vault, "CASE-2024-031", recordings=[weak[:12]], activity="现场检查")
    days_on(vault, 31)
    down = release_due(vault, bound)
    assert down.released == [] and all("无法核对局端存储" in why for why in down.kept.values())
    monkeypatch.delenv("AWS_ENDPOINT_URL")

    report = release_due(vault, bound)

    assert "没有登记的版本" in report.kept[gone] and "弱于其保存类别" in report.kept[weak]
    assert set(report.kept) == {gone, weak}
    assert vault.objects.exists(gone) and vault.objects.exists(weak)  # kept, said why
    released = {e.subject for e in events_of_kind(vault, "object.station_released")}
    assert released == set(report.released) and gone not in released and weak not in released
    assert sync(vault).released == 1  # sync extends the lock first: then it may go
    assert not vault.objects.exists(weak) and vault.objects.exists(gone)


def test_keep_days_0_releases_in_the_sync_that_ships_and_a_bundle_reads_the_bucket(
    seaweed: Seaweed, sample_cases_vault: Vault, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_PROFILE", STATION_PROFILE)
    vault = keep_vault(seaweed, sample_cases_vault, 0)
    oids = catalog_column(vault, "objects", "id")
    shown = zfjl_run("--vault", str(vault.root), "sync")
    assert shown.returncode == 0 and f"释放站内副本 {len(oids)} 个" in shown.stdout, shown.stderr
    assert not any(vault.objects.exists(o) for o in oids)
    assert verify(vault).ok

    bag = tmp_path / "bag"
    bundle_case(vault, "CASE-2024-031", bag, purpose="review", approval=APPROVAL)
    assert verify_bundle(bag, vault).ok
    originals = list((bag / "data" / "originals").iterdir())
    assert originals and {blake3_hex(p) for p in originals} <= set(oids)

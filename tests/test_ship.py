"""Shipping a station's objects to the bureau's bucket (zfjl/vault/ship.py, a sketch of
`zfjl sync`) on the session's real SeaweedFS."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path

from tests.seaweed import STATION_PROFILE, Seaweed
from zfjl.vault.objects import ObjectStore, hash_path
from zfjl.vault.s3store import S3ObjectStore
from zfjl.vault.ship import pending, ship


def local_store(root: Path, blobs: list[bytes]) -> tuple[ObjectStore, list[str]]:
    for sub in ("objects", "tmp"):
        (root / sub).mkdir(parents=True)
    store = ObjectStore(root)
    results = store.put([store.stage_stream(io.BytesIO(b)) for b in blobs])
    return store, [r.digests.blake3 for r in results]


def test_ship_uploads_reads_back_and_locks(seaweed: Seaweed, tmp_path: Path) -> None:
    blobs = [os.urandom((6 << 20) + 1), *(os.urandom(1000 + i) for i in range(4))]
    local, oids = local_store(tmp_path / "station", blobs)
    bucket = S3ObjectStore(seaweed.bucket, tmp_path / "spool", prefix=seaweed.prefix(),
                           profile=STATION_PROFILE, multipart_threshold=5 << 20,
                           part_size=5 << 20)  # fmt: skip
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    patrol, case = now + dt.timedelta(days=184), now + dt.timedelta(days=3650)
    # One recording is in the bucket already, locked for patrol: linked to a case since.
    with local.local_path(oids[1]) as path:
        bucket.upload([(path, hash_path(path))], retain_until=patrol)
    # One station copy is damaged: never sent (it would be locked for years under its name).
    with local.local_path(oids[4]) as path:
        path.chmod(0o644)
        path.write_bytes(b"bit rot")
    assert pending(local, bucket) == sorted(set(oids) - {oids[1]})
    dates = {oid: patrol for oid in oids} | {oids[1]: case}

    report = ship(local, bucket, oids, dates.__getitem__)

    assert set(report.failed) == {oids[4]} and "未上传" in report.failed[oids[4]]
    assert not bucket.exists(oids[4])
    shipped = {s.oid: s for s in report.shipped}
    assert set(shipped) == set(oids[:4])
    assert [shipped[o].sent for o in oids[:4]] == [True, False, True, True]
    for oid in oids[:4]:
        p = bucket.protection(oid)
        assert (p.mode, p.retain_until) == ("COMPLIANCE", dates[oid])  # the case's date: extended
        assert shipped[oid].version == bucket.stat(oid).token
        assert local.exists(oid)  # the station's copy is kept: the sweep removes it later
    assert bucket.read(oids[0], 5 << 20, 10) == blobs[0][5 << 20 : (5 << 20) + 10]
    assert pending(local, bucket) == [oids[4]]
    again = ship(local, bucket, oids[:4], dates.__getitem__)  # idempotent: nothing sent twice
    assert again.complete and not any(s.sent for s in again.shipped)

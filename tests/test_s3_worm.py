"""WORM on a real SeaweedFS (issue 25): the store itself refuses what art. 55 forbids, to the
station's credential and to the owner's, so the guarantee does not rest on zfjl's code. Most
assertions here use plain boto3 calls (the tests' own hands), not S3ObjectStore: what is
proved is the server's behaviour; the store's own calls are checked to surface it as zfjl
errors. Also: what the admin side (the filer's HTTP port) can still do, and that the store sees
it (`exists`/`stat`, the primitive `verify` builds on)."""

from __future__ import annotations

import datetime as dt
import io
import os
import time
from pathlib import Path
from typing import Any

import blake3
import pytest
from botocore.exceptions import ClientError

from tests.seaweed import OWNER_PROFILE, STATION_PROFILE, Seaweed, free_ports
from zfjl.errors import BucketNotLocked, StorageError, StoreRefused, StoreUnreachable
from zfjl.vault.s3store import S3ObjectStore

DAY = dt.timedelta(days=1)
SHORT = dt.timedelta(seconds=2)  # a lock that lapses within the test


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def open_store(seaweed: Seaweed, tmp_path: Path, profile: str, *, prefix: str,
               retention: dt.timedelta = DAY, **kw: Any) -> S3ObjectStore:  # fmt: skip
    return S3ObjectStore(seaweed.bucket, tmp_path / f"spool-{profile}", prefix=prefix,
                         profile=profile, retention=retention, **kw)  # fmt: skip


def put(store: S3ObjectStore, data: bytes, **kw: Any) -> str:
    [result] = store.put([store.stage_stream(io.BytesIO(data))], **kw)
    assert result.created
    return result.digests.blake3


def refused(call: Any) -> str:
    """The S3 error code of a call that must fail."""
    with pytest.raises(ClientError) as info:
        call()
    return str(info.value.response["Error"]["Code"])


@pytest.fixture
def prefix(seaweed: Seaweed) -> str:
    return seaweed.prefix()


@pytest.fixture
def station(seaweed: Seaweed, tmp_path: Path, prefix: str) -> S3ObjectStore:
    return open_store(seaweed, tmp_path, STATION_PROFILE, prefix=prefix)


def test_no_credential_deletes_a_locked_version(seaweed: Seaweed, tmp_path: Path, prefix: str,
                                                 station: S3ObjectStore) -> None:  # fmt: skip
    oid = put(station, os.urandom(1000))
    key, version = station.key_for(oid), station.stat(oid).token
    p = station.protection(oid)
    assert (p.mode, p.worm, p.legal_hold) == ("COMPLIANCE", True, False)
    assert p.retain_until is not None and p.retain_until > now() + DAY - dt.timedelta(minutes=5)
    for who in (STATION_PROFILE, OWNER_PROFILE):  # the owner too: Object Lock, not the IAM policy
        c = seaweed.client(who)
        assert refused(lambda c=c: c.delete_object(Bucket=seaweed.bucket, Key=key,
                                                    VersionId=version)) == "AccessDenied"  # fmt: skip
        batch = c.delete_objects(Bucket=seaweed.bucket, Delete={"Objects": [
            {"Key": key, "VersionId": version}]})  # fmt: skip
        assert [e["Code"] for e in batch["Errors"]] == ["AccessDenied"] and not batch.get("Deleted")
        # PutObject over it with If-None-Match refuses; a plain PutObject only adds a version.
        assert refused(lambda c=c: c.put_object(Bucket=seaweed.bucket, Key=key, Body=b"forged",
                                                 IfNoneMatch="*")) == "PreconditionFailed"  # fmt: skip
    owner = open_store(seaweed, tmp_path, OWNER_PROFILE, prefix=prefix)
    for store in (station, owner):  # the store's own delete surfaces the refusal
        with pytest.raises(StoreRefused, match="拒绝删除"):
            store.delete(oid, version)
    assert station.stat(oid).token == version and station.digest_uncached(oid) == oid
    # A station cannot loosen the bucket either.
    c = seaweed.client(STATION_PROFILE)
    for call in (lambda: c.put_bucket_versioning(Bucket=seaweed.bucket, VersioningConfiguration={
                     "Status": "Suspended"}),
                 lambda: c.put_object_lock_configuration(Bucket=seaweed.bucket,
                     ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}),
                 lambda: c.delete_bucket(Bucket=seaweed.bucket),
                 lambda: c.create_bucket(Bucket="zfjl-station-made")):  # fmt: skip
        assert refused(call) == "AccessDenied"


def test_a_lock_is_only_ever_extended(seaweed: Seaweed, tmp_path: Path, prefix: str,
                                      station: S3ObjectStore) -> None:  # fmt: skip
    oid = put(station, b"case evidence", retain_until=now() + DAY)
    key, version = station.key_for(oid), station.stat(oid).token
    first = station.protection(oid).retain_until
    assert first is not None
    for who in (STATION_PROFILE, OWNER_PROFILE):
        c = seaweed.client(who)
        for retention in ({"Mode": "COMPLIANCE", "RetainUntilDate": first - dt.timedelta(hours=1)},
                          {"Mode": "GOVERNANCE", "RetainUntilDate": first + DAY}):  # fmt: skip
            assert (
                refused(
                    lambda c=c, r=retention: c.put_object_retention(
                        Bucket=seaweed.bucket, Key=key, VersionId=version, Retention=r
                    )
                )
                == "AccessDenied"
            )
    station.retain(oid, first - dt.timedelta(hours=1))  # asked to shorten: no change
    assert station.protection(oid).retain_until == first
    later = (first + 30 * DAY).replace(microsecond=0)
    station.retain(oid, later)  # linking to a case extends it: a station may
    p = station.protection(oid)
    assert (p.mode, p.retain_until) == ("COMPLIANCE", later)


def test_the_lock_and_the_hold_lapse_only_as_told(seaweed: Seaweed, tmp_path: Path,
                                                  prefix: str) -> None:  # fmt: skip
    """A short lock: refused before, deleted after by the owner (the sweep's credential), never
    by a station; a legal hold keeps refusing after the date until it is released."""
    station = open_store(seaweed, tmp_path, STATION_PROFILE, prefix=prefix, retention=SHORT)
    owner = open_store(seaweed, tmp_path, OWNER_PROFILE, prefix=prefix, retention=SHORT)
    patrol, held = put(station, os.urandom(500)), put(station, os.urandom(500))
    station.hold(held, True)
    assert station.protection(held).legal_hold
    with pytest.raises(StoreRefused):
        owner.delete(patrol, owner.stat(patrol).token)
    until = max(station.protection(o).retain_until or now() for o in (patrol, held))
    time.sleep(max(0.0, (until - now()).total_seconds()) + 0.1)
    assert not station.protection(patrol).worm and station.protection(held).worm  # the hold
    with pytest.raises(StoreRefused):
        station.delete(patrol, station.stat(patrol).token)  # a station never deletes
    with pytest.raises(StoreRefused):
        owner.delete(held, owner.stat(held).token)  # held: still refused after the date
    assert owner.delete(patrol, owner.stat(patrol).token) and not owner.exists(patrol)
    station.hold(held, False)
    assert owner.delete_many([(held, owner.stat(held).token)]) == [held]
    assert not owner.exists(held)


def test_a_multipart_upload_keeps_its_lock_and_checksum(seaweed: Seaweed, tmp_path: Path,
                                                        prefix: str) -> None:  # fmt: skip
    store = open_store(seaweed, tmp_path, STATION_PROFILE, prefix=prefix,
                       multipart_threshold=5 << 20, part_size=5 << 20)  # fmt: skip
    data = os.urandom((12 << 20) + 3)
    until = (now() + DAY).replace(microsecond=0)
    oid = put(store, data, retain_until=until)
    head = seaweed.client().head_object(Bucket=seaweed.bucket, Key=store.key_for(oid),
                                        ChecksumMode="ENABLED")  # fmt: skip
    assert head["ChecksumSHA256"].endswith("-3") and head["ContentLength"] == len(data)
    p = store.protection(oid)
    assert (p.mode, p.retain_until) == ("COMPLIANCE", until)
    assert (
        refused(
            lambda: seaweed.client().delete_object(
                Bucket=seaweed.bucket, Key=store.key_for(oid), VersionId=head["VersionId"]
            )
        )
        == "AccessDenied"
    )
    assert store.read(oid, (5 << 20) - 2, 4) == data[(5 << 20) - 2 : (5 << 20) + 2]  # across parts
    assert store.digest_uncached(oid) == oid == blake3.blake3(data).hexdigest()
    with store.local_path(oid) as path:
        assert path.stat().st_mode & 0o777 == 0o400 and path.read_bytes() == data
    assert not path.exists()


def test_a_wrong_checksum_is_refused_by_the_server(seaweed: Seaweed, tmp_path: Path,
                                                   station: S3ObjectStore,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Bytes damaged on the way (here: the checksum we send is not theirs) are never stored."""
    monkeypatch.setattr(station, "_digest", lambda data: b"\0" * 32)
    pending = station.stage_stream(io.BytesIO(b"damaged on the way"))
    with pytest.raises(StorageError, match="校验和不符"):
        station.put([pending])
    assert not list(station.list_oids()) and not pending.tmp_path.exists()


def test_an_object_removed_through_the_filer_is_seen_missing(seaweed: Seaweed,
                                                             station: S3ObjectStore) -> None:  # fmt: skip
    """The admin side bypasses Object Lock (issue 25 measured it): the locked version is gone,
    and the store reports it missing — what `verify` turns into a finding."""
    oid, kept = put(station, os.urandom(800)), put(station, os.urandom(800))
    assert station.protection(oid).worm
    assert seaweed.filer_delete(station.key_for(oid)) in (200, 204)
    assert not station.exists(oid) and station.exists(kept)
    with pytest.raises(FileNotFoundError):
        station.stat(oid)
    with pytest.raises(FileNotFoundError):
        station.protection(oid)
    assert list(station.list_oids()) == [kept]


def test_a_bucket_without_object_lock_is_refused(seaweed: Seaweed, tmp_path: Path) -> None:
    seaweed.client().create_bucket(Bucket="zfjl-unlocked")
    with pytest.raises(BucketNotLocked, match="未启用对象锁定"):
        S3ObjectStore("zfjl-unlocked", tmp_path / "spool", profile=OWNER_PROFILE)
    with pytest.raises(StorageError, match="没有存储桶"):
        S3ObjectStore("zfjl-missing", tmp_path / "spool", profile=OWNER_PROFILE)
    with pytest.raises(StoreRefused):  # a station may not create buckets
        S3ObjectStore("zfjl-missing", tmp_path / "spool", profile=STATION_PROFILE, create=True)
    S3ObjectStore("zfjl-missing", tmp_path / "spool", profile=OWNER_PROFILE, create=True)
    conf = seaweed.client().get_object_lock_configuration(Bucket="zfjl-missing")
    assert conf["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"


def test_credentials_and_endpoint_come_from_the_environment(
    seaweed: Seaweed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The AWS chain without a profile: AWS_ENDPOINT_URL and the key pair in the environment;
    an unreachable endpoint and an unknown key are zfjl errors with one Chinese line."""
    monkeypatch.delenv("AWS_CONFIG_FILE")
    monkeypatch.setenv("AWS_ENDPOINT_URL", seaweed.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweed.station.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweed.station.secret_key)
    store = S3ObjectStore(seaweed.bucket, tmp_path / "spool", prefix=seaweed.prefix())
    assert store.read(put(store, b"via the environment"), 4, 3) == b"the"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    with pytest.raises(StoreRefused, match="凭据"):
        S3ObjectStore(seaweed.bucket, tmp_path / "spool")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_ports(1)[0]}")
    with pytest.raises(StoreUnreachable, match="无法连接对象存储"):
        S3ObjectStore(seaweed.bucket, tmp_path / "spool")


def test_what_the_lock_lets_through_is_visible_and_destroys_nothing(
    seaweed: Seaweed, tmp_path: Path, prefix: str, station: S3ObjectStore
) -> None:
    """Two things Object Lock does not refuse (docs/scale.md): a plain PutObject by a station
    stacks a newer version on the key, and the owner's DeleteObject without a version ID adds a
    delete marker. Neither destroys the locked original; both are visible to `verify`: more
    than one version, bytes that are not their name, an object that reads as missing."""
    data = os.urandom(600)
    oid = put(station, data)
    original = station.stat(oid).token
    assert [v.version for v in station.versions(oid)] == [original]
    key = station.key_for(oid)
    seaweed.client(STATION_PROFILE).put_object(Bucket=seaweed.bucket, Key=key, Body=b"forged")
    assert [v.latest for v in station.versions(oid)] == [True, False]
    assert station.digest_uncached(oid) != oid  # what the key serves now is not its name
    assert station.read(oid, 0, 600, version=original) == data  # the original, intact
    assert refused(lambda: seaweed.client().delete_object(
        Bucket=seaweed.bucket, Key=key, VersionId=original)) == "AccessDenied"  # fmt: skip
    seaweed.client().delete_object(Bucket=seaweed.bucket, Key=key)  # a delete marker
    assert not station.exists(oid)
    newest = station.versions(oid)[0]
    assert (newest.delete_marker, newest.latest, len(station.versions(oid))) == (True, True, 3)
    assert station.read(oid, 0, 600, version=original) == data

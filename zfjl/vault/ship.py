"""Ship a station's objects to the bureau's bucket (issue 25): what `zfjl sync` runs
(zfjl/vault/bureau.py, which journals each shipment and decides each lock's date).

A camera never waits for the bureau store: ingest stores at disk speed into the station's own
folder (the local `ObjectStore`), and this ships afterwards. An object counts as shipped only
when the bucket serves it back whole and locked:

1. its local bytes are re-hashed first (BLAKE3 = its name): a copy damaged on the station is
   never sent, since whatever is sent is locked for years under the object's name;
2. uploaded write-once, checksummed, COMPLIANCE-locked until the date its class asks
   (`S3ObjectStore.upload`; an object the bucket already holds is not sent again);
3. read back from the bucket and re-hashed (BLAKE3), exactly one version under its key;
4. its lock checked as the store reports it: COMPLIANCE, until at least that date (extended
   when a copy already there had a shorter one: a patrol recording later linked to a case).

The station's copy is never touched here: removing it after the configured days is the
sweep's job, once the journal records the shipment (`object.shipped`, journaled by
bureau.sync from the `Shipped` results).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from zfjl.errors import StorageError
from zfjl.vault.objects import ObjectStore, hash_path
from zfjl.vault.s3store import COMPLIANCE, S3ObjectStore

SHIP_BATCH = 64  # objects per upload call: enough to keep every upload thread busy


@dataclass(frozen=True)
class Shipped:
    oid: str
    version: str  # the bucket's version ID: the tombstone token of the shipped copy
    retain_until: dt.datetime  # as the store reports it after shipping
    sent: bool  # False: the bucket held it already (checked, and its lock extended if needed)


@dataclass
class ShipReport:
    shipped: list[Shipped] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # oid -> why, in Chinese

    @property
    def complete(self) -> bool:
        return not self.failed


def pending(local: ObjectStore, bucket: S3ObjectStore) -> list[str]:
    """The station's objects the bucket does not hold (one HEAD each: the journal will know
    this without asking once shipments are journaled)."""
    return [oid for oid in local.list_oids() if not bucket.exists(oid)]


def ship(
    local: ObjectStore,
    bucket: S3ObjectStore,
    oids: Iterable[str],
    retain_until: Callable[[str], dt.datetime],
) -> ShipReport:
    """Ship `oids` from the station's store to the bucket, each locked until
    `retain_until(oid)`; what fails is reported by oid and the rest goes on (the next run
    tries again)."""
    report = ShipReport()
    by_date: dict[dt.datetime, list[str]] = defaultdict(list)
    for oid in oids:
        by_date[retain_until(oid)].append(oid)
    for until, group in by_date.items():
        for start in range(0, len(group), SHIP_BATCH):
            _ship_batch(local, bucket, group[start : start + SHIP_BATCH], until, report)
    return report


def _ship_batch(local: ObjectStore, bucket: S3ObjectStore, oids: list[str], until: dt.datetime,
                report: ShipReport) -> None:  # fmt: skip
    files = []
    with contextlib.ExitStack() as paths:  # the station's own files: local_path costs nothing
        for oid in oids:
            path = paths.enter_context(local.local_path(oid))
            try:
                digests = hash_path(path)
            except OSError as exc:
                report.failed[oid] = f"站内副本缺失或无法读取（{exc.strerror}），未上传；请运行 zfjl verify"
                continue
            if digests.blake3 != oid:
                report.failed[oid] = "站内副本的摘要与名称不符（已损坏），未上传；请运行 zfjl verify"
                continue
            files.append((path, digests))
        try:
            results = bucket.upload(files, retain_until=until)
        except StorageError as exc:
            for _path, d in files:
                report.failed[d.blake3] = exc.message
            return
    for result in results:
        oid = result.digests.blake3
        try:
            report.shipped.append(_confirm(bucket, oid, until, sent=result.created))
        except (StorageError, FileNotFoundError) as exc:
            report.failed[oid] = getattr(exc, "message", str(exc))


def _confirm(bucket: S3ObjectStore, oid: str, until: dt.datetime, *, sent: bool) -> Shipped:
    """Read back, re-hash, count versions, check (and extend) the lock."""
    versions = bucket.versions(oid)
    if len(versions) != 1 or versions[0].delete_marker:
        raise StorageError(f"存储桶中对象 {oid[:12]} 有 {len(versions)} 个版本（应为 1 个），请核查")
    if bucket.digest_uncached(oid) != oid:
        raise StorageError(f"存储桶读回的对象 {oid[:12]} 摘要与名称不符")
    p = bucket.protection(oid)
    if p.mode != COMPLIANCE or p.retain_until is None or p.retain_until < until:
        bucket.retain(oid, until)
        p = bucket.protection(oid)
    if p.mode != COMPLIANCE or p.retain_until is None or p.retain_until < until:
        raise StorageError(f"存储桶中对象 {oid[:12]} 的锁定弱于要求（{p.mode}，至 {p.retain_until}）")
    return Shipped(oid, versions[0].version, p.retain_until, sent)

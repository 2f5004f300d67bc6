"""The station's copy of a shipped object (issue 25 item 2): kept `keep_days` after shipping,
then released; reads fall back to the bucket's journaled version.

- `release_due` (end of `zfjl sync`, and the service's background shipper through
  `bureau.ship_pending`) removes the station copy of each object shipped (or restored on this
  station) more than `keep_days` ago by the vault's clock — only after asking the bucket that
  the journaled version is there, the only one, of the catalogued size, COMPLIANCE-locked at
  least as long as its class asks (legal hold on when held); otherwise it keeps the copy and
  says why. `object.station_released` is journaled first, then the file is unlinked (only the
  very file it checked: its tombstone token). The bucket's locked version is the original of
  record; this removes a working copy, not evidence.
- `ReadThroughStore` is the vault's object store on every vault: local first; an object whose
  file is not here (released, or held by another station) and that the journal has shipped is
  read from the bucket, by its journaled version, its bytes checked against its name (BLAKE3)
  as they arrive. A station vault never reaches the second step (nothing is shipped).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import blake3

from zfjl.errors import BucketNotLocked, StorageError
from zfjl.vault import events
from zfjl.vault.objects import ObjectStore
from zfjl.vault.store import ObjectStat

if TYPE_CHECKING:
    from zfjl.vault.bureau import Binding, Lock
    from zfjl.vault.s3store import S3ObjectStore
    from zfjl.vault.vault import Vault

DOWNLOAD_BLOCK = 16 << 20  # one ranged GET of the pinned version per block
JOURNAL_BATCH = 200  # object.station_released rows per write transaction


# -- reading through to the bucket ----------------------------------------------------------------
@dataclass(frozen=True)
class BucketCopy:
    """Where a shipped object's original of record is: the bucket's journaled version."""

    store: S3ObjectStore
    version: str
    size: int


class ReadThroughStore(ObjectStore):
    """The local folder, reading shipped objects it does not hold from the bucket.

    Only `open`, `read` and `local_path` fall back (what view, export, bundle, render,
    redaction, seal and describe use); `exists`, `stat` and deleting stay the folder's own:
    ingest, `where`, sweep and verify ask about the station's copy itself."""

    def __init__(self, root: Path, locate: Callable[[str], BucketCopy | None]) -> None:
        super().__init__(root)
        self._locate = locate

    def _bucket(self, oid: str) -> BucketCopy:
        found = self._locate(oid)
        if found is None:
            raise FileNotFoundError(2, "对象不在站内，也未上传至局端存储", self.location(oid))
        return found

    def open(self, oid: str) -> BinaryIO:
        try:
            return super().open(oid)
        except FileNotFoundError:
            copy = self._bucket(oid)
        # A real file (callers dup its descriptor for the service's client), from the read
        # cache: a browser playing a released video asks for many ranges, each one an open.
        return _cache_entry(copy, oid)[1]

    def read(self, oid: str, offset: int, length: int) -> bytes:
        try:
            return super().read(oid, offset, length)
        except FileNotFoundError:
            copy = self._bucket(oid)
        return copy.store.read(oid, offset, length, version=copy.version)

    @contextlib.contextmanager
    def local_path(self, oid: str) -> Iterator[Path]:
        copy = None if self.exists(oid) else self._locate(oid)
        if copy is None:  # here, or nowhere: a missing object is the tool's error, as before
            with super().local_path(oid) as path:
                yield path
            return
        # The read cache's entry is such a file already (downloaded once, re-hashed, 0400 in
        # the service account's private spool): held open while the tool reads it.
        path, entry = _cache_entry(copy, oid)
        with entry:
            yield path

    def forget(self, oids: Iterable[str]) -> int:
        """Remove the read cache's copies of destroyed objects (a sweep, after their
        tombstones): nothing of them outlives the destruction on this station."""
        cache, gone = self.root / SPOOL / READ_CACHE, 0
        for oid in oids:
            for entry in cache.glob(f"{oid}.*") if cache.is_dir() else ():
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()
                    gone += 1
        return gone

    def location(self, oid: str) -> str:
        """The station's file while it is here; once released, the bucket's version that
        reads fall back to (what `show` prints as 保管库路径)."""
        if not self.exists(oid) and (copy := self._locate(oid)) is not None:
            return f"{copy.store.location(oid)}?versionId={copy.version}"
        return super().location(oid)

    def readable_stat(self, oid: str) -> ObjectStat:
        """`stat` of the station's copy, else of the bucket's journaled version (its size as
        catalogued and checked on release; its token the version ID)."""
        try:
            return self.stat(oid)
        except FileNotFoundError:
            copy = self._bucket(oid)
        return ObjectStat(oid, copy.size, copy.version)


READ_CACHE_SECONDS = 3600  # a bucket copy read once stays this long after its last open
SPOOL = "spool"  # the bucket store's private folder in the station's vault (bureau.open_store)
READ_CACHE = "read-cache"  # in the bucket store's private spool (the service account's, 0700)


def _cache_entry(copy: BucketCopy, oid: str) -> tuple[Path, BinaryIO]:
    """The bucket's version of `oid`, opened read-only from the spool's read cache, downloaded
    (and re-hashed: `_download`) on the first open; and the entry's path. Each entry is
    written once, under its object's name and the version's (never another version's bytes),
    and published by an atomic rename; entries not opened for READ_CACHE_SECONDS are removed
    on the next miss."""
    cache = copy.store.spool / READ_CACHE
    path = cache / f"{oid}.{copy.version}"
    with contextlib.suppress(FileNotFoundError):
        f = open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb")  # noqa: SIM115
        if os.fstat(f.fileno()).st_size == copy.size:
            os.utime(f.fileno())  # its last use: what eviction counts from
            return path, f
        f.close()  # a short entry (never published so): fetched again below
    cache.mkdir(mode=0o700, exist_ok=True)
    _evict(cache)
    fd, name = tempfile.mkstemp(dir=copy.store.spool / "tmp", prefix=f"{os.getpid()}-dl-")
    try:
        try:
            _download(copy, oid, fd)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(name, 0o400)
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    return path, open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb")


def _evict(cache: Path) -> None:
    import time

    stale = time.time() - READ_CACHE_SECONDS
    for entry in cache.iterdir():
        with contextlib.suppress(FileNotFoundError):
            if entry.lstat().st_mtime < stale:
                entry.unlink()


def _download(copy: BucketCopy, oid: str, fd: int) -> None:
    """The pinned version into `fd`, in ranged blocks, re-hashed as it comes: what is handed
    out from the bucket is the object its name says, or nothing."""
    b3 = blake3.blake3()
    offset = 0
    while offset < copy.size:
        block = copy.store.read(oid, offset, min(DOWNLOAD_BLOCK, copy.size - offset),
                                version=copy.version)  # fmt: skip
        if not block:
            break
        b3.update(block)
        view = memoryview(block)
        while view:
            view = view[os.write(fd, view) :]
        offset += len(block)
    if offset != copy.size or b3.hexdigest() != oid:
        raise StorageError(f"局端存储读回的对象 {oid[:12]} 内容与摘要不符，未予提供")


def bucket_locator(vault: Vault) -> Callable[[str], BucketCopy | None]:
    """The vault's `locate` for ReadThroughStore: the journaled version of a shipped, live
    object and the bucket (opened once, on the first object read from it)."""
    stores: dict[str, S3ObjectStore] = {}
    ref = weakref.ref(vault)  # the vault holds its store: no cycle keeping a closed one alive
    # The catalog is the vault's thread's: worker threads (seal's and verify's hashing pools)
    # read only this station's own copies, so a file missing there stays missing, as before.
    owner = threading.get_ident()

    def locate(oid: str) -> BucketCopy | None:
        from zfjl.vault.bureau import binding, open_store

        vault = ref()
        if vault is None or threading.get_ident() != owner:
            return None
        row = vault.conn.execute(
            "SELECT s.version, o.size FROM shipments s JOIN objects o ON o.id = s.id"
            " WHERE s.id = ? AND s.id NOT IN (SELECT id FROM tombstones)", (oid,)
        ).fetchone()  # fmt: skip
        bound = binding(vault) if row is not None else None
        if row is None or bound is None:
            return None
        key = str(bound.url)
        if key not in stores:
            stores[key] = open_store(vault.root, bound.url)
        return BucketCopy(stores[key], str(row[0]), int(row[1]))

    return locate


# -- releasing station copies ---------------------------------------------------------------------
@dataclass(frozen=True)
class Due:
    oid: str
    version: str
    size: int
    sealed: bool


@dataclass
class ReleaseReport:
    released: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # oid -> why, in Chinese

    def as_dict(self) -> dict[str, Any]:
        return {"released": len(self.released), "kept": self.kept}


def _latest(vault: Vault, kinds: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """Each object's latest journal row of `kinds` written by this station: (kind, ts)."""
    marks = ", ".join("?" for _ in kinds)
    rows = vault.conn.execute(
        f"SELECT subject, kind, ts, station FROM journal WHERE kind IN ({marks}) ORDER BY seq",
        kinds,
    )
    return {oid: (kind, ts) for oid, kind, ts, station in rows
            if oid is not None and station == vault.station}  # fmt: skip


def released_here(vault: Vault) -> set[str]:
    """The objects whose station copy this station released (and no ingest restored since)."""
    latest = _latest(vault, (events.ObjectAdd.kind, events.ObjectRestored.kind,
                             events.ObjectStationReleased.kind))  # fmt: skip
    return {oid for oid, (kind, _) in latest.items() if kind == events.ObjectStationReleased.kind}


def due(vault: Vault, bound: Binding) -> list[Due]:
    """Shipped live objects whose station copy is here and older than `keep_days` by the vault's
    clock: counted from the shipment, or from a later restore (a re-ingest brought it back)."""
    cutoff = vault.now() - dt.timedelta(days=bound.keep_days)
    rows = vault.conn.execute(
        "SELECT s.id, s.version, s.shipped_at, o.size, o.sha256 FROM shipments s"
        " JOIN objects o ON o.id = s.id WHERE s.id NOT IN (SELECT id FROM tombstones)"
        " ORDER BY s.seq"
    ).fetchall()  # fmt: skip
    if not rows:
        return []
    latest = _latest(vault, (events.ObjectRestored.kind, events.ObjectStationReleased.kind))
    out = []
    for oid, version, shipped_at, size, sha256 in rows:
        kind, ts = latest.get(oid, ("", shipped_at))
        if kind == events.ObjectStationReleased.kind:
            continue
        since = max(dt.datetime.fromisoformat(shipped_at), dt.datetime.fromisoformat(ts))
        if since <= cutoff and vault.objects.exists(oid):
            out.append(Due(oid, str(version), int(size), sha256 is not None))
    return out


def release_due(vault: Vault, bound: Binding, store: S3ObjectStore | None = None) -> ReleaseReport:
    """Release every due station copy the bucket vouches for (see the module docstring); the
    others are kept, with the reason. The store down: nothing released, each kept."""
    from zfjl.vault.bureau import open_store, required_locks

    report = ReleaseReport()
    todo = due(vault, bound)
    if not todo:
        return report
    locks = required_locks(vault, [d.oid for d in todo], bound)
    checked: list[tuple[Due, str, str]] = []  # (due, local token, bucket retain-until)
    try:
        store = store or open_store(vault.root, bound.url)
        for d in todo:
            why, until = _bucket_vouches(store, d, locks.get(d.oid))
            if why:
                report.kept[d.oid] = why
                continue
            try:
                checked.append((d, vault.objects.stat(d.oid).token, until))
            except FileNotFoundError:
                continue  # gone meanwhile (another release, a sweep): nothing to do
    except (StorageError, BucketNotLocked) as exc:
        for d in todo:
            if d.oid not in report.kept and all(c[0].oid != d.oid for c in checked):
                report.kept[d.oid] = f"无法核对局端存储：{exc.message}"
    for start in range(0, len(checked), JOURNAL_BATCH):
        batch = checked[start : start + JOURNAL_BATCH]
        with vault.writing() as w:  # journaled first: a copy unlinked is always on record
            for d, _token, until in batch:
                w.append(events.ObjectStationReleased(id=d.oid, version=d.version,
                         retain_until=until, keep_days=bound.keep_days), d.oid)  # fmt: skip
        report.released += vault.objects.delete_many([(d.oid, token) for d, token, _ in batch])
    return report


def _bucket_vouches(store: S3ObjectStore, d: Due, lock: Lock | None) -> tuple[str, str]:
    """("", retain-until) when the bucket holds the journaled version as the only one, of the
    catalogued size, locked at least as its class asks; else (why the copy is kept, "")."""
    from zfjl.vault.s3store import COMPLIANCE

    if not d.sealed:
        return "尚未封存（SHA-256 未登记），站内副本保留", ""
    if lock is None:
        return "无法确定其保存类别要求的锁定期限，站内副本保留", ""
    versions = store.versions(d.oid)
    mine = [v for v in versions if v.version == d.version and not v.delete_marker]
    if not mine:
        return f"局端存储中没有登记的版本 {d.version}，站内副本保留", ""
    if len(versions) != 1:
        return f"局端存储中该对象有 {len(versions)} 个版本（应为 1），站内副本保留", ""
    if mine[0].size != d.size:
        return f"局端存储中对象大小 {mine[0].size} 与目录记录 {d.size} 不符，站内副本保留", ""
    p = store.protection(d.oid)
    if p.mode != COMPLIANCE or p.retain_until is None or p.retain_until < lock.until:
        shown = p.retain_until.date().isoformat() if p.retain_until else "无期限"
        return (f"局端存储的锁定（{p.mode or '无锁定'} 至 {shown}）弱于其保存类别的要求"
                f"（{COMPLIANCE} 至 {lock.until.date()}），站内副本保留"), ""  # fmt: skip
    if lock.hold and not p.legal_hold:
        return "长期保存（第四十三条）的对象在局端存储未设法律封存，站内副本保留", ""
    return "", p.retain_until.astimezone(dt.UTC).isoformat(timespec="seconds")

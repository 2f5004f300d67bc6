"""A bureau vault (issue 25): the station's folder is its working copy, an S3 bucket with Object
Lock (docs/scale.md) holds every object for the bureau, locked by the store itself.

- `bind_store` (`zfjl init --store s3://BUCKET[/PREFIX]`) checks the bucket — created with
  Object Lock when missing and the credential may, refused without it — and journals
  `store.bind`. Endpoint and credentials come only from the AWS chain.
- `sync` (`zfjl sync`) ships every object not yet shipped (ship.py: re-hashed, uploaded
  write-once, read back, COMPLIANCE-locked until its class asks), journals `object.shipped`
  for each, then brings the store's locks up to what the journal asks (`reconcile_locks`).
  Ingest is unchanged: a camera never waits for the bucket.
- `reconcile_locks` runs after a case link or a hold too: a case's longer period extends the
  lock, a hold (art. 43) turns the S3 legal hold on, its release (with its approval) off;
  each change journaled as `object.store_lock`. A store that does not answer leaves it for
  the next sync.
- `store_findings` is `verify`'s part: the bucket's lock configuration, and each shipped
  object's presence, versions, bytes, lock and hold against the journal.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zfjl.errors import BucketNotLocked, Busy, StorageError, UsageError
from zfjl.vault import events
from zfjl.vault.s3store import COMPLIANCE, S3ObjectStore
from zfjl.vault.station_copy import SPOOL, release_due
from zfjl.vault.vault import Vault

DEFAULT_CASE_YEARS = 30  # 案卷 kept long-term: the lock of case evidence and of the unswept
DEFAULT_KEEP_DAYS = 30  # the station keeps its copy this long after shipping
MIN_LEAD = dt.timedelta(days=1)  # a lock always ends in the future (an overdue patrol file)
JOURNAL_BATCH = 200  # object.shipped rows per write transaction

# s3://BUCKET[/PREFIX]: a DNS-style bucket name, a prefix of plain path components.
STORE_URL = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/((?:[A-Za-z0-9._-]+/?)*))?$")

WHERE = {"station": "站内", "bureau": "局端", "both": "两处", "elsewhere": "其他站点", "none": "无"}
FIRST_STATION = "建库站点"  # the vault's own folder (no station name), as another station sees it

MESSAGES = {
    "store_unreachable": "无法连接局端对象存储，未能核对其中的对象",
    "store_not_locked": "局端存储桶未启用对象锁定（Object Lock）",
    "store_object_missing": "局端存储中的对象缺失（已上传并登记，现不存在：可能被绕过对象锁定删除）",
    "store_versions": "局端存储中该对象的版本数不是 1（有覆盖写入或删除标记）",
    "store_digest_mismatch": "局端存储读回的对象内容与摘要不符",
    "store_size_mismatch": "局端存储中对象大小与目录记录不符",
    "store_lock_weak": "局端存储的对象锁定弱于其保存类别的要求",
    "store_hold_missing": "长期保存（第四十三条）的对象在局端存储未设法律封存",
    "store_unshipped": "对象尚未上传至局端存储（运行 zfjl sync）",
}
ERRORS = set(MESSAGES) - {"store_unshipped"}


@dataclass(frozen=True)
class StoreUrl:
    bucket: str
    prefix: str  # "" or ending in "/"

    @classmethod
    def parse(cls, text: str) -> StoreUrl:
        m = STORE_URL.match(text.strip())
        if m is None or "//" in (m.group(2) or "") or ".." in (m.group(2) or ""):
            raise UsageError(
                f"局端存储地址 {text!r:.80} 无效，应为 s3://存储桶[/前缀]，如 s3://zfjl-bureau/station-1"
                "（地址和凭据由 AWS_ENDPOINT_URL、AWS_PROFILE 或凭据文件给出，不写在命令行上）"
            )
        prefix = (m.group(2) or "").strip("/")
        return cls(m.group(1), f"{prefix}/" if prefix else "")

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


@dataclass(frozen=True)
class Binding:
    url: StoreUrl
    case_years: int
    keep_days: int


def binding(vault: Vault) -> Binding | None:
    """The store this vault ships to, as journaled (`store.bind`); None: a station vault."""
    row = vault.conn.execute("SELECT url, case_years, keep_days FROM store_binding").fetchone()
    return None if row is None else Binding(StoreUrl.parse(row[0]), int(row[1]), int(row[2]))


def open_store(root: Path, url: StoreUrl, *, create: bool = False) -> S3ObjectStore:
    """The bucket through the AWS chain (AWS_PROFILE, AWS_ENDPOINT_URL, the shared files),
    downloads spooled in the station folder `root`; its Object Lock is checked on opening
    (BucketNotLocked), the bucket created with it when missing and `create`."""
    return S3ObjectStore(url.bucket, root / SPOOL, prefix=url.prefix, create=create)


def bind_store(vault: Vault, url: str, *, case_years: int = DEFAULT_CASE_YEARS,
               keep_days: int = DEFAULT_KEEP_DAYS) -> Binding:  # fmt: skip
    """Bind the vault to its bureau's bucket: checked (created with Object Lock when missing
    and the credential may; refused without it) before `store.bind` is journaled."""
    parsed = StoreUrl.parse(url)
    if case_years < 1 or keep_days < 0:
        raise UsageError("案卷保存年限应为正整数，站内副本保留天数不得为负")
    vault.require_role({"admin"}, "绑定局端存储")
    bound = binding(vault)
    if bound is not None:  # its shipments are in that bucket: moving them is another procedure
        raise UsageError(f"本保管库已绑定局端存储 {bound.url}，不能改绑到 {parsed}")
    open_store(vault.root, parsed, create=True)
    vault.record(events.StoreBind(url=str(parsed), case_years=case_years, keep_days=keep_days),
                 None)  # fmt: skip
    return Binding(parsed, case_years, keep_days)


def require_binding(vault: Vault) -> Binding:
    bound = binding(vault)
    if bound is None:
        raise UsageError("本保管库未绑定局端存储（新建时用 zfjl init --store s3://存储桶 绑定）")
    return bound


# -- what the store must enforce ------------------------------------------------------------------
@dataclass(frozen=True)
class Lock:
    until: dt.datetime  # UTC
    hold: bool
    why: str


def required_locks(vault: Vault, oids: list[str] | None, bound: Binding, *,
                   shipping: bool = False) -> dict[str, Lock]:  # fmt: skip
    """Each live object's lock as its class asks: a class that is swept (patrol) until its
    expiry, every other (case evidence, IMP, unknown) `case_years` from ingest; a hold is the
    legal hold on top, not a longer date (released, the class's date applies again).
    `shipping`: a date already past (overdue patrol footage) becomes tomorrow, as a new
    upload's lock must end in the future."""
    from zfjl.retention.classes import RetentionClasses, shipped_classes
    from zfjl.retention.holds import held_ids
    from zfjl.retention.sweep import add_months, classify

    if oids is not None and not oids:
        return {}
    classes = shipped_classes()
    without_holds = RetentionClasses(tuple(c for c in classes if c.when != "held"))
    held = held_ids(vault)
    floor = max(vault.now(), dt.datetime.now(dt.UTC)).astimezone(dt.UTC) + MIN_LEAD
    floor = floor if shipping else dt.datetime.min.replace(tzinfo=dt.UTC)
    out = {}
    for item in classify(vault, vault.now(), oids, classes=without_holds):
        if item.expires_at is not None:
            until = dt.datetime.fromisoformat(item.expires_at)
        else:
            until = add_months(dt.datetime.fromisoformat(item.ingested_at), bound.case_years * 12)
        until = max(until.astimezone(dt.UTC).replace(microsecond=0), floor.replace(microsecond=0))
        out[item.id] = Lock(until, item.id in held, item.class_name)
    return out


# -- shipping -----------------------------------------------------------------------------------
@dataclass
class SyncReport:
    store: str
    shipped: int = 0
    already_there: int = 0
    relocked: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    pending_elsewhere: int = 0  # other stations' objects not yet shipped: theirs to ship
    released: int = 0  # station copies released after keep_days (station_copy.py)
    kept: dict[str, str] = field(default_factory=dict)  # due, kept: why

    def as_dict(self) -> dict[str, Any]:
        return {"store": self.store, "shipped": self.shipped, "already_there": self.already_there,
                "relocked": self.relocked, "failed": self.failed,
                "pending_elsewhere": self.pending_elsewhere, "released": self.released,
                "kept": self.kept}  # fmt: skip


def unshipped(vault: Vault, *, everywhere: bool = False) -> list[str]:
    """Live objects the journal has not seen shipped that THIS station holds (another
    station's folder holds its own: that station ships them); `everywhere`: every station's."""
    from zfjl.vault.stations import held_elsewhere

    rows = vault.conn.execute(
        "SELECT id FROM objects WHERE id NOT IN (SELECT id FROM tombstones)"
        " AND id NOT IN (SELECT id FROM shipments) ORDER BY seq"
    )
    elsewhere = set() if everywhere else held_elsewhere(vault)
    return [r[0] for r in rows if r[0] not in elsewhere]


def sync(vault: Vault) -> SyncReport:
    """Ship what is pending and bring every lock up to date; returns when all are in the
    bucket, read back and locked, or raises (StorageError: the store is down or refused some;
    what was shipped is journaled, the rest is shipped by the next sync, nothing is lost)."""
    bound = require_binding(vault)
    with _sync_lock(vault):
        return _sync(vault, bound)


def ship_pending(vault: Vault) -> SyncReport | None:
    """The service's background shipping: `sync` when this station holds something
    unshipped or a station copy past `keep_days`; None when there is no store, nothing
    pending (no request is made), or a sync is under way already (it ships the same)."""
    from zfjl.vault.station_copy import due

    bound = binding(vault)
    if bound is None or not (unshipped(vault) or due(vault, bound)):
        return None
    try:
        return sync(vault)
    except Busy:
        return None


@contextlib.contextmanager
def _sync_lock(vault: Vault) -> Iterator[None]:
    """One sync at a time per station (a timer's and a person's): the second is told so."""
    fd = os.open(vault.root / "locks" / "sync.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy("另一个同步任务（zfjl sync）正在运行，本次未执行") from None
        yield
    finally:
        os.close(fd)


def _sync(vault: Vault, bound: Binding) -> SyncReport:
    from zfjl.vault.ship import ship

    store = open_store(vault.root, bound.url)
    report = SyncReport(str(bound.url))
    todo = unshipped(vault)
    report.pending_elsewhere = len(unshipped(vault, everywhere=True)) - len(todo)
    locks = required_locks(vault, todo, bound, shipping=True)
    result = ship(vault.objects, store, [o for o in todo if o in locks],
                  lambda oid: locks[oid].until)  # fmt: skip
    records = []
    for s in result.shipped:  # asked before the write transaction: no request holds the catalog
        try:
            checksum = store.stored_checksum(s.oid)
        except StorageError as exc:
            result.failed[s.oid] = exc.message
            continue
        records.append(events.ObjectShipped(id=s.oid, version=s.version,
                       retain_until=_iso(s.retain_until), checksum=checksum,
                       url=store.location(s.oid)))  # fmt: skip
    for start in range(0, len(records), JOURNAL_BATCH):
        with vault.writing() as w:
            for record in records[start : start + JOURNAL_BATCH]:
                w.append(record, record.id)
    journaled = {r.id for r in records}
    report.shipped = sum(s.sent for s in result.shipped if s.oid in journaled)
    report.already_there = len(journaled) - report.shipped
    report.failed = dict(result.failed)
    report.relocked = _reconcile(vault, bound, store)
    released = release_due(vault, bound, store)
    report.released, report.kept = len(released.released), released.kept
    if report.failed:
        oid, why = next(iter(report.failed.items()))
        raise StorageError(
            f"{len(report.failed)} 个对象未能上传至局端存储（首个 {oid[:12]}：{why}）；"
            f"已上传 {len(records)} 个，站内副本完好，再次运行 zfjl sync 继续"
        )
    return report


def reconcile_locks(vault: Vault, oids: Iterable[str] | None = None) -> int:
    """After a case link, a hold or its release: bring the store's locks of `oids` (None:
    of every shipped object) to what the journal asks. A station vault: nothing. The store
    down or refusing: left for the next `zfjl sync` (the journal already holds the fact;
    `verify` names what is weaker meanwhile)."""
    bound = binding(vault)
    if bound is None:
        return 0
    try:
        return _reconcile(vault, bound, None, None if oids is None else list(oids))
    except (StorageError, BucketNotLocked):
        return 0


def _reconcile(vault: Vault, bound: Binding, store: S3ObjectStore | None,
               oids: list[str] | None = None) -> int:  # fmt: skip
    """Extend locks and set holds where the journaled lock is weaker than required; the store
    is opened only when something is to change."""
    if oids is not None and not oids:
        return 0
    sql = ("SELECT id, retain_until, legal_hold FROM shipments"
           " WHERE id NOT IN (SELECT id FROM tombstones)")  # fmt: skip
    if oids is not None:
        sql += f" AND id IN ({', '.join('?' for _ in oids)})"
    shipped = {r[0]: (r[1], bool(r[2])) for r in vault.conn.execute(sql, oids or [])}
    locks = required_locks(vault, list(shipped), bound) if shipped else {}
    changed = 0
    for oid, lock in locks.items():
        until, held = shipped[oid]
        longer = lock.until > dt.datetime.fromisoformat(until)
        if not longer and held == lock.hold:
            continue
        store = store or open_store(vault.root, bound.url)
        if longer:
            store.retain(oid, lock.until)
        if held != lock.hold:
            store.hold(oid, lock.hold)
        p = store.protection(oid)
        if p.retain_until is None:
            raise StorageError(f"局端存储中对象 {oid[:12]} 没有保存期限")
        why = "长期保存" if lock.hold and not held else "解除长期保存" if held and not lock.hold \
            else lock.why  # fmt: skip
        vault.record(events.ObjectStoreLock(id=oid, retain_until=_iso(p.retain_until),
                                            legal_hold=p.legal_hold, why=why), oid)  # fmt: skip
        changed += 1
    return changed


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


# -- where a recording is -------------------------------------------------------------------------
def where(vault: Vault, oids: Iterable[str]) -> dict[str, str]:
    """station | bureau | both | elsewhere | none, per object: the station's copy by its file,
    the bureau's by the journal (`verify` checks the bucket itself), `elsewhere` another
    station's folder holding it not yet shipped (that station ships it: `placed` names it)."""
    return {oid: p[0] for oid, p in placed(vault, oids).items()}


def placed(vault: Vault, oids: Iterable[str]) -> dict[str, tuple[str, str | None, str]]:
    """(where, station, text) per object: `where` as above, `station` the other station's
    name when `elsewhere` (else None), `text` what ls/show print: 站内 / 局端 / 两处 /
    其他站点（站名） / 无."""
    from zfjl.vault.stations import holders_elsewhere

    ids = list(oids)
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    shipped = {r[0] for r in vault.conn.execute(
        f"SELECT id FROM shipments WHERE id IN ({marks})", ids)}  # fmt: skip
    holders: dict[str, str | None] | None = None  # asked once, only when something is nowhere here
    out: dict[str, tuple[str, str | None, str]] = {}
    for oid in ids:
        if vault.objects.exists(oid):
            place = "both" if oid in shipped else "station"
        elif oid in shipped:
            place = "bureau"
        else:
            if holders is None:  # destroyed ones are nowhere, whoever held them
                gone = {r[0] for r in vault.conn.execute(
                    f"SELECT id FROM tombstones WHERE id IN ({marks})", ids)}  # fmt: skip
                holders = {o: h for o, h in holders_elsewhere(vault).items() if o not in gone}
            place = "elsewhere" if oid in holders else "none"
        if place == "elsewhere":
            name = (holders or {}).get(oid) or FIRST_STATION
            out[oid] = (place, name, f"{WHERE[place]}（{name}）")
        else:
            out[oid] = (place, None, WHERE[place])
    return out


# -- verify -------------------------------------------------------------------------------------
def store_findings(vault: Vault, read_data: bool, part: Callable[[str], bool] = lambda _: True
                   ) -> Iterator[tuple[str, str, str, str]]:  # fmt: skip
    """(code, subject, expected, found) for verify, of the shipped objects in `part` (verify's
    --subset: a nightly share of the bucket, not all of it); nothing for a station vault."""
    bound = binding(vault)
    if bound is None:
        return
    try:
        store = open_store(vault.root, bound.url)
    except StorageError as exc:
        code = "store_not_locked" if "对象锁定" in exc.message else "store_unreachable"
        yield (code, str(bound.url), "可连接、已启用对象锁定", exc.message)
        return
    rows = list(vault.conn.execute(
        "SELECT s.id, s.version, s.legal_hold, o.size, r.original_name FROM shipments s"
        " JOIN objects o ON o.id = s.id LEFT JOIN recordings r ON r.id = s.id"
        " WHERE s.id NOT IN (SELECT id FROM tombstones) ORDER BY s.seq"))  # fmt: skip
    rows = [r for r in rows if part(r[0])]
    locks = required_locks(vault, [r[0] for r in rows], bound) if rows else {}
    try:
        for oid, version, _held, size, name in rows:
            yield from _object_in_store(store, oid, version, size, f"{name or '—'}（{oid[:12]}）",
                                        locks.get(oid), read_data)  # fmt: skip
    except StorageError as exc:
        yield ("store_unreachable", str(bound.url), "可连接", exc.message)
    for oid in unshipped(vault):
        yield ("store_unshipped", oid, "已上传", "仅在站内")


def _object_in_store(store: S3ObjectStore, oid: str, version: str, size: int, subject: str,
                     lock: Lock | None, read_data: bool) -> Iterator[tuple[str, str, str, str]]:  # fmt: skip
    versions = store.versions(oid)
    live = [v for v in versions if not v.delete_marker]
    if not any(v.version == version for v in live):
        yield ("store_object_missing", subject, f"版本 {version}", "不存在")
        return
    if len(versions) != 1:
        yield ("store_versions", subject, "1 个版本", f"{len(live)} 个版本、"
               f"{len(versions) - len(live)} 个删除标记")  # fmt: skip
        return
    st = store.stat(oid)
    if st.size != size:
        yield ("store_size_mismatch", subject, str(size), str(st.size))
    if read_data:
        found = store.digest_uncached(oid)
        if found != oid:
            yield ("store_digest_mismatch", subject, oid, found)
    if lock is None:
        return
    p = store.protection(oid)
    if p.mode != COMPLIANCE or p.retain_until is None or p.retain_until < lock.until:
        shown = p.retain_until.date().isoformat() if p.retain_until else "无期限"
        yield ("store_lock_weak", subject, f"{COMPLIANCE} 至 {lock.until.date()}（{lock.why}）",
               f"{p.mode or '无锁定'} 至 {shown}")  # fmt: skip
    if lock.hold and not p.legal_hold:
        yield ("store_hold_missing", subject, "法律封存", "未封存")

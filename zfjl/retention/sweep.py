"""`zfjl sweep`: destroy patrol footage after its period, with a tombstone for each object.

Two phases, like restic's forget/prune: first the plan (what is due and why, the 销毁清册),
then, only with `execute` and an approval on file, the destruction. Each object's tombstone is
journaled *before* its bytes are unlinked, so a crash can leave a tombstone whose file is still
there (the next sweep finishes it, `verify` reports it meanwhile) but never a missing file
without a trace. Classification is done again inside the write transaction that journals the
tombstones: a hold or a case link that arrived after the plan still saves the recording.
In a bureau vault the tombstone also names the object's version in the bucket, which the
bucket's part (bucket.py) deletes once the store reports its lock lapsed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from zfjl.errors import Busy, NotPermitted
from zfjl.retention.bucket import BucketSweep, delete_lapsed
from zfjl.retention.classes import Facts, RetentionClasses, shipped_classes
from zfjl.retention.holds import held_ids
from zfjl.vault import events
from zfjl.vault.objects import local_token
from zfjl.vault.queries.cases import evidence_objects
from zfjl.vault.queries.derivatives import derivative_sources, destroyed_class
from zfjl.vault.queries.evidence import catalogued, tombstoned_ids
from zfjl.vault.queries.journal import events_of_kind, latest_event_data, latest_time_by_subject
from zfjl.vault.queries.retention import live_objects, shipped_version
from zfjl.vault.roles import APPROVING_ROLES
from zfjl.vault.seal import require_sealed
from zfjl.vault.vault import Vault

BATCH = 200  # tombstones per transaction: one fsync'd commit, then their unlinks


@dataclass
class Item:
    id: str
    cls: str
    size: int
    kind: str | None
    device: str | None
    officer: str | None
    original_name: str | None
    recorded_at: str | None
    ingested_at: str
    counted_from: str | None = None
    expires_at: str | None = None
    due: bool = False
    why: str = ""
    class_name: str = ""
    basis: str = ""
    months: int | None = None  # the class's period, when it may be swept

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["class"] = d.pop("cls")
        return d


@dataclass
class SweepPlan:
    as_of: str
    patrol_months: int
    due: list[Item] = field(default_factory=list)
    kept: Counter[str] = field(default_factory=Counter)
    not_yet_due: int = 0
    executed: bool = False
    sweep: str | None = None
    approval: str | None = None
    deleted: int = 0
    deleted_bytes: int = 0
    finished_pending: int = 0
    store: BucketSweep | None = None  # a bureau vault: the bucket's part (bucket.py)
    classes: RetentionClasses = field(default_factory=shipped_classes, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "patrol_months": self.patrol_months,
            "executed": self.executed,
            "sweep": self.sweep,
            "approval": self.approval,
            "due": [i.as_dict() for i in self.due],
            "due_bytes": sum(i.size for i in self.due),
            "kept": {c: {"count": n, "name": self.classes[c].name} for c, n in self.kept.items()},
            "patrol_not_yet_due": self.not_yet_due,
            "deleted": self.deleted,
            "deleted_bytes": self.deleted_bytes,
            "finished_pending": self.finished_pending,
            "store": self.store.as_dict() if self.store else None,
        }


# -- classification --------------------------------------------------------------------------
def add_months(when: dt.datetime, months: int) -> dt.datetime:
    """Calendar months, the last day clamped (2024-08-31 + 6 months = 2025-02-28)."""
    y, m = divmod(when.month - 1 + months, 12)
    year, month = when.year + y, m + 1
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    last = (nxt - dt.timedelta(days=1)).day
    return when.replace(year=year, month=month, day=min(when.day, last))


def _later(*stamps: str | None) -> dt.datetime:
    return max(dt.datetime.fromisoformat(s) for s in stamps if s)


def classify(
    vault: Vault, as_of: dt.datetime, only: list[str] | None = None, *,
    classes: RetentionClasses | None = None,
) -> Iterator[Item]:  # fmt: skip
    """Every live object's class and expiry (or only those given): the first class, in the
    order of the classes file, whose test applies. A derivative (a playable proxy, a redacted
    copy: docs/redact.md) has no class of its own: it is kept and destroyed with its original."""
    classes = classes or shipped_classes()
    held = held_ids(vault)
    linked = evidence_objects(vault)
    restored = latest_time_by_subject(vault, events.ObjectRestored.kind)
    sources = derivative_sources(vault)
    asked = None if only is None else set(only)
    wanted = None if only is None else sorted(set(only) | {sources[o] for o in only if o in sources})
    originals: dict[str, Item] = {}
    derived = []
    for o in live_objects(vault, wanted):
        if o.id in sources:
            derived.append(o)
            continue
        facts = Facts(o.kind, bool(o.important), held.get(o.id), o.id in linked)
        cls, why = classes.first_applying(facts)
        item = Item(o.id, cls.id, o.size, o.kind, o.device, o.officer, o.original_name,
                    o.recorded_at, o.ingested_at or o.stored_at, why=why or cls.name,
                    class_name=cls.name, basis=cls.basis)  # fmt: skip
        if cls.sweep:
            _set_expiry(item, classes.months(cls, vault.config.patrol_months), as_of,
                        _later(item.ingested_at, o.recorded_at, restored.get(o.id)))  # fmt: skip
        originals[o.id] = item
        if asked is None or o.id in asked:
            yield item
    for o in derived:
        if asked is None or o.id in asked:
            yield _with_original(vault, o.id, o.size, sources[o.id], originals.get(sources[o.id]),
                                 classes)  # fmt: skip


def _with_original(vault: Vault, oid: str, size: int, source: str, original: Item | None,
                   classes: RetentionClasses) -> Item:  # fmt: skip
    """A derivative's item: its original's class, expiry and facts; due at once when the
    original is already destroyed (a proxy of destroyed footage is that footage)."""
    if original is not None:
        return dataclasses.replace(original, id=oid, size=size,
                                   why=f"派生自 {source[:12]}，随原件：{original.why}")  # fmt: skip
    cls_id, at = destroyed_class(vault, source) or ("patrol", "")
    cls = next((c for c in classes if c.id == cls_id), None) or next(iter(classes))
    return Item(oid, cls.id, size, None, None, None, None, None, at, due=True,
                why=f"派生自 {source[:12]}，原件已于 {at[:10]} 销毁", class_name=cls.name,
                basis=cls.basis)  # fmt: skip


def _set_expiry(item: Item, months: int, as_of: dt.datetime, start: dt.datetime) -> None:
    expires = add_months(start, months)
    item.months, item.counted_from, item.expires_at = months, start.isoformat(), expires.isoformat()
    item.due = expires <= as_of
    item.why = f"{item.class_name}，自 {start:%Y-%m-%d} 起保存满 {months} 个月（{expires:%Y-%m-%d} 到期）"


def plan(
    vault: Vault, as_of: dt.datetime | None = None, *, classes: RetentionClasses | None = None
) -> SweepPlan:
    as_of = as_of or vault.now()
    classes = classes or shipped_classes()
    result = SweepPlan(as_of=as_of.isoformat(), patrol_months=_patrol_months(vault, classes),
                       classes=classes)  # fmt: skip
    for item in classify(vault, as_of, classes=classes):
        if item.due:
            result.due.append(item)
        elif item.months is not None:  # may be swept, not yet due
            result.not_yet_due += 1
        else:
            result.kept[item.cls] += 1
    return result


def _patrol_months(vault: Vault, classes: RetentionClasses) -> int:
    patrol = next((c for c in classes if c.id == "patrol"), None)
    if patrol is None:
        return vault.config.patrol_months
    return classes.months(patrol, vault.config.patrol_months)


# -- execution -------------------------------------------------------------------------------
@contextlib.contextmanager
def sweep_lock(vault: Vault) -> Iterator[None]:
    path = vault.root / "sweep.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy("另一个清理任务（zfjl sweep）正在运行，本次未执行") from None
        yield
    finally:
        os.close(fd)


def _approval(vault: Vault, approval: str | None) -> str:
    standing = vault.config.retention.get("standing_approval")
    chosen = (approval or "").strip() or (str(standing).strip() if standing else "")
    if not chosen:
        raise NotPermitted(
            "执行销毁须有批准：--approval-no 批准文号，或由管理员登记对日常巡查资料的常设批准"
            "（zfjl config set retention.standing_approval 批准文号 --approval 文号）"
        )
    return chosen


def destroy_due(
    vault: Vault, approval: str | None, *, classes: RetentionClasses | None = None
) -> SweepPlan:
    """Destroy what is due now (never as of another day: the trusted clock decides)."""
    chosen = _approval(vault, approval)
    vault.require_role(APPROVING_ROLES, "执行销毁")
    with sweep_lock(vault):
        finished = finish_pending(vault)
        result = plan(vault, classes=classes)
        result.executed, result.approval, result.finished_pending = True, chosen, finished
        if result.due:
            _destroy(vault, result)
        # A bureau vault: the bucket's versions of what is tombstoned (now or before), once
        # their locks have lapsed; journaled first, deleted after, like the local copies.
        result.store = delete_lapsed(vault)
        return result


def _destroy(vault: Vault, result: SweepPlan) -> None:
    """Tombstone the due objects in batches, each batch's local copies unlinked once it is
    committed, then the sweep's summary."""
    assert result.approval, "destroy_due() sets the approval first"
    result.sweep = f"S-{vault.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    as_of_dt = dt.datetime.fromisoformat(result.as_of)
    for start in range(0, len(result.due), BATCH):
        batch = result.due[start : start + BATCH]
        require_sealed(vault, [i.id for i in batch])  # a tombstone records the SHA-256
        done = _tombstone_batch(vault, batch, result, as_of_dt)
        _unlink_objects(vault, [i.id for i in done])  # journaled first: see module doc
        result.deleted += len(done)
        result.deleted_bytes += sum(i.size for i in done)
    vault.record(
        events.RetentionSweep(
            sweep=result.sweep, as_of=result.as_of, approval=result.approval,
            deleted=result.deleted, bytes=result.deleted_bytes,
            patrol_months=result.patrol_months,
        ),
        None,
    )  # fmt: skip
    result.due = [i for i in result.due if i.due]


def _tombstone_batch(
    vault: Vault, batch: list[Item], result: SweepPlan, as_of: dt.datetime
) -> list[Item]:
    done = []
    with vault.writing() as w:
        # Asked again under the write lock: a hold or link placed since the plan wins.
        again = classify(vault, as_of, [i.id for i in batch], classes=result.classes)
        still_due = {i.id for i in again if i.due}
        for item in batch:
            if item.id not in still_due:
                item.due = False
                continue
            w.append(_tombstone(vault, item, result), item.id)
            done.append(item)
    return done


def _tombstone(vault: Vault, item: Item, result: SweepPlan) -> events.ObjectTombstone:
    assert result.approval and result.sweep, "destroy_due() sets both before any tombstone"
    row = catalogued(vault, item.id)
    try:
        token: str | None = vault.objects.stat(item.id).token
    except FileNotFoundError:
        token = None  # already missing (verify reports it): the tombstone still records it
    return events.ObjectTombstone(
        store=vault.objects.name,
        token=token,
        id=item.id,
        sha256=(row.sha256 if row else None) or "",  # unsealable only if its file is gone
        size=item.size,
        cls=item.cls,
        recording={
            "kind": item.kind, "device": item.device, "officer": item.officer,
            "original_name": item.original_name, "recorded_at": item.recorded_at,
            "ingested_at": item.ingested_at,
        },
        reason=item.why,
        policy={"basis": item.basis, "months": item.months,
                "counted_from": item.counted_from, "expires_at": item.expires_at},
        approval=result.approval,
        sweep=result.sweep,
        bucket_version=shipped_version(vault, item.id),  # the bucket's part: bucket.py
    )  # fmt: skip


def _unlink_objects(vault: Vault, oids: list[str]) -> int:
    """Delete tombstoned objects — only the very version each tombstone named (its token):
    bytes a camera presented again since are a restore in progress, not ours."""
    named = [(oid, token) for oid in oids if (token := _tombstoned_token(vault, oid))]
    vault.objects.forget(oids)  # a bucket copy read since the station's was released
    return len(vault.objects.delete_many(named))


def _tombstoned_token(vault: Vault, oid: str) -> str | None:
    data = latest_event_data(vault, oid, events.ObjectTombstone.kind)
    if not data:
        return None
    if data.get("token"):  # v2: the store's own token
        return str(data["token"])
    file = data.get("file")  # v1 (before issue 24): the local file's inode and mtime
    return local_token(file["ino"], file["mtime_ns"]) if isinstance(file, dict) else None


def pending_tombstones(vault: Vault) -> list[str]:
    """Tombstoned objects whose bytes are still on disk (a sweep stopped between the two)."""
    return [oid for oid in tombstoned_ids(vault) if vault.objects.exists(oid)]


def finish_pending(vault: Vault) -> int:
    return _unlink_objects(vault, pending_tombstones(vault))


def destruction_register(vault: Vault) -> list[dict[str, Any]]:
    """Every object ever destroyed, from its tombstone event: printable at any time."""
    return [{"seq": e.seq, "at": e.ts, "operator": e.actor, **e.data}
            for e in events_of_kind(vault, events.ObjectTombstone.kind)]  # fmt: skip


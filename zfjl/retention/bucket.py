"""The sweep's part in a bureau's bucket (issue 25 item 3, docs/scale.md "Retention is the
store's"): delete the version each tombstone names, once its lock has lapsed.

A tombstoned object that was shipped keeps its version in the bucket until this step deletes
it. The tombstone is journaled first (sweep.py) and names the version (`bucket_version`, the
one `object.shipped` recorded); then, for each tombstone whose version is still on record
(`shipments`):

- the store is asked for that very version's protection; a retain-until still ahead or a
  legal hold on: nothing is asked of the store (it would refuse; zfjl does not even try),
  the deletion stays pending until a later sweep finds it lapsed;
- the lapsed ones are deleted by version ID in one `DeleteObjects` per 1000 — never "the
  current version", never a plain delete (which would only add a delete marker);
- each deletion is journaled after it happened (`object.store_delete`, which takes the row
  out of `shipments`); a version found already gone is journaled "absent" (a sweep stopped
  between its deletion and the record).

A station's credential may not delete (docs/scale.md, trust domains): the store refuses
(AccessDenied), the tombstones stand, the deletions stay pending and the sweep says in one
line to run it again with the bureau storage administrator's credential. `verify` warns of
each pending deletion (`store_delete_pending`), never an error: the destruction is decided
and journaled, the bucket's copy is still locked or waiting for the owner's run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from zfjl.errors import StorageError, StoreRefused
from zfjl.vault import events
from zfjl.vault.bureau import JOURNAL_BATCH, Binding, binding, open_store
from zfjl.vault.queries.journal import latest_event_data
from zfjl.vault.queries.retention import tombstoned_names, tombstoned_shipments
from zfjl.vault.s3store import S3ObjectStore
from zfjl.vault.vault import Vault

MESSAGES = {
    "store_delete_pending": "已登记销毁，局端存储中的版本尚待删除（保存期限未届满、法律封存中，"
    "或须由局端存储管理员凭据运行 zfjl sweep --execute 完成）",
}


@dataclass
class BucketSweep:
    """What this sweep did in the bucket; `pending` lists what is left, with why."""

    store: str
    deleted: int = 0
    absent: int = 0  # already gone (a previous run deleted it and stopped before journaling)
    not_lapsed: list[str] = field(default_factory=list)  # lock ahead or legal hold: not asked
    refused: list[str] = field(default_factory=list)  # asked; the store refused (credential)
    failed: str | None = None  # the store down: everything left for the next sweep
    message: str | None = None  # one Chinese line when deletions stay pending for a person

    @property
    def pending(self) -> int:
        return len(self.not_lapsed) + len(self.refused)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "pending": self.pending}


def pending_deletions(vault: Vault) -> list[tuple[str, str]]:
    """(object, version) of every tombstoned object whose bucket version is still on record:
    the version its tombstone names, and only when it is the one `object.shipped` recorded
    (bytes shipped again since are not what was destroyed)."""
    out = []
    for oid, version in tombstoned_shipments(vault):
        named = (latest_event_data(vault, oid, events.ObjectTombstone.kind) or {}).get(
            "bucket_version"
        )
        if named is None or named == version:  # None: a tombstone of before issue 25 item 3
            out.append((oid, version))
    return out


def delete_lapsed(vault: Vault) -> BucketSweep | None:
    """Delete from the bucket every pending version whose lock has lapsed (see the module's
    doc); None for a station vault. Nothing pending: no request at all. Never raises for the
    store: a refusal or an outage is in the result, the tombstones stand either way."""
    bound = binding(vault)
    if bound is None:
        return None
    result = BucketSweep(str(bound.url))
    todo = pending_deletions(vault)
    if not todo:
        return result
    try:
        _delete(vault, bound, todo, result)
    except StorageError as exc:
        result.failed = exc.message
    result.message = _message(result, len(todo))
    return result


def _delete(vault: Vault, bound: Binding, todo: list[tuple[str, str]], result: BucketSweep) -> None:
    store = open_store(vault.root, bound.url)
    now = dt.datetime.now(dt.UTC)  # the store's time, not the vault's (tests move the vault's)
    lapsed: list[tuple[str, str, str | None]] = []
    gone: list[tuple[str, str, str | None]] = []
    for oid, version in todo:
        try:
            p = store.protection(oid, version=version)
        except FileNotFoundError:
            gone.append((oid, version, None))
            continue
        if p.legal_hold or (p.retain_until is not None and p.retain_until > now):
            result.not_lapsed.append(oid)
        else:
            until = p.retain_until.isoformat(timespec="seconds") if p.retain_until else None
            lapsed.append((oid, version, until))
    _journal(vault, gone, "absent")
    result.absent = len(gone)
    deleted, refused = _delete_versions(store, lapsed)
    _journal(vault, deleted, "deleted")
    result.deleted = len(deleted)
    result.refused = [oid for oid, _, _ in refused]


def _delete_versions(
    store: S3ObjectStore, lapsed: list[tuple[str, str, str | None]]
) -> tuple[list[tuple[str, str, str | None]], list[tuple[str, str, str | None]]]:
    """(deleted, refused): `delete_many` names each version; after a refusal (it raises once
    the whole batch was sent) the store is asked which versions are still there."""
    if not lapsed:
        return [], []
    try:
        store.delete_many([(oid, version) for oid, version, _ in lapsed])
    except StoreRefused:
        still = [x for x in lapsed if _still_there(store, x[0], x[1])]
        return [x for x in lapsed if x not in still], still
    return lapsed, []


def _still_there(store: S3ObjectStore, oid: str, version: str) -> bool:
    try:
        store.protection(oid, version=version)
    except FileNotFoundError:
        return False
    return True


def _journal(vault: Vault, done: list[tuple[str, str, str | None]], outcome: str) -> None:
    for start in range(0, len(done), JOURNAL_BATCH):
        with vault.writing() as w:
            for oid, version, until in done[start : start + JOURNAL_BATCH]:
                w.append(events.ObjectStoreDelete(id=oid, version=version, retain_until=until,
                                                  outcome=outcome), oid)  # fmt: skip


def _message(result: BucketSweep, asked: int) -> str | None:
    """One line for the person running the sweep, when something waits for them."""
    if result.refused:
        return (
            f"局端存储拒绝删除 {len(result.refused)} 个已到期的版本（本凭据无删除权限）：销毁记录已生效，"
            "局端版本待删除；请由局端存储管理员以其凭据再次运行清理完成，"
            "如 AWS_PROFILE=管理员的配置名 zfjl sweep --execute"
        )
    if result.failed:
        return (
            f"局端存储未能完成删除（{result.failed}）：销毁记录已生效，{asked - result.deleted - result.absent}"
            " 个局端版本待删除，下次 zfjl sweep --execute 继续"
        )
    return None


def bucket_findings(vault: Vault) -> Iterator[tuple[str, str, str, str]]:
    """verify's part: a warning for each tombstoned object whose bucket version is still on
    record (no request to the store: `store_findings` checks the bucket's live objects)."""
    if binding(vault) is None:
        return
    names = tombstoned_names(vault)
    for oid, version in pending_deletions(vault):
        yield ("store_delete_pending", f"{names.get(oid) or '—'}（{oid[:12]}）", "已删除",
               f"版本 {version} 仍在局端存储")  # fmt: skip

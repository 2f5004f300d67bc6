"""Every journal event type, declared once: its kind, its Chinese label and its fields.

A module that changes the vault builds one of these classes and hands it to
`Vault.record` / `Writer.append`; nobody writes a payload dict by hand. The declaration is
what a payload is checked against when it is appended, when the catalog replays the journal
and when `verify` walks it, so a misspelt type or a missing field fails a test, never a user.

Payload keys are the field names, except where a key is not a Python identifier (`class`):
such a field names its key in `field(metadata={"key": ...})`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from zfjl.errors import VaultError


class MalformedEvent(VaultError):
    """A journal row whose kind is not declared or whose payload does not fit its kind."""


@dataclass(frozen=True)
class _FieldSpec:
    name: str  # the dataclass attribute
    key: str  # the payload key
    types: tuple[type, ...]
    optional: bool  # None is allowed
    required: bool  # no default


class EventData:
    """Base of every event type: `kind` and `label` are set by `declare`."""

    kind: ClassVar[str]
    label: ClassVar[str]
    # Settings-like payloads (vault.init) carry keys a bureau added to vault.json.
    open_ended: ClassVar[bool] = False
    _spec_cache: ClassVar[tuple[_FieldSpec, ...] | None] = None

    @classmethod
    def specs(cls) -> tuple[_FieldSpec, ...]:
        """The fields as payload keys and accepted types, read from the annotations on first
        use: resolving every event type's annotations cost each command ~15 ms of start-up."""
        got = cls.__dict__.get("_spec_cache")
        if got is None:
            hints = typing.get_type_hints(cls)
            got = tuple(
                _spec_of(f, hints[f.name])
                for f in dataclasses.fields(cls)  # type: ignore[arg-type]
                if f.name != "extra"
            )
            cls._spec_cache = got
        return got

    def payload(self) -> dict[str, Any]:
        out = {s.key: getattr(self, s.name) for s in self.specs()}
        extra = getattr(self, "extra", None)
        if self.open_ended and isinstance(extra, dict):
            out.update(extra)
        return out

    @classmethod
    def from_payload(cls: type[E], data: Any) -> E:
        """The typed event of a payload read back from the journal; MalformedEvent if it
        does not fit the declaration."""
        if not isinstance(data, dict):
            raise MalformedEvent(f"{cls.kind}：内容应为对象，实为 {type(data).__name__}")
        problems = check_payload(cls, data)
        if problems:
            raise MalformedEvent(f"{cls.kind}：{'；'.join(problems)}")
        known = {s.key for s in cls.specs()}
        kwargs = {s.name: data[s.key] for s in cls.specs() if s.key in data}
        if cls.open_ended:
            kwargs["extra"] = {k: v for k, v in data.items() if k not in known}
        return cls(**kwargs)


    # Equality and repr by payload, here once: generated per class they were half of the
    # module's import time, paid by every command (see _event_class).
    def __eq__(self, other: object) -> bool:
        return isinstance(other, EventData) and type(other) is type(self) and (
            other.payload() == self.payload()
        )

    __hash__ = None  # type: ignore[assignment]  # payloads hold dicts and lists

    # Frozen here once, not by generated methods per class: each field is set once, by
    # __init__, and nothing else is ever set or deleted.
    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__ or name not in self.__dataclass_fields__:  # type: ignore[attr-defined]
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.payload().items())
        return f"{type(self).__name__}({fields})"


E = TypeVar("E", bound=EventData)



@typing.dataclass_transform(kw_only_default=True, frozen_default=True, field_specifiers=(field,))
def _event_class(cls: type[E]) -> type[E]:
    """An event's dataclass: keyword-only; frozen, __eq__ and __repr__ from EventData."""
    return dataclass(kw_only=True, eq=False, repr=False)(cls)

REGISTRY: dict[str, type[EventData]] = {}

_SCALARS: dict[Any, tuple[type, ...]] = {
    str: (str,),
    int: (int,),
    float: (int, float),
    bool: (bool,),
    dict: (dict,),
    list: (list,),
}


def _spec_of(f: dataclasses.Field[Any], hint: Any) -> _FieldSpec:
    optional = False
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        optional = type(None) in args
        members = [a for a in args if a is not type(None)]
        if len(members) != 1:
            raise TypeError(f"event field {f.name}: one type or one type | None, not {hint}")
        hint = members[0]
    if hint is Any:
        accepted: tuple[type, ...] = (object,)
        optional = True
    else:
        origin = typing.get_origin(hint) or hint
        if origin not in _SCALARS:
            raise TypeError(f"event field {f.name}: unsupported type {hint}")
        accepted = _SCALARS[origin]
    required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    return _FieldSpec(f.name, f.metadata.get("key", f.name), accepted, optional, required)


def declare(kind: str, label: str) -> Callable[[type[E]], type[E]]:
    """Register an event type (a keyword-only frozen dataclass) under `kind`."""

    def wrap(dc: type[E]) -> type[E]:
        if kind in REGISTRY:
            raise TypeError(f"event kind {kind} declared twice")
        if not dataclasses.is_dataclass(dc):
            raise TypeError(f"event {dc.__name__} must be a dataclass")
        dc.kind = kind
        dc.label = label
        REGISTRY[kind] = dc
        return dc

    return wrap


def _type_name(spec: _FieldSpec) -> str:
    names = {str: "文本", int: "整数", bool: "是/否", dict: "对象", list: "列表"}
    return "数值" if float in spec.types else names.get(spec.types[0], spec.types[0].__name__)


def check_payload(cls: type[EventData], data: dict[str, Any]) -> list[str]:
    """What is wrong with a payload for `cls`, in Chinese; empty if it fits."""
    problems = []
    for spec in cls.specs():
        if spec.key not in data:
            if spec.required:
                problems.append(f"缺少字段 {spec.key}")
            continue
        value = data[spec.key]
        if value is None:
            if not spec.optional:
                problems.append(f"字段 {spec.key} 不能为空")
            continue
        # bool is an int in Python; a count or a size must not be True.
        bad_bool = isinstance(value, bool) and bool not in spec.types and object not in spec.types
        if bad_bool or not isinstance(value, spec.types):
            problems.append(f"字段 {spec.key} 应为{_type_name(spec)}，实为 {value!r:.40}")
    if not cls.open_ended:
        unknown = sorted(set(data) - {s.key for s in cls.specs()})
        if unknown:
            problems.append(f"未知字段 {'、'.join(unknown)}")
    return problems


# A row replayed from a station's own journal merged into a bureau's (zfjl/vault/merge.py)
# carries its original's place there beside the payload: {"seq": N, "hash": HEX}.
MERGED_FROM = "merged_from"


def parse(kind: str, data: Any) -> EventData:
    """The typed event of a journal row; MalformedEvent for an undeclared kind or a payload
    that does not fit (a merged row's `merged_from` is checked here and set aside)."""
    cls = REGISTRY.get(kind)
    if cls is None:
        raise MalformedEvent(f"未声明的事件类型 {kind!r}")
    if isinstance(data, dict) and MERGED_FROM in data:
        origin = data[MERGED_FROM]
        if not (isinstance(origin, dict) and set(origin) == {"seq", "hash"}
                and type(origin["seq"]) is int and isinstance(origin["hash"], str)):  # fmt: skip
            raise MalformedEvent(f"{kind}：字段 {MERGED_FROM} 应为 {{seq, hash}}，实为 {origin!r:.60}")
        data = {k: v for k, v in data.items() if k != MERGED_FROM}
    return cls.from_payload(data)


def label_of(kind: str) -> str:
    cls = REGISTRY.get(kind)
    return cls.label if cls is not None else kind


# == the vault itself ==========================================================================
@declare("vault.init", "新建保管库")
@_event_class
class VaultInit(EventData):
    """The settings the vault was made with (vault.json as written that day)."""

    open_ended: ClassVar[bool] = True
    format: str
    version: int
    id: str
    created_at: str
    bureau: str
    timezone: str
    metadata_clock: str | None = None
    clock_skew_seconds: int | None = None
    upload_deadline_working_days: int | None = None
    name_patterns: list[Any] | None = None
    devices: dict[str, Any] | None = None
    retention: dict[str, Any] | None = None
    roles: dict[str, Any] | None = None
    catalog_version: int | None = None  # since catalog migration 1; absent in 0.1 vaults
    extra: dict[str, Any] = field(default_factory=dict)


@declare("vault.migrate", "升级目录结构")
@_event_class
class VaultMigrate(EventData):
    number: int
    name: str
    rebuilt: list[str]  # derived tables dropped, recreated and replayed


@declare("vault.json_restored", "恢复被改动的 vault.json")
@_event_class
class VaultJsonRestored(EventData):
    """vault.json found at open differing from what the journal says it holds (format, version,
    id, created_at only): each differing key with what was expected and found; rewritten."""

    changes: list[Any]  # {key, expected, found}


# == roles and settings (since catalog migration 3; before, both lived in vault.json) =========
@declare("role.add", "登记角色")
@_event_class
class RoleAdd(EventData):
    user: str  # operating-system user
    role: str  # clerk | legal | director | admin
    approval_no: str | None = None  # 审批编号: required for legal, director and admin
    via: str | None = None  # "zfjl init", "migration 3 (vault.json)"; None: zfjl role add


@declare("role.remove", "撤销角色")
@_event_class
class RoleRemove(EventData):
    user: str
    role: str
    reason: str | None = None
    via: str | None = None


@declare("setting.set", "更改设置")
@_event_class
class SettingSet(EventData):
    key: str  # dotted: "timezone", "retention.patrol_months", "devices.DSJ09.metadata_clock"
    value: Any  # JSON; null removes the key (back to its default)
    approval_no: str | None = None  # 审批编号: required for retention.*
    via: str | None = None  # "migration 3 (vault.json)"; None: zfjl config set


@declare("vault.guards_restored", "恢复日志防改触发器")
@_event_class
class VaultGuardsRestored(EventData):
    missing: list[str]


@declare("vault.catalog_moved", "目录迁入其他数据库")
@_event_class
class VaultCatalogMoved(EventData):
    """The catalog moved to another database (issue 25): the journal rows before this one were
    copied there unchanged; `source` and `target` name the databases (never a password)."""

    source: str
    target: str
    rows: int


@declare("station.join", "站点加入全局保管库")
@_event_class
class StationJoin(EventData):
    """A station joined a bureau's vault whose catalog is shared (issue 25): its name (every
    row it writes says it, the journal's `station` column) and its own checkpoint signing
    key's verifier string (journaled as `checkpoint.key` too, by the station)."""

    station: str
    vkey: str
    host: str


@declare("station.merged", "站点原有保管库并入全局保管库")
@_event_class
class StationMerged(EventData):
    """A station's own vault merged into the bureau's (zfjl/vault/merge.py): its old journal
    is the source, named by its final row and tree head and its last signed checkpoint; its
    rows follow, replayed as this station's, each with `merged_from` (old seq and hash). The
    rows not replayed (its settings, roles, checkpoints, schema history) are recorded here,
    whole, and applied nowhere."""

    station: str
    source_vault: str  # the old vault's id
    source_rows: int
    source_head: str  # hash of its last row
    source_tree_head: str  # RFC 6962 tree head over all its rows, hex
    source_keys: list[Any]  # its checkpoint.key vkeys
    last_checkpoint: dict[str, Any] | None  # {seq, hash, size, root, note}
    replayed: int  # rows replayed after this one
    not_applied: list[Any]  # {seq, hash, kind, data} of each row recorded only
    kept: str  # the old catalog, kept in the station's folder and read by nothing


@declare("vault.verify", "校验保管库")
@_event_class
class VaultVerify(EventData):
    subset: str
    read_data: bool
    objects_checked: int
    problems: list[str]


# == objects and ingest ========================================================================
@declare("object.add", "入库")
@_event_class
class ObjectAdd(EventData):
    object: dict[str, Any]  # id, size, sha256 (null since issue 14: the seal journals it)
    # Null since catalog migration 6: `recording.describe` carries it, behind "stored".
    recording: dict[str, Any] | None = None
    run: str | None = None


@declare("recording.describe", "读取元数据（入库后）")
@_event_class
class RecordingDescribe(EventData):
    """What the stored object is as a recording (kind, times, device, duration, the raw
    metadata), read behind "stored" (catalog migration 6): before it, `object.add` carried the
    recording; since, `object.add` names the bytes and this row, journaled once, describes them."""

    id: str
    recording: dict[str, Any]
    run: str | None = None


@declare("object.seen", "读取存储卡（入库时）")
@_event_class
class ObjectSeen(EventData):
    id: str
    run: str | None
    source_path: str
    original_name: str
    name_hex: str | None
    size: int
    mtime: str | None
    device: str | None
    officer: str | None
    important: bool


@declare("object.restored", "重新入库（恢复对象文件）")
@_event_class
class ObjectRestored(EventData):
    run: str
    source_path: str


@declare("object.digests", "封存摘要（SHA-256、SHA-512、SM3）")
@_event_class
class ObjectDigests(EventData):
    """The seal: the digests courts and national systems speak, computed from the stored object
    after its BLAKE3 (its name, pinned at ingest) was read again and matched. Before issue 14
    SHA-256 came with `object.add` and these rows carried SHA-512 and SM3 only (sha256 absent)."""

    id: str
    sha512: str
    sm3: str
    sha256: str | None = None  # since issue 14 (catalog migration 5); absent in older rows


@declare("object.tombstone", "按期销毁")
@_event_class
class ObjectTombstone(EventData):
    """Version 2 (issue 24) names the object by its store's tombstone token (`store`, `token`:
    the local store's inode and mtime, an S3 version ID), which only `delete` reads. Version 1
    events (0.1 review – issue 23) carry `file` (inode and mtime) instead and stay readable;
    new events write file null. `token` None: the object was already gone when tombstoned."""

    file: dict[str, Any] | None = None  # v1: inode and mtime of the unlinked file; v2: null
    store: str | None = None  # v2 (issue 24): the store that handed out `token` ("local", "s3")
    token: str | None = None  # v2 (issue 24): the store's tombstone token of the version deleted
    id: str
    sha256: str
    size: int
    cls: str = field(metadata={"key": "class"})
    recording: dict[str, Any]
    reason: str
    policy: dict[str, Any]
    approval: str
    sweep: str
    # Issue 25: the bureau bucket's version ID the sweep deletes once its lock has lapsed
    # (`object.shipped`'s); None: never shipped, or a tombstone of before (its local copy only).
    bucket_version: str | None = None


# == the bureau's store (issue 25) ===============================================================
@declare("store.bind", "绑定局端对象存储")
@_event_class
class StoreBind(EventData):
    """The vault's objects are shipped to this S3 bucket (Object Lock), the station's folder
    keeping its own copy; endpoint and credentials come from the AWS chain, never from here."""

    url: str  # s3://BUCKET[/PREFIX]
    case_years: int  # the lock of case evidence and of what is never swept (案卷保存期限)
    keep_days: int  # how long the station keeps its copy after shipping


@declare("object.shipped", "上传至局端存储")
@_event_class
class ObjectShipped(EventData):
    """Read back whole from the bucket and COMPLIANCE-locked until `retain_until`."""

    id: str
    version: str  # the bucket's version ID
    retain_until: str  # ISO 8601, UTC, as the store reported it
    checksum: str  # the store's checksum of the object (SHA-256 by default), as it reported it
    url: str  # s3://BUCKET/KEY


@declare("object.store_lock", "调整局端存储锁定")
@_event_class
class ObjectStoreLock(EventData):
    """The store's lock of a shipped object changed: a case's longer period, a legal hold on
    (art. 43) or off (released with its approval)."""

    id: str
    retain_until: str  # ISO 8601, UTC, as the store reports it now
    legal_hold: bool
    why: str


@declare("object.station_released", "释放站内副本")
@_event_class
class ObjectStationReleased(EventData):
    """The station's working copy of a shipped object is removed after `keep_days`: the
    bucket's locked version (checked just before: there, its size, its lock) is the original
    of record, and reads fall back to it. Not a deletion of evidence."""

    id: str
    version: str  # the bucket's version ID kept as the original
    retain_until: str  # ISO 8601, UTC: that version's lock as the store reported it
    keep_days: int  # the binding's keep_days this release honoured


@declare("object.store_delete", "删除局端存储版本")
@_event_class
class ObjectStoreDelete(EventData):
    """A tombstoned object's version (the tombstone's `bucket_version`) deleted from the
    bureau's bucket by a sweep, the store having reported its lock lapsed and no legal hold
    (`outcome` "deleted"); or found already gone there ("absent": a sweep stopped between the
    deletion and this record). Journaled after the deletion; the tombstone came before it."""

    id: str
    version: str
    retain_until: str | None  # ISO 8601, UTC, as the store reported it before; None: absent
    outcome: str  # "deleted" | "absent"


@declare("ingest.begin", "开始入库")
@_event_class
class IngestBegin(EventData):
    run: str
    source: str
    host: str | None
    options: dict[str, Any]
    files: int
    bytes: int


@declare("ingest.end", "入库结束")
@_event_class
class IngestEnd(EventData):
    run: str
    status: str
    summary: dict[str, Any]


@declare("ingest.file_failed", "文件未能入库")
@_event_class
class IngestFileFailed(EventData):
    run: str
    source_path: str
    code: str
    reason: str


@declare("ingest.file_warning", "入库提示")
@_event_class
class IngestFileWarning(EventData):
    run: str
    source_path: str
    code: str
    reason: str


@declare("source.cleared", "确认后从记录仪清除")
@_event_class
class SourceCleared(EventData):
    id: str
    run: str
    source_path: str


@declare("calendar.add", "录入节假日安排")
@_event_class
class CalendarAdd(EventData):
    year: int
    notice: str
    days: list[Any]  # {date, workday, name}


# == cases =====================================================================================
@declare("case.open", "立案")
@_event_class
class CaseOpen(EventData):
    case: dict[str, Any]


@declare("case.import", "导入案件")
@_event_class
class CaseImport(EventData):
    """The whole case as a file states it. Over an existing case, `changes` says what the file
    added, changed and dropped against the state it replaced (ids and link keys; the versions
    themselves are earlier journal rows); a file that changes or drops anything is a
    correction and carries its `reason` (原因). Both absent in rows before catalog 4."""

    case: dict[str, Any]
    reason: str | None = None
    changes: dict[str, Any] | None = None


@declare("case.document", "添加文书")
@_event_class
class CaseDocument(EventData):
    case: str
    document: dict[str, Any]


@declare("case.status", "案件状态变更")
@_event_class
class CaseStatus(EventData):
    case: str
    status: str


@declare("case.attach", "关联案件")
@_event_class
class CaseAttach(EventData):
    case: str
    links: list[Any]


# -- corrections (since catalog migration 4): nothing is erased; each names its reason ------
@declare("case.detach", "解除关联（更正）")
@_event_class
class CaseDetach(EventData):
    """Links taken off a case, each as it was (recording, activity, document, …)."""

    case: str
    links: list[Any]
    reason: str


@declare("case.document_withdraw", "撤回文书（更正）")
@_event_class
class CaseDocumentWithdraw(EventData):
    case: str
    document: str  # its id (代号) in the case
    withdrawn: dict[str, Any]  # the document as it stood
    reason: str


@declare("case.document_replace", "替换文书（更正）")
@_event_class
class CaseDocumentReplace(EventData):
    """Withdraw + the new version, under the same id (送达回证 and links cite documents by id)."""

    case: str
    document: dict[str, Any]  # the new version
    replaces: str  # the id of the version withdrawn (the same id)
    replaced: dict[str, Any]  # the version withdrawn, as it stood
    reason: str


@declare("case.withdraw", "撤销立案（撤回）")
@_event_class
class CaseWithdraw(EventData):
    """A case opened or imported by mistake: out of `case ls` and `check --all`, kept in the
    history; its number stays taken."""

    case: str
    reason: str


@declare("case.reopen", "重新启用案件")
@_event_class
class CaseReopen(EventData):
    """An archived case made changeable again (back to `status`), or a withdrawn one restored
    (`status` None: its status is unchanged)."""

    case: str
    reason: str
    status: str | None = None


@declare("case.render", "制作文书")
@_event_class
class CaseRender(EventData):
    case: str
    doctype: str | None
    files: list[Any]  # {name, sha256}
    skipped: list[Any] | None = None  # {document, type, reason, detail}; absent in 0.1 rows


@declare("case.bundle", "制作案件包")
@_event_class
class CaseBundle(EventData):
    case: str
    purpose: str
    path: str
    approval: str | None
    manifest_sha256: str
    files: int
    bytes: int
    withheld: list[Any]
    # Since issue 23 journaled before the first byte is handed out, with each vault object the
    # bag carries ({id, sha256, file}); rows from before lack it.
    objects: list[Any] | None = None


# == retention and access ======================================================================
@declare("hold.place", "长期保存")
@_event_class
class HoldPlace(EventData):
    target: str
    target_kind: str  # recording | case
    reason: str
    note: str | None = None


@declare("hold.release", "解除长期保存")
@_event_class
class HoldRelease(EventData):
    hold: str
    approval: str
    note: str | None = None


@declare("retention.sweep", "按期清理")
@_event_class
class RetentionSweep(EventData):
    sweep: str
    as_of: str
    approval: str
    deleted: int
    bytes: int
    patrol_months: int


@declare("grant.add", "登记查阅/复制批准")
@_event_class
class GrantAdd(EventData):
    user: str
    target: str
    target_kind: str
    scope: str  # view | copy
    approved_by: str
    approval_no: str
    until: str
    purpose: str | None = None


@declare("grant.revoke", "撤销批准")
@_event_class
class GrantRevoke(EventData):
    grant: str
    reason: str | None = None
    approval_no: str | None = None  # 批准文号: required since issue 23 (rows before it lack it)


@declare("access.denied", "拒绝访问")
@_event_class
class AccessDenial(EventData):
    user: str
    action: str
    reason: str
    purpose: str | None = None


@declare("access.view", "查阅")
@_event_class
class AccessView(EventData):
    user: str
    grant: str
    purpose: str | None
    copy: str


@declare("access.export", "复制导出")
@_event_class
class AccessExport(EventData):
    user: str
    grant: str
    purpose: str | None
    dest: str
    sha256: str


# == derivatives: playable proxies and redacted copies (issue 26; zfjl/redact/) =============
@declare("access.read", "读取原件（在保管库内处理）")
@_event_class
class AccessRead(EventData):
    """The original read inside the vault, under a grant, to make a derivative or propose
    face boxes: no byte leaves, but the content is used. Journaled before the first byte."""

    user: str
    grant: str
    purpose: str | None
    use: str  # proxy | redaction | faces


@declare("derivative.make", "制作派生件")
@_event_class
class DerivativeMake(EventData):
    """A new object made from an original (subject): its kind, every parameter, the tools'
    versions and both objects' digests. The original is never changed."""

    id: str  # the derivative's object id (BLAKE3)
    source: str  # the original's object id
    derivative_kind: str = field(metadata={"key": "kind"})  # proxy | redaction
    size: int
    sha256: str  # of the derivative
    source_sha256: str  # the original's sealed SHA-256
    params: dict[str, Any]  # boxes, mutes, method, encoder settings: all that decides the output
    tools: dict[str, Any]  # {"ffmpeg": "5.1.9-0+deb12u1"}
    grant: str | None  # the view grant under which the original was read


@declare("derivative.disclose", "向当事人提供删减副本")
@_event_class
class DerivativeDisclose(EventData):
    """A redacted copy handed to a party (art. 44) under a copy grant on its original
    (subject), journaled before the first byte leaves."""

    user: str
    grant: str
    derivative: str  # the derivative's object id
    sha256: str  # of the copy handed out
    source_sha256: str  # the original's
    party: str  # to whom
    approval_no: str  # the approval of this disclosure
    dest: str
    receipt: str  # the receipt PDF's path
    purpose: str | None = None


# == devices and spot checks ===================================================================
@declare("device.add", "登记记录仪")
@_event_class
class DeviceAdd(EventData):
    device: str
    model: str | None = None
    serial: str | None = None
    unit: str | None = None
    assigned_to: str | None = None
    since: str
    note: str | None = None


@declare("device.assign", "改派记录仪")
@_event_class
class DeviceAssign(EventData):
    device: str
    officer: str
    since: str


@declare("device.log", "记录仪维护")
@_event_class
class DeviceLog(EventData):
    device: str
    event: str  # check | fault | repair | retire
    note: str | None
    at: str


@declare("device.unregistered", "发现未登记记录仪")
@_event_class
class DeviceUnregistered(EventData):
    device: str
    run: str


@declare("spotcheck.draw", "抽查抽取")
@_event_class
class SpotcheckDraw(EventData):
    unit: str
    period: str
    n: int
    seed: str
    items: list[Any]  # {kind, id}
    population: dict[str, Any]
    method: str
    # the drawer chose the seed (--seed): such a draw is no view approval (None: drawn before
    # this was journaled, so unknown, and no approval either)
    seed_chosen: bool | None = None


@declare("spotcheck.record", "抽查结果")
@_event_class
class SpotcheckRecord(EventData):
    draw: str
    item: str
    result: str
    failed: list[Any]
    note: str | None = None


# == checkpoints ===============================================================================
@declare("journal.checkpoint", "签名检查点")
@_event_class
class JournalCheckpoint(EventData):
    size: int
    root: str
    note: str


@declare("checkpoint.key", "检查点公钥")
@_event_class
class CheckpointKey(EventData):
    name: str
    vkey: str


@declare("checkpoint.state_restored", "重建检查点签名状态")
@_event_class
class CheckpointStateRestored(EventData):
    """An administrator rebuilt the signer's state (`keys/checkpoint.state` lost) from the
    journal's checkpoints once every witness copy agreed with them."""

    approval_no: str  # 审批编号
    size: int  # the tree size the restored state says was last signed
    root: str  # hex
    witness_copies: int  # copies checked (0: the journal alone vouched for it)
    set_aside: str | None = None  # an unreadable state file renamed to this name


# == a bureau's own templates, rule packs and document types (zfjl/vault/custom.py) ============
@declare("custom.install", "安装本局模板/规则/文书类型")
@_event_class
class CustomInstall(EventData):
    folder: str = field(metadata={"key": "kind"})  # templates | rules | doctypes
    name: str  # the file's name in it
    sha256: str  # of the bytes installed: only these are loaded
    size: int
    approval: str  # 审批编号
    replaces: str | None = None  # the SHA-256 of the installed file it replaces


@declare("custom.remove", "移除本局模板/规则/文书类型")
@_event_class
class CustomRemove(EventData):
    folder: str = field(metadata={"key": "kind"})
    name: str
    sha256: str | None  # of the file removed (None: it was already gone)
    approval: str
    installed: bool  # False: a file never installed (found by verify) was removed

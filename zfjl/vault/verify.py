"""`zfjl verify`: re-read the objects, re-walk the journal chain, replay the catalog.

Problems are returned as structured findings (code, subject, expected, found), like
bagit-python's validation errors. A damaged object is reported and left exactly where it is:
it is still evidence, and moving it would destroy the trace of what happened.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import blake3

from zfjl.errors import UsageError
from zfjl.retention.bucket import MESSAGES as BUCKET_MESSAGES
from zfjl.retention.bucket import bucket_findings
from zfjl.vault import catalog, events
from zfjl.vault.anchors import outside_findings, restores_on_record
from zfjl.vault.backend import Connection
from zfjl.vault.bureau import ERRORS as STORE_ERRORS
from zfjl.vault.bureau import MESSAGES as STORE_MESSAGES
from zfjl.vault.bureau import store_findings
from zfjl.vault.checkpoint import CheckpointWalk
from zfjl.vault.custom import ERRORS as CUSTOM_ERRORS
from zfjl.vault.custom import MESSAGES as CUSTOM_MESSAGES
from zfjl.vault.custom import custom_findings
from zfjl.vault.journal import JOURNAL_COLUMNS, check_chain, run_script
from zfjl.vault.journal import SCHEMA as journal_schema
from zfjl.vault.objects import file_digests
from zfjl.vault.station_copy import released_here
from zfjl.vault.stations import held_elsewhere
from zfjl.vault.store import ObjectStat, ObjectStorage, Protection
from zfjl.vault.vault import Vault

MESSAGES = {
    "object_missing": "对象文件缺失",
    "digest_mismatch": "对象内容与摘要不符（文件已损坏或被改动，原样保留）",
    "sha256_mismatch": "对象 SHA-256 与目录记录不符",
    "sha512_mismatch": "对象 SHA-512 与日志记录不符",
    "sm3_mismatch": "对象 SM3 与日志记录不符",
    "unsealed": "已安全存储（BLAKE3 已记录）但尚未封存 SHA-256、SHA-512、SM3（运行 zfjl seal，或由保管服务完成）",
    "undescribed": "已安全存储但尚未读取元数据，暂不是可查询的记录（运行 zfjl seal，或由保管服务完成）",
    "size_mismatch": "对象大小与目录记录不符",
    "row_changed": "日志记录被改动",
    "chain_broken": "日志哈希链断裂",
    "row_missing": "日志记录缺失（被删除）",
    "trigger_missing": "日志防改触发器被删除",
    "guards_were_removed": "日志防改触发器曾被删除（打开保管库时已恢复），其间日志可能被改动",
    "catalog_drift": "目录表与日志重放结果不一致",
    "event_malformed": "日志记录的事件类型未声明或内容不符合其声明（目录重放时已跳过）",
    "stray_file": "对象目录中有不属于保管库的文件",
    "not_readonly": "对象文件不是只读",
    "uncatalogued_object": "对象未登记（多为中断的入库，下次入库时自动补登）",
    "checkpoint_signature": "检查点签名无效（检查点被改动或不是本保管库签发）",
    "checkpoint_mismatch": "检查点与日志不一致（其签名覆盖的日志记录被改动、删除或插入）",
    "checkpoint_unreadable": "检查点或公钥记录无法读取",
    "journal_missing": "日志为空：保管库曾有日志（签名状态记录了其第 1 条），catalog.db 被删除或清空",
    "journal_replaced": "日志的第 1 条与签名器记录的不同：catalog.db 被删除后重建或换成了另一份",
    "journal_truncated": "日志比已签名的检查点短：尾部记录被删除",
    "journal_inconsistent": "日志与签名器上次签名的检查点不一致：已签名的记录被改写",
    "witness_inconsistent": "日志与见证目录中的检查点副本不一致（或副本无效）",
    "signer_state_missing": "检查点签名状态缺失（被删除？）：签名器不再签名，须管理员与见证副本核对后重建",
    "signer_state_stale": "检查点签名状态比已签名的检查点旧：签名状态被回退或换成了旧的",
    "signer_state_restored": "检查点签名状态曾遗失，由管理员凭审批重建（此前的改写只有当时核对的见证副本能证明没有）",
    "witness_missing": "见证目录不存在或没有检查点副本（未挂载？）",
    "tombstone_pending": "对象已登记销毁但文件尚在（清理中断），下次 zfjl sweep --execute 完成",
    "vault_json_changed": "vault.json 与日志记载的不符（只应含 format、version、id、created_at）",
    "vault_json_was_edited": "vault.json 曾被手工改动（打开保管库时已记入日志并恢复；角色与设置以日志为准）",
}
ERRORS = {
    "object_missing",
    "digest_mismatch",
    "sha256_mismatch",
    "sha512_mismatch",
    "sm3_mismatch",
    "size_mismatch",
    "row_changed",
    "chain_broken",
    "row_missing",
    "trigger_missing",
    "catalog_drift",
    "event_malformed",
    "checkpoint_signature",
    "checkpoint_mismatch",
    "checkpoint_unreadable",
    "journal_missing",
    "journal_replaced",
    "journal_truncated",
    "journal_inconsistent",
    "witness_inconsistent",
    "signer_state_missing",
    "signer_state_stale",
    "vault_json_changed",
}
MESSAGES.update(CUSTOM_MESSAGES)  # a bureau's templates, rules, document types (custom.py)
ERRORS |= CUSTOM_ERRORS
MESSAGES.update(STORE_MESSAGES)  # the bureau's S3 store (bureau.py)
ERRORS |= STORE_ERRORS
MESSAGES.update(BUCKET_MESSAGES)  # the sweep's deletions in that store (warnings only)


@dataclass(frozen=True)
class Finding:
    code: str
    subject: str
    expected: str
    found: str

    @property
    def severity(self) -> str:
        return "error" if self.code in ERRORS else "warning"

    @property
    def message(self) -> str:
        return MESSAGES[self.code]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "severity": self.severity, "message": self.message}


@dataclass
class VerifyReport:
    subset: str
    objects_checked: int = 0
    bytes_read: int = 0
    journal_rows: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "subset": self.subset,
            "objects_checked": self.objects_checked,
            "bytes_read": self.bytes_read,
            "journal_rows": self.journal_rows,
            "findings": [f.as_dict() for f in self.findings],
        }


def parse_subset(text: str | None) -> tuple[int, int]:
    """restic-style "n/t": check the n-th of t slices (by object id); None means all."""
    if not text:
        return 1, 1
    try:
        n_text, t_text = text.split("/")
        n, t = int(n_text), int(t_text)
    except ValueError:
        raise UsageError(f"--subset 应写成 n/t（如 3/7），收到 {text!r}") from None
    if not 1 <= n <= t:
        raise UsageError(f"--subset {text}：n 须在 1 到 {t} 之间")
    return n, t


def in_subset(oid: str, n: int, t: int) -> bool:
    return int(oid[:8], 16) % t == n - 1


HASH_AHEAD = 64  # objects read ahead of the findings: bounded, so a million objects is no
# million futures; enough to keep every worker busy while the main thread walks the journal


def hash_workers() -> int:
    # One single-threaded BLAKE3 per core over whole files beats one multi-threaded BLAKE3
    # per file (1 GB of videos from cache: 0.15 s against 0.19 s on 2 cores; b3sum 0.17 s).
    return min(4, len(os.sched_getaffinity(0)))


def blake3_of_file(path: str) -> str:
    h = blake3.blake3()
    h.update_mmap(path)  # mmap, as b3sum: no copy into user space, the GIL released
    return h.hexdigest()


@dataclass(frozen=True)
class _ObjectCheck:
    oid: str
    size: int  # as catalogued
    expected: dict[str, str]  # recorded digests to re-compute (none: BLAKE3 only)
    unsealed: bool
    undescribed: bool = False


@dataclass(frozen=True)
class _ObjectRead:
    st: ObjectStat | None  # None: the object is missing
    protection: Protection | None  # what its store enforces (None: missing)
    found: dict[str, str]  # "blake3" and every expected algorithm; empty when not read


def verify(
    vault: Vault,
    *,
    subset: str | None = None,
    read_data: bool = True,
    sha256: bool = False,
    digests: bool = False,
) -> VerifyReport:
    """Check objects, journal and catalog. By default each object's BLAKE3 (its name, pinned
    at ingest) is re-computed: one digest detects any change of its bytes. `digests=True`
    re-computes every recorded digest too — SHA-256, SHA-512 and SM3 — in the same read, and
    compares each with what was journaled; `sha256=True` only SHA-256 (the older option).

    Objects are read on worker threads from the start, while this thread walks the journal."""
    n, t = parse_subset(subset)
    report = VerifyReport(subset=f"{n}/{t}")
    conn = vault.conn
    want = ("sha256", "sha512", "sm3") if digests else ("sha256",) if sha256 else ()
    # Another station's objects and the copies released here: the bucket's part checks them.
    not_here = held_elsewhere(vault) | released_here(vault)
    checks, pending_sweeps = _object_checks(conn, n, t, want, not_here)
    pool = ThreadPoolExecutor(hash_workers(), thread_name_prefix="zfjl-verify")
    try:
        reads = _read_ahead(pool, vault, checks, read_data)
        report.journal_rows = conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
        walk = CheckpointWalk()
        report.findings.extend(
            Finding(p.code, f"日志 #{p.seq}" if p.seq else "journal", p.expected, p.found)
            for p in [*check_chain(conn, walk.feed), *walk.problems]
        )
        report.findings.extend(Finding(*o) for o in outside_findings(vault, walk.leaves, walk.notes))
        report.findings.extend(Finding(*o) for o in restores_on_record(vault))
        report.findings.extend(_catalog_drift(conn))
        report.findings.extend(_vault_json(vault))
        for oid in pending_sweeps:
            if vault.objects.exists(oid):
                report.findings.append(Finding("tombstone_pending", oid, "已删除", "文件仍在"))
        for check, read in reads:
            report.objects_checked += 1
            report.findings.extend(_object_findings(vault, check, read, report))
    finally:
        pool.shutdown(cancel_futures=True)  # on Ctrl-C: no queued object is read after it
    report.findings.extend(_stray_and_uncatalogued(vault, conn))
    report.findings.extend(Finding(*c) for c in custom_findings(vault))
    report.findings.extend(
        Finding(*f) for f in store_findings(vault, read_data, lambda oid: in_subset(oid, n, t))
    )
    report.findings.extend(Finding(*f) for f in bucket_findings(vault))
    vault.record(
        events.VaultVerify(
            subset=report.subset,
            read_data=read_data,
            objects_checked=report.objects_checked,
            problems=sorted({f.code for f in report.findings}),
        ),
        None,
    )
    return report


def _object_checks(
    conn: Connection, n: int, t: int, want: tuple[str, ...], elsewhere: frozenset[str] | set[str] = frozenset()
) -> tuple[Iterator[_ObjectCheck], list[str]]:
    """The catalogued objects of subset n/t, by id, with the digests to re-compute; and the
    ids destroyed by a sweep (their tombstones stand for the bytes, which must be gone)."""
    destroyed = [r[0] for r in conn.execute("SELECT id FROM tombstones ORDER BY id")]
    gone = set(destroyed)
    rows = conn.execute(
        "SELECT o.id, o.size, o.sealed_at IS NULL, r.id IS NULL, o.sha256, d.sha512, d.sm3"
        " FROM objects o LEFT JOIN object_digests d ON d.id = o.id"
        " LEFT JOIN recordings r ON r.id = o.id ORDER BY o.id"
    ).fetchall()

    def checks() -> Iterator[_ObjectCheck]:
        for oid, size, unsealed, undescribed, *recorded in rows:
            if oid in gone or oid in elsewhere or not in_subset(oid, n, t):
                continue
            have = dict(zip(("sha256", "sha512", "sm3"), recorded, strict=True))
            # An unsealed object has none recorded yet: only its BLAKE3 can be checked.
            yield _ObjectCheck(oid, size, {a: have[a] for a in want if have[a]}, bool(unsealed),
                               bool(undescribed))  # fmt: skip

    return checks(), destroyed


def _read_ahead(
    pool: ThreadPoolExecutor, vault: Vault, checks: Iterator[_ObjectCheck], read_data: bool
) -> Iterator[tuple[_ObjectCheck, _ObjectRead]]:
    """Each check with its object read on the pool, in order, at most HASH_AHEAD ahead.
    The first reads are submitted now, before the caller walks the journal."""

    def submit(c: _ObjectCheck) -> tuple[_ObjectCheck, Future[_ObjectRead]]:
        return c, pool.submit(_read_object, vault.objects, c, read_data)

    ahead = deque(submit(c) for c in itertools.islice(checks, HASH_AHEAD))

    def results() -> Iterator[tuple[_ObjectCheck, _ObjectRead]]:
        while ahead:
            check, fut = ahead.popleft()
            if (following := next(checks, None)) is not None:
                ahead.append(submit(following))
            yield check, fut.result()

    return results()


def _read_object(store: ObjectStorage, check: _ObjectCheck, read_data: bool) -> _ObjectRead:
    """The object's size and protection as its store reports them, and its digests re-computed
    from a local file (free on the local store: the object's own file)."""
    try:
        st, protection = store.stat(check.oid), store.protection(check.oid)
        if not read_data:
            return _ObjectRead(st, protection, {})
        with store.local_path(check.oid) as path:
            if check.expected:
                return _ObjectRead(st, protection, file_digests(path, ("blake3", *check.expected)))
            return _ObjectRead(st, protection, {"blake3": blake3_of_file(str(path))})
    except FileNotFoundError:
        return _ObjectRead(None, None, {})


def _object_findings(
    vault: Vault, check: _ObjectCheck, read: _ObjectRead, report: VerifyReport
) -> Iterator[Finding]:
    oid, st = check.oid, read.st
    if st is None:
        yield Finding("object_missing", oid, vault.objects.location(oid), "不存在")
    elif st.size != check.size:
        yield Finding("size_mismatch", oid, str(check.size), str(st.size))
    if read.protection is not None and not read.protection.read_only:
        yield Finding("not_readonly", oid, "0444", read.protection.shown or "可写")
    if st is not None and read.found:
        report.bytes_read += st.size
        for a, digest in check.expected.items():
            if read.found[a] != digest:
                yield Finding(f"{a}_mismatch", oid, digest, read.found[a])
        if read.found["blake3"] != oid:
            yield Finding("digest_mismatch", oid, oid, read.found["blake3"])
    if check.unsealed:
        yield Finding("unsealed", oid, "已封存", "未封存")
    if check.undescribed:
        yield Finding("undescribed", oid, "已读取元数据", "未读取")


def _stray_and_uncatalogued(vault: Vault, conn: Connection) -> Iterator[Finding]:
    catalogued = {r[0] for r in conn.execute("SELECT id FROM objects")}
    for name in vault.objects.strays():
        yield Finding("stray_file", name, "对象文件", "无法识别的文件")
    for oid in vault.objects.list_oids():
        if oid not in catalogued:
            yield Finding("uncatalogued_object", oid, "已登记", "未登记")


def _vault_json(vault: Vault) -> Iterator[Finding]:
    """vault.json now, and each hand edit found (and undone) at an open, key by key."""
    for c in vault.vault_json_changes():
        yield Finding("vault_json_changed", f"vault.json:{c['key']}", _short(c["expected"]),
                      _short(c["found"]))  # fmt: skip
    rows = vault.conn.execute(
        "SELECT seq, data FROM journal WHERE kind = ? ORDER BY seq", (events.VaultJsonRestored.kind,)
    )
    for seq, data in rows:
        for c in json.loads(data).get("changes", []):
            yield Finding("vault_json_was_edited", f"日志 #{seq} vault.json:{c.get('key')}",
                          _short(c.get("expected")), _short(c.get("found")))  # fmt: skip


def _short(value: Any) -> str:
    return "（无）" if value is None else json.dumps(value, ensure_ascii=False)[:200]


def _scratch_copy(conn: Connection) -> tuple[sqlite3.Connection, dict[str, list[tuple[Any, ...]]]]:
    """An in-memory SQLite copy of the catalog to replay into, and the live derived rows.
    SQLite: the whole database (backup). Another backend: its journal rows, copied; the
    live rows read from it (the same values: its adapter answers as SQLite does)."""
    scratch = sqlite3.connect(":memory:", isolation_level=None)
    if isinstance(conn, sqlite3.Connection):
        conn.backup(scratch)
        return scratch, catalog.snapshot(scratch)
    live = catalog.snapshot(conn)
    run_script(scratch, journal_schema)
    cur = conn.execute(f"SELECT {JOURNAL_COLUMNS} FROM journal ORDER BY seq")
    marks = ", ".join("?" * len(JOURNAL_COLUMNS.split(",")))
    scratch.executemany(f"INSERT INTO journal ({JOURNAL_COLUMNS}) VALUES ({marks})", cur)
    return scratch, live


def _catalog_drift(conn: Connection) -> Iterator[Finding]:
    """Replay the journal into a scratch copy and compare every derived table."""
    scratch, live = _scratch_copy(conn)
    try:
        scratch.execute("BEGIN")
        # Triggers guard the journal only; the derived tables may be dropped freely.
        _, problems = catalog.rebuild(scratch)
        replayed = catalog.snapshot(scratch)
        scratch.execute("ROLLBACK")
    finally:
        scratch.close()
    for p in problems:
        yield Finding("event_malformed", f"日志第 {p.seq} 条（{p.kind}）", "符合事件声明", p.message)
    for table in catalog.DERIVED_TABLES:
        extra = set(live[table]) - set(replayed[table])
        lost = set(replayed[table]) - set(live[table])
        for row in sorted(extra | lost, key=repr)[:20]:
            yield Finding(
                "catalog_drift",
                f"{table}:{row[0]}",
                "与日志一致" if row in extra else repr(row)[:200],
                repr(row)[:200] if row in extra else "缺失",
            )

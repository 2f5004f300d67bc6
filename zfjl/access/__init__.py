"""Access to records (arts. 44, 47): grants, views, exports and the custody log.

Nobody sees or copies a recording without a grant on file (the director's approval, by name
and number). Every view, export and refusal is a journal event on the recording, so the
custody log (`zfjl log`) shows who touched what, when, for what purpose and on whose
authority. The acting user is the operating-system user; roles come from vault.json.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zfjl.cases.store import cases_relying_on
from zfjl.errors import AccessDenied, NotFoundError, UsageError
from zfjl.retention.holds import APPROVING_ROLES, resolve_target
from zfjl.vault import events
from zfjl.vault.journal import Event, read_events
from zfjl.vault.objects import copy_file, file_digests, fsync_dir, storage_error
from zfjl.vault.query import resolve_id
from zfjl.vault.vault import Vault

SCOPES = {"view": "查阅", "copy": "复制"}


# -- grants ----------------------------------------------------------------------------------
def _parse_until(text: str, vault: Vault) -> dt.date:
    try:
        until = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--until 应为日期，如 2024-12-31，收到 {text!r}") from None
    if until < vault.now().date():
        raise UsageError(f"--until {until} 已过")
    return until


def add_grant(
    vault: Vault, user: str, target: str, *, scope: str, approved_by: str, approval_no: str,
    until: str, purpose: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    vault.require_role(APPROVING_ROLES, "登记查阅、复制批准")
    if scope not in SCOPES:
        raise UsageError(f"--scope 只能是 view（查阅）或 copy（复制），收到 {scope!r}")
    if not approved_by.strip() or not approval_no.strip():
        raise UsageError("须给出批准人（--approved-by）和批准文号（--approval-no）")
    day = _parse_until(until, vault)
    subject, resolved, kind = resolve_target(vault, target)
    ev = vault.record(events.GrantAdd(
        user=user, target=resolved, target_kind=kind, scope=scope,
        approved_by=approved_by.strip(), approval_no=approval_no.strip(),
        until=day.isoformat(), purpose=purpose,
    ), subject)  # fmt: skip
    return get_grant(vault, f"G-{ev.seq}")


def get_grant(vault: Vault, grant_id: str) -> dict[str, Any]:
    rows = list(vault.db.query("SELECT * FROM grants WHERE id = ?", [grant_id.upper()]))
    if not rows:
        raise NotFoundError(f"没有批准记录 {grant_id}（用 zfjl grant ls 查看）")
    return rows[0]


def list_grants(
    vault: Vault, user: str | None = None, *, include_inactive: bool = False
) -> list[dict[str, Any]]:
    sql, params = "SELECT * FROM grants WHERE 1", []
    if user:
        sql += " AND user = ?"
        params.append(user)
    if not include_inactive:
        sql += " AND revoked_at IS NULL AND until >= ?"
        params.append(vault.now().date().isoformat())
    return list(vault.db.query(sql + " ORDER BY seq", params))


def revoke_grant(vault: Vault, grant_id: str, reason: str | None) -> dict[str, Any]:
    vault.require_role(APPROVING_ROLES, "撤销批准")
    g = get_grant(vault, grant_id)
    if g["revoked_at"]:
        raise UsageError(f"{g['id']} 已于 {g['revoked_at'][:16]} 撤销")
    subject = f"case:{g['target']}" if g["target_kind"] == "case" else g["target"]
    vault.record(events.GrantRevoke(grant=g["id"], reason=reason), subject)
    return get_grant(vault, g["id"])


# -- which grant covers an object ------------------------------------------------------------
def confidential_names(vault: Vault, oid: str) -> set[str] | None:
    """None when the object is not confidential; else the targets a copy grant must name:
    the object itself, or its confidential case when the secrecy is the case's (art. 44)."""
    names, object_marked = {oid}, False
    for case in cases_relying_on(vault, oid):
        if any(m.get("confidential") for m in case.get("media", []) if m.get("recording") == oid):
            object_marked = True
        if case.get("flags", {}).get("confidential"):
            names.add(case["case"])
    if object_marked:
        return {oid}
    return names if len(names) > 1 else None


def covering_grant(
    vault: Vault, user: str, oid: str, scope: str
) -> tuple[dict[str, Any] | None, str]:
    """The grant that lets `user` do `scope` to `oid`, or None and why not."""
    today = vault.now().date().isoformat()
    case_ids = {c["case"] for c in cases_relying_on(vault, oid)}
    scopes = ("copy",) if scope == "copy" else ("view", "copy")
    candidates = [
        g for g in list_grants(vault, user, include_inactive=True)
        if (g["target"] == oid or (g["target_kind"] == "case" and g["target"] in case_ids))
    ]  # fmt: skip
    active = [g for g in candidates if not g["revoked_at"] and g["until"] >= today]
    fitting = [g for g in active if g["scope"] in scopes]
    if scope == "copy":
        names = confidential_names(vault, oid)
        if names is not None:
            fitting = [g for g in fitting if g["target"] in names]
            if not fitting:
                return (
                    None,
                    "涉密或个人隐私记录，须有点名该记录（或其涉密案件）的复制批准（第四十四条）",
                )
    if fitting:
        return fitting[-1], ""
    if active:
        return None, f"现有批准仅限{SCOPES[active[-1]['scope']]}，不含{SCOPES[scope]}"
    if candidates:
        return None, "批准已过期或已撤销"
    return None, f"无{SCOPES[scope]}批准（第四十七条：未经局长批准不得查阅）"


def _deny(vault: Vault, oid: str, action: str, reason: str, purpose: str | None) -> AccessDenied:
    vault.record(events.AccessDenial(user=vault.actor, action=action, reason=reason,
                                     purpose=purpose), oid)  # fmt: skip
    return AccessDenied(f"拒绝{SCOPES[action]} {oid[:12]}：{reason}。本次请求已记入日志")


def _live_object(vault: Vault, prefix: str) -> str:
    oid = resolve_id(vault, prefix)
    gone = vault.conn.execute("SELECT at FROM tombstones WHERE id = ?", (oid,)).fetchone()
    if gone:
        raise NotFoundError(
            f"{oid[:12]} 已于 {gone[0][:10]} 按保存期限销毁（见 zfjl log {oid[:12]}）"
        )
    return oid


def _suffix(vault: Vault, oid: str) -> str:
    row = vault.conn.execute("SELECT original_name FROM recordings WHERE id = ?", (oid,)).fetchone()
    return Path(row[0]).suffix.lower() if row and row[0] else ""


def _copy_out(vault: Vault, oid: str, dest: Path) -> None:
    """A byte copy of the object (never a link to it), made read-only."""
    try:
        copy_file(vault.objects.path_for(oid), dest)
        os.chmod(dest, 0o444)
    except OSError as exc:
        raise storage_error(exc, f"复制到 {dest}") from exc


# -- view ------------------------------------------------------------------------------------
@dataclass
class ViewResult:
    id: str
    path: Path
    grant: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "path": str(self.path), "grant": self.grant}


def view_dir() -> Path:
    """The user's own cache folder (on disk: a video may not fit a tmpfs; private: 0700; not
    a guessable name under /tmp that another user could have made first)."""
    import platformdirs

    path = Path(platformdirs.user_cache_dir("zfjl")) / "view"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def view(vault: Vault, prefix: str, purpose: str | None = None) -> ViewResult:
    oid = _live_object(vault, prefix)
    grant, why = covering_grant(vault, vault.actor, oid, "view")
    if grant is None:
        raise _deny(vault, oid, "view", why, purpose)
    dest = view_dir() / f"{oid[:16]}{_suffix(vault, oid)}"
    if dest.exists():  # a fresh copy each time: an earlier one may have been altered
        dest.unlink()
    _copy_out(vault, oid, dest)
    vault.record(events.AccessView(user=vault.actor, grant=grant["id"], purpose=purpose,
                                   copy=str(dest)), oid)  # fmt: skip
    return ViewResult(oid, dest, grant["id"])


# -- export ----------------------------------------------------------------------------------
@dataclass
class ExportReport:
    dest: Path
    files: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"dest": str(self.dest), "files": self.files}


def export(
    vault: Vault, prefixes: list[str], dest: Path, purpose: str | None = None
) -> ExportReport:
    """All or nothing: every object must have a copy grant before any byte is copied."""
    oids = [_live_object(vault, p) for p in prefixes]
    grants, refused = {}, []
    for oid in dict.fromkeys(oids):
        grant, why = covering_grant(vault, vault.actor, oid, "copy")
        if grant is None:
            refused.append(_deny(vault, oid, "copy", why, purpose))
        else:
            grants[oid] = grant
    if refused:
        raise AccessDenied("；".join(e.message for e in refused))
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, f"创建 {dest}") from exc
    report = ExportReport(dest)
    for oid, grant in grants.items():
        target = dest / f"{oid[:16]}{_suffix(vault, oid)}"
        if target.exists():
            raise UsageError(f"{target} 已存在，不会覆盖：请换一个空目录")
        _copy_out(vault, oid, target)
        sha256 = file_digests(target, ("sha256",))["sha256"]
        expected = vault.conn.execute("SELECT sha256 FROM objects WHERE id = ?", (oid,)).fetchone()
        if sha256 != expected[0]:
            raise storage_error(OSError(5, "复制结果与原始记录不符"), f"复制 {oid[:12]}")
        vault.record(events.AccessExport(user=vault.actor, grant=grant["id"], purpose=purpose,
                                         dest=str(target), sha256=sha256), oid)  # fmt: skip
        report.files.append(
            {"id": oid, "path": str(target), "sha256": sha256, "grant": grant["id"]}
        )
    lines = "".join(f"{f['sha256']}  {Path(f['path']).name}\n" for f in report.files)
    with open(dest / "SHA256SUMS", "a", encoding="utf-8") as f:
        f.write(lines)
        f.flush()
        os.fsync(f.fileno())
    fsync_dir(dest)
    return report


# -- the custody log -------------------------------------------------------------------------
LABELS = {
    "object.add": "入库", "object.seen": "读取存储卡（入库时）", "source.cleared": "确认后从记录仪清除",
    "object.restored": "重新入库（恢复对象文件）", "object.digests": "计算 SHA-512 / SM3 摘要",
    "case.open": "立案", "case.import": "导入案件", "case.document": "添加文书",
    "case.attach": "关联案件", "case.status": "案件状态变更", "case.render": "制作文书",
    "case.bundle": "制作案件包", "hold.place": "长期保存", "hold.release": "解除长期保存",
    "grant.add": "登记查阅/复制批准", "grant.revoke": "撤销批准", "access.view": "查阅",
    "access.export": "复制导出", "access.denied": "拒绝访问", "object.tombstone": "按期销毁",
}  # fmt: skip


def describe(ev: Event) -> str:
    d = ev.data
    match ev.kind:
        case "object.add":
            rec = d.get("recording") or {}
            return f"{rec.get('original_name', '')}，{d['object']['size']} 字节"
        case "object.seen":
            return str(d.get("source_path", ""))
        case "case.attach":
            return "、".join(f"{m['recording'][:12]}（{m['activity']}）" for m in d["links"])
        case "hold.place":
            from zfjl.retention.holds import REASONS

            return (
                f"H-{ev.seq} {REASONS.get(d['reason'], d['reason'])} {d.get('note') or ''}".strip()
            )
        case "hold.release":
            return f"{d['hold']}，批准文号 {d['approval']}"
        case "grant.add":
            return (f"G-{ev.seq} {d['user']} {SCOPES[d['scope']]}，{d['approved_by']} 批准"
                    f"（{d['approval_no']}），至 {d['until']}")  # fmt: skip
        case "grant.revoke":
            return f"{d['grant']} {d.get('reason') or ''}".strip()
        case "access.view" | "access.export":
            return f"{d['user']}，依据 {d['grant']}，用途：{d.get('purpose') or '未说明'}"
        case "access.denied":
            return f"{d['user']} 请求{SCOPES.get(d['action'], d['action'])}：{d['reason']}"
        case "object.tombstone":
            return f"{d['reason']}；批准 {d['approval']}；SHA-256 {d['sha256'][:16]}…"
        case "case.bundle":
            return f"{d.get('purpose', '')} {d.get('path', '')}".strip()
        case "case.document":
            doc = d.get("document", {})
            return f"{doc.get('type', '')} {doc.get('number') or ''}".strip()
        case "case.status":
            return str(d.get("status", ""))
    return ""


@dataclass
class CustodyLog:
    target: str
    target_kind: str
    entries: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "target_kind": self.target_kind, "entries": self.entries}


def custody_log(vault: Vault, target: str) -> CustodyLog:
    subject, resolved, kind = resolve_target(vault, target)
    subjects = [subject]
    if kind == "case":
        from zfjl.cases.store import get_case

        case = get_case(vault, resolved)
        subjects += list(dict.fromkeys(m["recording"] for m in case.get("media", [])))
    else:
        subjects += [f"case:{c['case']}" for c in cases_relying_on(vault, resolved)]
    seen: dict[int, Event] = {}
    for s in subjects:
        for ev in read_events(vault.conn, s):
            if kind == "recording" and s != subject and not _mentions(ev, resolved):
                continue  # from a linked case: only what concerns this recording
            seen[ev.seq] = ev
    entries = [
        {"seq": ev.seq, "at": ev.ts, "actor": ev.actor, "kind": ev.kind,
         "what": LABELS.get(ev.kind, ev.kind), "subject": ev.subject, "detail": describe(ev),
         "hash": ev.hash}
        for ev in sorted(seen.values(), key=lambda e: e.seq)
    ]  # fmt: skip
    return CustodyLog(resolved, kind, entries)


def _mentions(ev: Event, oid: str) -> bool:
    return ev.kind in ("case.open", "hold.place", "hold.release", "grant.add", "case.bundle") or (
        oid in json.dumps(ev.data)
    )


def custody_log_pdf(vault: Vault, log: CustodyLog) -> bytes:
    from zfjl.render import render_report_pdf

    return render_report_pdf(
        "保管日志",
        {"log": log.as_dict(), "printed_at": vault.now_iso()},
        bureau=vault.config.bureau,
    )

"""The custody log (`zfjl log`): who touched a recording or case, when, for what purpose and on
whose authority, as read from the journal."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from zfjl.access.grants import SCOPES
from zfjl.cases.store import cases_relying_on
from zfjl.retention.holds import resolve_target
from zfjl.vault.journal import Event, read_events
from zfjl.vault.vault import Vault

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


"""The custody log (`zfjl log`): who touched a recording or case, when, for what purpose and on
whose authority, as read from the journal."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from zfjl.access.grants import SCOPES
from zfjl.cases.store import get_case
from zfjl.dates import chinese_time
from zfjl.retention.holds import REASONS
from zfjl.vault import events
from zfjl.vault.journal import Event
from zfjl.vault.purposes import BUNDLE_PURPOSES
from zfjl.vault.queries import cases as catalog
from zfjl.vault.queries.cases import cases_relying_on, resolve_target
from zfjl.vault.queries.journal import events_of
from zfjl.vault.query import KIND_NAMES
from zfjl.vault.seal import require_sealed
from zfjl.vault.vault import Vault


def describe(ev: Event) -> str:
    """One line of what an event did, for a person (the custody log's 内容 column)."""
    try:
        data = events.parse(ev.kind, ev.data)
    except events.MalformedEvent:
        return "（日志记录不符合事件声明，见 zfjl verify）"
    match data:
        case events.ObjectAdd(object=obj, recording=rec) if rec:  # before catalog migration 6
            return f"{rec.get('original_name', '')}，{obj['size']} 字节"
        case events.ObjectAdd(object=obj):
            return f"{obj['size']} 字节"
        case events.RecordingDescribe(recording=rec):
            kind = {v: k for k, v in KIND_NAMES.items()}.get(rec.get("kind") or "", "")
            at = rec.get("recorded_at") and f"录制于 {chinese_time(rec['recorded_at'])}"
            return "，".join(str(x) for x in (rec.get("original_name"), kind, at) if x)
        case events.ObjectSeen(source_path=path):
            return path
        case events.CaseAttach(links=links):
            return "、".join(f"{m['recording'][:12]}（{m['activity']}）" for m in links)
        case events.HoldPlace(reason=reason, note=note):
            return f"H-{ev.seq} {REASONS.get(reason, reason)} {note or ''}".strip()
        case events.HoldRelease(hold=hold, approval=approval):
            return f"{hold}，批准文号 {approval}"
        case events.GrantAdd() as g:
            return (f"G-{ev.seq} {g.user} {SCOPES[g.scope]}，{g.approved_by} 批准"
                    f"（{g.approval_no}），至 {chinese_time(g.until)}")  # fmt: skip
        case events.GrantRevoke(grant=grant, reason=reason):
            return f"{grant} {reason or ''}".strip()
        case events.AccessView(user=user, grant=grant, purpose=purpose) | events.AccessExport(
            user=user, grant=grant, purpose=purpose
        ):
            return f"记录 {(ev.subject or '')[:12]}：{user}，依据 {grant}，用途：{purpose or '未说明'}"
        case events.AccessRead(user=user, grant=grant, purpose=purpose, use=use):
            what = {"proxy": "制作播放副本", "redaction": "制作删减副本", "faces": "检测人脸"}.get(use, use)
            return f"{what}：{user}，依据 {grant}，用途：{purpose or '未说明'}"
        case events.DerivativeMake(id=did, derivative_kind=kind, sha256=sha256):
            what = {"proxy": "播放副本", "redaction": "删减副本"}.get(kind, kind)
            return f"{what} {did[:12]}，SHA-256 {sha256[:16]}…（原始记录未改动）"
        case events.DerivativeDisclose(party=party, derivative=did, approval_no=no, grant=grant):
            return f"删减副本 {did[:12]} 提供给 {party}，批准文号 {no}，依据 {grant}"
        case events.AccessDenial(user=user, action=action, reason=reason):
            what = f"记录 {ev.subject[:12]}" if ev.subject and ":" not in ev.subject else ""
            return f"{what + '：' if what else ''}{user} 请求{SCOPES.get(action, action)}：{reason}"
        case events.ObjectTombstone(reason=reason, approval=approval, sha256=sha256):
            return f"{reason}；批准 {approval}；SHA-256 {sha256[:16]}…"
        case events.CaseBundle(purpose=purpose, path=path):
            return f"用途：{BUNDLE_PURPOSES.get(purpose, purpose)}" + (f"；案件包：{path}" if path else "")
        case events.CaseDocument(document=doc):
            return f"{doc.get('type', '')} {doc.get('number') or ''}".strip()
        case events.CaseStatus(status=status):
            return status
        case events.CaseImport(reason=reason, changes=changes) if changes or reason:
            return _import_line(changes or {}, reason)
        case events.CaseDetach(links=links, reason=reason):
            gone = "、".join(f"{m['recording'][:12]}（{m['activity']}）" for m in links)
            return f"解除关联 {gone}；原因：{reason}"
        case events.CaseDocumentWithdraw(withdrawn=doc, reason=reason):
            return f"撤回文书 {_doc_name(doc)}；原因：{reason}"
        case events.CaseDocumentReplace(replaced=old, document=new, reason=reason):
            return f"以新文书 {_doc_name(new)} 替换原文书 {_doc_name(old)}；原因：{reason}"
        case events.CaseWithdraw(reason=reason):
            return f"原因：{reason}"
        case events.CaseReopen(reason=reason, status=status):
            back = f"恢复为{status}" if status else "撤销的案件恢复"
            return f"{back}；原因：{reason}"
    return ""


def _doc_name(doc: dict[str, Any]) -> str:
    return f"{doc.get('id', '')}（{doc.get('type', '')} {doc.get('number') or ''}".rstrip() + "）"


_IMPORT_PARTS = (("documents_added", "新增文书"), ("documents_changed", "改动文书"),
                 ("documents_withdrawn", "去掉文书"), ("media_added", "新增关联"),
                 ("media_changed", "改动关联"), ("media_detached", "去掉关联"),
                 ("header_changed", "改动案件信息"))  # fmt: skip


def _import_line(changes: dict[str, Any], reason: str | None) -> str:
    parts = []
    for key, name in _IMPORT_PARTS:
        items = changes.get(key) or []
        if items:
            shown = [i if isinstance(i, str) else f"{i[0][:12]}（{i[1]}）" for i in items]
            parts.append(f"{name} {'、'.join(shown)}")
    if changes.get("status"):
        parts.append(f"状态 {changes['status'][0]}→{changes['status'][1]}")
    line = "；".join(parts) or "内容未变"
    return f"{line}；原因：{reason}" if reason else line


# Events of a linked case that concern every recording of it, whatever they name.
CASE_WIDE = frozenset(
    k.kind for k in (events.CaseOpen, events.HoldPlace, events.HoldRelease, events.GrantAdd,
                     events.CaseBundle, events.CaseWithdraw, events.CaseReopen)
)  # fmt: skip


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
    # Every recording the case ever linked, and every case that ever linked the recording:
    # a detach or a withdrawal is shown with the attach it corrects.
    if kind == "case":
        subjects += catalog.recordings_ever_linked(vault, resolved)
    else:
        ever = catalog.cases_ever_linking(vault, resolved)
        ever |= {c["case"] for c in cases_relying_on(vault, resolved)}  # scans of documents
        subjects += [f"case:{c}" for c in sorted(ever)]
    # The log shows each recording's sealed digests: seal first what is not (issue 14).
    require_sealed(vault, [s for s in subjects if not s.startswith("case:")])
    seen: dict[int, Event] = {}
    for s in subjects:
        for ev in events_of(vault, s):
            if kind == "recording" and s != subject and not _mentions(ev, resolved):
                continue  # from a linked case: only what concerns this recording
            seen[ev.seq] = ev
    entries = [
        {"seq": ev.seq, "at": ev.ts, "actor": ev.actor, "kind": ev.kind,
         "what": events.label_of(ev.kind), "subject": ev.subject, "detail": describe(ev),
         "hash": ev.hash}
        for ev in sorted(seen.values(), key=lambda e: e.seq)
    ]  # fmt: skip
    return CustodyLog(resolved, kind, entries)


def _mentions(ev: Event, oid: str) -> bool:
    return ev.kind in CASE_WIDE or oid in json.dumps(ev.data)



def case_history(vault: Vault, case_id: str) -> list[dict[str, Any]]:
    """Every event of a case, corrections and what they corrected included, each with its
    Chinese name (`what`), a line for a person (`detail`) and its `reason` if it has one."""
    get_case(vault, case_id, withdrawn_ok=True)
    return [{**e.as_dict(), "what": events.label_of(e.kind), "detail": describe(e),
             "reason": e.data.get("reason") if isinstance(e.data, dict) else None}
            for e in events_of(vault, f"case:{case_id}")]  # fmt: skip

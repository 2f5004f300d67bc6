"""The custody log (`zfjl log`): who touched a recording or case, when, for what purpose and on
whose authority, as read from the journal."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from zfjl.access.grants import SCOPES
from zfjl.cases.store import cases_relying_on
from zfjl.retention.holds import resolve_target
from zfjl.vault import events
from zfjl.vault.journal import Event, read_events
from zfjl.vault.vault import Vault


def describe(ev: Event) -> str:
    """One line of what an event did, for a person (the custody log's 内容 column)."""
    try:
        data = events.parse(ev.kind, ev.data)
    except events.MalformedEvent:
        return "（日志记录不符合事件声明，见 zfjl verify）"
    match data:
        case events.ObjectAdd(object=obj, recording=rec):
            return f"{(rec or {}).get('original_name', '')}，{obj['size']} 字节"
        case events.ObjectSeen(source_path=path):
            return path
        case events.CaseAttach(links=links):
            return "、".join(f"{m['recording'][:12]}（{m['activity']}）" for m in links)
        case events.HoldPlace(reason=reason, note=note):
            from zfjl.retention.holds import REASONS

            return f"H-{ev.seq} {REASONS.get(reason, reason)} {note or ''}".strip()
        case events.HoldRelease(hold=hold, approval=approval):
            return f"{hold}，批准文号 {approval}"
        case events.GrantAdd() as g:
            return (f"G-{ev.seq} {g.user} {SCOPES[g.scope]}，{g.approved_by} 批准"
                    f"（{g.approval_no}），至 {g.until}")  # fmt: skip
        case events.GrantRevoke(grant=grant, reason=reason):
            return f"{grant} {reason or ''}".strip()
        case events.AccessView(user=user, grant=grant, purpose=purpose) | events.AccessExport(
            user=user, grant=grant, purpose=purpose
        ):
            return f"{user}，依据 {grant}，用途：{purpose or '未说明'}"
        case events.AccessDenial(user=user, action=action, reason=reason):
            return f"{user} 请求{SCOPES.get(action, action)}：{reason}"
        case events.ObjectTombstone(reason=reason, approval=approval, sha256=sha256):
            return f"{reason}；批准 {approval}；SHA-256 {sha256[:16]}…"
        case events.CaseBundle(purpose=purpose, path=path):
            return f"{purpose} {path}".strip()
        case events.CaseDocument(document=doc):
            return f"{doc.get('type', '')} {doc.get('number') or ''}".strip()
        case events.CaseStatus(status=status):
            return status
    return ""


# Events of a linked case that concern every recording of it, whatever they name.
CASE_WIDE = frozenset(
    k.kind for k in (events.CaseOpen, events.HoldPlace, events.HoldRelease, events.GrantAdd,
                     events.CaseBundle)
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
    if kind == "case":
        from zfjl.cases.store import get_case

        case = get_case(vault, resolved)
        subjects += list(dict.fromkeys(m["recording"] for m in case.get("media", [])))
    else:
        subjects += [f"case:{c['case']}" for c in cases_relying_on(vault, resolved)]
    # The log shows each recording's sealed digests: seal first what is not (issue 14).
    from zfjl.vault.seal import require_sealed

    require_sealed(vault, [s for s in subjects if not s.startswith("case:")])
    seen: dict[int, Event] = {}
    for s in subjects:
        for ev in read_events(vault.conn, s):
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


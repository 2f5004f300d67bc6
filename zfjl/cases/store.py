"""Cases in the vault: every change is a journal event (`case.*`), the state a derived row.

Attaching links a recording to a case by id; the object itself is never copied or touched.
The link keeps the recording's time span, kind and lateness as they were catalogued, so a
check needs no join and a case file travels with what it relied on.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from zfjl.cases.doctypes import vault_doctypes
from zfjl.cases.io import parse_case
from zfjl.errors import (
    AmbiguousIdError,
    CaseError,
    CaseFormatError,
    NotFoundError,
    NotPermitted,
    UsageError,
)
from zfjl.vault import events
from zfjl.vault.catalog import link_key
from zfjl.vault.queries import cases as catalog
from zfjl.vault.queries.cases import RecordingFacts, case_exists, no_such_case
from zfjl.vault.queries.journal import events_of
from zfjl.vault.query import ensure_digests, resolve_id
from zfjl.vault.roles import APPROVING_ROLES
from zfjl.vault.vault import Vault, Writer

CATALOG_FACTS = {"device", "from", "to", "recording", "kind", "start", "end", "late", "officer"}


TIME_KEYS = frozenset({"date", "start", "end", "received_at", "opened_at", "from", "to"})


def parse_when(text: str, tz: dt.tzinfo, option: str = "时间") -> dt.datetime:
    """A clerk's date or date-time (bureau time zone unless it carries an offset); `option`
    names it in the message (zfjl.dates: the forms every command accepts)."""
    from zfjl.dates import parse_moment

    return parse_moment(text, option, tz).at


def normalise_times(obj: Any, tz: dt.tzinfo) -> Any:
    """Every date and time the clerk wrote, as ISO 8601 with the offset: checks compare them."""
    if isinstance(obj, dict):
        return {
            k: parse_when(v, tz).isoformat() if k in TIME_KEYS and isinstance(v, str)
            else normalise_times(v, tz)
            for k, v in obj.items()
        }  # fmt: skip
    if isinstance(obj, list):
        return [normalise_times(v, tz) for v in obj]
    return obj


def get_case(vault: Vault, case_id: str, *, withdrawn_ok: bool = False) -> dict[str, Any]:
    """The case as it stands: detached links and withdrawn documents are not in it. A withdrawn
    case is refused (checks, documents and bundles have nothing to do with it) unless
    `withdrawn_ok` (show, export, history, the custody log)."""
    state = catalog.case_state(vault, case_id)
    if state is None:
        raise CaseError(no_such_case(vault, case_id))
    if state.withdrawn and not withdrawn_ok:
        raise CaseError(f"{_withdrawn_line(vault, case_id)}，不再检查、制作文书或打包；"
                        f"用 zfjl case history {case_id} 查看其记录")  # fmt: skip
    return state.data


def withdrawal(vault: Vault, case_id: str) -> dict[str, Any] | None:
    """When, by whom and why a case was withdrawn; None if it is in force."""
    found = catalog.case_withdrawal(vault, case_id)
    return dict(found) if found else None


def corrections(vault: Vault, case_id: str) -> list[dict[str, Any]]:
    """Every correction of a case, oldest first, with the Chinese name of its kind."""
    return [{**r, "what": events.label_of(r["kind"])}
            for r in catalog.case_corrections(vault, case_id)]  # fmt: skip


def show_case(vault: Vault, case_id: str) -> dict[str, Any]:
    """The case as it stands, with its corrections and, if withdrawn, its withdrawal."""
    case = get_case(vault, case_id, withdrawn_ok=True)
    return {**case, "corrections": corrections(vault, case_id),
            "withdrawn": withdrawal(vault, case_id)}  # fmt: skip


def _withdrawn_line(vault: Vault, case_id: str) -> str:
    w = withdrawal(vault, case_id) or {}
    return (f"案件 {case_id} 已于 {str(w.get('at', ''))[:16]} 由 {w.get('actor', '')} 撤销"
            f"（原因：{w.get('reason', '')}）")  # fmt: skip


def require_reason(reason: str | None, what: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise UsageError(f"{what}须用 --reason 写明原因（记入日志）")
    return text


def changeable_case(vault: Vault, case_id: str, what: str) -> dict[str, Any]:
    """The case, if it may be changed: an archived or withdrawn case is refused (exit 8)
    until `case reopen` with a reason."""
    case = get_case(vault, case_id, withdrawn_ok=True)
    if withdrawal(vault, case_id) is not None:
        raise NotPermitted(f"{_withdrawn_line(vault, case_id)}，不能{what}；如属误撤销，"
                           f"先用 zfjl case reopen {case_id} --reason … 恢复")  # fmt: skip
    if case.get("status") == ARCHIVED:
        raise NotPermitted(f"案件 {case_id} 已归档，不能{what}；确需更正的，先由法规科、局长或"
                           f"管理员用 zfjl case reopen {case_id} --reason … 重新启用")  # fmt: skip
    return case


def list_cases(
    vault: Vault, status: str | None = None, *, include_withdrawn: bool = False
) -> list[dict[str, Any]]:
    """The cases in force (with `include_withdrawn`, the withdrawn ones too, marked)."""
    return [dict(r) for r in catalog.case_summaries(vault, status,
                                                    include_withdrawn=include_withdrawn)]  # fmt: skip


def _refuse_taken(vault: Vault, case_id: str) -> None:
    if withdrawal(vault, case_id) is not None:
        raise CaseError(f"{_withdrawn_line(vault, case_id)}；案件编号不得重复使用，如属误撤销，"
                        f"用 zfjl case reopen {case_id} --reason … 恢复")  # fmt: skip
    raise CaseError(f"案件 {case_id} 已存在")


def open_case(vault: Vault, header: dict[str, Any]) -> dict[str, Any]:
    data = {"documents": [], "media": [], "status": "办理中", **header}
    data = parse_case(json.dumps(data, ensure_ascii=False), "案件", doctypes=vault_doctypes(vault))
    data = dict(normalise_times(data, vault.config.tz))
    with vault.writing() as w:
        if case_exists(vault, data["case"]):
            _refuse_taken(vault, data["case"])
        w.append(events.CaseOpen(case=data), f"case:{data['case']}")
    return data


def import_changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What a case file adds, changes and drops against a case's state: document ids, link
    keys (recording, activity, document) and header fields. Only non-empty entries."""
    old_docs = {d["id"]: d for d in old.get("documents", [])}
    new_docs = {d["id"]: d for d in new.get("documents", [])}
    old_links = {link_key(m): m for m in old.get("media", [])}
    new_links = {link_key(m): m for m in new.get("media", [])}
    header = sorted(k for k in (set(old) | set(new)) - {"documents", "media", "status"}
                    if old.get(k) != new.get(k))  # fmt: skip
    changes = {
        "documents_added": [i for i in new_docs if i not in old_docs],
        "documents_changed": [i for i in new_docs if i in old_docs and new_docs[i] != old_docs[i]],
        "documents_withdrawn": [i for i in old_docs if i not in new_docs],
        "media_added": [list(k) for k in new_links if k not in old_links],
        "media_changed": [list(k) for k in new_links
                          if k in old_links and new_links[k] != old_links[k]],
        "media_detached": [list(k) for k in old_links if k not in new_links],
        "header_changed": header,
    }  # fmt: skip
    if old.get("status") != new.get("status"):
        changes["status"] = [old.get("status"), new.get("status")]
    return {k: v for k, v in changes.items() if v}


CORRECTING = ("documents_changed", "documents_withdrawn", "media_changed", "media_detached",
              "header_changed")  # fmt: skip


def import_case(
    vault: Vault, data: dict[str, Any], media_where: Sequence[str] = (), *,
    reason: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Store a case file as the case's new state (the journal keeps every version).
    `media_where` names where each media entry is in the file (`media_locations`), so that
    footage the vault lacks is reported at its line. Over an existing case, a file that only
    adds (documents, links, a new status) is progress; one that changes or drops anything is
    a correction and needs a `reason`; an archived or withdrawn case is refused."""
    data = parse_case(
        json.dumps(data, ensure_ascii=False),
        f"案件 {data.get('case', '')}",
        doctypes=vault_doctypes(vault),
    )
    tz = vault.config.tz
    data = normalise_times(data, tz)
    data.setdefault("status", "办理中")
    data["documents"] = [resolve_scan(vault, d) for d in data.get("documents", [])]
    data["media"] = [
        link
        for i, m in enumerate(data.get("media", []))
        for link in _resolve_at(vault, m, media_where[i] if i < len(media_where) else None)
    ]
    ensure_digests(vault, [m["recording"] for m in data["media"]])
    case_id = data["case"]
    with vault.writing() as w:
        if not case_exists(vault, case_id):
            w.append(events.CaseImport(case=data), f"case:{case_id}")
        else:
            _reimport(vault, w, case_id, data, reason)
    # A case file links like `attach`: shipped footage gets the case's lock in the store.
    _extend_store_locks(vault, [m["recording"] for m in data["media"]])
    return data


def _reimport(vault: Vault, w: Writer, case_id: str, data: dict[str, Any], reason: str | None) -> None:
    """The new state of an existing case: progress, or a correction that needs a reason."""
    old = changeable_case(vault, case_id, "以案件文件覆盖")
    changes = import_changes(old, data)
    why = None
    if any(k in changes for k in CORRECTING):
        what = "、".join(_CHANGE_NAMES[k] for k in CORRECTING if k in changes)
        why = require_reason(reason, f"案件文件更改了现有案件 {case_id} 的内容（{what}），"
                                     "导入即更正，")  # fmt: skip
    elif reason and reason.strip():
        why = reason.strip()
    w.append(events.CaseImport(case=data, reason=why, changes=changes), f"case:{case_id}")


_CHANGE_NAMES = {"documents_changed": "改动文书", "documents_withdrawn": "去掉文书",
                 "media_changed": "改动音像记录关联", "media_detached": "去掉音像记录关联",
                 "header_changed": "改动案件信息"}  # fmt: skip


def add_document(
    vault: Vault, case_id: str, doc: dict[str, Any], *, reason: str | None = None
) -> dict[str, Any]:
    """Add a document; one whose id the case has already replaces that version, which is a
    correction: it needs a `reason`, and the version replaced stays in the journal."""
    case = changeable_case(vault, case_id, "添加或替换文书")
    if not isinstance(doc, dict) or not doc.get("id"):
        raise CaseFormatError("文书应为一个含 id（代号）、type 等字段的映射")
    old = next((d for d in case["documents"] if d["id"] == doc["id"]), None)
    candidate = {
        **case,
        "documents": [doc if d["id"] == doc["id"] else d for d in case["documents"]]
        + ([] if old is not None else [doc]),
    }
    parse_case(
        json.dumps(candidate, ensure_ascii=False), f"案件 {case_id}", doctypes=vault_doctypes(vault)
    )
    doc = resolve_scan(vault, normalise_times(doc, vault.config.tz))
    event: events.EventData = events.CaseDocument(case=case_id, document=doc)
    if old is not None:
        why = require_reason(reason, f"案件 {case_id} 已有代号为 {doc['id']} 的文书"
                                     f"（{old.get('type', '')}），替换即更正，")  # fmt: skip
        event = events.CaseDocumentReplace(case=case_id, document=doc, replaces=doc["id"],
                                           replaced=old, reason=why)
    vault.record(event, f"case:{case_id}")
    return doc


def withdraw_document(vault: Vault, case_id: str, doc_id: str, reason: str | None) -> dict[str, Any]:
    """Take a document off a case (the journal keeps it). Refused while a 送达回证 serves it or
    a link names it: withdraw or detach those first, each with its reason."""
    why = require_reason(reason, "撤回文书")
    case = changeable_case(vault, case_id, "撤回文书")
    doc: dict[str, Any] | None = next((d for d in case["documents"] if d["id"] == doc_id), None)
    if doc is None:
        raise CaseError(f"案件 {case_id} 没有代号为 {doc_id} 的文书（用 zfjl case show {case_id} 查看）")
    users = [f"送达回证 {d['id']}" for d in case["documents"] if d.get("serves") == doc_id]
    users += [f"音像记录 {m['recording'][:12]}（{m['activity']}）"
              for m in case.get("media", []) if m.get("document") == doc_id]  # fmt: skip
    if users:
        raise CaseError(f"文书 {doc_id} 仍被 {'、'.join(users)} 引用：先撤回送达回证或用 zfjl detach"
                        " 解除关联，再撤回此文书")  # fmt: skip
    vault.record(events.CaseDocumentWithdraw(case=case_id, document=doc_id, withdrawn=doc,
                                             reason=why), f"case:{case_id}")  # fmt: skip
    return doc


STATUSES = ("办理中", "已结案", "已归档")
ARCHIVED = "已归档"


def set_status(vault: Vault, case_id: str, status: str) -> None:
    if status not in STATUSES:
        raise UsageError(f"案件状态只能是：{'、'.join(STATUSES)}")
    changeable_case(vault, case_id, "变更状态")
    vault.record(events.CaseStatus(case=case_id, status=status), f"case:{case_id}")


def withdraw_case(vault: Vault, case_id: str, reason: str | None) -> dict[str, Any]:
    """撤销立案 / 撤回误导入: the case leaves `case ls` and `check --all`; its history, its
    custody log and its number stay. 法规科, 局长 or an administrator only: a withdrawn case is
    out of supervision (arts. 53, 54)."""
    why = require_reason(reason, "撤销案件")
    vault.require_role(APPROVING_ROLES, "撤销案件")
    changeable_case(vault, case_id, "撤销")
    vault.record(events.CaseWithdraw(case=case_id, reason=why), f"case:{case_id}")
    return withdrawal(vault, case_id) or {}


def reopen_case(vault: Vault, case_id: str, reason: str | None) -> dict[str, Any]:
    """Make an archived case changeable again (back to the status it had before archiving),
    or restore a withdrawn one. 法规科, 局长 or an administrator (art. 40: the archive is kept
    by the bureau, not by the clerk who made the file)."""
    why = require_reason(reason, "重新启用案件")
    vault.require_role(APPROVING_ROLES, "重新启用案件")
    case = get_case(vault, case_id, withdrawn_ok=True)
    withdrawn = withdrawal(vault, case_id) is not None
    if not withdrawn and case.get("status") != ARCHIVED:
        raise UsageError(f"案件 {case_id} 未归档，也未撤销（状态：{case.get('status')}），无需重新启用")
    status = None if withdrawn else _status_before_archiving(vault, case_id)
    vault.record(events.CaseReopen(case=case_id, reason=why, status=status), f"case:{case_id}")
    return get_case(vault, case_id)


def _status_before_archiving(vault: Vault, case_id: str) -> str:
    before, current = "已结案", None
    for ev in events_of(vault, f"case:{case_id}"):
        data = events.parse(ev.kind, ev.data)
        match data:
            case events.CaseOpen(case=c) | events.CaseImport(case=c):
                new = str(c.get("status", "办理中"))
            case events.CaseStatus(status=st) | events.CaseReopen(status=str() as st):
                new = st
            case _:
                continue
        if new == ARCHIVED and current not in (None, ARCHIVED):
            before = current
        current = new
    return before


def attach(
    vault: Vault,
    case_id: str,
    *,
    recordings: list[str] | None = None,
    device: str | None = None,
    since: str | None = None,
    until: str | None = None,
    activity: str,
    proves: str | None = None,
    document: str | None = None,
    maker: str | None = None,
    transcript: str | None = None,
) -> list[dict[str, Any]]:
    """Link recordings to a case; `maker` (制作人) and `transcript` (a sound recording's text,
    or the code of the document holding it) are art. 38's, kept in each link as a case
    file's media entry keeps them (journaled in `case.attach`'s links; empty ones omitted)."""
    case = changeable_case(vault, case_id, "关联音像记录")
    if document and document not in {d["id"] for d in case["documents"]}:
        raise CaseError(f"案件 {case_id} 没有代号为 {document} 的文书")
    base = {"activity": activity, "proves": proves, "document": document, "maker": maker,
            "transcript": transcript}  # fmt: skip
    links: list[dict[str, Any]] = []
    for rec in recordings or []:
        links.extend(resolve_media(vault, {**base, "recording": rec}))
    if device:
        links.extend(resolve_media(vault, {**base, "device": device, "from": since, "to": until}))
    if not links:
        raise CaseError("请指定要附加的录音录像编号，或 --device 与 --from/--to 时间段")
    ensure_digests(vault, [m["recording"] for m in links])
    vault.record(events.CaseAttach(case=case_id, links=links), f"case:{case_id}")
    _extend_store_locks(vault, [m["recording"] for m in links])
    return links


def _extend_store_locks(vault: Vault, oids: list[str]) -> None:
    """A bureau vault: the case's longer period reaches the S3 lock of what is shipped
    (what is not yet shipped is locked for it when `zfjl sync` ships it)."""
    from zfjl.vault.bureau import reconcile_locks

    reconcile_locks(vault, oids)


def detach(
    vault: Vault, case_id: str, recordings: Sequence[str], *, reason: str | None,
    activity: str | None = None, document: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Take links off a case: every link of each named recording (an id or a prefix unique
    among the case's links), narrowed by `activity` and `document`. The recording is never
    touched; the attach stays in the history and the custody log, with this correction."""
    why = require_reason(reason, "解除关联")
    case = changeable_case(vault, case_id, "解除关联")
    if not recordings:
        raise UsageError("请指定要解除关联的录音录像编号（或唯一前缀）")
    media = case.get("media", [])
    chosen: list[dict[str, Any]] = []
    for given in recordings:
        prefix = given.strip().lower()
        if len(prefix) < 4 or any(c not in "0123456789abcdef" for c in prefix):
            raise UsageError(f"编号 {given!r} 不对：至少 4 位十六进制字符（BLAKE3 摘要或其唯一前缀）")
        ids = sorted({m["recording"] for m in media if m["recording"].startswith(prefix)})
        if not ids:
            raise CaseError(f"案件 {case_id} 没有关联录音录像 {prefix}（用 zfjl case show {case_id} 查看）")
        if len(ids) > 1:
            raise AmbiguousIdError(f"编号前缀 {prefix} 在案件 {case_id} 中对应 {len(ids)} 条录音录像："
                                   f"{'、'.join(i[:12] for i in ids)}，请写得更长")  # fmt: skip
        links = [m for m in media if m["recording"] == ids[0]
                 and (activity is None or m.get("activity") == activity)
                 and (document is None or (m.get("document") or "") == document)]  # fmt: skip
        if not links:
            narrowed = "、".join(x for x in (activity and f"活动 {activity}",
                                             document and f"文书 {document}") if x)  # fmt: skip
            raise CaseError(f"录音录像 {ids[0][:12]} 与案件 {case_id} 没有{narrowed}的关联")
        chosen += [m for m in links if m not in chosen]
    vault.record(events.CaseDetach(case=case_id, links=chosen, reason=why), f"case:{case_id}")
    return chosen


def resolve_scan(vault: Vault, doc: dict[str, Any]) -> dict[str, Any]:
    """The scan of the signed paper document is an object already in the vault (ingested like
    any file); the case keeps its full id."""
    if not doc.get("scan"):
        return doc
    try:
        return {**doc, "scan": resolve_id(vault, doc["scan"])}
    except NotFoundError:
        raise CaseError(
            f"文书 {doc['id']} 的扫描件 {doc['scan']} 不在保管库中（请先用 zfjl ingest 存入扫描件）"
        ) from None


def _link(rec: RecordingFacts, extra: dict[str, Any]) -> dict[str, Any]:
    start = rec["recorded_at"]
    end = None
    if start and rec["duration"]:
        end = (dt.datetime.fromisoformat(start) + dt.timedelta(seconds=rec["duration"])).isoformat()
    # What the catalog knows (kind, span, lateness…) always comes from the catalog, never
    # from the file: an exported case re-imported cannot rewrite a recording's facts.
    keep = {k: v for k, v in extra.items() if k not in CATALOG_FACTS and v}
    return {
        "recording": rec["id"],
        "kind": rec["kind"],
        "start": start,
        "end": end or start,
        "device": rec["device"],
        "officer": rec["rec_officer"],
        "late": None if rec["late"] is None else bool(rec["late"]),
        **keep,
    }


def _resolve_at(vault: Vault, entry: dict[str, Any], where: str | None) -> list[dict[str, Any]]:
    try:
        return resolve_media(vault, entry)
    except CaseError as exc:
        if where is None:
            raise
        raise CaseError(f"{where}：{exc.message}") from None


def resolve_media(vault: Vault, sel: dict[str, Any]) -> list[dict[str, Any]]:
    """A media entry of a case file → links to catalogued recordings (by id, or by device and
    time window: every recording of that device overlapping the window)."""
    from zfjl.dates import chinese_time

    if sel.get("recording"):
        try:
            oid = resolve_id(vault, sel["recording"])
        except NotFoundError:
            raise CaseError(
                f"要附加的录音录像 {sel['recording']} 不在保管库中（请先入库）"
            ) from None
        facts = catalog.recording_facts(vault, oid)
        assert facts is not None, "resolve_id names a catalogued recording"
        return [_link(facts, sel)]
    tz = vault.config.tz
    if not sel.get("from") or not sel.get("to"):
        raise CaseError("按设备附加时须同时给出 --from 与 --to")
    lo, hi = parse_when(sel["from"], tz), parse_when(sel["to"], tz)
    # Recordings may start before the window and run into it: look back a day, then overlap.
    candidates = catalog.device_recordings_starting(
        vault, sel["device"], (lo - dt.timedelta(days=1)).isoformat(), hi.isoformat()
    )
    links = []
    for rec in candidates:
        start = dt.datetime.fromisoformat(str(rec["recorded_at"]))
        end = start + dt.timedelta(seconds=rec["duration"] or 0)
        if end >= lo and start < hi:
            links.append(_link(rec, sel))
    if not links:
        raise CaseError(
            f"保管库中没有设备 {sel['device']} 在 {chinese_time(sel['from'], tz)} 至 "
            f"{chinese_time(sel['to'], tz)} 之间的录音录像"
        )
    return links

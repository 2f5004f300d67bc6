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
from zfjl.errors import CaseError, NotFoundError, UsageError
from zfjl.vault import events
from zfjl.vault.query import ensure_digests, resolve_id
from zfjl.vault.vault import Vault

CATALOG_FACTS = {"device", "from", "to", "recording", "kind", "start", "end", "late", "officer"}


TIME_KEYS = frozenset({"date", "start", "end", "received_at", "opened_at", "from", "to"})


def parse_when(text: str, tz: dt.tzinfo) -> dt.datetime:
    """A clerk's date or date-time (bureau time zone unless it carries an offset)."""
    try:
        when = dt.datetime.fromisoformat(str(text).strip().replace(" ", "T"))
    except ValueError:
        raise UsageError(f"时间 {text!r} 格式不对，应写作 2024-05-06 或 2024-05-06T10:32") from None
    return when if when.tzinfo else when.replace(tzinfo=tz)


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


def case_exists(vault: Vault, case_id: str) -> bool:
    return vault.conn.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone() is not None


def no_such_case(vault: Vault, case_id: str) -> str:
    """The message for an unknown case number, with the nearest ones (a typo, a lower case)."""
    import difflib

    known = [r[0] for r in vault.conn.execute("SELECT id FROM cases")]
    by_upper = {k.upper(): k for k in known}
    near = difflib.get_close_matches(case_id.upper(), list(by_upper), n=3, cutoff=0.75)
    hint = f"；是否要找：{'、'.join(by_upper[n] for n in near)}" if near else ""
    return f"没有案件 {case_id}{hint}（用 zfjl case ls 查看已有案件）"


def get_case(vault: Vault, case_id: str) -> dict[str, Any]:
    row = vault.conn.execute("SELECT data FROM cases WHERE id = ?", (case_id,)).fetchone()
    if row is None:
        raise CaseError(no_such_case(vault, case_id))
    return json.loads(row[0])  # type: ignore[no-any-return]


# The objects a case relies on: its linked recordings and the scans of its signed documents.
_SCANS = (
    "SELECT c.id AS case_id, json_extract(d.value, '$.scan') AS object_id"
    " FROM cases c, json_each(c.data, '$.documents') d"
    " WHERE json_extract(d.value, '$.scan') IS NOT NULL"
)


def evidence_objects(vault: Vault) -> set[str]:
    """Every object some case relies on (never swept: art. 42 ¶2)."""
    rows = vault.conn.execute(
        f"SELECT recording_id FROM case_media UNION SELECT object_id FROM ({_SCANS})"
    )
    return {r[0] for r in rows}


def cases_relying_on(vault: Vault, oid: str) -> list[dict[str, Any]]:
    rows = vault.conn.execute(
        "SELECT data FROM cases WHERE id IN (SELECT case_id FROM case_media WHERE recording_id = ?"
        f" UNION SELECT case_id FROM ({_SCANS}) WHERE object_id = ?) ORDER BY id",
        (oid, oid),
    )
    return [json.loads(r[0]) for r in rows]


def list_cases(vault: Vault, status: str | None = None) -> list[dict[str, Any]]:
    sql = "SELECT id, kind, procedure, cause, party, origin, status, opened_at FROM cases"
    params: list[Any] = []
    if status:
        sql += " WHERE status = ?"
        params.append(status)
    return list(vault.db.query(sql + " ORDER BY id", params))


def open_case(vault: Vault, header: dict[str, Any]) -> dict[str, Any]:
    data = {"documents": [], "media": [], "status": "办理中", **header}
    data = parse_case(json.dumps(data, ensure_ascii=False), "案件", doctypes=vault_doctypes(vault))
    data = dict(normalise_times(data, vault.config.tz))
    with vault.writing() as w:
        if case_exists(vault, data["case"]):
            raise CaseError(f"案件 {data['case']} 已存在")
        w.append(events.CaseOpen(case=data), f"case:{data['case']}")
    return data


def import_case(
    vault: Vault, data: dict[str, Any], media_where: Sequence[str] = ()
) -> dict[str, Any]:
    """Store a case file as the case's new state (the journal keeps every version).
    `media_where` names where each media entry is in the file (`media_locations`), so that
    footage the vault lacks is reported at its line."""
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
    vault.record(events.CaseImport(case=data), f"case:{data['case']}")
    return data


def add_document(vault: Vault, case_id: str, doc: dict[str, Any]) -> dict[str, Any]:
    case = get_case(vault, case_id)
    candidate = {
        **case,
        "documents": [d for d in case["documents"] if d["id"] != doc["id"]] + [doc],
    }
    parse_case(
        json.dumps(candidate, ensure_ascii=False), f"案件 {case_id}", doctypes=vault_doctypes(vault)
    )
    doc = resolve_scan(vault, normalise_times(doc, vault.config.tz))
    vault.record(events.CaseDocument(case=case_id, document=doc), f"case:{case_id}")
    return doc


STATUSES = ("办理中", "已结案", "已归档")


def set_status(vault: Vault, case_id: str, status: str) -> None:
    if status not in STATUSES:
        raise UsageError(f"案件状态只能是：{'、'.join(STATUSES)}")
    get_case(vault, case_id)
    vault.record(events.CaseStatus(case=case_id, status=status), f"case:{case_id}")


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
) -> list[dict[str, Any]]:
    case = get_case(vault, case_id)
    if document and document not in {d["id"] for d in case["documents"]}:
        raise CaseError(f"案件 {case_id} 没有代号为 {document} 的文书")
    base = {"activity": activity, "proves": proves, "document": document}
    links: list[dict[str, Any]] = []
    for rec in recordings or []:
        links.extend(resolve_media(vault, {**base, "recording": rec}))
    if device:
        links.extend(resolve_media(vault, {**base, "device": device, "from": since, "to": until}))
    if not links:
        raise CaseError("请指定要附加的录音录像编号，或 --device 与 --from/--to 时间段")
    ensure_digests(vault, [m["recording"] for m in links])
    vault.record(events.CaseAttach(case=case_id, links=links), f"case:{case_id}")
    return links


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


def _link(rec: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
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
        "officer": rec["officer"],
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
    cols = "id, kind, recorded_at, duration, device, officer, late"
    if sel.get("recording"):
        try:
            oid = resolve_id(vault, sel["recording"])
        except NotFoundError:
            raise CaseError(
                f"要附加的录音录像 {sel['recording']} 不在保管库中（请先入库）"
            ) from None
        rows = list(vault.db.query(f"SELECT {cols} FROM recordings WHERE id = ?", [oid]))
        return [_link(rows[0], sel)]
    tz = vault.config.tz
    if not sel.get("from") or not sel.get("to"):
        raise CaseError("按设备附加时须同时给出 --from 与 --to")
    lo, hi = parse_when(sel["from"], tz), parse_when(sel["to"], tz)
    # Recordings may start before the window and run into it: look back a day, then overlap.
    candidates = vault.db.query(
        f"SELECT {cols} FROM recordings WHERE device = ? AND recorded_at >= ? AND recorded_at < ?"
        " ORDER BY recorded_at",
        [sel["device"], (lo - dt.timedelta(days=1)).isoformat(), hi.isoformat()],
    )
    links = []
    for rec in candidates:
        start = dt.datetime.fromisoformat(rec["recorded_at"])
        end = start + dt.timedelta(seconds=rec["duration"] or 0)
        if end >= lo and start < hi:
            links.append(_link(rec, sel))
    if not links:
        raise CaseError(
            f"保管库中没有设备 {sel['device']} 在 {sel['from']} 至 {sel['to']} 之间的录音录像"
        )
    return links


def history(vault: Vault, case_id: str) -> list[dict[str, Any]]:
    get_case(vault, case_id)
    from zfjl.vault.journal import read_events

    return [e.as_dict() for e in read_events(vault.conn, f"case:{case_id}")]

"""The catalog's answers about cases: their state, corrections and withdrawal, which objects
they rely on, and the recordings a case file's media entry names.

Shared by cases, access and retention (holds, grants and the custody log ask whether a case
exists and what it relies on): they import these from here, below all of them.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypedDict, cast

from zfjl.errors import NotFoundError
from zfjl.vault import events
from zfjl.vault.queries.devices import officer_columns
from zfjl.vault.query import resolve_id
from zfjl.vault.vault import Vault


@dataclass(frozen=True)
class CaseState:
    """A case's derived row: its data as it stands and whether it was withdrawn."""

    data: dict[str, Any]
    withdrawn: bool


class Withdrawal(TypedDict):
    seq: int
    at: str
    actor: str
    reason: str


class Correction(TypedDict):
    seq: int
    kind: str
    target: str | None
    reason: str | None
    at: str
    actor: str


class CaseSummary(TypedDict):
    id: str
    kind: str | None
    procedure: str | None
    cause: str | None
    party: str | None
    origin: str | None
    status: str
    opened_at: str | None
    withdrawn_at: str | None
    withdraw_reason: str | None


class RecordingFacts(TypedDict):
    """What a case link keeps of a catalogued recording (the officer as derived everywhere)."""

    id: str
    kind: str | None
    recorded_at: str | None
    duration: float | None
    device: str | None
    rec_officer: str | None
    officer_source: str
    late: int | None


def case_exists(vault: Vault, case_id: str) -> bool:
    return vault.conn.execute("SELECT 1 FROM cases WHERE id = ?", (case_id,)).fetchone() is not None


def no_such_case(vault: Vault, case_id: str) -> str:
    """The message for an unknown case number, with the nearest ones (a typo, a lower case)."""
    known = [r[0] for r in vault.conn.execute("SELECT id FROM cases")]
    by_upper = {k.upper(): k for k in known}
    near = difflib.get_close_matches(case_id.upper(), list(by_upper), n=3, cutoff=0.75)
    hint = f"；是否要找：{'、'.join(by_upper[n] for n in near)}" if near else ""
    return f"没有案件 {case_id}{hint}（用 zfjl case ls 查看已有案件）"


def resolve_target(vault: Vault, target: str) -> tuple[str, str, str]:
    """A case id or a recording id (prefix) -> (journal subject, target, kind): what holds,
    grants and the custody log are placed on."""
    if case_exists(vault, target):
        return f"case:{target}", target, "case"
    if target.upper().startswith("CASE-"):
        raise NotFoundError(no_such_case(vault, target))
    oid = resolve_id(vault, target)
    return oid, oid, "recording"


def case_state(vault: Vault, case_id: str) -> CaseState | None:
    """The case's data as it stands and whether it is withdrawn; None for an unknown case."""
    row = vault.conn.execute(
        "SELECT data, withdrawn_seq FROM cases WHERE id = ?", (case_id,)
    ).fetchone()
    return None if row is None else CaseState(json.loads(row[0]), row[1] is not None)


def case_withdrawal(vault: Vault, case_id: str) -> Withdrawal | None:
    """When, by whom and why a case was withdrawn; None if it is in force."""
    rows = list(vault.query(
        "SELECT k.seq, k.at, k.actor, k.reason FROM cases c JOIN case_corrections k"
        " ON k.seq = c.withdrawn_seq WHERE c.id = ?", [case_id]))  # fmt: skip
    return cast(Withdrawal, rows[0]) if rows else None


def case_corrections(vault: Vault, case_id: str) -> list[Correction]:
    """Every correction of a case, oldest first."""
    rows = vault.query(
        "SELECT seq, kind, target, reason, at, actor FROM case_corrections WHERE case_id = ?"
        " ORDER BY seq", [case_id])  # fmt: skip
    return [cast(Correction, r) for r in rows]


def case_summaries(
    vault: Vault, status: str | None = None, *, include_withdrawn: bool = False
) -> list[CaseSummary]:
    """One row per case in force (with `include_withdrawn`, the withdrawn ones too), by id."""
    sql = (
        "SELECT c.id, c.kind, c.procedure, c.cause, c.party, c.origin, c.status, c.opened_at,"
        " k.at AS withdrawn_at, k.reason AS withdraw_reason FROM cases c"
        " LEFT JOIN case_corrections k ON k.seq = c.withdrawn_seq WHERE 1 = 1"
    )
    params: list[Any] = []
    if status:
        sql += " AND c.status = ?"
        params.append(status)
    if not include_withdrawn:
        sql += " AND c.withdrawn_seq IS NULL"
    rows = vault.query(sql + " ORDER BY c.id", params)
    return [cast(CaseSummary, r) for r in rows]


def cases_to_check(
    vault: Vault, *, include_closed: bool = False, include_withdrawn: bool = False
) -> Iterator[dict[str, Any]]:
    """Each case's data, streamed in id order: open ones (archived too with `include_closed`),
    withdrawn ones only with `include_withdrawn`."""
    sql = "SELECT data FROM cases WHERE 1 = 1"
    sql += "" if include_closed else " AND status != '已归档'"
    sql += "" if include_withdrawn else " AND withdrawn_seq IS NULL"
    for (data,) in vault.conn.execute(sql + " ORDER BY id"):
        yield json.loads(data)


# The objects a case relies on: its linked recordings and the scans of its signed documents.
_SCANS = "SELECT case_id, object_id FROM case_scans"
# The scan of every version of every document ever journaled (withdrawn and replaced ones too).
_DOCUMENT_KINDS = tuple(k.kind for k in (events.CaseOpen, events.CaseImport, events.CaseDocument,
                                         events.CaseDocumentReplace, events.CaseDocumentWithdraw))  # fmt: skip
_SCANS_EVER = (
    "SELECT value FROM journal_refs"
    f" WHERE kind IN ({', '.join('?' for _ in _DOCUMENT_KINDS)}) AND key = 'scan'"
)


def evidence_objects(vault: Vault) -> set[str]:
    """Every object some case relies on (never swept: art. 42 ¶2). A recording once linked
    stays so after a detach or the case's withdrawal: a correction is no approval to destroy."""
    rows = vault.conn.execute(
        f"SELECT recording_id FROM case_links_ever UNION SELECT object_id FROM ({_SCANS}) AS s"
        f" UNION {_SCANS_EVER}", _DOCUMENT_KINDS,
    )  # fmt: skip
    return {r[0] for r in rows}


def cases_relying_on(vault: Vault, oid: str) -> list[dict[str, Any]]:
    """The data of every case linking `oid` or naming it as a document's scan, by id."""
    rows = vault.conn.execute(
        "SELECT data FROM cases WHERE id IN (SELECT case_id FROM case_media WHERE recording_id = ?"
        f" UNION SELECT case_id FROM ({_SCANS}) AS s WHERE object_id = ?) ORDER BY id",
        (oid, oid),
    )
    return [json.loads(r[0]) for r in rows]


def recordings_ever_linked(vault: Vault, case_id: str) -> list[str]:
    """Every recording the case ever linked (detached ones too), by id."""
    rows = vault.conn.execute(
        "SELECT recording_id FROM case_links_ever WHERE case_id = ? ORDER BY recording_id",
        (case_id,))  # fmt: skip
    return [r[0] for r in rows]


def cases_ever_linking(vault: Vault, oid: str) -> set[str]:
    """Every case that ever linked the recording (detached or withdrawn since too)."""
    rows = vault.conn.execute(
        "SELECT case_id FROM case_links_ever WHERE recording_id = ?", (oid,))  # fmt: skip
    return {r[0] for r in rows}


def _recording_columns() -> str:
    # The officer as derived everywhere (file name, else the registry's assignment then).
    return f"r.id, r.kind, r.recorded_at, r.duration, r.device, {officer_columns('r')}, r.late"


def recording_facts(vault: Vault, oid: str) -> RecordingFacts | None:
    """The catalogued facts a case link keeps of one recording; None if it is not one."""
    rows = list(vault.query(
        f"SELECT {_recording_columns()} FROM recordings r WHERE r.id = ?", [oid]))  # fmt: skip
    return cast(RecordingFacts, rows[0]) if rows else None


def device_recordings_starting(
    vault: Vault, device: str, since: str, before: str
) -> list[RecordingFacts]:
    """The device's recordings that start in [since, before), in time order."""
    rows = vault.query(
        f"SELECT {_recording_columns()} FROM recordings r WHERE r.device = ?"
        " AND r.recorded_at >= ? AND r.recorded_at < ? ORDER BY r.recorded_at",
        [device, since, before],
    )
    return [cast(RecordingFacts, r) for r in rows]


def skewed_recordings(vault: Vault, ids: list[str] | None = None) -> frozenset[str]:
    """Recordings ingest flagged for clock skew (all of them, or those among `ids`)."""
    sql = "SELECT id FROM recordings WHERE clock_skew != 0"
    if ids is None:
        return frozenset(r[0] for r in vault.conn.execute(sql))
    if not ids:
        return frozenset()
    marks = ",".join("?" * len(ids))
    return frozenset(r[0] for r in vault.conn.execute(f"{sql} AND id IN ({marks})", ids))

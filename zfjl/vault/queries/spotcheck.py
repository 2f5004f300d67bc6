"""Spot checks' questions (art. 53): a unit's month to draw from, the draws journaled, the
items drawn with their results (the catalog's `spotcheck_items`), and what an item shows."""

from __future__ import annotations

import json
from typing import Any, NamedTuple, TypedDict, cast

from zfjl.vault import events
from zfjl.vault.queries.devices import officer_columns
from zfjl.vault.vault import Vault


class RecordingToCheck(TypedDict):
    device: str | None
    officer: str | None
    officer_source: str
    recorded_at: str | None
    duration: float | None
    original_name: str | None


class CaseToCheck(TypedDict):
    cause: str
    party: str
    status: str


class ItemResult(TypedDict):
    result: str | None
    failed: list[str]  # the checklist keys found wanting
    note: str | None
    checker: str | None
    checked_at: str | None


class DrawnItem(NamedTuple):
    draw: str  # SC-12
    item: str  # a recording's or a case's id
    item_kind: str  # recording, case


class DrawJournaled(NamedTuple):
    drawn_at: str
    drawn_by: str
    data: dict[str, Any]  # the spotcheck.draw event's payload


class LedgerRow(TypedDict):
    """One item drawn, in the order the ledger shows its fields."""

    draw: str
    item: str
    item_kind: str
    unit: str
    period: str
    drawn_at: str
    result: str | None
    failed: list[str]
    note: str | None
    checker: str | None
    checked_at: str | None
    device: str | None  # recordings only
    recorded_at: str | None
    cause: str | None  # case files only
    officer: str | None


def recording_to_check(vault: Vault, recording_id: str) -> RecordingToCheck | None:
    row = vault.conn.execute(
        f"SELECT r.device, {officer_columns('r')}, r.recorded_at, r.duration, r.original_name"
        " FROM recordings r WHERE r.id = ?", (recording_id,)).fetchone()  # fmt: skip
    if row is None:
        return None
    device, officer, source, recorded_at, duration, name = row
    return RecordingToCheck(device=device, officer=officer, officer_source=source,
                            recorded_at=recorded_at, duration=duration, original_name=name)  # fmt: skip


def case_to_check(vault: Vault, case_id: str) -> CaseToCheck | None:
    row = vault.conn.execute(
        "SELECT cause, party, status FROM cases WHERE id = ?", (case_id,)
    ).fetchone()
    return CaseToCheck(cause=row[0], party=row[1], status=row[2]) if row else None


def item_result(vault: Vault, draw_id: str, item_id: str) -> ItemResult | None:
    """The item's result as recorded in the draw (None: not drawn there)."""
    row = vault.conn.execute(
        "SELECT result, failed, note, checker, checked_at FROM spotcheck_items"
        " WHERE draw = ? AND item = ?", (draw_id, item_id)).fetchone()  # fmt: skip
    if row is None:
        return None
    return ItemResult(result=row[0], failed=json.loads(row[1]) if row[1] else [], note=row[2],
                      checker=row[3], checked_at=row[4])  # fmt: skip


def unit_recordings(vault: Vault, unit: str, start_day: str, end_day: str) -> list[str]:
    """Ids of the videos and audio the unit's devices recorded on [start_day, end_day), not
    destroyed, by id."""
    return [r[0] for r in vault.conn.execute(
        "SELECT r.id FROM recordings r JOIN devices d ON d.id = r.device"
        " WHERE d.unit = ? AND r.kind IN ('video', 'audio')"
        " AND substr(r.recorded_at, 1, 10) >= ? AND substr(r.recorded_at, 1, 10) < ?"
        " AND r.id NOT IN (SELECT id FROM tombstones) ORDER BY r.id",
        (unit, start_day, end_day))]  # fmt: skip


def unit_cases_opened(vault: Vault, unit: str, start_day: str, end_day: str) -> list[str]:
    """Ids of the unit's cases opened on [start_day, end_day), not withdrawn, by id."""
    return [r[0] for r in vault.conn.execute(
        "SELECT id FROM cases WHERE unit = ? AND withdrawn_seq IS NULL"
        " AND substr(opened_at, 1, 10) >= ? AND substr(opened_at, 1, 10) < ? ORDER BY id",
        (unit, start_day, end_day))]  # fmt: skip


def journaled_draw(vault: Vault, seq: int) -> DrawJournaled | None:
    """The spotcheck.draw event journaled at `seq` (None: no draw there)."""
    row = vault.conn.execute(
        "SELECT ts, actor, data FROM journal WHERE kind = ? AND seq = ?",
        (events.SpotcheckDraw.kind, seq),
    ).fetchone()
    return DrawJournaled(row[0], row[1], json.loads(row[2])) if row else None


def items_drawn(vault: Vault, item: str, draw_id: str | None = None) -> list[DrawnItem]:
    """The items drawn whose id is `item` or (4 characters or more) starts with it, in the
    given draw or any, the latest draw first."""
    sql = "SELECT draw, item, item_kind FROM spotcheck_items WHERE (item = ? OR item LIKE ?)"
    params: list[Any] = [item, f"{item.lower()}%" if len(item) >= 4 else item]
    if draw_id:
        sql += " AND draw = ?"
        params.append(draw_id)
    rows = vault.conn.execute(sql + " ORDER BY CAST(substr(draw, 4) AS INTEGER) DESC", params)
    return [DrawnItem(*r) for r in rows]


LEDGER_ITEM_COLUMNS = ("draw", "item", "item_kind", "unit", "period", "drawn_at", "result",
                       "failed", "note", "checker", "checked_at")  # fmt: skip


def ledger_rows(vault: Vault, unit: str | None = None, period: str | None = None) -> list[LedgerRow]:
    """Every item drawn (of the unit, of the month 'YYYY-MM', if given) in the order drawn,
    with the recording's device, officer and time or the case's cause."""
    where: list[str] = []
    params: list[str] = []
    if unit:
        where.append("s.unit = ?")
        params.append(unit)
    if period:
        where.append("s.period = ?")
        params.append(period)
    sql = (
        f"SELECT {', '.join('s.' + c for c in LEDGER_ITEM_COLUMNS)}, r.device, r.recorded_at,"
        f" c.cause, {officer_columns('r')} FROM spotcheck_items s"
        " LEFT JOIN recordings r ON r.id = s.item LEFT JOIN cases c ON c.id = s.item"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY s.drawn_at, s.draw, s.item_kind DESC, s.item"
    )
    rows = []
    for r in vault.conn.execute(sql, params):
        row: dict[str, Any] = dict(zip(LEDGER_ITEM_COLUMNS, r, strict=False))
        row["failed"] = json.loads(row["failed"]) if row["failed"] else []
        n = len(LEDGER_ITEM_COLUMNS)
        row.update(device=r[n], recorded_at=r[n + 1], cause=r[n + 2],
                   officer=r[n + 3])  # None for a case file (no recordings row)  # fmt: skip
        rows.append(cast(LedgerRow, row))
    return rows

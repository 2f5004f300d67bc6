"""The draw: every candidate of a unit's month ranked by SHA-256("seed:id"), the lowest drawn —
reproducible by anyone from the journaled seed and population."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from zfjl.dates import month_text, parse_month
from zfjl.errors import NotFoundError, UsageError
from zfjl.spotcheck.checklist import checked_item
from zfjl.vault import events
from zfjl.vault.vault import Vault


def parse_period(period: str) -> tuple[str, str]:
    """'2024-05' (or 2024/5, 202405: zfjl.dates) -> ('2024-05-01', '2024-06-01'): a half-open
    month."""
    start = parse_month(period, "--period")
    end = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start.isoformat(), end.isoformat()


def rank(seed: str, item: str) -> str:
    return hashlib.sha256(f"{seed}:{item}".encode()).hexdigest()


def draw_from(population: list[str], n: int, seed: str) -> list[str]:
    return sorted(population, key=lambda item: (rank(seed, item), item))[:n]


def population(vault: Vault, unit: str, period: str) -> tuple[list[str], list[str]]:
    """(recordings, case files) of a unit in a month: videos and audio recorded by the unit's
    devices, not destroyed; cases of the unit opened in the month."""
    start, end = parse_period(period)
    recordings = [r[0] for r in vault.conn.execute(
        "SELECT r.id FROM recordings r JOIN devices d ON d.id = r.device"
        " WHERE d.unit = ? AND r.kind IN ('video', 'audio')"
        " AND substr(r.recorded_at, 1, 10) >= ? AND substr(r.recorded_at, 1, 10) < ?"
        " AND r.id NOT IN (SELECT id FROM tombstones) ORDER BY r.id", (unit, start, end))]  # fmt: skip
    cases = [r[0] for r in vault.conn.execute(
        "SELECT id FROM cases WHERE json_extract(data, '$.unit') = ? AND withdrawn_seq IS NULL"
        " AND substr(opened_at, 1, 10) >= ? AND substr(opened_at, 1, 10) < ? ORDER BY id",
        (unit, start, end))]  # fmt: skip
    return recordings, cases


def draw(vault: Vault, unit: str, period: str, n: int, seed: str | None = None) -> dict[str, Any]:
    """Draw up to n recordings and up to n case files of the unit's month."""
    if n < 1:
        raise UsageError("--n 至少为 1")
    seed = seed or f"{secrets.randbits(64):016x}"
    period = month_text(period, "--period")  # journaled as 2024-05, however it was typed
    recs, cases = population(vault, unit, period)
    if not recs and not cases:
        raise NotFoundError(f"{unit} 在 {period} 没有可抽查的音像记录或案卷（设备须登记所属单位）")
    items = [{"kind": "recording", "id": i} for i in draw_from(recs, n, seed)]
    items += [{"kind": "case", "id": i} for i in draw_from(cases, n, seed)]
    ev = vault.record(events.SpotcheckDraw(
        unit=unit, period=period, n=n, seed=seed, items=items,
        population={"recordings": len(recs), "cases": len(cases)},
        method="SHA-256(seed:id) 由小到大取前 n 个",
    ), None)  # fmt: skip
    return get_draw(vault, f"SC-{ev.seq}")


def get_draw(vault: Vault, draw_id: str) -> dict[str, Any]:
    draw_id = draw_id.upper()
    row = vault.conn.execute(
        "SELECT ts, actor, data FROM journal WHERE kind = ? AND seq = ?",
        (events.SpotcheckDraw.kind, _seq(draw_id)),
    ).fetchone()
    if row is None:
        raise NotFoundError(f"没有抽查批次 {draw_id}（用 zfjl spotcheck ledger 查看）")
    data = json.loads(row[2])
    items = [checked_item(vault, draw_id, i) for i in data["items"]]
    return {"draw": draw_id, "drawn_at": row[0], "drawn_by": row[1], **data, "items": items}


def _seq(draw_id: str) -> int:
    try:
        return int(draw_id.removeprefix("SC-"))
    except ValueError:
        raise UsageError(f"抽查批次编号应形如 SC-12，收到 {draw_id!r}") from None


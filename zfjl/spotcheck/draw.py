"""The draw: every candidate of a unit's month ranked by SHA-256("seed:id"), the lowest drawn —
reproducible by anyone from the journaled seed and population."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from zfjl.dates import month_text, parse_month
from zfjl.errors import NotFoundError, UsageError
from zfjl.spotcheck.checklist import checked_item
from zfjl.vault import events
from zfjl.vault.queries import spotcheck as q
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
    recordings = q.unit_recordings(vault, unit, start, end)
    cases = q.unit_cases_opened(vault, unit, start, end)
    return recordings, cases


def draw(vault: Vault, unit: str, period: str, n: int, seed: str | None = None) -> dict[str, Any]:
    """Draw up to n recordings and up to n case files of the unit's month."""
    if n < 1:
        raise UsageError("--n 至少为 1")
    seed_chosen = bool(seed)
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
        method="SHA-256(seed:id) 由小到大取前 n 个", seed_chosen=seed_chosen,
    ), None)  # fmt: skip
    return get_draw(vault, f"SC-{ev.seq}")


def get_draw(vault: Vault, draw_id: str) -> dict[str, Any]:
    draw_id = draw_id.upper()
    found = q.journaled_draw(vault, _seq(draw_id))
    if found is None:
        raise NotFoundError(f"没有抽查批次 {draw_id}（用 zfjl spotcheck ledger 查看）")
    items = [checked_item(vault, draw_id, i) for i in found.data["items"]]
    return {"draw": draw_id, "drawn_at": found.drawn_at, "drawn_by": found.drawn_by, **found.data,
            "items": items}  # fmt: skip


def _seq(draw_id: str) -> int:
    try:
        return int(draw_id.removeprefix("SC-"))
    except ValueError:
        raise UsageError(f"抽查批次编号应形如 SC-12，收到 {draw_id!r}") from None


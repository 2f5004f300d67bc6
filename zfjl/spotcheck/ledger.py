"""Results and the ledger (检查台帐): each item's result is a journal event; the ledger is the
catalog's view of draws and results. Its PDF is `zfjl.render.registers.spotcheck_ledger_pdf`."""

from __future__ import annotations

from typing import Any

from zfjl.dates import month_text
from zfjl.errors import NotFoundError, UsageError
from zfjl.spotcheck.checklist import (
    CASE_CHECKLIST,
    RECORDING_CHECKLIST,
    RESULT_ALIASES,
    RESULTS,
    checked_item,
)
from zfjl.vault import events
from zfjl.vault.queries import spotcheck as q
from zfjl.vault.roles import APPROVING_ROLES
from zfjl.vault.vault import Vault


def record(
    vault: Vault, item: str, result: str, *, draw_id: str | None = None,
    failed: list[str] | None = None, note: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    # a result is the legal section's conclusion (art. 53), not whoever could open the page
    vault.require_role(APPROVING_ROLES, "登记抽查结果（第五十三条）")
    code = RESULT_ALIASES.get(result, result)
    if code not in RESULTS:
        raise UsageError(f"--result 只能是：{'、'.join(f'{k}（{v}）' for k, v in RESULTS.items())}")
    row = _find_item(vault, item, draw_id)
    draw_id, item_id, kind = row
    allowed = RECORDING_CHECKLIST if kind == "recording" else CASE_CHECKLIST
    bad = [f for f in failed or [] if f not in allowed]
    if bad:
        raise UsageError(f"--fail 含未知检查项 {'、'.join(bad)}（可用：{'、'.join(allowed)}）")
    if code != "pass" and not failed:
        raise UsageError("不合格或基本合格须用 --fail 指出哪些检查项有问题")
    vault.record(events.SpotcheckRecord(
        draw=draw_id, item=item_id, result=code, failed=failed or [], note=note,
    ), f"spotcheck:{draw_id}")  # fmt: skip
    return checked_item(vault, draw_id, {"kind": kind, "id": item_id})


def _find_item(vault: Vault, item: str, draw_id: str | None) -> tuple[str, str, str]:
    """An item by its case id or recording id prefix, in the given or the latest draw."""
    rows = q.items_drawn(vault, item, draw_id.upper() if draw_id else None)
    if not rows:
        raise NotFoundError(f"抽查批次中没有 {item}" + (f"（{draw_id}）" if draw_id else ""))
    if len({r[1] for r in rows}) > 1:
        raise UsageError(f"{item} 对应多个抽查项，请多写几位编号")
    return rows[0].draw, rows[0].item, rows[0].item_kind


def ledger(
    vault: Vault, unit: str | None = None, period: str | None = None
) -> list[dict[str, Any]]:
    """The 检查台帐: one row per item drawn, with its result once recorded."""
    month = month_text(period, "--period") if period else None
    rows = []
    for r in q.ledger_rows(vault, unit, month):
        names = RECORDING_CHECKLIST if r["item_kind"] == "recording" else CASE_CHECKLIST
        rows.append({**r, "failed_text": "、".join(names[f] for f in r["failed"]),
                     "result_text": RESULTS.get(r["result"] or "", "未检查")})  # fmt: skip
    return rows

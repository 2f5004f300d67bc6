"""Spot checks (art. 53): draw recordings and case files at random, check them, keep the ledger.

The draw is reproducible by anyone: every candidate is ranked by SHA-256("seed:id") and the
lowest ranks are drawn. The seed, the population sizes and the items drawn are journaled, so
a supervisor can show the draw was not picked by hand. Each item gets a checklist — what art. 16
says a recording must show and the conduct art. 53 names (队容风纪, 文明执法) — and its result
is a journal event; the ledger (检查台帐) is the catalog's view of both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

from zfjl.errors import NotFoundError, UsageError
from zfjl.vault import events
from zfjl.vault.vault import Vault

RECORDING_CHECKLIST = {
    "scene": "现场情况（第十六条）",
    "persons": "当事人及相关人员（第十六条）",
    "key_items": "关键物品、证据（第十六条）",
    "measures": "采取的执法措施（第十六条）",
    "service": "现场送达文书（第十六条）",
    "notice": "事先告知正在录音录像（第五十条）",
    "appearance": "队容风纪（第五十三条）",
    "civility": "文明执法（第五十三条）",
}
CASE_CHECKLIST = {
    "documents": "文书齐全、规范（第七条、第二十三条）",
    "media": "音像资料与文书对应、完整（第十六条、第三十八条）",
    "procedure": "程序合法、期限符合（zfjl check）",
    "civility": "文明执法（第五十三条）",
}
RESULTS = {"pass": "合格", "minor": "基本合格", "fail": "不合格"}
RESULT_ALIASES = {v: k for k, v in RESULTS.items()}


def parse_period(period: str) -> tuple[str, str]:
    """'2024-05' -> ('2024-05-01', '2024-06-01'): a half-open month."""
    try:
        start = dt.date.fromisoformat(f"{period}-01")
    except ValueError:
        raise UsageError(f"--period 应为月份，如 2024-05，收到 {period!r}") from None
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
        "SELECT id FROM cases WHERE json_extract(data, '$.unit') = ?"
        " AND substr(opened_at, 1, 10) >= ? AND substr(opened_at, 1, 10) < ? ORDER BY id",
        (unit, start, end))]  # fmt: skip
    return recordings, cases


def draw(vault: Vault, unit: str, period: str, n: int, seed: str | None = None) -> dict[str, Any]:
    """Draw up to n recordings and up to n case files of the unit's month."""
    if n < 1:
        raise UsageError("--n 至少为 1")
    seed = seed or f"{secrets.randbits(64):016x}"
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
    items = [_checklist(vault, draw_id, i) for i in data["items"]]
    return {"draw": draw_id, "drawn_at": row[0], "drawn_by": row[1], **data, "items": items}


def _seq(draw_id: str) -> int:
    try:
        return int(draw_id.removeprefix("SC-"))
    except ValueError:
        raise UsageError(f"抽查批次编号应形如 SC-12，收到 {draw_id!r}") from None


def _checklist(vault: Vault, draw_id: str, item: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(item)
    out["checklist"] = RECORDING_CHECKLIST if item["kind"] == "recording" else CASE_CHECKLIST
    if item["kind"] == "recording":
        row = vault.conn.execute(
            "SELECT device, officer, recorded_at, duration, original_name FROM recordings"
            " WHERE id = ?", (item["id"],)).fetchone()  # fmt: skip
        if row:
            out.update(dict(zip(("device", "officer", "recorded_at", "duration", "original_name"),
                                row, strict=True)))  # fmt: skip
    else:
        row = vault.conn.execute("SELECT cause, party, status FROM cases WHERE id = ?",
                                 (item["id"],)).fetchone()  # fmt: skip
        if row:
            out.update(cause=row[0], party=row[1], status=row[2])
    res = vault.conn.execute(
        "SELECT result, failed, note, checker, checked_at FROM spotcheck_items"
        " WHERE draw = ? AND item = ?", (draw_id, item["id"])).fetchone()  # fmt: skip
    if res:
        out.update(result=res[0], failed=json.loads(res[1]) if res[1] else [], note=res[2],
                   checker=res[3], checked_at=res[4])  # fmt: skip
    return out


def record(
    vault: Vault, item: str, result: str, *, draw_id: str | None = None,
    failed: list[str] | None = None, note: str | None = None,
) -> dict[str, Any]:  # fmt: skip
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
    return _checklist(vault, draw_id, {"kind": kind, "id": item_id})


def _find_item(vault: Vault, item: str, draw_id: str | None) -> tuple[str, str, str]:
    """An item by its case id or recording id prefix, in the given or the latest draw."""
    sql = "SELECT draw, item, item_kind FROM spotcheck_items WHERE (item = ? OR item LIKE ?)"
    params: list[Any] = [item, f"{item.lower()}%" if len(item) >= 4 else item]
    if draw_id:
        sql += " AND draw = ?"
        params.append(draw_id.upper())
    rows = vault.conn.execute(
        sql + " ORDER BY CAST(substr(draw, 4) AS INTEGER) DESC", params
    ).fetchall()
    if not rows:
        raise NotFoundError(f"抽查批次中没有 {item}" + (f"（{draw_id}）" if draw_id else ""))
    if len({r[1] for r in rows}) > 1:
        raise UsageError(f"{item} 对应多个抽查项，请多写几位编号")
    return rows[0][0], rows[0][1], rows[0][2]


def ledger(
    vault: Vault, unit: str | None = None, period: str | None = None
) -> list[dict[str, Any]]:
    """The 检查台帐: one row per item drawn, with its result once recorded."""
    sql = (
        "SELECT s.*, r.device, r.officer, r.recorded_at, c.cause FROM spotcheck_items s"
        " LEFT JOIN recordings r ON r.id = s.item LEFT JOIN cases c ON c.id = s.item WHERE 1"
    )
    params: list[Any] = []
    if unit:
        sql += " AND s.unit = ?"
        params.append(unit)
    if period:
        parse_period(period)
        sql += " AND s.period = ?"
        params.append(period)
    rows = []
    for r in vault.db.query(sql + " ORDER BY s.drawn_at, s.draw, s.item_kind DESC, s.item", params):
        names = RECORDING_CHECKLIST if r["item_kind"] == "recording" else CASE_CHECKLIST
        failed = json.loads(r["failed"]) if r["failed"] else []
        rows.append({**r, "failed": failed, "failed_text": "、".join(names[f] for f in failed),
                     "result_text": RESULTS.get(r["result"] or "", "未检查")})  # fmt: skip
    return rows


def ledger_pdf(
    vault: Vault, rows: list[dict[str, Any]], unit: str | None, period: str | None
) -> bytes:
    from zfjl.render import render_report_pdf

    return render_report_pdf("检查台帐", {"rows": rows, "unit": unit, "period": period,
                                           "printed_at": vault.now_iso()},
                             bureau=vault.config.bureau)  # fmt: skip

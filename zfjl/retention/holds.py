"""Holds (art. 43): a held recording, or every recording of a held case, is never swept.

A hold is a journal event; its release needs an approval reference and is an event too, so
the custody log shows who held what, why, and who let it go on whose authority.
"""

from __future__ import annotations

from typing import Any

from zfjl.errors import NotFoundError, UsageError
from zfjl.vault import events
from zfjl.vault.bureau import reconcile_locks
from zfjl.vault.queries import retention as catalog
from zfjl.vault.queries.cases import resolve_target
from zfjl.vault.roles import APPROVING_ROLES
from zfjl.vault.vault import Vault

# Art. 43's four reasons, by a short code a clerk can type.
REASONS = {
    "dispute": "（一）当事人对现场执法、办案有异议或者投诉、上访",
    "obstruction": "（二）当事人逃避、拒绝、阻碍执法，或者谩骂、侮辱、殴打执法人员",
    "incident": "（三）执法人员参与处置群体性事件、突发事件",
    "other": "（四）其他需要长期保存的重要情况",
}
# The words a clerk types for them (shown in `hold add --help`), and the article's numbers.
REASON_WORDS = {"dispute": "纠纷", "obstruction": "阻碍执法", "incident": "突发事件", "other": "其他"}
REASON_ALIASES = {
    "1": "dispute", "2": "obstruction", "3": "incident", "4": "other",
    "一": "dispute", "二": "obstruction", "三": "incident", "四": "other",
    **{word: code for code, word in REASON_WORDS.items()},
    "异议": "dispute", "投诉": "dispute", "上访": "dispute", "阻碍": "obstruction",
    "群体性事件": "incident", "其它": "other", "其他重要情况": "other",
}  # fmt: skip
def reason_code(reason: str) -> str:
    """dispute|obstruction|incident|other from what a clerk typed: the code, the Chinese word
    (纠纷、阻碍执法、突发事件、其他), or the article's item number (1-4, 一-四)."""
    word = reason.strip().strip("（）()")
    code = REASON_ALIASES.get(word, word.lower())
    if code not in REASONS:
        words = "、".join(f"{w}（{k}）" for k, w in REASON_WORDS.items())
        raise UsageError(f"保存理由 “{reason}” 无效，可用：{words}"
                         "（第四十三条第一至四项，见 zfjl hold add --help）")
    return code


def place_hold(vault: Vault, target: str, reason: str, note: str | None) -> dict[str, Any]:
    code = reason_code(reason)
    if code == "other" and not (note and note.strip()):
        raise UsageError("理由为“其他”（其他重要情况）时须用 --note 写明情况")
    subject, resolved, kind = resolve_target(vault, target)
    before = set(held_ids(vault))
    ev = vault.record(
        events.HoldPlace(target=resolved, target_kind=kind, reason=code, note=note), subject
    )
    # A bureau vault: the S3 legal hold on what it newly holds (the store down: next sync).
    reconcile_locks(vault, set(held_ids(vault)) - before)
    return hold(vault, f"H-{ev.seq}")


def release_hold(
    vault: Vault, hold_id: str, approval: str | None, note: str | None
) -> dict[str, Any]:
    if not (approval and approval.strip()):
        raise UsageError("解除长期保存须给出批准文号：--approval-no …")
    vault.require_role(APPROVING_ROLES, "解除长期保存")
    h = hold(vault, hold_id)
    if h["released_at"]:
        raise UsageError(f"{hold_id} 已于 {h['released_at'][:16]} 解除")
    subject = f"case:{h['target']}" if h["target_kind"] == "case" else h["target"]
    before = set(held_ids(vault))
    vault.record(events.HoldRelease(hold=hold_id, approval=approval, note=note), subject)
    # The S3 legal hold off on what no other hold still covers.
    reconcile_locks(vault, before - set(held_ids(vault)))
    return hold(vault, hold_id)


def hold(vault: Vault, hold_id: str) -> dict[str, Any]:
    row = catalog.hold_row(vault, hold_id.upper())
    if row is None:
        raise NotFoundError(f"没有长期保存记录 {hold_id}（用 zfjl hold ls 查看）")
    return _with_label(dict(row))


def list_holds(vault: Vault, *, include_released: bool = False) -> list[dict[str, Any]]:
    return [_with_label(dict(r))
            for r in catalog.hold_rows(vault, include_released=include_released)]  # fmt: skip


def _with_label(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "reason_text": REASONS.get(row["reason"], row["reason"])}


def held_ids(vault: Vault) -> dict[str, str]:
    """Every recording under an active hold -> the hold's id (direct, or through its case)."""
    return catalog.held_recordings(vault)

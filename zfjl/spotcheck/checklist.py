"""What each spot-checked item is checked for: art. 16's contents of a recording and the conduct
art. 53 names, or a case file's documents and procedure; and an item with its result."""

from __future__ import annotations

from typing import Any

from zfjl.vault.queries import spotcheck as q
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


def checked_item(vault: Vault, draw_id: str, item: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(item)
    out["checklist"] = RECORDING_CHECKLIST if item["kind"] == "recording" else CASE_CHECKLIST
    found = (q.recording_to_check(vault, item["id"]) if item["kind"] == "recording"
             else q.case_to_check(vault, item["id"]))  # fmt: skip
    if found:
        out.update(found)
    result = q.item_result(vault, draw_id, item["id"])
    if result:
        out.update(result)
    return out


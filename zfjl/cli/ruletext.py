"""A rule's `check`, `when` and `due` specs in words, for `zfjl rules show` (not Python dicts).

The packs' keys are English (docs/rules.md); a person reads 检查方式、文书、字段… here. A key
or value not listed is shown as written, so a new predicate still reads, only less well.
"""

from __future__ import annotations

from typing import Any

CHECK_KINDS = {
    "document_present": "须有文书", "fields_present": "文书须载明", "field_values": "字段取值",
    "bureau_seal": "须加盖执法机关印章", "signatures": "须签名", "officers": "执法人员",
    "served": "须已送达", "media_linked": "须关联音像记录", "video_coverage": "录像覆盖全程",
    "media_on_time": "音像记录按时存储", "media_described": "音像记录注明证明对象",
    "transcript": "须有文字记录", "has_video": "须有录像", "deadline": "期限",
    "order": "先后顺序", "challenge_period": "复议诉讼期限",
    "amount_limit": "金额上限", "hearing_right": "较大数额罚款须告知听证权",
    "on_spot_collection": "当场收缴罚款的情形", "surcharge_cap": "加处罚款不超出罚款",
}  # fmt: skip

KEYS = {
    "types": "文书", "any_of": "任一文书", "all_of": "全部文书", "fields": "字段", "field": "字段",
    "roles": "签名人", "where": "限于", "describe": "期间", "from": "自", "to": "至",
    "unit": "单位", "to_label": "止于", "max": "至多", "min": "至少",
    "refusal_allowed": "可拒签", "overdue_if_missing": "缺失即超期",
    "activities": "执法活动", "pending_working_days": "待办宽限（工作日）",
    "before": "在前", "after": "在后", "kinds": "类型", "exclusive": "互斥",
    "dated": "须注明日期", "exception_field": "例外字段", "extend": "可延长",
    "tolerance_seconds": "容差（秒）", "allowed": "可选值", "contains": "包含即可",
    "after_where": "在后者限于", "acts": "执行文书", "decision": "决定", "final": "生效",
    "periods": "期间", "type": "文书", "approved_by": "批准人", "days_field": "延长天数字段",
    "until_field": "延长至字段", "via": "依据", "name": "名称", "n": "数量",
    # when / due
    "has": "案卷中有", "origin": "案件来源", "kind": "案件类别", "procedure": "程序",
    "flags": "情形", "has_service": "送达方式", "closed": "结案时", "by": "期限",
    "method": "送达方式",
    # deadlines and amounts (issue 28)
    "deemed_from": "视为受理", "late": "逾期", "use": "改自", "note": "说明",
    "exclude": "不计入期限", "max_days": "最多延长", "link": "对应", "field_by_method": "按送达方式取",
    "amount": "金额", "max_by_party": "上限（元）", "prose_fields": "文字字段", "notice": "告知书",
    "decisions": "决定书", "small": "小额（元）", "reason_field": "理由字段",
}  # fmt: skip

VALUES = {
    "working_days": "工作日", "days": "日", "months": "月", "hours": "小时",
    "video": "视频", "photo": "照片", "audio": "录音", "other": "其他",
    "served": "送达", "received_at": "签收时间",
    "emergency_start": "紧急启动", "major": "重大案件", "expert_review": "须专家论证",
    "legal_review": "须法制审核", "confidential": "涉密",
    "fine": "罚款（amounts.fine）", "serves": "所送达文书",
}  # fmt: skip


def words(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(words(v) for v in value)
    if isinstance(value, dict):
        return "，".join(f"{KEYS.get(k, k)} {words(v)}" for k, v in value.items())
    return VALUES.get(str(value), str(value))


def check_text(spec: dict[str, Any]) -> str:
    """{'kind': 'signatures', 'types': ['送达回证'], …} → 须签名：文书 送达回证；签名人 …"""
    rest = {k: v for k, v in spec.items() if k != "kind"}
    head = CHECK_KINDS.get(str(spec.get("kind")), str(spec.get("kind", "")))
    body = "；".join(f"{KEYS.get(k, k)} {words(v)}" for k, v in rest.items())
    return f"{head}：{body}" if body else head


def spec_text(spec: dict[str, Any] | None) -> str:
    """A `when` or `due` spec: 案件来源 申请；程序 一般."""
    if not spec:
        return ""
    return "；".join(f"{KEYS.get(k, k)} {words(v)}" for k, v in spec.items())

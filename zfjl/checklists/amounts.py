"""The check kinds that read money: a document's structured `amounts` (元).

A document where money is decided, paid or added carries `amounts` — `fine` (罚款, decided or
proposed), `paid` (已缴纳), `collected_on_spot` (当场收缴), `surcharge` (加处罚款). A case
written before amounts existed states them only in prose (“罚款人民币 200 元”): a rule that
needs the figure then answers 无法判断 naming the field to fill, never a silent pass; prose is
never parsed into a figure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from zfjl.checklists.predicates import (
    FAIL,
    NA,
    PASS,
    UNKNOWN,
    CaseView,
    Context,
    Outcome,
    label,
    value_of,
)

AMOUNT_NAMES = {"fine": "罚款", "paid": "已缴纳", "collected_on_spot": "当场收缴",
                "surcharge": "加处罚款"}  # fmt: skip
PARTY_NAMES = {"个人": "公民", "单位": "法人或者其他组织"}


def amount_of(doc: dict[str, Any], key: str) -> float | None:
    value = (doc.get("amounts") or {}).get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def yuan(value: float) -> str:
    return f"{value:,.0f} 元" if value == int(value) else f"{value:,.2f} 元"


def mentions(doc: dict[str, Any], words: Iterable[str], fields: Iterable[str] | None = None) -> bool:
    """Whether the document's prose (the named fields, else every text field) says one of
    `words`: money stated only in words, which the check cannot read."""
    texts = ([value_of(doc, f) for f in fields] if fields is not None
             else list((doc.get("fields") or {}).values()))  # fmt: skip
    return any(isinstance(t, str) and any(w in t for w in words) for t in texts)


def field_name(doc_type: str, key: str) -> str:
    return f"{doc_type}的 amounts.{key}（{AMOUNT_NAMES[key]}数额，元）"


def _prose_only(docs: list[dict[str, Any]], key: str, p: dict[str, Any]) -> list[str]:
    return [f"{label(d)}只以文字写明{AMOUNT_NAMES[key]}，请填写 amounts.{key}（元）"
            for d in docs if amount_of(d, key) is None
            and mentions(d, p.get("words", ["罚款"]), p.get("prose_fields"))]  # fmt: skip


def fine_of(view: CaseView, types: Iterable[str]) -> float | None:
    """The largest fine stated on the documents of `types` (decision, notice)."""
    figures = [a for d in view.of_types(types) if (a := amount_of(d, "fine")) is not None]
    return max(figures) if figures else None


# -- 行政处罚法第五十一条: an on-the-spot fine -----------------------------------------------
def amount_limit(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    """`amounts.<amount>` of the documents of `types` at most `max_by_party[party type]`."""
    key = p.get("amount", "fine")
    party = (view.case.get("party") or {}).get("type", "个人")
    cap = float(p["max_by_party"][party])
    expected = f"{PARTY_NAMES.get(party, party)}{AMOUNT_NAMES[key]}不超过 {yuan(cap)}"
    docs = view.of_types(p["types"])
    if not docs:
        return Outcome(NA, expected, "本案无该文书")
    over = [f"{label(d)}{AMOUNT_NAMES[key]} {yuan(a)}" for d in docs
            if (a := amount_of(d, key)) is not None and a > cap]  # fmt: skip
    if over:
        return Outcome(FAIL, expected, "；".join(over) + f"，超过 {yuan(cap)}")
    prose = _prose_only(docs, key, p)
    if prose:
        return Outcome(UNKNOWN, expected, "无法核对数额：" + "；".join(prose))
    figures = [a for d in docs if (a := amount_of(d, key)) is not None]
    if not figures:
        return Outcome(NA, expected, f"未处{AMOUNT_NAMES[key]}")
    return Outcome(PASS, expected, f"{AMOUNT_NAMES[key]} {yuan(max(figures))}")


# -- 行政处罚法第六十三条: the hearing right for a 较大数额 fine ------------------------------
def hearing_right(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    """A fine at or over the province's 较大数额 (the `hearing_fines` setting) needs the
    notice (`notice` type) to state the right to a hearing (`field`, not “不适用…”)."""
    party = (view.case.get("party") or {}).get("type", "个人")
    threshold = float(ctx.hearing_fines.get(party, ctx.hearing_fines["个人"]))
    expected = (f"拟对{PARTY_NAMES.get(party, party)}罚款 {yuan(threshold)}以上（较大数额）的，"
                f"告知书载明听证权")  # fmt: skip
    notices = view.of_types([p["notice"]])
    told = [d for d in notices if _states(value_of(d, p.get("field", "听证权")))]
    fine = fine_of(view, [p["notice"], *p.get("decisions", [])])
    if fine is None:
        if told:  # the right was told: whatever the amount, nothing is missing
            return Outcome(PASS, expected, "已告知听证权")
        prose = _prose_only(view.of_types([p["notice"], *p.get("decisions", [])]), "fine", p)
        if prose:
            return Outcome(UNKNOWN, expected, "无法核对是否达到较大数额：" + "；".join(prose))
        return Outcome(NA, expected, "未处罚款")
    if fine < threshold:
        return Outcome(PASS, expected, f"罚款 {yuan(fine)}，未达 {yuan(threshold)}")
    if told:
        return Outcome(PASS, expected, f"罚款 {yuan(fine)}，已告知听证权")
    if not notices:
        return Outcome(FAIL, expected, f"罚款 {yuan(fine)}，未见{p['notice']}", missing=True)
    return Outcome(FAIL, expected, f"罚款 {yuan(fine)}，达到较大数额，{label(notices[0])}未载明听证权")


def _states(value: Any) -> bool:
    if value in (None, "", False, []):
        return False
    return not (isinstance(value, str) and value.strip().startswith(("不适用", "无", "否")))


# -- 行政处罚法第六十八、六十九条: collecting a fine on the spot ------------------------------
def on_spot_collection(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    """A fine collected on the spot: an on-the-spot decision (简易程序) of at most `small`
    元 (art. 68 (1)); else the reason recorded (`reason_field`): later collection hard to
    enforce, on an on-the-spot decision (68 (2)); or a remote, water-borne or ill-connected
    place where paying at a bank is truly hard, at the party's request (art. 69)."""
    small = float(p.get("small", 100))
    reason_field = p.get("reason_field", "当场收缴理由")
    expected = (f"当场收缴限于：简易程序罚款 {yuan(small)}以下；不当场收缴事后难以执行（简易程序）；"
                f"边远、水上、交通不便地区当事人提出（记明理由）")  # fmt: skip
    docs = view.of_types(p["types"])
    collected = [(d, a) for d in docs if (a := amount_of(d, "collected_on_spot")) is not None]
    prose = [f"{label(d)}只以文字写明当场收缴，请填写 amounts.collected_on_spot（元）"
             for d in docs if amount_of(d, "collected_on_spot") is None
             and mentions(d, p.get("words", ["当场收缴"]))]  # fmt: skip
    if not collected:
        if prose:
            return Outcome(UNKNOWN, expected, "无法核对：" + "；".join(prose))
        return Outcome(NA, expected, "未当场收缴罚款")
    summary = view.case.get("procedure") == "简易"
    fine = fine_of(view, p.get("decisions", ["行政处罚决定书"]))
    problems, unknown, grounds = [], [], []
    for doc, amount in collected:
        reason = str(value_of(doc, reason_field) or "")
        if any(w in reason for w in p.get("remote_words", ["边远", "水上", "交通不便"])):
            grounds.append("第六十九条")
            continue
        if summary and any(w in reason for w in p.get("hard_words", ["难以执行"])):
            grounds.append("第六十八条第（二）项")
            continue
        if summary and fine is None:
            unknown.append(f"{label(doc)}：决定书未填写 amounts.fine（罚款数额，元），"
                           f"无法核对是否为 {yuan(small)}以下罚款")  # fmt: skip
            continue
        if summary and fine is not None and fine <= small and amount <= small:
            grounds.append("第六十八条第（一）项")
            continue
        where = "简易程序" if summary else "一般程序"
        why = f"，记明的理由“{reason}”不是法定情形" if reason else f"，未记明当场收缴理由（{reason_field}）"
        problems.append(f"{label(doc)}{where}当场收缴 {yuan(amount)}{why}")
    if problems:
        return Outcome(FAIL, expected, "；".join(problems))
    if unknown:
        return Outcome(UNKNOWN, expected, "；".join(unknown))
    return Outcome(PASS, expected, f"依{'、'.join(sorted(set(grounds)))}当场收缴")


# -- 行政强制法第四十五条: 加处罚款 never above the fine ------------------------------------
def surcharge_cap(view: CaseView, p: dict[str, Any], ctx: Context) -> Outcome:
    expected = "加处罚款（滞纳金）的数额不超出金钱给付义务（罚款）的数额"
    docs = view.of_types(p["types"])
    added = [(d, a) for d in docs if (a := amount_of(d, "surcharge")) is not None]
    prose = [f"{label(d)}只以文字写明加处罚款，请填写 amounts.surcharge（元）"
             for d in docs if amount_of(d, "surcharge") is None
             and mentions(d, p.get("words", ["加处罚款", "滞纳金"]))]  # fmt: skip
    if not added:
        if prose:
            return Outcome(UNKNOWN, expected, "无法核对：" + "；".join(prose))
        return Outcome(NA, expected, "未加处罚款")
    fine = fine_of(view, p.get("decisions", ["行政处罚决定书"]))
    if fine is None:
        return Outcome(UNKNOWN, expected, f"无法核对：请填写 {field_name('行政处罚决定书', 'fine')}")
    over = [f"{label(d)}加处罚款 {yuan(a)}，超出罚款 {yuan(fine)}" for d, a in added if a > fine]
    if over:
        return Outcome(FAIL, expected, "；".join(over))
    if prose:
        return Outcome(UNKNOWN, expected, "无法核对：" + "；".join(prose))
    return Outcome(PASS, expected, f"加处罚款至多 {yuan(max(a for _, a in added))}，罚款 {yuan(fine)}")


AMOUNT_PREDICATES: dict[str, Callable[[CaseView, dict[str, Any], Context], Outcome]] = {
    "amount_limit": amount_limit,
    "hearing_right": hearing_right,
    "on_spot_collection": on_spot_collection,
    "surcharge_cap": surcharge_cap,
}

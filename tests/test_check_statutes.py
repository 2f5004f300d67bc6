"""Issue 12 (2), (3): the false positives and the missed requirements, each failing and passing.

Every case here is a sample case with a few edits; the rule is run alone on it, so a test fails
exactly when its rule stops catching its breakage or starts flagging the lawful variant.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from zfjl.checklists import load_rules
from zfjl.checklists.engine import Finding, check_case
from zfjl.checklists.examples import apply_edits, load_sample
from zfjl.checklists.predicates import Context
from zfjl.vault import Vault
from zfjl.workdays import WorkdayCalendar

TZ = ZoneInfo("Asia/Shanghai")
RULES = {r.id: r for r in load_rules()}
CTX = Context(dt.date(2025, 6, 30), WorkdayCalendar(), TZ)


def run(case: dict[str, Any], rule_id: str, ctx: Context = CTX) -> Finding:
    return check_case(case, [RULES[rule_id]], ctx).findings[0]


def status(case: dict[str, Any], rule_id: str, ctx: Context = CTX) -> str:
    return run(case, rule_id, ctx).status


def edited(name: str, *edits: dict[str, Any]) -> dict[str, Any]:
    return apply_edits(load_sample(name), list(edits))


def doc(**fields: Any) -> dict[str, Any]:
    return {"add": "documents", "value": fields}


# -- false positives --------------------------------------------------------------------------
def summary_case(*edits: dict[str, Any]) -> dict[str, Any]:
    """The penalty sample as an on-the-spot (简易程序) penalty: no start approval, no written
    notice; the oral notice and the party's answer are recorded on the decision."""
    return edited(
        "penalty",
        {"set": "procedure", "value": "简易"},
        {"remove": "documents[type=立案审批表]"},
        {"remove": "documents[type=行政处罚事先告知书]"},
        {"remove": "documents[serves=d-notice]"},
        {"remove": "media[document=d-r-notice]"},
        {"set": "documents[type=行政处罚决定书]/fields/告知情况", "value": "已当场口头告知，当事人未陈述申辩"},
        {"set": "documents[type=行政处罚决定书]/officers",
         "value": [{"name": "李明", "cert": "43020001", "shown": True},
                   {"name": "张伟", "cert": "43020002", "shown": True}]},
        # 行政处罚法第五十二条: the place, the officers' signatures, the filing with the bureau.
        {"set": "documents[type=行政处罚决定书]/place", "value": "建设路 18 号门前人行道"},
        {"set": "documents[type=行政处罚决定书]/signatures",
         "value": [{"role": "执法人员", "name": "李明"}, {"role": "执法人员", "name": "张伟"}]},
        {"set": "documents[type=行政处罚决定书]/fields/备案日期", "value": "2024-05-14"},
        *edits,
    )  # fmt: skip


def test_summary_procedure_needs_no_start_approval_nor_written_notice() -> None:
    case = summary_case()
    assert status(case, "R10-start-approval") == "na"
    assert status(case, "R22-rights-notice") == "na"
    assert status(case, "R22-summary-notice") == "pass"
    report = check_case(case, list(RULES.values()), CTX)
    assert report.verdict == "pass", [(f.rule, f.found) for f in report.findings
                                      if f.status not in ("pass", "na")]  # fmt: skip
    # The general procedure still needs both.
    general = edited("penalty", {"remove": "documents[type=立案审批表]"})
    assert status(general, "R10-start-approval") == "fail"


def test_summary_procedure_without_the_oral_notice_on_the_decision_fails() -> None:
    case = summary_case({"remove": "documents[type=行政处罚决定书]/fields/告知情况"})
    f = run(case, "R22-summary-notice")
    assert f.status == "fail" and "告知情况" in f.found


def public_notice(posted: str, deemed: str) -> dict[str, Any]:
    return edited(
        "penalty",
        {"set": "documents[id=d-r-decision]/method", "value": "公告"},
        {"set": "documents[id=d-r-decision]/date", "value": posted},
        {"set": "documents[id=d-r-decision]/received_at", "value": deemed},
    )


def test_public_notice_counts_from_the_posting_not_the_deemed_service() -> None:
    # Decided Mon 13 May 2024; posted the next working day; deemed served 30 days later.
    first_day = public_notice("2024-05-14T09:00:00+08:00", "2024-06-13T09:00:00+08:00")
    assert status(first_day, "N-APL61-serve-7days") == "pass"
    # Posted on the 8th working day (Thu 23 May): late, whatever the deemed day.
    late = public_notice("2024-05-23T09:00:00+08:00", "2024-06-22T09:00:00+08:00")
    f = run(late, "N-APL61-serve-7days")
    assert f.status == "fail" and "2024-05-22" in f.found and "2024-05-23" in f.found


def test_mail_counts_from_posting_when_recorded_else_from_receipt() -> None:
    mailed = edited(
        "penalty",
        {"set": "documents[id=d-r-decision]/method", "value": "邮寄"},
        {"set": "documents[id=d-r-decision]/received_at", "value": "2024-05-24T10:00:00+08:00"},
    )
    assert status(mailed, "N-APL61-serve-7days") == "fail"
    posted = apply_edits(mailed, [{"set": "documents[id=d-r-decision]/fields/交邮日期",
                                   "value": "2024-05-20"}])  # fmt: skip
    assert status(posted, "N-APL61-serve-7days") == "pass"


# -- missed: 行政强制法 -----------------------------------------------------------------------
SEIZE = doc(id="d-seize", type="查封扣押决定书", date="2024-05-06T11:00:00+08:00")


def seizure(*edits: dict[str, Any]) -> dict[str, Any]:
    return edited("penalty", SEIZE, *edits)


def test_seizure_over_30_days_fails_within_30_passes() -> None:
    released = doc(id="d-free", type="解除查封扣押决定书", date="2024-06-05T09:00:00+08:00")
    assert status(seizure(released), "N-ACL25-seizure-30days") == "pass"  # day 30
    late = doc(id="d-free", type="解除查封扣押决定书", date="2024-06-06T09:00:00+08:00")
    f = run(seizure(late), "N-ACL25-seizure-30days")
    assert f.status == "fail" and "2024-06-05" in f.found


def extension(days: int, date: str = "2024-06-03T09:00:00+08:00",
              role: str = "局长") -> dict[str, Any]:  # fmt: skip
    return doc(id="d-more", type="延长查封扣押决定书", date=date, fields={"延长天数": days},
               signatures=[{"role": role, "name": "赵刚"}])  # fmt: skip


def test_seizure_extension_approved_within_30_more_days_is_respected() -> None:
    end = doc(id="d-end", type="查封扣押处理决定书", date="2024-07-05T09:00:00+08:00")
    assert status(seizure(extension(30), end), "N-ACL25-seizure-30days") == "pass"
    too_long = run(seizure(extension(40), end), "N-ACL25-seizure-30days")
    assert too_long.status == "fail" and "超过法定最多 30 日" in too_long.found
    unapproved = run(seizure(extension(30, role="承办人"), end), "N-ACL25-seizure-30days")
    assert unapproved.status == "fail" and "未经" in unapproved.found
    after = run(seizure(extension(30, date="2024-06-07T09:00:00+08:00"), end),
                "N-ACL25-seizure-30days")  # fmt: skip
    assert after.status == "fail" and "届满后才作出" in after.found


def test_a_seizure_still_running_is_pending_then_overdue() -> None:
    case = seizure()
    case["status"] = "办理中"
    early = run(
        case, "N-ACL25-seizure-30days", Context(dt.date(2024, 5, 20), WorkdayCalendar(), TZ)
    )
    assert (early.status, early.due) == ("pending", "2024-06-05")
    assert status(case, "N-ACL25-seizure-30days") == "fail"


def test_enforcement_decision_only_after_the_demand_deadline() -> None:
    case = load_sample("demolition")  # 催告 deadline Fri 19 Jul; decision Mon 22 Jul
    assert status(case, "N-ACL37-after-demand") == "pass"
    on_the_day = apply_edits(case, [{"set": "documents[type=强制执行决定书]/date",
                                     "value": "2024-07-19T17:00:00+08:00"}])  # fmt: skip
    f = run(on_the_day, "N-ACL37-after-demand")
    assert f.status == "fail" and "2024-07-19" in f.found


def test_demolition_needs_a_notice_and_its_period_passed() -> None:
    case = load_sample("demolition")
    assert status(case, "N-ACL44-demolition-notice") == "pass"
    assert status(case, "N-ACL44-notice-period") == "pass"
    no_notice = apply_edits(case, [{"remove": "documents[type=强制拆除公告]"}])
    assert status(no_notice, "N-ACL44-demolition-notice") == "fail"
    too_soon = apply_edits(case, [{"set": "documents[type=强制拆除公告]/fields/限期",
                                   "value": "2024-07-29"}])  # fmt: skip
    assert status(too_soon, "N-ACL44-notice-period") == "fail"
    # Not a structure: a 代履行 of something else needs no demolition notice.
    other = apply_edits(no_notice, [{"set": "documents[type=强制执行记录]/fields/方式",
                                     "value": "代履行"}])  # fmt: skip
    assert status(other, "N-ACL44-demolition-notice") == "na"


def test_demolition_waits_for_the_review_and_litigation_periods() -> None:
    case = load_sample("demolition")  # reviewed, upheld, not sued: final on 19 Jul
    assert status(case, "N-ACL44-challenge-period") == "pass"
    unchallenged = apply_edits(case, [{"remove": "documents[type=复议诉讼情况记录]"}])
    # Decision served Mon 24 Jun 2024: 6 months run to Tue 24 Dec 2024.
    f = run(unchallenged, "N-ACL44-challenge-period")
    assert f.status == "fail" and "2024-12-24" in f.found
    moved = apply_edits(
        unchallenged,
        [{"set": "documents[type=强制执行记录]/start", "value": "2024-12-24T08:00:00+08:00"}],
    )
    assert status(moved, "N-ACL44-challenge-period") == "fail"  # the last day is still open
    moved = apply_edits(
        unchallenged,
        [{"set": "documents[type=强制执行记录]/start", "value": "2024-12-25T08:00:00+08:00"}],
    )
    assert status(moved, "N-ACL44-challenge-period") == "pass"
    early_final = apply_edits(case, [{"set": "documents[type=复议诉讼情况记录]/fields/生效日期",
                                      "value": "2024-07-30"}])  # fmt: skip
    assert status(early_final, "N-ACL44-challenge-period") == "fail"


def test_a_six_month_period_ending_on_a_holiday_runs_to_the_next_working_day() -> None:
    # Served Fri 1 Mar 2024: 6 months end Sun 1 Sep 2024 → Mon 2 Sep (民事诉讼法第八十五条).
    case = edited(
        "demolition",
        {"remove": "documents[type=复议诉讼情况记录]"},
        {"set": "documents[id=d-r-decision]/received_at", "value": "2024-03-01T10:00:00+08:00"},
        {"set": "documents[type=强制执行记录]/start", "value": "2024-09-02T08:00:00+08:00"},
    )
    f = run(case, "N-ACL44-challenge-period")
    assert f.status == "fail" and "2024-09-02" in f.found
    later = apply_edits(case, [{"set": "documents[type=强制执行记录]/start",
                                "value": "2024-09-03T08:00:00+08:00"}])  # fmt: skip
    assert status(later, "N-ACL44-challenge-period") == "pass"


@pytest.mark.parametrize(
    ("applied", "want"),
    [("2024-10-16T09:00:00+08:00", "fail"), ("2024-10-17T09:00:00+08:00", "pass")],
)
def test_court_application_on_the_tenth_working_day_is_early(applied: str, want: str) -> None:
    # 催告 served Fri 27 Sep 2024. Working days after it: Sun 29 Sep (make-up), Mon 30 Sep,
    # 8–11 Oct, Sat 12 Oct (make-up), 14, 15, 16 Oct = the 10th. "送达十日后": from 17 Oct.
    case = edited(
        "demolition",
        {"set": "documents[id=d-r-demand]/received_at", "value": "2024-09-27T10:00:00+08:00"},
        doc(id="d-court", type="申请法院强制执行书", date=applied),
    )
    f = run(case, "N-ACL54-court-10days")
    assert f.status == want, f.found
    if want == "fail":
        assert "2024-10-16" in f.found


# -- missed: 行政处罚法 -----------------------------------------------------------------------
def test_summary_procedure_also_needs_two_officers() -> None:
    assert status(summary_case(), "N-APL42-summary-officers") == "pass"
    one = summary_case({"set": "documents[type=行政处罚决定书]/officers",
                        "value": [{"name": "李明", "cert": "43020001", "shown": True}]})  # fmt: skip
    f = run(one, "N-APL42-summary-officers")
    assert f.status == "fail" and "1 名" in f.found
    allowed = apply_edits(one, [{"set": "documents[type=行政处罚决定书]/fields/法律另有规定",
                                 "value": "《某法》第某条：一名执法人员可以当场处罚"}])  # fmt: skip
    assert status(allowed, "N-APL42-summary-officers") == "pass"


def hearing(notice_served: str, held: str) -> dict[str, Any]:
    return edited(
        "demolition",
        doc(id="d-hn", type="听证通知书", date="2024-06-18T09:00:00+08:00"),
        doc(id="d-r-hn", type="送达回证", serves="d-hn", method="直接", received_at=notice_served),
        doc(id="d-hr", type="听证笔录", date=held),
    )


def test_hearing_notice_days_count_from_its_service_not_its_date() -> None:
    # Dated Tue 18 Jun, served Tue 25 Jun, hearing Mon 1 Jul: 4 working days after service.
    f = run(hearing("2024-06-25T10:00:00+08:00", "2024-07-01T09:00:00+08:00"),
            "N-APL64-hearing-notice-7days")  # fmt: skip
    assert f.status == "fail" and "2024-07-04" in f.found
    # Served on its date: the 7th working day after 18 Jun is 27 Jun.
    assert status(hearing("2024-06-18T10:00:00+08:00", "2024-06-27T09:00:00+08:00"),
                  "N-APL64-hearing-notice-7days") == "pass"  # fmt: skip


def late_decision(*edits: dict[str, Any]) -> dict[str, Any]:
    # Opened 6 May 2024: the 90 days end 4 Aug. Decided 9 Aug.
    return edited("penalty", {"set": "documents[type=行政处罚决定书]/date",
                              "value": "2024-08-09T09:00:00+08:00"}, *edits)  # fmt: skip


def longer(**kw: Any) -> dict[str, Any]:
    fields = {"date": "2024-07-30T09:00:00+08:00", "fields": {"延长天数": 30},
              "signatures": [{"role": "局长", "name": "赵刚"}]}  # fmt: skip
    fields.update(kw)
    return doc(id="d-longer", type="延长办案期限审批表", **fields)


def test_an_approved_extension_of_the_90_days_is_respected() -> None:
    assert status(late_decision(), "N-APL60-decide-90days") == "fail"
    assert status(late_decision(longer()), "N-APL60-decide-90days") == "pass"
    until = longer(fields={"延长至": "2024-08-10"})
    assert status(late_decision(until), "N-APL60-decide-90days") == "pass"
    short = longer(fields={"延长至": "2024-08-08"})
    assert status(late_decision(short), "N-APL60-decide-90days") == "fail"
    unsigned = run(late_decision(longer(signatures=[])), "N-APL60-decide-90days")
    assert unsigned.status == "fail" and "未经" in unsigned.found
    too_late = run(late_decision(longer(date="2024-08-06T09:00:00+08:00")), "N-APL60-decide-90days")
    assert too_late.status == "fail" and "届满后" in too_late.found


# -- missed: the regulation -------------------------------------------------------------------
def mailed(kind: str) -> dict[str, Any]:
    return edited("penalty", {"set": "documents[id=d-r-decision]/method", "value": "邮寄"},
                  {"set": "documents[id=d-r-decision]/fields",
                   "value": {"邮寄方式": kind, "邮寄清单": "行政处罚决定书 株城管罚决〔2024〕031号",
                             "付邮凭证": "XA1", "回执": "已签收"}})  # fmt: skip


@pytest.mark.parametrize(("kind", "want"), [("平信", "fail"), ("挂号信", "pass"),
                                            ("特快专递（EMS）", "pass")])  # fmt: skip
def test_postal_service_only_by_registered_mail_or_express(kind: str, want: str) -> None:
    assert status(mailed(kind), "R33-mail-kind") == want
    assert status(mailed(kind), "R33-mail-service") == "pass"  # all four items are there


def test_the_decision_bears_the_bureau_seal_not_a_unit_seal() -> None:
    case = load_sample("penalty")
    assert status(case, "R23-bureau-seal") == "pass"
    unit = apply_edits(case, [{"set": "documents[type=行政处罚决定书]/fields/印章",
                               "value": "株洲市城市管理和综合执法局芦淞大队"}])  # fmt: skip
    f = run(unit, "R23-bureau-seal")
    assert f.status == "fail" and "芦淞大队" in f.found
    county = Context(CTX.today, CTX.calendar, TZ, bureau="攸县城市管理和综合执法局")
    assert status(case, "R23-bureau-seal", county) == "fail"  # the city's seal, a county's case
    sealed = apply_edits(case, [{"set": "documents[type=行政处罚决定书]/fields/印章",
                                 "value": "攸县城市管理和综合执法局（印章）"}])  # fmt: skip
    assert status(sealed, "R23-bureau-seal", county) == "pass"


def test_the_bureau_comes_from_the_vault_settings(case_vault: Vault) -> None:
    from zfjl.checklists import vault_context

    assert vault_context(case_vault).bureau == case_vault.config.bureau


@pytest.mark.parametrize(
    ("added", "activity"),
    [(doc(id="d-req", type="调取证据通知书", date="2024-05-07T10:00:00+08:00"), "调取证据"),
     (doc(id="d-e", type="电子数据记录", date="2024-05-07T10:00:00+08:00",
          fields={"数据内容": "聊天记录", "收集方法": "截图", "收集时间": "2024-05-07"}), "收集电子数据")],
)  # fmt: skip
def test_evidence_requests_and_electronic_data_need_their_av_record(
    added: dict[str, Any], activity: str
) -> None:
    case = edited("penalty", added)
    f = run(case, "R14-av-record")
    assert f.status == "fail" and added["value"]["type"] in f.found
    filmed = apply_edits(case, [{"add": "media", "value": {
        "recording": "c" * 64, "kind": "video", "activity": activity, "document": added["value"]["id"],
        "start": "2024-05-07T10:00:00+08:00", "end": "2024-05-07T10:20:00+08:00", "late": False}}])  # fmt: skip
    assert status(filmed, "R14-av-record") == "pass"


def test_a_correction_record_needs_the_correction_asked_for() -> None:
    record = {"id": "d-fix", "type": "更正记录", "date": "2024-07-01T09:40:00+08:00",
              "fields": {"申请人": "株洲某某餐饮有限公司", "申请事项": "设置门头户外广告", "更正材料": "申请表"},
              "signatures": [{"role": "申请人", "name": "郑某"}]}  # fmt: skip
    case = edited("licensing", {"add": "documents", "value": record})
    assert status(case, "R08-correction-signed") == "pass"
    f = run(case, "R08-correction-content")
    assert f.status == "fail" and "更正要求" in f.found
    fixed = apply_edits(
        case, [{"set": "documents[id=d-fix]/fields/更正要求", "value": "补填信用代码"}]
    )
    assert status(fixed, "R08-correction-content") == "pass"


def test_telling_the_complainant_is_required_not_advised() -> None:
    case = edited("demolition", {"remove": "documents[type=案源告知记录]"})
    assert status(case, "R11-source-informed") == "fail"  # ✘, not ⚠
    assert status(load_sample("demolition"), "R11-source-informed") == "pass"


def test_clock_skewed_footage_makes_coverage_a_warning_naming_it() -> None:
    case = load_sample("penalty")
    interview = next(m for m in case["media"] if m["activity"] == "询问")
    rule = RULES["R15-whole-process-video"]
    assert check_case(case, [rule], CTX).findings[0].status == "pass"
    doubtful = check_case(case, [rule], CTX, frozenset({interview["recording"]})).findings[0]
    assert doubtful.status == "warn"
    assert interview["recording"][:12] in doubtful.found and "时钟偏差" in doubtful.found
    assert "DSJ01" in doubtful.found
    # A gap is still a violation, skew or not.
    cut = apply_edits(
        case, [{"set": "documents[type=询问笔录]/end", "value": "2024-05-06T10:58:00+08:00"}]
    )
    assert (
        check_case(cut, [rule], CTX, frozenset({interview["recording"]})).findings[0].status
        == "fail"
    )


# -- statute figures and quotes ---------------------------------------------------------------
NUMERALS = {
    2: "二",
    5: "五",
    100: "一百",
    200: "二百",
    3000: "三千",
    6: "六",
    7: "七",
    10: "十",
    20: "二十",
    24: "二十四",
    30: "三十",
    60: "六十",
    90: "九十",
}
UNIT_WORDS = {"days": "日", "working_days": "日", "hours": "小时", "months": "个月", "yuan": "元"}


def test_every_rule_quotes_its_statute_text() -> None:
    from zfjl.checklists.regulation import statute_quotes

    for rule in RULES.values():
        quotes = statute_quotes(rule)
        assert quotes and all(q["text"] for q in quotes), rule.id
        national = rule.basis.replace("行政执法全过程记录制度", "")
        if "法" in national:  # rests on a national statute too: its words are quoted
            assert rule.text, rule.id


def figures(rule: Any) -> list[tuple[int, str]]:
    c = rule.check
    if c["kind"] == "deadline" and int(c.get("max", c.get("min", 0))):
        return [(int(c.get("max", c.get("min"))), c["unit"])]
    if c["kind"] == "challenge_period":
        return [(int(p["n"]), p["unit"]) for p in c["periods"]]
    if c["kind"] == "officers":
        return [(int(c["min"]), "")]
    if c["kind"] == "amount_limit":
        return [(int(v), "yuan") for v in c["max_by_party"].values()]
    if c["kind"] == "on_spot_collection":
        return [(int(c["small"]), "yuan")]
    return []


def test_every_statute_figure_is_the_one_in_the_quoted_text() -> None:
    from zfjl.checklists.regulation import statute_quotes

    checked = 0
    for rule in RULES.values():
        words = "".join(q["text"] for q in statute_quotes(rule))
        for n, unit in figures(rule):
            unit_word = UNIT_WORDS.get(unit, "")
            forms = [f"{NUMERALS.get(n, '?')}{unit_word}", f"{n}{unit_word}", f"{n}个工作日"]
            if n == 2 and not unit:
                forms = ["两人", "2人"]
            assert any(f in words for f in forms), (rule.id, n, unit, words[:80])
            checked += 1
        extend = rule.check.get("extend", {})
        if extend.get("max_days"):  # the most an approval may add: 三十日, 十日
            cap = int(extend["max_days"])
            assert f"延长{NUMERALS[cap]}日" in words or f"不得超过{NUMERALS[cap]}日" in words, rule.id
    assert checked >= 20


def test_rules_show_quotes_the_regulation_and_the_statute(capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    from zfjl.cli import main

    assert main(["rules", "show", "R12-two-officers", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    sources = [q["source"] for q in shown["quotes"]]
    assert sources == ["行政执法全过程记录制度第十二条", "相关法律"]
    assert (
        "不得少于2人" in shown["quotes"][0]["text"] and "不得少于两人" in shown["quotes"][1]["text"]
    )
    assert main(["rules", "show", "N-ACL44-challenge-period"]) == 0
    text = capsys.readouterr().out
    assert "条文（行政强制法第四十四条）" in text and "六个月" in text


def test_the_worked_holiday_example_of_docs_rules_md() -> None:
    decided = edited(
        "penalty",
        {"set": "documents[id=d-decision]/date", "value": "2024-09-27T09:00:00+08:00"},
        {"set": "documents[id=d-r-decision]/received_at", "value": "2024-10-12T10:00:00+08:00"},
    )
    assert status(decided, "N-APL61-serve-7days") == "pass"  # Sat 12 Oct: a make-up working day
    late = apply_edits(decided, [{"set": "documents[id=d-r-decision]/received_at",
                                  "value": "2024-10-14T10:00:00+08:00"}])  # fmt: skip
    f = run(late, "N-APL61-serve-7days")
    assert f.status == "fail" and "2024-10-12" in f.found
    on_friday = hearing("2024-09-27T10:00:00+08:00", "2024-10-12T09:00:00+08:00")
    assert status(on_friday, "N-APL64-hearing-notice-7days") == "pass"
    on_monday = hearing("2024-09-30T10:00:00+08:00", "2024-10-14T09:00:00+08:00")
    f = run(on_monday, "N-APL64-hearing-notice-7days")
    assert f.status == "fail" and "2024-10-15" in f.found

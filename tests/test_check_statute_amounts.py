"""Issue 28: the licensing law's deadlines, the money thresholds, the statutes' required contents.

Each rule is run alone on a sample case with a few edits, written from the statute (not from the
rule's own examples): the breakage the issue names fails, the lawful variant passes, a case
still under way is pending (待办) until its day, and money written only in prose is 无法判断
naming the field to fill — never a silent pass.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_check_statutes import CTX, RULES, TZ, doc, edited, run, status
from zfjl.cases.io import parse_case
from zfjl.cases.store import get_case, import_case, reopen_case
from zfjl.checklists import check, vault_context
from zfjl.checklists.examples import apply_edits, load_sample, sample_text
from zfjl.checklists.predicates import Context
from zfjl.errors import CaseFormatError
from zfjl.vault import Vault
from zfjl.workdays import WorkdayCalendar

SAMPLES = Path(__file__).resolve().parent.parent / "zfjl" / "checklists" / "samples"


def at(day: str) -> dict[str, Any]:
    return {"date": f"{day}T09:00:00+08:00"}


# -- 行政许可法第四十二条、第四十五条、第三十二条 (working days, art. 82) ----------------------
# The licensing sample: applied Mon 1 Jul 2024, 补正 Wed 3 Jul, accepted Mon 8 Jul 2024.
# Working days after 8 Jul: ... 2 Aug (19th), Mon 5 Aug (20th), 6 Aug (21st), Wed 7 Aug (22nd).
def licence_decided(day: str, *edits: dict[str, Any]) -> dict[str, Any]:
    return edited("licensing", {"set": "documents[type=行政许可决定书]/date",
                                "value": f"{day}T09:00:00+08:00"}, *edits)  # fmt: skip


def extension(days: int, role: str = "局长", day: str = "2024-08-01") -> dict[str, Any]:
    return doc(id="d-longer", type="延长办案期限审批表", **at(day),
               fields={"延长天数": days, "理由": "需现场核查"},
               signatures=[{"role": role, "name": "赵刚"}])  # fmt: skip


def test_a_licence_decided_on_the_22nd_working_day_without_approval_fails() -> None:
    f = run(licence_decided("2024-08-07"), "N-ALL42-decide-20days")
    assert f.status == "fail" and "2024-08-05" in f.found and "2024-08-07" in f.found
    assert status(licence_decided("2024-08-05"), "N-ALL42-decide-20days") == "pass"


def test_a_licence_extension_needs_the_head_and_at_most_10_working_days() -> None:
    assert status(licence_decided("2024-08-07", extension(10)), "N-ALL42-decide-20days") == "pass"
    # 10 working days after Mon 5 Aug: Mon 19 Aug is the last.
    assert status(licence_decided("2024-08-19", extension(10)), "N-ALL42-decide-20days") == "pass"
    assert status(licence_decided("2024-08-20", extension(10)), "N-ALL42-decide-20days") == "fail"
    too_long = run(licence_decided("2024-08-07", extension(11)), "N-ALL42-decide-20days")
    assert too_long.status == "fail" and "超过法定最多 10个工作日" in too_long.found
    clerk = run(licence_decided("2024-08-07", extension(10, role="承办人")), "N-ALL42-decide-20days")
    assert clerk.status == "fail" and "未经" in clerk.found
    after = run(licence_decided("2024-08-07", extension(10, day="2024-08-06")),
                "N-ALL42-decide-20days")  # fmt: skip
    assert after.status == "fail" and "届满后才作出" in after.found


def test_expert_review_and_hearing_days_are_not_counted() -> None:
    # 行政许可法第四十五条: an expert review Mon 22 – Tue 23 Jul takes 2 working days out.
    review = doc(id="d-experts", type="专家论证记录", date="2024-07-23T17:00:00+08:00",
                 start="2024-07-22T09:00:00+08:00", end="2024-07-23T17:00:00+08:00")  # fmt: skip
    f = run(licence_decided("2024-08-07", review), "N-ALL42-decide-20days")
    assert f.status == "pass" and "不计入期限的 2 日" in f.found
    assert status(licence_decided("2024-08-08", review), "N-ALL42-decide-20days") == "fail"
    # Without its start the review's days are unknown: nothing is taken out.
    undated = doc(id="d-experts", type="专家论证记录", date="2024-07-23T17:00:00+08:00")
    assert status(licence_decided("2024-08-07", undated), "N-ALL42-decide-20days") == "fail"


def test_a_late_supplement_notice_makes_the_application_the_acceptance() -> None:
    # 第三十二条: 补正 told on Wed 10 Jul, the 7th working day after the application (Mon 1 Jul):
    # accepted on 1 Jul, so the 20 working days end Mon 29 Jul, not Mon 5 Aug.
    late = {"set": "documents[type=补正通知书]/date", "value": "2024-07-10T10:00:00+08:00"}
    f = run(licence_decided("2024-08-01", late), "N-ALL42-decide-20days")
    assert f.status == "fail" and "2024-07-29" in f.found and "第三十二条" in f.found
    assert status(licence_decided("2024-07-29", late), "N-ALL42-decide-20days") == "pass"
    # Told on time (5th working day, Mon 8 Jul): counted from the acceptance.
    on_time = {"set": "documents[type=补正通知书]/date", "value": "2024-07-08T10:00:00+08:00"}
    assert status(licence_decided("2024-08-01", on_time), "N-ALL42-decide-20days") == "pass"


def test_licence_days_skip_national_day_and_count_its_make_up_days() -> None:
    # Accepted Fri 27 Sep 2024: Sun 29 Sep and Sat 12 Oct are working days, 1–7 Oct are not;
    # the 20th working day is Wed 30 Oct.
    def case(decided: str) -> dict[str, Any]:
        return edited(
            "licensing",
            {"remove": "documents[type=补正通知书]"},
            {"set": "documents[type=申请书]/date", "value": "2024-09-27T09:00:00+08:00"},
            {"set": "documents[type=受理通知书]/date", "value": "2024-09-27T10:00:00+08:00"},
            {"set": "documents[type=行政许可决定书]/date", "value": f"{decided}T09:00:00+08:00"},
        )

    assert status(case("2024-10-30"), "N-ALL42-decide-20days") == "pass"
    f = run(case("2024-10-31"), "N-ALL42-decide-20days")
    assert f.status == "fail" and "2024-10-30" in f.found


def open_licence(*keep: str) -> dict[str, Any]:
    case = load_sample("licensing")
    docs = [d for d in case["documents"] if d["id"] in keep]
    return {**case, "status": "办理中", "documents": docs, "media": []}


def test_an_undecided_licence_is_pending_until_its_20th_working_day_then_overdue() -> None:
    case = open_licence("d-apply", "d-supplement", "d-accept")
    before = run(case, "N-ALL42-decide-20days", Context(dt.date(2024, 8, 5), WorkdayCalendar(), TZ))
    assert (before.status, before.due) == ("pending", "2024-08-05")
    after = run(case, "N-ALL42-decide-20days", Context(dt.date(2024, 8, 6), WorkdayCalendar(), TZ))
    assert after.status == "fail" and "2024-08-05" in after.found


# -- 行政许可法第四十四条 -------------------------------------------------------------------
def licence_served(day: str) -> dict[str, Any]:
    return edited("licensing", {"set": "documents[id=d-r-license]/received_at",
                                "value": f"{day}T10:00:00+08:00"})  # fmt: skip


def test_a_licence_served_on_the_12th_working_day_fails_the_10th_passes() -> None:
    # Decided Mon 15 Jul 2024: the 10th working day is Mon 29 Jul, the 12th Wed 31 Jul.
    f = run(licence_served("2024-07-31"), "N-ALL44-serve-10days")
    assert f.status == "fail" and "2024-07-29" in f.found
    assert status(licence_served("2024-07-29"), "N-ALL44-serve-10days") == "pass"
    # A refusal is not a licence to issue: the rule does not apply to it.
    refused = edited("licensing", {"set": "documents[type=行政许可决定书]/type", "value": "不予行政许可决定书"})
    assert status(refused, "N-ALL44-serve-10days") == "na"


def test_a_licence_not_yet_served_is_pending_until_the_10th_working_day() -> None:
    case = open_licence("d-apply", "d-supplement", "d-accept", "d-license")
    pending = run(case, "N-ALL44-serve-10days", Context(dt.date(2024, 7, 20), WorkdayCalendar(), TZ))
    assert (pending.status, pending.due) == ("pending", "2024-07-29")
    assert status(case, "N-ALL44-serve-10days", Context(dt.date(2024, 7, 30), WorkdayCalendar(), TZ)) == "fail"


# -- 行政许可法第四十三条、第三十八条 -------------------------------------------------------
def test_a_lower_review_takes_at_most_20_working_days() -> None:
    first = {"id": "d-first", "type": "初审意见书", "fields": {"审查意见": "报请上级决定"}}
    assert status(edited("licensing", doc(**first, **at("2024-08-05"))), "N-ALL43-lower-review-20days") == "pass"
    f = run(edited("licensing", doc(**first, **at("2024-08-06"))), "N-ALL43-lower-review-20days")
    assert f.status == "fail" and "2024-08-05" in f.found
    assert status(load_sample("licensing"), "N-ALL43-lower-review-20days") == "na"


def test_a_refusal_states_its_reasons_and_the_remedies() -> None:
    refusal = {"id": "d-no", "type": "不予行政许可决定书", **at("2024-07-15"),
               "fields": {"不予许可理由": "位于禁设区域", "救济途径和期限": "60 日内申请行政复议或 6 个月内提起行政诉讼"}}  # fmt: skip
    assert status(edited("licensing", doc(**refusal)), "N-ALL38-refusal-reasons") == "pass"
    no_reason = apply_edits(edited("licensing", doc(**refusal)),
                            [{"remove": "documents[id=d-no]/fields/不予许可理由"}])  # fmt: skip
    f = run(no_reason, "N-ALL38-refusal-reasons")
    assert f.status == "fail" and "理由" in f.found
    no_remedy = apply_edits(edited("licensing", doc(**refusal)),
                            [{"remove": "documents[id=d-no]/fields/救济途径和期限"}])  # fmt: skip
    assert "救济途径" in run(no_remedy, "N-ALL38-refusal-reasons").found


# -- 行政处罚法第五十一条: the on-the-spot fine -----------------------------------------------
def summary(fine: float | None, party: str = "个人", *edits: dict[str, Any]) -> dict[str, Any]:
    case = edited("penalty", {"set": "procedure", "value": "简易"},
                  {"set": "party/type", "value": party}, *edits)  # fmt: skip
    decision = next(d for d in case["documents"] if d["type"] == "行政处罚决定书")
    if fine is None:
        decision.pop("amounts", None)
    else:
        decision["amounts"] = {"fine": fine}
    return case


@pytest.mark.parametrize(("party", "fine", "want"), [
    ("个人", 500, "fail"), ("个人", 201, "fail"), ("个人", 200, "pass"),
    ("单位", 3001, "fail"), ("单位", 3000, "pass"), ("单位", 500, "pass"),
])  # fmt: skip
def test_an_on_the_spot_fine_is_at_most_200_for_a_citizen_3000_for_an_organisation(
    party: str, fine: int, want: str
) -> None:
    f = run(summary(fine, party), "N-APL51-summary-fine-limit")
    assert f.status == want, f.found
    if want == "fail":
        assert f"{fine:,} 元" in f.found


def test_an_on_the_spot_fine_written_only_in_prose_cannot_be_checked() -> None:
    f = run(summary(None), "N-APL51-summary-fine-limit")  # 决定内容: 罚款人民币 200 元
    assert f.status == "unknown" and "amounts.fine" in f.found
    warning = summary(None, "个人", {"set": "documents[type=行政处罚决定书]/fields/决定内容", "value": "警告"})
    assert status(warning, "N-APL51-summary-fine-limit") == "na"  # no fine at all


# -- 行政处罚法第六十八、六十九条: collecting on the spot -------------------------------------
def collected(amount: float, fine: float, reason: str | None = None,
              procedure: str = "简易") -> dict[str, Any]:  # fmt: skip
    edits: list[dict[str, Any]] = [
        {"set": "procedure", "value": procedure},
        {"set": "documents[type=行政处罚决定书]/amounts/fine", "value": fine},
        {"set": "documents[type=履行记录]/amounts", "value": {"paid": amount, "collected_on_spot": amount}},
    ]
    if reason:
        edits.append({"set": "documents[type=履行记录]/fields/当场收缴理由", "value": reason})
    return edited("penalty", *edits)


def test_150_yuan_collected_on_the_spot_without_a_reason_fails() -> None:
    f = run(collected(150, 150), "N-APL68-on-spot-collection")
    assert f.status == "fail" and "150 元" in f.found and "当场收缴理由" in f.found
    assert status(collected(100, 100), "N-APL68-on-spot-collection") == "pass"  # art. 68 (1)
    hard = collected(150, 150, "当事人系外地流动摊贩，不当场收缴事后难以执行")
    assert status(hard, "N-APL68-on-spot-collection") == "pass"  # art. 68 (2)


def test_collecting_on_the_spot_after_the_general_procedure_needs_a_remote_place() -> None:
    general = collected(150, 150, "不当场收缴事后难以执行", procedure="一般")
    f = run(general, "N-APL68-on-spot-collection")
    assert f.status == "fail" and "一般程序" in f.found  # art. 68 is the summary procedure's
    remote = collected(150, 150, "水上执法，当事人到银行缴纳确有困难，经当事人提出", procedure="一般")
    f = run(remote, "N-APL68-on-spot-collection")
    assert f.status == "pass" and "第六十九条" in f.found
    assert status(collected(100, 100, procedure="一般"), "N-APL68-on-spot-collection") == "fail"


def test_collecting_on_the_spot_written_only_in_prose_cannot_be_checked() -> None:
    prose = edited("penalty", {"set": "documents[type=履行记录]/fields/履行情况", "value": "罚款 150 元已当场收缴"})
    f = run(prose, "N-APL68-on-spot-collection")
    assert f.status == "unknown" and "amounts.collected_on_spot" in f.found
    assert status(load_sample("penalty"), "N-APL68-on-spot-collection") == "na"


# -- 行政处罚法第六十三条: the hearing right for a 较大数额 fine (Hunan's figures) ------------
def proposed(fine: float | None, party: str = "个人", hearing: str | None = None) -> dict[str, Any]:
    case = edited("penalty", {"set": "party/type", "value": party})
    for d in case["documents"]:
        if d["type"] in ("行政处罚事先告知书", "行政处罚决定书"):
            d.pop("amounts", None)
            if fine is not None:
                d["amounts"] = {"fine": fine}
        if d["type"] == "行政处罚事先告知书" and hearing is not None:
            d["fields"]["听证权"] = hearing
    return case


@pytest.mark.parametrize(("party", "fine", "want"), [
    ("个人", 1000, "fail"), ("个人", 999, "pass"), ("单位", 20000, "fail"), ("单位", 19999, "pass"),
])  # fmt: skip
def test_a_fine_at_hunans_threshold_needs_the_hearing_right(party: str, fine: int, want: str) -> None:
    f = run(proposed(fine, party), "N-APL63-hearing-right")  # the notice says 听证权: 不适用
    assert f.status == want, f.found
    told = proposed(fine, party, hearing="已载明：当事人有权要求听证")
    assert status(told, "N-APL63-hearing-right") == "pass"


def test_the_threshold_is_a_setting() -> None:
    changed = Context(CTX.today, CTX.calendar, TZ, hearing_fines={"个人": 500.0, "单位": 10000.0})
    assert status(proposed(600), "N-APL63-hearing-right") == "pass"
    f = run(proposed(600), "N-APL63-hearing-right", changed)
    assert f.status == "fail" and "500 元" in f.expected


def test_the_vault_setting_reaches_the_check(case_vault: Vault) -> None:
    from zfjl.vault.settings import set_setting

    assert dict(vault_context(case_vault).hearing_fines) == {"个人": 1000.0, "单位": 20000.0}
    set_setting(case_vault, "check.hearing_fine_individual", 3000)
    assert vault_context(case_vault).hearing_fines["个人"] == 3000.0
    from zfjl.errors import UsageError

    with pytest.raises(UsageError, match=r"check\.hearing_fine_organisation"):
        set_setting(case_vault, "check.hearing_fine_organisation", -5)


def test_a_fine_written_only_in_prose_makes_the_hearing_right_unknown() -> None:
    f = run(proposed(None), "N-APL63-hearing-right")  # 拟处罚内容: 罚款 200 元
    assert f.status == "unknown" and "amounts.fine" in f.found
    # The right was told: whatever the amount, nothing is missing.
    assert status(proposed(None, hearing="已载明"), "N-APL63-hearing-right") == "pass"


# -- 行政强制法第四十五条: 加处罚款 never above the fine --------------------------------------
def surcharged(surcharge: float | None, text: str = "") -> dict[str, Any]:
    demand: dict[str, Any] = {"id": "d-demand", "type": "催告书", **at("2024-06-05"),
                              "fields": {"履行期限": "2024-06-15", "催告内容": text or "缴纳罚款"}}  # fmt: skip
    if surcharge is not None:
        demand["amounts"] = {"surcharge": surcharge}
    return edited("penalty", doc(**demand))


def test_a_surcharge_above_the_fine_fails_up_to_it_passes() -> None:
    f = run(surcharged(201), "N-ACL45-surcharge-cap")  # the fine: 200 元
    assert f.status == "fail" and "201 元" in f.found and "200 元" in f.found
    assert status(surcharged(200), "N-ACL45-surcharge-cap") == "pass"
    assert status(load_sample("penalty"), "N-ACL45-surcharge-cap") == "na"


def test_a_surcharge_in_prose_or_without_the_fine_cannot_be_checked() -> None:
    f = run(surcharged(None, "逾期每日按罚款数额的 3% 加处罚款"), "N-ACL45-surcharge-cap")
    assert f.status == "unknown" and "amounts.surcharge" in f.found
    no_fine = apply_edits(surcharged(100), [{"remove": "documents[type=行政处罚决定书]/amounts"}])
    f = run(no_fine, "N-ACL45-surcharge-cap")
    assert f.status == "unknown" and "amounts.fine" in f.found


# -- contents: 行政强制法第二十四、三十七条; 行政处罚法第五十二、五十九条 ------------------------
SEIZURE = {"id": "d-seize", "type": "查封扣押决定书", **at("2024-05-06"),
           "fields": {"当事人情况": "陈某某", "查封扣押理由": "占道经营的经营工具",
                      "适用依据": "《株洲市城市综合管理条例》第六十条", "查封扣押期限": "30 日",
                      "查封扣押财物": "三轮车 1 辆", "救济途径和期限": "60 日内申请行政复议或 6 个月内提起行政诉讼",
                      "印章": "株洲市城市管理和综合执法局"}}  # fmt: skip


@pytest.mark.parametrize("item", ["查封扣押期限", "查封扣押财物", "查封扣押理由", "救济途径和期限"])
def test_a_seizure_decision_states_what_article_24_lists(item: str) -> None:
    case = edited("penalty", doc(**SEIZURE))
    assert status(case, "N-ACL24-seizure-items") == "pass"
    f = run(apply_edits(case, [{"remove": f"documents[id=d-seize]/fields/{item}"}]), "N-ACL24-seizure-items")
    assert f.status == "fail" and item in f.found
    moved = apply_edits(case, [{"remove": "party/address"}])
    assert "当事人地址" in run(moved, "N-ACL24-seizure-items").found


@pytest.mark.parametrize("item", ["强制执行方式", "执行时间"])
def test_an_enforcement_decision_states_its_method_and_time(item: str) -> None:
    assert status(load_sample("demolition"), "N-ACL37-decision-items") == "pass"
    case = edited("demolition", {"remove": f"documents[type=强制执行决定书]/fields/{item}"})
    f = run(case, "N-ACL37-decision-items")
    assert f.status == "fail" and item in f.found


def on_the_spot(*edits: dict[str, Any]) -> dict[str, Any]:
    return edited(
        "penalty",
        {"set": "procedure", "value": "简易"},
        {"set": "documents[type=行政处罚决定书]/place", "value": "建设路 18 号门前人行道"},
        {"set": "documents[type=行政处罚决定书]/signatures", "value": [{"role": "执法人员", "name": "李明"}]},
        {"set": "documents[type=行政处罚决定书]/fields/备案日期", "value": "2024-05-14"},
        *edits,
    )


def test_an_on_the_spot_decision_is_numbered_placed_signed_and_filed() -> None:
    case = on_the_spot()
    for rule in ("N-APL52-summary-items", "N-APL52-summary-signed", "N-APL52-summary-filed"):
        assert status(case, rule) == "pass", rule
    f = run(apply_edits(case, [{"remove": "documents[type=行政处罚决定书]/place"}]), "N-APL52-summary-items")
    assert f.status == "fail" and "地点" in f.found
    f = run(apply_edits(case, [{"remove": "documents[type=行政处罚决定书]/number"}]), "N-APL52-summary-items")
    assert f.status == "fail" and "编号" in f.found
    unsigned = apply_edits(case, [{"set": "documents[type=行政处罚决定书]/signatures", "value": []}])
    assert status(unsigned, "N-APL52-summary-signed") == "fail"
    # The general procedure's decision is art. 59's, not art. 52's.
    assert status(load_sample("penalty"), "N-APL52-summary-items") == "na"


def test_filing_an_on_the_spot_decision_is_pending_until_the_case_closes() -> None:
    unfiled = on_the_spot({"remove": "documents[type=行政处罚决定书]/fields/备案日期"})
    assert status(unfiled, "N-APL52-summary-filed") == "fail"  # the sample is archived
    unfiled["status"] = "办理中"
    assert status(unfiled, "N-APL52-summary-filed") == "pending"


def test_a_decision_names_the_partys_address() -> None:
    assert status(load_sample("penalty"), "N-APL59-decision-items") == "pass"
    f = run(edited("penalty", {"remove": "party/address"}), "N-APL59-decision-items")
    assert f.status == "fail" and "当事人地址" in f.found
    on_decision = edited("penalty", {"remove": "party/address"},
                         {"set": "documents[type=行政处罚决定书]/fields/当事人地址", "value": "建设路 18 号"})  # fmt: skip
    assert status(on_decision, "N-APL59-decision-items") == "pass"


# -- the case format: amounts, and files of the previous format -------------------------------
def previous_format(name: str) -> str:
    """A sample as the previous format wrote it: money in prose only, no `amounts`."""
    data = yaml.safe_load(sample_text(name))
    for d in data["documents"]:
        d.pop("amounts", None)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@pytest.mark.parametrize(("value", "needle"), [(-5, "负数"), ("200元", "数字"), ({"fine": 1}, "数字")])
def test_amounts_are_numbers_of_yuan(value: Any, needle: str) -> None:
    data = yaml.safe_load(sample_text("penalty"))
    decision = next(d for d in data["documents"] if d["type"] == "行政处罚决定书")
    decision["amounts"] = {"fine": value}
    with pytest.raises(CaseFormatError, match=needle) as err:
        parse_case(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "penalty.yaml")
    assert "amounts.fine" in err.value.message and "第" in err.value.message
    decision["amounts"] = {"fines": 200}
    with pytest.raises(CaseFormatError, match="是否应为 fine"):
        parse_case(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "penalty.yaml")


def test_a_case_file_of_the_previous_format_imports_and_warns_naming_the_field(case_vault: Vault) -> None:
    data = import_case(case_vault, parse_case(previous_format("penalty"), "penalty.yaml"))
    assert all("amounts" not in d for d in get_case(case_vault, data["case"])["documents"])
    report = check(case_vault, data["case"], today=dt.date(2024, 9, 2))
    unknown = {f.rule: f for f in report.findings if f.status == "unknown"}
    assert set(unknown) == {"N-APL63-hearing-right"}
    assert "amounts.fine" in unknown["N-APL63-hearing-right"].found
    assert report.verdict == "warnings"  # never a silent pass
    # The clerk fills the amounts (a correction, with its reason): the warning clears.
    reopen_case(case_vault, data["case"], reason="补填罚款数额")  # the sample is archived
    import_case(case_vault, parse_case(sample_text("penalty"), "penalty.yaml"), reason="补填罚款数额")
    again = check(case_vault, data["case"], today=dt.date(2024, 9, 2))
    assert {f.rule: f.status for f in again.findings}["N-APL63-hearing-right"] == "pass"
    assert again.verdict == "pass"
    fines = [d["amounts"]["fine"] for d in get_case(case_vault, data["case"])["documents"] if "amounts" in d and "fine" in d["amounts"]]
    assert fines == [200, 200]


def test_amounts_survive_export_and_import() -> None:
    from zfjl.cases.io import dump_case

    case = parse_case(sample_text("penalty"), "penalty.yaml")
    again = parse_case(dump_case(case), "export.yaml")
    assert [d.get("amounts") for d in again["documents"]] == [d.get("amounts") for d in case["documents"]]
    assert {"fine": 200} in [d.get("amounts") for d in again["documents"]]


def test_every_statute_article_of_issue_28_has_a_rule_quoting_it() -> None:
    wanted = {
        "行政许可法第三十八条": "行政机关依法作出不予行政许可的书面决定的，应当说明理由",
        "行政许可法第四十二条": "二十日内不能作出决定的，经本行政机关负责人批准，可以延长十日",
        "行政许可法第四十三条": "下级行政机关应当自其受理行政许可申请之日起二十日内审查完毕",
        "行政许可法第四十四条": "应当自作出决定之日起十日内向申请人颁发、送达行政许可证件",
        "行政处罚法第五十一条": "对公民处以二百元以下、对法人或者其他组织处以三千元以下罚款",
        "行政处罚法第五十二条": "应当报所属行政机关备案",
        "行政处罚法第五十九条": "（一）当事人的姓名或者名称、地址",
        "行政处罚法第六十三条": "（一）较大数额罚款",
        "行政处罚法第六十八条": "（一）依法给予一百元以下罚款的；（二）不当场收缴事后难以执行的",
        "行政强制法第二十四条": "（二）查封、扣押的理由、依据和期限",
        "行政强制法第三十七条第二款": "（三）强制执行的方式和时间",
        "行政强制法第四十五条": "加处罚款或者滞纳金的数额不得超出金钱给付义务的数额",
    }
    by_article: dict[str, list[str]] = {}
    for rule in RULES.values():
        by_article.setdefault(rule.article, []).append(rule.text)
    for article, words in wanted.items():
        assert any(words in text for text in by_article.get(article, [])), article
    # 第三十二条 and 第四十五条 are quoted where they act: the 20 days' start and exclusions.
    assert "逾期不告知的，自收到申请材料之日起即为受理" in RULES["N-ALL42-decide-20days"].text
    assert "所需时间不计算在本节规定的期限内" in RULES["N-ALL42-decide-20days"].text


def test_a_licence_period_the_calendar_cannot_count_is_unknown_never_pass() -> None:
    # Accepted in the last days of the last year a holiday notice covers: the 20 working days
    # run into a year without one, so the rule cannot say (无法判断), with or without exclusions.
    from zfjl.workdays import BUILTIN_YEARS

    last = max(BUILTIN_YEARS)
    case = edited(
        "licensing",
        {"remove": "documents[type=补正通知书]"},
        {"set": "documents[type=申请书]/date", "value": f"{last}-12-28T09:00:00+08:00"},
        {"set": "documents[type=受理通知书]/date", "value": f"{last}-12-28T10:00:00+08:00"},
        {"set": "documents[type=行政许可决定书]/date", "value": f"{last + 1}-01-05T09:00:00+08:00"},
    )
    f = run(case, "N-ALL42-decide-20days")
    assert f.status == "unknown" and "工作日历未覆盖" in f.found
    review = doc(id="d-experts", type="专家论证记录", date=f"{last}-12-30T17:00:00+08:00",
                 start=f"{last}-12-29T09:00:00+08:00", end=f"{last}-12-30T17:00:00+08:00")  # fmt: skip
    assert status(apply_edits(case, [review]), "N-ALL42-decide-20days") == "unknown"


def test_a_bureau_declaring_the_lower_review_type_gets_article_43_checked() -> None:
    from zfjl.cases.doctypes import DOCTYPES
    from zfjl.cases.store import normalise_times
    from zfjl.checklists.examples import offline_links

    data = yaml.safe_load(sample_text("licensing"))
    data["documents"].append({"id": "d-first", "type": "初审意见书", "date": "2024-08-06T09:00"})
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    with pytest.raises(CaseFormatError, match="未知的文书类型"):
        parse_case(text, "licensing.yaml")  # not a shipped type
    case = parse_case(text, "licensing.yaml", doctypes={**DOCTYPES, "初审意见书": "审查决定"})
    f = run(offline_links(normalise_times(case, TZ)), "N-ALL43-lower-review-20days")
    assert f.status == "fail" and "2024-08-05" in f.found

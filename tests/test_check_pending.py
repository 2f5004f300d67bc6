"""Issue 12 (1): a requirement whose moment has not come is pending (待办, with its day), not ✘.

Decided from the case's stage and the as-of date, for every rule; `check`, `check --all` and
`--json` show pending items apart from violations.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from zfjl.checklists import load_rules, pending_items
from zfjl.checklists.engine import check_case
from zfjl.checklists.examples import apply_edits, load_sample
from zfjl.checklists.predicates import Context
from zfjl.workdays import WorkdayCalendar

from .conftest import zfjl_run

TZ = ZoneInfo("Asia/Shanghai")
RULES = load_rules()


def ctx(day: str) -> Context:
    return Context(dt.date.fromisoformat(day), WorkdayCalendar(), TZ)


INVESTIGATING = {"keep": ["d-start", "d-inspect", "d-interview"]}
ORDER = {"id": "d-order", "type": "责令改正通知书", "date": "2024-05-06T10:30:00+08:00",
         "fields": {"改正内容": "立即停止占道经营", "改正期限": "2024-05-10"}}  # fmt: skip
ORDER_RECEIPT = {"id": "d-r-order", "type": "送达回证", "serves": "d-order", "method": "直接",
                 "date": "2024-05-06T10:30:00+08:00", "received_at": "2024-05-06T10:30:00+08:00",
                 "fields": {"身份核实": "核对身份证"},
                 "signatures": [{"role": "送达人", "name": "李明"}, {"role": "受送达人", "name": "陈某某"}]}  # fmt: skip


def investigating() -> dict[str, Any]:
    """The penalty sample as it stood on 7 May 2024: started, inspected, questioned, ordered
    to correct by 10 May; nothing of the review stage yet."""
    case = load_sample("penalty")
    docs = [d for d in case["documents"] if d["id"] in INVESTIGATING["keep"]]
    media = [m for m in case["media"] if m.get("document") in INVESTIGATING["keep"]]
    return {**case, "status": "办理中", "documents": [*docs, ORDER, ORDER_RECEIPT], "media": media}


def by_rule(case: dict[str, Any], day: str) -> dict[str, Any]:
    return {f.rule: f for f in check_case(case, RULES, ctx(day)).findings}


def test_a_case_under_investigation_has_no_violation_only_pending_items() -> None:
    report = check_case(investigating(), RULES, ctx("2024-05-07"))
    assert report.count("fail") == 0, [(f.rule, f.found) for f in report.findings
                                       if f.status == "fail"]  # fmt: skip
    found = {f.rule: f for f in report.findings}
    for rule in ("R19-final-report", "R20-handling-approval-present", "R24-recheck-present",
                 "N-APL60-decide-90days"):  # fmt: skip
        assert found[rule].status == "pending", (rule, found[rule].found)
    assert found["R24-recheck-present"].due == "2024-05-10"  # the correction deadline
    assert found["N-APL60-decide-90days"].due == "2024-08-04"
    assert report.verdict == "pass" and "待办" in report.verdict_line()
    # Earliest first, undated (due at the next stage) last: the receipt's photo may take two
    # working days to reach the vault (art. 37), the recheck waits for the correction deadline.
    dues = [f.due for f in report.pending()]
    assert dues[:3] == ["2024-05-08", "2024-05-10", "2024-08-04"] and dues[-1] is None
    assert report.pending()[0].rule == "R30-direct-media"


def test_a_pending_item_becomes_a_violation_once_due() -> None:
    case = investigating()
    # The correction deadline has passed and nobody went back to look.
    assert by_rule(case, "2024-05-13")["R24-recheck-present"].status == "fail"
    # A decision is on file: the handling approval should have come first.
    decided = {**case, "documents": [*case["documents"], {"id": "d-decision", "type": "行政处罚决定书",
                                                        "date": "2024-05-08T09:00:00+08:00"}]}  # fmt: skip
    found = by_rule(decided, "2024-05-08")
    assert found["R20-handling-approval-present"].status == "fail"
    # The decision belongs to 审查决定: the investigation is over, its report was due.
    assert found["R19-final-report"].status == "fail"


def test_the_investigation_report_falls_due_when_the_review_stage_begins() -> None:
    case = investigating()
    approval = {"id": "d-approval", "type": "案件处理审批表", "date": "2024-05-09T09:00:00+08:00"}
    moved_on = {**case, "documents": [*case["documents"], approval]}
    assert by_rule(case, "2024-05-09")["R19-final-report"].status == "pending"
    assert by_rule(moved_on, "2024-05-09")["R19-final-report"].status == "fail"


def test_a_closed_case_has_nothing_pending() -> None:
    closed = {**investigating(), "status": "已结案"}
    found = by_rule(closed, "2024-05-07")
    assert found["R19-final-report"].status == "fail"
    assert found["R24-recheck-present"].status == "fail"


def test_deadlines_pending_until_their_day_then_overdue() -> None:
    case = load_sample("penalty")
    undelivered = apply_edits(case, [{"remove": "documents[serves=d-decision]"},
                                     {"remove": "media[document=d-r-decision]"}])  # fmt: skip
    undelivered["status"] = "办理中"
    # Decided Mon 13 May 2024: served within 7 working days, by Wed 22 May.
    for rule in ("N-APL61-serve-7days", "R29-service-receipt"):
        early = by_rule(undelivered, "2024-05-15")[rule]
        assert (early.status, early.due) == ("pending", "2024-05-22"), (rule, early.found)
        assert by_rule(undelivered, "2024-05-23")[rule].status == "fail"


def test_closing_requirements_are_pending_while_the_case_is_open() -> None:
    case = apply_edits(load_sample("penalty"), [{"remove": "documents[type=履行记录]"}])
    case["status"] = "办理中"
    assert by_rule(case, "2024-05-20")["R25-performance"].status == "pending"
    case["status"] = "已结案"
    assert by_rule(case, "2024-05-20")["R25-performance"].status == "fail"


def test_footage_not_yet_linked_is_pending_for_two_working_days() -> None:
    case = investigating()
    unfilmed = {**case, "media": [m for m in case["media"] if m.get("document") != "d-interview"]}
    # Questioned Mon 6 May 2024: stored (and linked) by Wed 8 May, art. 37.
    early = by_rule(unfilmed, "2024-05-07")["R14-av-record"]
    assert (early.status, early.due) == ("pending", "2024-05-08")
    assert by_rule(unfilmed, "2024-05-09")["R14-av-record"].status == "fail"


def test_pending_items_as_data_for_the_monthly_report() -> None:
    report = check_case(investigating(), RULES, ctx("2024-05-07"))
    items = pending_items([report])
    assert items[1] == {"case": "CASE-2024-031", "rule": "R24-recheck-present", "article": "第二十四条",
                        "stage": "送达执行", "title": report.pending()[1].title,
                        "due": "2024-05-10", "found": report.pending()[1].found}  # fmt: skip
    summary = report.summary_dict()
    assert {p["rule"] for p in summary["pending"]} >= {"R19-final-report", "R24-recheck-present"}
    assert not any(p["status"] == "pending" for p in summary["problems"])
    assert summary["stages"]["审查决定"]["pending"] >= 1


def test_check_shows_pending_apart_everywhere(tmp_path: Path) -> None:
    env = {"ZFJL_VAULT": str(tmp_path / "v")}
    zfjl_run("init", "--bureau", "株洲市城市管理和综合执法局", env=env, check=True)
    case = investigating()
    case["media"] = []  # footage is not in this vault: the check reports it missing
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(case, allow_unicode=True), "utf-8")
    zfjl_run("case", "import", str(path), env=env, check=True)
    text = zfjl_run("check", "CASE-2024-031", "--as-of", "2024-05-07", env=env)
    assert "○ 待办" in text.stdout and "最迟 2024-05-10" in text.stdout
    section = text.stdout.split("○ 待办")[1]
    assert "R24-recheck-present" in section and "R19-final-report" in section
    stages = text.stdout.split("○ 待办")[0]
    assert "R24-recheck-present" not in stages  # not listed among the stage's problems
    data = json.loads(zfjl_run("check", "CASE-2024-031", "--as-of", "2024-05-07", "--json",
                               env=env).stdout)  # fmt: skip
    assert data["summary"]["pending"] >= 3
    assert {"R19-final-report", "R24-recheck-present"} <= {p["rule"] for p in data["pending"]}
    assert all(p["status"] == "pending" for p in data["pending"])
    summary = zfjl_run("check", "--all", "--as-of", "2024-05-07", env=env)
    assert "○" in summary.stdout and "最早 2024-05-08 到期" in summary.stdout
    rows = zfjl_run("check", "--all", "--as-of", "2024-05-07", "--json", env=env).stdout
    (row,) = json.loads(rows)
    assert {"R19-final-report", "R24-recheck-present"} <= {p["rule"] for p in row["pending"]}
    assert "R24-recheck-present" not in {p["rule"] for p in row["problems"]}

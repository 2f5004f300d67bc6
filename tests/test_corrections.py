"""Undo by correction, never by erasure (issue 13): detach, document withdraw and replace, case
withdrawal and reopening, and re-import over a case, each a journaled event with its actor and
reason; the derived view drops what was corrected, the history and the custody log keep both;
an archived case refuses every change until reopened; a replay gives the same catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from zfjl.cases.io import read_case_file
from zfjl.cases.store import (
    attach,
    detach,
    get_case,
    import_case,
    open_case,
    reopen_case,
    set_status,
    withdraw_case,
)
from zfjl.errors import AmbiguousIdError, CaseError, NotPermitted, UsageError
from zfjl.retention import sweep
from zfjl.vault import Vault, events
from zfjl.vault.verify import verify

from .conftest import CASE_CLOCK, SAMPLE_CASES, copy_vault, fixed_clock, set_roles, zfjl_run
from .doors import (
    catalog_column,
    catalog_count,
    catalog_snapshot,
    journal_events,
    journal_events_at,
    object_version,
)

CASE = "CASE-2024-031"  # the sample penalty case: archived


@pytest.fixture
def root(tmp_path: Path, sample_cases_template: Path) -> Path:
    """The three archived sample cases over their footage; no vault left open."""
    return copy_vault(sample_cases_template, tmp_path / "vault")


def _env(root: Path) -> dict[str, str]:
    return {"ZFJL_VAULT": str(root)}


def _open(root: Path) -> Vault:
    return Vault.open(root, clock=fixed_clock(CASE_CLOCK))


def _rows(root: Path) -> int:
    return len(journal_events_at(root))  # without opening the vault


def _json(proc: Any) -> Any:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _reopen(root: Path) -> None:
    _json(zfjl_run("case", "reopen", CASE, "--reason", "补正案卷", "--json", env=_env(root)))


def _link(root: Path, activity: str) -> dict[str, Any]:
    with _open(root) as v:
        return next(m for m in get_case(v, CASE)["media"] if m["activity"] == activity)


def _link_all(root: Path) -> list[dict[str, Any]]:
    with _open(root) as v:
        return list(get_case(v, CASE)["media"])


def _write_doc(tmp_path: Path, doc: dict[str, Any], name: str = "doc.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def _open_case(v: Vault, case: str = "CASE-2024-090", **extra: Any) -> None:
    open_case(v, {"case": case, "kind": "处罚", "procedure": "一般", "cause": "占道经营",
                  "party": {"type": "个人", "name": "张三"}, "origin": "依职权",
                  "opened_at": "2024-05-06T09:00", "flags": {}, **extra})  # fmt: skip


# -- archived cases refuse every change -------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["attach", CASE, "--device", "DSJ01", "--from", "2024-05-06T10:00", "--to",
         "2024-05-06T11:00", "--activity", "现场检查"],
        ["detach", CASE, "{rec}", "--reason", "误关联"],
        ["case", "doc", CASE, "{doc}", "--reason", "笔误"],
        ["case", "withdraw-doc", CASE, "d-start", "--reason", "误录"],
        ["case", "withdraw", CASE, "--reason", "误导入"],
        ["case", "status", CASE, "办理中"],
        ["case", "import", "{file}", "--reason", "更正当事人"],
    ],
    ids=["attach", "detach", "doc", "withdraw-doc", "withdraw", "status", "import"],
)
def test_an_archived_case_refuses_every_change_until_reopened(
    root: Path, tmp_path: Path, args: list[str]
) -> None:
    rec = _link(root, "询问")["recording"]
    with _open(root) as v:
        case = get_case(v, CASE)
    doc = _write_doc(tmp_path, {**case["documents"][0], "fields": {"启动原因": "巡查"}})
    changed = tmp_path / "case.yaml"
    changed.write_text(json.dumps({**case, "cause": "无照经营"}, ensure_ascii=False), "utf-8")
    filled = [a.format(rec=rec[:12], doc=doc, file=changed) for a in args]
    before = _rows(root)
    proc = zfjl_run(*filled, env=_env(root))
    assert proc.returncode == 8, proc.stderr
    assert "已归档" in proc.stderr and f"zfjl case reopen {CASE} --reason" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert _rows(root) == before  # nothing journaled
    _reopen(root)
    assert zfjl_run(*filled, env=_env(root)).returncode == 0


def test_reopening_needs_a_reason_and_an_approving_role(root: Path) -> None:
    proc = zfjl_run("case", "reopen", CASE, env=_env(root))
    assert proc.returncode == 2 and "--reason" in proc.stderr
    with _open(root) as v:
        set_roles(v, "legal")  # 法规科, no longer an administrator
        reopened = reopen_case(v, CASE, "补正送达回证")
        assert reopened["status"] == "已结案"  # an archived case was closed first
        with pytest.raises(UsageError, match="未归档，也未撤销"):
            reopen_case(v, CASE, "再次")
        history = zfjl_run("case", "history", CASE, "--json", env=_env(root))
        last = _json(history)[-1]
    assert (last["kind"], last["reason"], last["actor"]) == ("case.reopen", "补正送达回证", v.actor)
    assert last["what"] == "重新启用案件" and "恢复为已结案" in last["detail"]


def test_a_clerk_may_neither_reopen_nor_withdraw_a_case(root: Path) -> None:
    with _open(root) as v:
        set_roles(v, "clerk")
    proc = zfjl_run("case", "reopen", CASE, "--reason", "补正", env=_env(root))
    assert proc.returncode == 8 and "无权重新启用案件" in proc.stderr
    proc = zfjl_run("case", "withdraw", "CASE-2024-045", "--reason", "误导入", env=_env(root))
    assert proc.returncode == 8 and "无权撤销案件" in proc.stderr
    # A clerk corrects an open case of their own: a detach needs a reason, not a role.
    with _open(root) as v:
        _open_case(v)
        attach(v, "CASE-2024-090", device="DSJ01", since="2024-05-06T10:32",
               until="2024-05-06T10:47", activity="询问")  # fmt: skip
        rec = get_case(v, "CASE-2024-090")["media"][0]["recording"]
    assert zfjl_run("detach", "CASE-2024-090", rec[:8], "--reason", "误关联",
                    env=_env(root)).returncode == 0  # fmt: skip


def test_reopen_returns_the_status_before_archiving(case_vault: Vault) -> None:
    _open_case(case_vault)
    set_status(case_vault, "CASE-2024-090", "已归档")  # archived straight from 办理中
    assert reopen_case(case_vault, "CASE-2024-090", "归档有误")["status"] == "办理中"
    set_status(case_vault, "CASE-2024-090", "已结案")
    set_status(case_vault, "CASE-2024-090", "已归档")
    assert reopen_case(case_vault, "CASE-2024-090", "补正")["status"] == "已结案"
    with pytest.raises(CaseError, match="没有案件"):
        reopen_case(case_vault, "CASE-1999-001", "x")


# -- detach -----------------------------------------------------------------------------------
def test_detach_drops_the_link_from_what_checks_see_and_keeps_it_in_history_and_log(
    root: Path,
) -> None:
    _reopen(root)
    link = _link(root, "现场检查")
    rec = link["recording"]
    with _open(root) as v:
        before = object_version(v, rec)
    out = _json(zfjl_run("detach", CASE, rec[:12], "--activity", "现场检查", "--reason",
                         "误关联：非本案现场", "--json", env=_env(root)))  # fmt: skip
    assert [m["recording"] for m in out] == [rec] and out[0]["activity"] == "现场检查"
    with _open(root) as v:
        case = get_case(v, CASE)
        assert link not in case["media"]
        assert catalog_column(v, "case_media", "activity", recording_id=rec) == ["询问"]  # the same footage's other link stays
        # Once evidence, a detach is no approval to destroy: still case evidence for the sweep.
        assert {i.id: i.cls for i in sweep.classify(v, v.now(), [rec])}[rec] == "case"
    with _open(root) as v:
        assert object_version(v, rec) == before
    shown = _json(zfjl_run("case", "show", CASE, "--json", env=_env(root)))
    assert [(c["kind"], c["reason"]) for c in shown["corrections"]][-1] == (
        "case.detach", "误关联：非本案现场")
    history = _json(zfjl_run("case", "history", CASE, "--json", env=_env(root)))
    assert history[0]["kind"] == "case.import" and rec in json.dumps(history[0]["data"])
    assert history[-1]["kind"] == "case.detach" and history[-1]["data"]["links"] == [link]
    # The custody log of the recording still shows the case, the link and its correction.
    log = _json(zfjl_run("log", rec, "--json", env=_env(root)))
    kinds = [e["kind"] for e in log["entries"]]
    assert "case.import" in kinds and "case.detach" in kinds
    detach_row = next(e for e in log["entries"] if e["kind"] == "case.detach")
    assert "误关联：非本案现场" in detach_row["detail"] and detach_row["what"] == "解除关联（更正）"
    case_log = _json(zfjl_run("log", CASE, "--json", env=_env(root)))
    assert "case.detach" in [e["kind"] for e in case_log["entries"]]
    text = zfjl_run("case", "history", CASE, env=_env(root)).stdout
    assert "解除关联（更正）" in text and "原因：误关联：非本案现场" in text


def test_detach_narrowed_by_activity_keeps_the_other_links(case_vault: Vault) -> None:
    _open_case(case_vault)
    window = {"device": "DSJ01", "since": "2024-05-06T10:32", "until": "2024-05-06T10:47"}
    (first,) = attach(case_vault, "CASE-2024-090", activity="询问", **window)
    attach(case_vault, "CASE-2024-090", activity="现场检查", **window)
    gone = detach(case_vault, "CASE-2024-090", [first["recording"][:8]], reason="活动写错",
                  activity="现场检查")  # fmt: skip
    assert [m["activity"] for m in gone] == ["现场检查"]
    assert [m["activity"] for m in get_case(case_vault, "CASE-2024-090")["media"]] == ["询问"]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["{rec}"], 2, "--reason"),
        (["{rec}", "--reason", "  "], 2, "--reason"),
        (["ffff0000", "--reason", "误关联"], 4, "没有关联录音录像 ffff0000"),
        (["xyz", "--reason", "误关联"], 2, "至少 4 位十六进制"),
        (["{rec}", "--activity", "强制拆除", "--reason", "误关联"], 4, "没有活动 强制拆除的关联"),
    ],
)
def test_detach_bad_input(root: Path, args: list[str], code: int, needle: str) -> None:
    _reopen(root)
    rec = _link(root, "现场检查")["recording"][:12]
    before = _rows(root)
    proc = zfjl_run("detach", CASE, *[a.format(rec=rec) for a in args], env=_env(root))
    assert proc.returncode == code, proc.stderr
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert _rows(root) == before


def test_detach_refuses_a_prefix_two_links_share(case_vault: Vault) -> None:
    _open_case(case_vault)
    base = {"kind": "video", "start": None, "end": None, "device": None, "officer": None,
            "late": None, "activity": "询问"}  # fmt: skip
    links = [{**base, "recording": "abcd" + c * 60} for c in "12"]
    case_vault.record(events.CaseAttach(case="CASE-2024-090", links=links), "case:CASE-2024-090")
    with pytest.raises(AmbiguousIdError, match="对应 2 条录音录像"):
        detach(case_vault, "CASE-2024-090", ["abcd"], reason="误关联")
    with pytest.raises(CaseError, match="没有案件"):
        detach(case_vault, "CASE-1999-001", ["abcd"], reason="误关联")
    with pytest.raises(UsageError, match="请指定"):
        detach(case_vault, "CASE-2024-090", [], reason="误关联")


# -- documents: replace and withdraw ----------------------------------------------------------
def test_replacing_a_document_is_a_correction_with_its_reason(root: Path, tmp_path: Path) -> None:
    _reopen(root)
    with _open(root) as v:
        old = next(d for d in get_case(v, CASE)["documents"] if d["id"] == "d-interview")
    new = {**old, "fields": {**old["fields"], "询问内容": "更正后的询问内容"}}
    path = _write_doc(tmp_path, new)
    before = _rows(root)
    proc = zfjl_run("case", "doc", CASE, str(path), env=_env(root))
    assert proc.returncode == 2 and "已有代号为 d-interview 的文书" in proc.stderr
    assert "--reason" in proc.stderr and _rows(root) == before
    proc = zfjl_run("case", "doc", CASE, str(path), "--reason", "询问内容抄录有误", env=_env(root))
    assert proc.returncode == 0 and "已替换文书" in proc.stdout
    with _open(root) as v:
        docs = get_case(v, CASE)["documents"]
    ids = [d["id"] for d in docs]
    assert ids.count("d-interview") == 1 and ids.index("d-interview") == 2  # same place
    assert docs[2]["fields"]["询问内容"] == "更正后的询问内容"
    last = _json(zfjl_run("case", "history", CASE, "--json", env=_env(root)))[-1]
    assert last["kind"] == "case.document_replace" and last["reason"] == "询问内容抄录有误"
    assert last["data"]["replaced"] == old and last["data"]["replaces"] == "d-interview"
    # A new id is no correction: it is added, no reason asked.
    added = _write_doc(tmp_path, {"id": "d-review", "type": "复查记录", "date": "2024-05-20T10:00"},
                       "new.yaml")  # fmt: skip
    proc = zfjl_run("case", "doc", CASE, str(added), "--json", env=_env(root))
    assert _json(proc)["id"] == "d-review"


def test_withdrawing_a_document(root: Path) -> None:
    _reopen(root)
    env = _env(root)
    proc = zfjl_run("case", "withdraw-doc", CASE, "d-decision", "--reason", "误录", env=env)
    assert proc.returncode == 4 and "送达回证 d-r-decision" in proc.stderr  # still served
    proc = zfjl_run("case", "withdraw-doc", CASE, "d-inspect", "--reason", "误录", env=env)
    assert proc.returncode == 4 and "音像记录" in proc.stderr and "zfjl detach" in proc.stderr
    assert zfjl_run("case", "withdraw-doc", CASE, "d-nothing", "--reason", "x", env=env).returncode == 4
    assert zfjl_run("case", "withdraw-doc", CASE, "d-start", env=env).returncode == 2
    out = _json(zfjl_run("case", "withdraw-doc", CASE, "d-start", "--reason", "重复录入",
                         "--json", env=env))  # fmt: skip
    assert out["withdrawn"]["type"] == "立案审批表"
    with _open(root) as v:
        assert "d-start" not in {d["id"] for d in get_case(v, CASE)["documents"]}
    # The receipt is named by its photo's link: detach that first, then withdraw it.
    proc = zfjl_run("case", "withdraw-doc", CASE, "d-r-decision", "--reason", "误录", env=env)
    assert proc.returncode == 4 and "音像记录" in proc.stderr
    photo = next(m for m in _link_all(root) if m.get("document") == "d-r-decision")
    zfjl_run("detach", CASE, photo["recording"][:12], "--document", "d-r-decision", "--reason",
             "误关联", env=env, check=True)  # fmt: skip
    zfjl_run("case", "withdraw-doc", CASE, "d-r-decision", "--reason", "误录", env=env, check=True)
    history = _json(zfjl_run("case", "history", CASE, "--json", env=env))
    assert [e["kind"] for e in history].count("case.document_withdraw") == 2
    log = _json(zfjl_run("log", CASE, "--json", env=env))
    row = next(e for e in log["entries"] if e["kind"] == "case.document_withdraw")
    assert "d-start（立案审批表" in row["detail"] and "重复录入" in row["detail"]


# -- case withdrawal --------------------------------------------------------------------------
def test_a_withdrawn_case_leaves_lists_and_checks_but_not_the_history(root: Path) -> None:
    env = _env(root)
    _reopen(root)
    assert zfjl_run("case", "withdraw", CASE, env=env).returncode == 2
    out = _json(zfjl_run("case", "withdraw", CASE, "--reason", "误导入：应为 045 号案件",
                         "--json", env=env))  # fmt: skip
    assert out["reason"] == "误导入：应为 045 号案件"
    ids = [c["id"] for c in _json(zfjl_run("case", "ls", "--json", env=env))]
    assert CASE not in ids and "CASE-2024-045" in ids
    listed = _json(zfjl_run("case", "ls", "--withdrawn", "--json", env=env))
    mine = next(c for c in listed if c["id"] == CASE)
    assert mine["withdraw_reason"] == "误导入：应为 045 号案件" and mine["withdrawn_at"]
    assert f"{CASE} 已于" in zfjl_run("case", "ls", "--withdrawn", env=env).stdout
    summary = zfjl_run("check", "--all", "--archived", "--json", env=env).stdout
    assert CASE not in summary and "CASE-2024-045" in summary
    assert CASE in zfjl_run("check", "--all", "--archived", "--withdrawn", "--json", env=env).stdout
    proc = zfjl_run("check", CASE, env=env)
    assert proc.returncode == 4 and "已于" in proc.stderr and "撤销" in proc.stderr
    for args in (["case", "open", CASE, "--kind", "处罚", "--cause", "占道经营", "--party", "李四",
                  "--origin", "依职权"],):  # fmt: skip
        proc = zfjl_run(*args, env=env)
        assert proc.returncode == 4 and "案件编号不得重复使用" in proc.stderr
    proc = zfjl_run("case", "import", str(SAMPLE_CASES / "penalty.yaml"), env=env)
    assert proc.returncode == 8 and "case reopen" in proc.stderr
    proc = zfjl_run("attach", CASE, "--device", "DSJ01", "--from", "2024-05-06T10:00", "--to",
                    "2024-05-06T11:00", "--activity", "询问", env=env)  # fmt: skip
    assert proc.returncode == 8
    proc = zfjl_run("render", CASE, "-o", str(root.parent / "docs"), env=env)
    assert proc.returncode == 4 and "撤销" in proc.stderr
    assert not (root.parent / "docs").exists()
    assert "case: CASE-2024-031" in zfjl_run("case", "export", CASE, env=env).stdout
    shown = _json(zfjl_run("case", "show", CASE, "--json", env=env))
    assert shown["withdrawn"]["reason"] == "误导入：应为 045 号案件"
    history = _json(zfjl_run("case", "history", CASE, "--json", env=env))
    assert history[-1]["kind"] == "case.withdraw"
    rec = shown["media"][0]["recording"]
    log = _json(zfjl_run("log", rec, "--json", env=env))
    assert "case.withdraw" in [e["kind"] for e in log["entries"]]
    # Restored by reopening, with its reason: back in the list.
    _json(zfjl_run("case", "reopen", CASE, "--reason", "误撤销", "--json", env=env))
    assert CASE in [c["id"] for c in _json(zfjl_run("case", "ls", "--json", env=env))]


def test_withdraw_refuses_a_withdrawn_case_and_open_refuses_a_live_number(case_vault: Vault) -> None:
    _open_case(case_vault)
    withdraw_case(case_vault, "CASE-2024-090", "误立案")
    with pytest.raises(NotPermitted, match=r"已于 .* 撤销"):
        withdraw_case(case_vault, "CASE-2024-090", "再次")
    with pytest.raises(CaseError, match="不再检查"):
        get_case(case_vault, "CASE-2024-090")
    _open_case(case_vault, "CASE-2024-091")
    with pytest.raises(CaseError, match=r"已存在$"):
        _open_case(case_vault, "CASE-2024-091")


# -- re-import over a case --------------------------------------------------------------------
def test_a_reimport_that_only_adds_needs_no_reason(case_vault: Vault) -> None:
    data = read_case_file(SAMPLE_CASES / "penalty.yaml")
    data["status"] = "办理中"
    import_case(case_vault, {**data, "documents": data["documents"][:3], "media": data["media"][:1]})
    import_case(case_vault, data)  # the clerk's file grew: progress, not a correction
    payload = journal_events(case_vault, "case.import")[-1].data
    assert payload["reason"] is None
    assert payload["changes"]["documents_added"] == [d["id"] for d in data["documents"][3:]]
    assert catalog_count(case_vault, "case_corrections") == 0


def test_a_reimport_that_drops_or_changes_is_a_correction(root: Path, tmp_path: Path) -> None:
    env = _env(root)
    _reopen(root)
    with _open(root) as v:
        case = get_case(v, CASE)
    edited = {**case, "cause": "无照经营",
              "documents": [d for d in case["documents"] if d["id"] != "d-start"],
              "media": [m for m in case["media"] if m["activity"] != "现场检查"]}  # fmt: skip
    path = tmp_path / "case.yaml"
    path.write_text(json.dumps(edited, ensure_ascii=False), "utf-8")
    before = _rows(root)
    proc = zfjl_run("case", "import", str(path), env=env)
    assert proc.returncode == 2 and "导入即更正" in proc.stderr and "去掉文书" in proc.stderr
    assert "去掉音像记录关联" in proc.stderr and "改动案件信息" in proc.stderr
    assert _rows(root) == before
    proc = zfjl_run("case", "import", str(path), "--reason", "案由有误，立案审批表重复", env=env)
    assert proc.returncode == 0, proc.stderr
    last = _json(zfjl_run("case", "history", CASE, "--json", env=env))[-1]
    assert last["reason"] == "案由有误，立案审批表重复"
    changes = last["data"]["changes"]
    assert changes["documents_withdrawn"] == ["d-start"] and changes["header_changed"] == ["cause"]
    assert [k[1] for k in changes["media_detached"]] == ["现场检查"]
    assert "去掉文书 d-start" in last["detail"] and "原因：案由有误" in last["detail"]
    shown = _json(zfjl_run("case", "show", CASE, "--json", env=env))
    assert shown["cause"] == "无照经营" and shown["corrections"][-1]["kind"] == "case.import"


# -- the journal replays into the same catalog ------------------------------------------------
def test_rebuild_and_verify_reproduce_every_correction(root: Path, tmp_path: Path) -> None:
    env = _env(root)
    _reopen(root)
    rec = _link(root, "现场检查")["recording"]
    zfjl_run("detach", CASE, rec[:12], "--activity", "现场检查", "--reason", "误关联", env=env,
             check=True)  # fmt: skip
    zfjl_run("case", "withdraw-doc", CASE, "d-start", "--reason", "误录", env=env, check=True)
    with _open(root) as v:
        doc = next(d for d in get_case(v, CASE)["documents"] if d["id"] == "d-interview")
    path = _write_doc(tmp_path, {**doc, "number": "更正-1"})
    zfjl_run("case", "doc", CASE, str(path), "--reason", "补文号", env=env, check=True)
    zfjl_run("case", "status", CASE, "已归档", env=env, check=True)
    zfjl_run("case", "reopen", "CASE-2024-045", "--reason", "误导入", env=env, check=True)
    zfjl_run("case", "withdraw", "CASE-2024-045", "--reason", "误导入", env=env, check=True)
    with _open(root) as v:
        before = catalog_snapshot(v)
        v.rebuild_catalog()
        assert catalog_snapshot(v) == before
        assert before["case_corrections"] and before["case_links_ever"]
        report = verify(v, read_data=False)
    assert report.ok, [f.as_dict() for f in report.findings]
    assert zfjl_run("verify", "--no-read-data", env=env).returncode == 0


def test_the_scan_of_a_withdrawn_document_stays_case_evidence(case_vault: Vault) -> None:
    from zfjl.cases.store import add_document, withdraw_document

    _open_case(case_vault)
    photo = catalog_column(case_vault, "recordings", "id", kind="photo")[0]
    add_document(case_vault, "CASE-2024-090", {"id": "d-scan", "type": "复查记录",
                                               "date": "2024-05-20T10:00", "scan": photo[:12]})  # fmt: skip
    withdraw_document(case_vault, "CASE-2024-090", "d-scan", "扫错了文书")
    assert "d-scan" not in {d["id"] for d in get_case(case_vault, "CASE-2024-090")["documents"]}
    assert {i.id: i.cls for i in sweep.classify(case_vault, case_vault.now(), [photo])}[photo] == "case"
    with pytest.raises(UsageError, match="--reason"):
        withdraw_document(case_vault, "CASE-2024-090", "d-start", None)


def test_a_withdrawn_case_leaves_the_monthly_report_and_the_spot_check_population(
    case_vault: Vault,
) -> None:
    from zfjl.reports.figures import build_report
    from zfjl.spotcheck.draw import population

    _open_case(case_vault, unit="天元大队")
    _open_case(case_vault, "CASE-2024-091", unit="天元大队")
    before = build_report(case_vault, "2024-05")["totals"]["cases_opened"]
    assert "CASE-2024-090" in population(case_vault, "天元大队", "2024-05")[1]
    withdraw_case(case_vault, "CASE-2024-090", "误立案")
    assert build_report(case_vault, "2024-05")["totals"]["cases_opened"] == before - 1
    assert population(case_vault, "天元大队", "2024-05")[1] == ["CASE-2024-091"]

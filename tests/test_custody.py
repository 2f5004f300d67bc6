"""Retention, holds, grants, the custody log and signed checkpoints (issue: arts. 42-47, 55).

The vault is driven by a clock the test moves: footage ingested in January and March, swept
in August, so the 7-month-old recordings are due and the 5-month-old one is not.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from zfjl.access import add_grant, custody_log, export, revoke_grant, view
from zfjl.cases.store import attach, open_case
from zfjl.errors import AccessDenied, Busy, NotPermitted, UsageError, VaultError
from zfjl.ingest import ingest
from zfjl.retention import sweep
from zfjl.retention.holds import place_hold, release_hold
from zfjl.sample import make_video
from zfjl.vault import Vault, events, merkle
from zfjl.vault.checkpoint import check_external, leaves
from zfjl.vault.settings import add_role, set_setting
from zfjl.vault.setup import init_vault
from zfjl.vault.signer import append_checkpoint
from zfjl.vault.verify import verify

from .conftest import TZ, copy_vault, set_roles, zfjl_cli, zfjl_run
from .doors import (
    catalog_column,
    catalog_rows,
    drop_guards,
    edit_journal_row,
    forge_catalog,
    journal_count,
    journal_events,
    object_bytes,
    payloads,
    rechain,
    store_again,
)

JAN = dt.datetime(2024, 1, 10, 9, tzinfo=TZ)
MAR = dt.datetime(2024, 3, 10, 9, tzinfo=TZ)
AUG = dt.datetime(2024, 8, 15, 9, tzinfo=TZ)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _card(root: Path, when: dt.datetime, n: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    make_video(root / f"DSJ01_{when:%Y%m%d_%H%M%S}_{n:04d}.MP4", when, seconds=0.5)
    return root


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("cards")
    jan = base / "jan"
    for n, hour in enumerate((8, 9, 10), start=1):  # old, linked, held
        _card(jan, JAN.replace(hour=hour) - dt.timedelta(days=1), n)
    return {"jan": jan, "mar": _card(base / "mar", MAR - dt.timedelta(days=1), 4)}


@pytest.fixture
def clock() -> Clock:
    return Clock(JAN)


@pytest.fixture(scope="module")
def aged_template(
    tmp_path_factory: pytest.TempPathFactory, cards: dict[str, Path]
) -> tuple[Path, dict[str, str]]:
    """Built once: patrol recordings 7 months old (three: one linked, one held) and 5 months
    old (one). Tests get a copy (`aged`)."""
    clock = Clock(JAN)
    root = tmp_path_factory.mktemp("aged") / "vault"
    with init_vault(root, bureau="株洲市城市管理和综合执法局", clock=clock) as vault:
        ingest(vault, cards["jan"])
        clock.now = MAR
        ingest(vault, cards["mar"])
        by_name = {r["original_name"]: r["id"] for r in catalog_rows(vault, "recordings")}
        ids = [by_name[n] for n in sorted(by_name)]
        old, linked, held, young = ids
        clock.now = MAR + dt.timedelta(days=1)
        open_case(vault, {
            "case": "CASE-2024-031", "kind": "处罚", "procedure": "一般", "cause": "占道经营",
            "party": {"type": "个人", "name": "张三"}, "origin": "依职权", "opened_at": "2024-03-11T09:00",
            "flags": {},
        })  # fmt: skip
        attach(vault, "CASE-2024-031", recordings=[linked], activity="现场检查")
        place_hold(vault, held, "dispute", "当事人当场投诉")
    return root, {"old": old, "linked": linked, "held": held, "young": young}


@pytest.fixture
def aged(
    tmp_path: Path, aged_template: tuple[Path, dict[str, str]], clock: Clock
) -> Iterator[dict[str, object]]:
    """This test's copy of the aged vault, on `clock`, which now says August."""
    template, ids = aged_template
    clock.now = AUG
    vault = Vault.open(copy_vault(template, tmp_path / "vault"), clock=clock)
    yield {"vault": vault, **ids}
    vault.close()


# -- retention ---------------------------------------------------------------------------------
def test_dry_run_lists_only_the_expired_unlinked_unheld_recording(aged: dict) -> None:
    vault, old = aged["vault"], aged["old"]
    result = sweep.plan(vault)
    assert [i.id for i in result.due] == [old]
    assert result.due[0].expires_at.startswith("2024-07-10")  # ingested 2024-01-10, + 6 months
    assert result.kept == {"case": 1, "held": 1} and result.not_yet_due == 1
    assert vault.objects.exists(old)  # a dry run touches nothing
    assert journal_count(vault, events.ObjectTombstone) == 0


def test_execute_refuses_without_an_approval_and_deletes_nothing(aged: dict) -> None:
    vault = aged["vault"]
    with pytest.raises(NotPermitted, match="批准"):
        sweep.destroy_due(vault, None)
    assert all(vault.objects.exists(aged[k]) for k in ("old", "linked", "held", "young"))


def test_execute_removes_only_that_content_leaves_a_tombstone_and_is_idempotent(
    aged: dict,
) -> None:
    vault, old = aged["vault"], aged["old"]
    ((sha256, size),) = [(r["sha256"], r["size"]) for r in catalog_rows(vault, "objects", id=old)]
    result = sweep.destroy_due(vault, "城管销〔2024〕3号")
    assert result.deleted == 1 and [i.id for i in result.due] == [old]
    assert not vault.objects.exists(old)
    assert all(vault.objects.exists(aged[k]) for k in ("linked", "held", "young"))
    (ev,) = [e.data for e in journal_events(vault, events.ObjectTombstone)]
    assert ev["id"] == old and ev["sha256"] == sha256 and ev["size"] == size
    assert ev["approval"] == "城管销〔2024〕3号" and ev["class"] == "patrol"
    assert ev["recording"]["device"] == "DSJ01" and "第四十二条" in ev["policy"]["basis"]
    again = sweep.destroy_due(vault, "城管销〔2024〕3号")
    assert again.deleted == 0 and again.due == []
    assert len(sweep.destruction_register(vault)) == 1
    report = verify(vault)
    assert report.ok, report.findings  # a tombstoned object is not "missing"
    entries = custody_log(vault, old[:12]).entries
    assert (
        entries[-1]["kind"] == "object.tombstone" and "城管销〔2024〕3号" in entries[-1]["detail"]
    )


def test_a_hold_released_with_approval_lets_the_recording_expire(aged: dict) -> None:
    vault, held = aged["vault"], aged["held"]
    (hold_id,) = catalog_column(vault, "holds", "id")
    with pytest.raises(UsageError, match="批准文号"):
        release_hold(vault, hold_id, None, None)
    release_hold(vault, hold_id, "城管〔2024〕9号", "投诉已办结")
    assert held in {i.id for i in sweep.plan(vault).due}


def test_a_held_case_holds_its_recordings_and_reasons_are_arts_43(aged: dict) -> None:
    vault = aged["vault"]
    with pytest.raises(UsageError, match="dispute"):
        place_hold(vault, "CASE-2024-031", "because", None)
    with pytest.raises(UsageError, match="--note"):
        place_hold(vault, "CASE-2024-031", "other", None)
    h = place_hold(vault, "CASE-2024-031", "3", None)
    assert h["reason"] == "incident" and h["target_kind"] == "case"
    held = {i.id: i.cls for i in sweep.classify(vault, AUG)}
    assert held[aged["linked"]] == "held"


def test_expiry_never_counts_from_a_camera_clock_alone(aged: dict) -> None:
    """A camera whose clock says 2019 does not make footage ingested in August expire early."""
    vault = aged["vault"]
    start = sweep._later("2024-08-15T09:00:00+08:00", "2019-01-01T00:00:00+08:00")
    assert start.year == 2024
    assert sweep.add_months(dt.datetime(2024, 8, 31, tzinfo=TZ), 6).date() == dt.date(2025, 2, 28)
    with pytest.raises(UsageError, match="不得少于 6"):
        set_setting(vault, "retention.patrol_months", 5, approval_no="局批〔2024〕7号")
    assert vault.config.patrol_months == 6


def test_patrol_period_can_be_lengthened_and_standing_approval_serves_cron(aged: dict) -> None:
    vault = aged["vault"]
    set_setting(vault, "retention", {"patrol_months": 12, "standing_approval": "常设〔2024〕1号"},
                approval_no="局批〔2024〕7号")  # fmt: skip
    vault.close()
    longer = Vault.open(vault.root, clock=lambda: AUG)
    assert sweep.plan(longer).due == []
    result = sweep.destroy_due(longer, None)  # standing approval; nothing due yet
    assert result.approval == "常设〔2024〕1号" and result.deleted == 0
    longer.close()


def test_two_sweeps_never_run_at_once(aged: dict) -> None:
    vault = aged["vault"]
    with sweep.sweep_lock(vault), pytest.raises(Busy):
        sweep.destroy_due(vault, "城管销〔2024〕3号")
    assert vault.objects.exists(aged["old"])


def test_a_crash_between_tombstone_and_unlink_is_finished_by_the_next_sweep(
    aged: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault, old = aged["vault"], aged["old"]

    def crash(vault: Vault, oids: list[str]) -> None:
        if oids:  # the power fails right after the tombstones were committed
            raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "_unlink_objects", crash)
    with pytest.raises(KeyboardInterrupt):
        sweep.destroy_due(vault, "城管销〔2024〕3号")
    monkeypatch.undo()
    assert vault.objects.exists(old)  # journaled, not yet unlinked
    assert [f.code for f in verify(vault).findings] == ["tombstone_pending"]
    result = sweep.destroy_due(vault, "城管销〔2024〕3号")
    assert result.finished_pending == 1 and result.deleted == 0
    assert not vault.objects.exists(old) and verify(vault).ok


def test_a_hold_placed_after_the_plan_still_saves_the_recording(aged: dict) -> None:
    vault, old = aged["vault"], aged["old"]
    planned = sweep.plan(vault)
    place_hold(vault, old, "obstruction", None)
    result = sweep.SweepPlan(planned.as_of, planned.patrol_months, due=planned.due,
                             approval="x", sweep="S-test")  # fmt: skip
    assert sweep._tombstone_batch(vault, planned.due, result, AUG) == []
    assert vault.objects.exists(old)


# -- access ------------------------------------------------------------------------------------
def _admin(vault: Vault) -> None:
    assert "admin" in vault.config.roles_of(vault.actor)  # the user who ran init


def test_view_without_a_grant_is_refused_and_logged_with_one_it_works_and_is_logged(
    aged: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    vault, linked = aged["vault"], aged["linked"]
    with pytest.raises(AccessDenied, match="第四十七条"):
        view(vault, linked[:10], "复核")
    denied = [e for e in custody_log(vault, linked[:10]).entries if e["kind"] == "access.denied"]
    assert len(denied) == 1 and vault.actor in denied[0]["detail"]
    _admin(vault)
    g = add_grant(vault, vault.actor, "CASE-2024-031", scope="view", approved_by="王局长",
                  approval_no="局批〔2024〕8号", until="2024-09-30")  # fmt: skip
    result = view(vault, linked[:10], "复核")
    assert (
        result.grant == g["id"]
        and result.path.read_bytes() == object_bytes(vault, linked)
    )
    assert (
        result.path.stat().st_mode & 0o222 == 0
        and f"ino:{result.path.stat().st_ino}:" not in vault.objects.stat(linked).token
    )
    kinds = [e["kind"] for e in custody_log(vault, "CASE-2024-031").entries]
    assert kinds[-3:] == ["access.denied", "grant.add", "access.view"]


def test_a_view_grant_does_not_allow_a_copy_and_expired_or_revoked_grants_do_nothing(
    aged: dict, tmp_path: Path, clock: Clock
) -> None:
    vault, linked = aged["vault"], aged["linked"]
    g = add_grant(vault, vault.actor, linked, scope="view", approved_by="王局长",
                  approval_no="局批〔2024〕8号", until="2024-08-20")  # fmt: skip
    with pytest.raises(AccessDenied, match="仅限查阅"):
        export(vault, [linked], tmp_path / "out")
    assert not (tmp_path / "out").exists()
    clock.now = AUG + dt.timedelta(days=10)
    with pytest.raises(AccessDenied, match="过期"):
        view(vault, linked)
    clock.now = AUG
    revoke_grant(vault, g["id"], "误批", approval_no="局批〔2024〕10号")
    with pytest.raises(AccessDenied, match="撤销"):
        view(vault, linked)


def test_export_with_a_copy_grant_copies_checks_and_logs(aged: dict, tmp_path: Path) -> None:
    vault, linked = aged["vault"], aged["linked"]
    add_grant(vault, vault.actor, "CASE-2024-031", scope="copy", approved_by="王局长",
              approval_no="局批〔2024〕9号", until="2024-09-30", purpose="行政复议")  # fmt: skip
    report = export(vault, [linked], tmp_path / "out", purpose="行政复议")
    (f,) = report.files
    assert Path(f["path"]).read_bytes() == object_bytes(vault, linked)
    sums = (tmp_path / "out" / "SHA256SUMS").read_text()
    assert f["sha256"] in sums
    last = custody_log(vault, linked).entries[-1]
    assert last["kind"] == "access.export" and "行政复议" in last["detail"]


def test_confidential_case_needs_a_copy_grant_that_names_it(aged: dict, tmp_path: Path) -> None:
    vault, young = aged["vault"], aged["young"]
    open_case(vault, {
        "case": "CASE-2024-040", "kind": "处罚", "procedure": "一般", "cause": "涉商业秘密",
        "party": {"type": "单位", "name": "某公司"}, "origin": "依职权",
        "opened_at": "2024-03-12T09:00", "flags": {"confidential": True},
    })  # fmt: skip
    attach(vault, "CASE-2024-040", recordings=[young], activity="现场检查")
    attach(vault, "CASE-2024-031", recordings=[young], activity="现场检查")
    add_grant(vault, vault.actor, "CASE-2024-031", scope="copy", approved_by="王局长",
              approval_no="局批〔2024〕9号", until="2024-09-30")  # fmt: skip
    with pytest.raises(AccessDenied, match="第四十四条"):
        export(vault, [young], tmp_path / "out")
    add_grant(vault, vault.actor, "CASE-2024-040", scope="copy", approved_by="王局长",
              approval_no="局批〔2024〕10号", until="2024-09-30")  # fmt: skip
    assert len(export(vault, [young], tmp_path / "out").files) == 1


def test_only_legal_director_or_admin_may_grant_release_or_destroy(aged: dict) -> None:
    vault = aged["vault"]
    set_roles(vault, "clerk")
    vault.close()
    clerk = Vault.open(vault.root, clock=lambda: AUG)
    with pytest.raises(NotPermitted, match="无权"):
        add_grant(clerk, clerk.actor, "CASE-2024-031", scope="view", approved_by="王局长",
                  approval_no="x", until="2024-09-30")  # fmt: skip
    (hold_id,) = catalog_column(clerk, "holds", "id")
    with pytest.raises(NotPermitted, match="解除长期保存"):
        release_hold(clerk, hold_id, "城管〔2024〕9号", None)
    with pytest.raises(NotPermitted, match="执行销毁"):
        sweep.destroy_due(clerk, "城管销〔2024〕3号")
    assert clerk.objects.exists(aged["old"])
    place_hold(clerk, aged["old"], "dispute", None)  # anyone may hold: it only preserves
    with pytest.raises(NotPermitted, match="登记角色"):  # nor may a clerk give themselves one
        add_role(clerk, clerk.actor, "director", approval_no="局批〔2024〕1号")
    clerk.close()
    forge_catalog(vault.root, "INSERT INTO roles VALUES ('zfjl-admin', 'boss', '', '', NULL, NULL, 1)")
    with pytest.raises(VaultError, match="未知角色"):  # a role no declaration knows is refused
        Vault.open(vault.root)


# -- checkpoints -------------------------------------------------------------------------------
def test_merkle_tree_matches_rfc6962_and_every_proof_verifies() -> None:
    def mth(d: list[bytes]) -> bytes:  # the recursive definition, RFC 6962 section 2.1
        if len(d) == 1:
            return merkle.leaf_hash(d[0])
        k = 1 << ((len(d) - 1).bit_length() - 1)
        return merkle.node_hash(mth(d[:k]), mth(d[k:]))

    for n in range(1, 40):
        data = [bytes([i]) * 3 for i in range(n)]
        lv = merkle.tree_levels([merkle.leaf_hash(x) for x in data])
        assert merkle.root_of(lv) == mth(data) == merkle.root_from_leaves(lv[0])
        for i in range(n):
            proof = merkle.inclusion_proof(lv, i)
            assert merkle.verify_inclusion(lv[0][i], i, n, proof, mth(data))
            assert not merkle.verify_inclusion(lv[0][i], i, n, proof, merkle.EMPTY_ROOT)
            if n > 1:
                assert not merkle.verify_inclusion(lv[0][(i + 1) % n], i, n, proof, mth(data))
        for m in range(1, n + 1):  # RFC 6962 2.1.2 proofs, checked by RFC 9162 2.1.4.2
            proof = merkle.consistency_proof(lv, m, n)
            assert merkle.verify_consistency(m, n, mth(data[:m]), mth(data), proof)
            if m < n:
                assert not merkle.verify_consistency(m, n, mth(data[:m]), mth(data[:-1]), proof)
                forged = [merkle.EMPTY_ROOT, *proof[1:]]
                assert not merkle.verify_consistency(m, n, mth(data[:m]), mth(data), forged)


def test_checkpoint_is_a_signed_note_consistent_with_the_journal(aged: dict) -> None:
    vault = aged["vault"]
    cp, seq = append_checkpoint(vault)
    assert cp.size == seq - 1 and cp.root == merkle.root_from_leaves(leaves(vault, cp.size))
    lines = cp.text.splitlines()
    assert lines[0] == f"zfjl/{vault.config.id}" and lines[1] == str(cp.size)
    assert lines[-1].startswith("\u2014 zfjl/") and lines[-2] == ""
    assert check_external(vault, cp.text) == []
    # The journal grows: the old checkpoint still holds.
    vault.record(events.IngestFileWarning(run="t", source_path="x", code="t", reason="later"), None)
    assert check_external(vault, cp.text) == []
    forged = cp.text.replace(lines[1], str(cp.size - 1), 1)
    assert {p.code for p in check_external(vault, forged)} >= {"checkpoint_signature"}
    assert verify(vault).ok


def test_editing_a_journal_row_or_a_checkpoint_makes_verify_fail_and_say_where(
    aged: dict,
) -> None:
    vault = aged["vault"]
    _, first = append_checkpoint(vault)
    append_checkpoint(vault)
    root = vault.root
    vault.close()
    drop_guards(root, "journal_no_update")
    edit_journal_row(root, 5, actor="mallory")
    codes = {(f.code, f.subject) for f in verify(Vault.open(root)).findings}
    assert ("row_changed", "日志 #5") in codes
    assert ("checkpoint_mismatch", f"日志 #{first}") in codes


def test_a_rehashed_chain_is_still_caught_by_the_signed_checkpoint(aged: dict) -> None:
    """An editor who recomputes every row hash after an edit defeats the chain, not the
    signature: the checkpoint's root no longer matches, and it cannot be re-signed."""
    vault = aged["vault"]
    _, cp_seq = append_checkpoint(vault)
    vault.close()
    rechain(vault.root, change=lambda seq, ts, actor, kind, subject, data, _: (
        "mallory" if seq == 6 else actor, data))  # fmt: skip
    findings = verify(Vault.open(vault.root)).findings
    assert ("checkpoint_mismatch", f"日志 #{cp_seq}") in {(f.code, f.subject) for f in findings}
    assert not any(f.code in ("row_changed", "chain_broken") for f in findings)


def test_an_edited_checkpoint_row_fails_its_signature(aged: dict) -> None:
    vault = aged["vault"]
    cp, seq = append_checkpoint(vault)
    root = base64.b64encode(cp.root).decode()
    fake = base64.b64encode(b"\x00" * 32).decode()
    note = json.dumps({"size": cp.size, "root": "00" * 32, "note": cp.text.replace(root, fake)})
    vault.close()
    drop_guards(vault.root, "journal_no_update")
    edit_journal_row(vault.root, seq, data=note)
    codes = {(f.code, f.subject) for f in verify(Vault.open(vault.root)).findings}
    assert {("checkpoint_signature", f"日志 #{seq}"), ("checkpoint_mismatch", f"日志 #{seq}"),
            ("row_changed", f"日志 #{seq}")} <= codes  # fmt: skip


def test_checkpoint_needs_the_private_key_and_a_new_key_keeps_old_checkpoints_valid(
    aged: dict,
) -> None:
    from zfjl.vault.signer import new_key

    vault = aged["vault"]
    old_cp, _ = append_checkpoint(vault)
    key = vault.root / "keys" / "checkpoint.key"
    key.rename(key.with_suffix(".lost"))
    with pytest.raises(VaultError, match="--new-key"):
        append_checkpoint(vault)
    new_key(vault)
    new_cp, _ = append_checkpoint(vault)
    assert new_cp.signatures[0][1] != old_cp.signatures[0][1]  # another key id
    assert verify(vault).ok  # both checkpoints verify, each by its journaled key
    assert check_external(vault, old_cp.text) == []


# -- the command line --------------------------------------------------------------------------
def test_cli_sweep_is_quiet_for_cron_and_exit_codes_are_documented(
    aged: dict, tmp_path: Path
) -> None:
    vault = aged["vault"]
    env = {"ZFJL_VAULT": str(vault.root)}
    dry = zfjl_run("sweep", "--as-of", "2024-08-15", "--json", env=env, check=True)
    assert [i["id"] for i in json.loads(dry.stdout)["due"]] == [aged["old"]]
    refused = zfjl_run("sweep", "--execute", env=env)
    assert (
        refused.returncode == 8 and "批准" in refused.stderr and "Traceback" not in refused.stderr
    )
    pdf = tmp_path / "清册.pdf"
    done = zfjl_run("sweep", "--execute", "--approval-no", "城管销〔2024〕3号", "--pdf", str(pdf),
                    env=env, check=True)  # fmt: skip
    # The command runs on today's clock: both unlinked, unheld recordings are long due.
    assert "已销毁：2 件" in done.stdout and pdf.read_bytes().startswith(b"%PDF")
    assert all(vault.objects.exists(aged[k]) for k in ("linked", "held"))
    # What cron mails is the whole process's output: a child process, not an in-process call.
    quiet = zfjl_cli(
        "sweep", "--execute", "--approval-no", "城管销〔2024〕3号", env=env, check=True
    )
    assert quiet.stdout == "" and quiet.stderr == ""
    log = zfjl_run("log", aged["old"][:12], "--json", env=env, check=True)
    assert json.loads(log.stdout)["entries"][-1]["what"] == "按期销毁"
    denied = zfjl_run("view", aged["held"][:12], env=env)
    assert denied.returncode == 8 and "拒绝查阅" in denied.stderr
    cp = zfjl_run("checkpoint", env=env, check=True)
    (tmp_path / "cp.txt").write_text(cp.stdout, encoding="utf-8")
    ok = zfjl_run("checkpoint", "--verify", str(tmp_path / "cp.txt"), env=env)
    assert ok.returncode == 0 and "检查点有效" in ok.stdout
    pdf_log = tmp_path / "log.pdf"
    zfjl_run("log", "CASE-2024-031", "--pdf", str(pdf_log), env=env, check=True)
    assert pdf_log.read_bytes().startswith(b"%PDF")


def test_two_sweeps_started_together_one_is_refused(aged: dict) -> None:
    vault = aged["vault"]
    env = {"ZFJL_VAULT": str(vault.root)}
    results: list[int] = []
    with sweep.sweep_lock(vault):
        t = threading.Thread(target=lambda: results.append(
            zfjl_cli("sweep", "--execute", "--approval-no", "x", env=env).returncode))  # fmt: skip
        t.start()
        t.join()
    assert results == [7]


def test_swept_footage_presented_again_by_a_camera_is_stored_again(
    aged: dict, cards: dict[str, Path]
) -> None:
    from zfjl.vault.query import RecordingFilter, list_recordings

    vault, old = aged["vault"], aged["old"]
    sweep.destroy_due(vault, "城管销〔2024〕3号")
    assert old not in {r["id"] for r in list_recordings(vault, RecordingFilter())}
    ingest(vault, cards["jan"])  # the same card docked again: its bytes are evidence again
    assert vault.objects.exists(old) and verify(vault).ok
    assert old in {r["id"] for r in list_recordings(vault, RecordingFilter())}
    assert old not in {i.id for i in sweep.plan(vault).due}  # counted from the restore


def test_cli_hold_grant_export_and_device_listings(aged: dict, tmp_path: Path) -> None:
    """The thin commands around the library: each prints, lists and exits as documented."""
    vault = aged["vault"]
    env = {"ZFJL_VAULT": str(vault.root)}
    holds = json.loads(zfjl_run("hold", "ls", "--json", env=env, check=True).stdout)
    assert [h["target"] for h in holds] == [aged["held"]]
    placed = zfjl_run("hold", "CASE-2024-031", "--reason", "incident", env=env, check=True)
    assert "群体性事件" in placed.stdout
    (hold_id,) = [h["id"] for h in json.loads(zfjl_run("hold", "ls", "--json", env=env).stdout)
                  if h["target"] == "CASE-2024-031"]  # fmt: skip
    refused = zfjl_run("hold", "--release", hold_id, env=env)
    assert refused.returncode == 2 and "批准文号" in refused.stderr
    zfjl_run("hold", "--release", hold_id, "--approval-no", "城管〔2026〕1号", env=env, check=True)
    granted = json.loads(zfjl_run(
        "grant", vault.actor, "--case", "CASE-2024-031", "--scope", "copy", "--approved-by", "王局长",
        "--approval-no", "局批〔2026〕2号", "--until", "2099-12-31", "--json", env=env, check=True).stdout)  # fmt: skip
    assert granted["scope"] == "copy" and granted["id"].startswith("G-")
    out = tmp_path / "copies"
    exported = zfjl_run("export", aged["linked"][:12], "-o", str(out), env=env, check=True)
    assert "sha256sum -c" in exported.stdout
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout
    listed = json.loads(zfjl_run("grant", "ls", "--json", env=env, check=True).stdout)
    assert [g["id"] for g in listed] == [granted["id"]]
    rows = journal_count(vault)
    unapproved = zfjl_run("grant", "revoke", granted["id"], "--reason", "案件已办结", env=env)
    assert unapproved.returncode == 2 and "批准文号" in unapproved.stderr
    assert "Traceback" not in unapproved.stderr
    assert journal_count(vault) == rows
    assert [g["id"] for g in json.loads(zfjl_run("grant", "ls", "--json", env=env).stdout)] == [
        granted["id"]]  # still in force
    zfjl_run("grant", "revoke", granted["id"], "--approval-no", "局批〔2024〕11号",
             "--reason", "案件已办结", env=env, check=True)
    assert json.loads(zfjl_run("grant", "ls", "--json", env=env).stdout) == []
    assert payloads(vault, events.GrantRevoke)[-1].approval_no == "局批〔2024〕11号"
    again = zfjl_run("export", aged["linked"][:12], "-o", str(tmp_path / "again"), env=env)
    assert again.returncode == 8 and "撤销" in again.stderr
    shown = json.loads(zfjl_run("show", aged["held"][:12], "--json", env=env, check=True).stdout)
    assert shown["holds"][0]["reason"] == "dispute" and shown["destroyed"] is None


def test_a_document_scan_is_case_evidence_never_swept_and_covered_by_the_case_grant(
    aged: dict,
) -> None:
    from zfjl.access import covering_grant
    from zfjl.cases.store import add_document, get_case

    vault, old = aged["vault"], aged["old"]
    (link,) = get_case(vault, "CASE-2024-031")["media"]
    assert "." in link["end"]  # a 0.5 s clip: the linked span ends on a fraction of a second,
    # and the case must still validate against its own schema when a document is added.
    add_document(vault, "CASE-2024-031", {"id": "d-scan", "type": "复查记录",
                                          "date": "2024-03-12T10:00", "scan": old[:12]})  # fmt: skip
    assert {i.id: i.cls for i in sweep.classify(vault, AUG)}[old] == "case"
    assert sweep.plan(vault).due == []
    add_grant(vault, vault.actor, "CASE-2024-031", scope="view", approved_by="王局长",
              approval_no="局批〔2024〕8号", until="2024-09-30")  # fmt: skip
    assert covering_grant(vault, vault.actor, old, "view")[0] is not None


def test_finishing_an_interrupted_sweep_never_deletes_bytes_presented_again(
    aged: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between a tombstone and its unlink, an ingest may put the same bytes back (a new file,
    linked before its catalog commit). The next sweep must leave that file alone."""
    vault, old = aged["vault"], aged["old"]
    monkeypatch.setattr(sweep, "_unlink_objects", lambda v, oids: 0)  # the crash
    sweep.destroy_due(vault, "城管销〔2024〕3号")
    monkeypatch.undo()
    data = object_bytes(vault, old)
    tombstoned = vault.objects.stat(old).token
    store_again(vault, old, data)  # a restore's new version (a new inode here)
    assert sweep.finish_pending(vault) == 0 and object_bytes(vault, old) == data
    (tomb,) = sweep.destruction_register(vault)
    # Named by the store's token (v2, issue 24), never by a POSIX inode in the journal.
    assert (tomb["file"], tomb["store"], tomb["token"]) == (None, "local", tombstoned)


def test_a_tombstone_of_the_previous_format_still_finishes_its_deletion(
    aged: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tombstones journaled before issue 24 (v1) name the file by inode and mtime, not by a
    store token: a sweep finishing their interrupted deletion still reads them."""
    vault, old = aged["vault"], aged["old"]
    real = sweep._tombstone

    def v1(v: Vault, item: sweep.Item, result: sweep.SweepPlan) -> events.ObjectTombstone:
        with v.objects.local_path(item.id) as path:
            st = path.stat()
        return dataclasses.replace(real(v, item, result), store=None, token=None,
                                   file={"ino": st.st_ino, "mtime_ns": st.st_mtime_ns})  # fmt: skip

    monkeypatch.setattr(sweep, "_tombstone", v1)
    monkeypatch.setattr(sweep, "_unlink_objects", lambda v, oids: 0)  # the crash
    sweep.destroy_due(vault, "城管销〔2024〕3号")
    monkeypatch.undo()
    (tomb,) = sweep.destruction_register(vault)
    assert tomb["token"] is None and set(tomb["file"]) == {"ino", "mtime_ns"}
    assert vault.objects.exists(old) and sweep.pending_tombstones(vault) == [old]
    assert sweep.finish_pending(vault) == 1 and not vault.objects.exists(old)
    assert verify(vault).ok


def test_a_grant_forged_or_unrevoked_in_the_catalog_authorizes_nothing(aged: dict) -> None:
    """The grants table is derived (and on a bureau's PostgreSQL catalog writable by every
    station's working role): only what the journal says authorizes a view."""
    vault, linked = aged["vault"], aged["linked"]
    _admin(vault)
    g = add_grant(vault, vault.actor, linked, scope="view", approved_by="王局长",
                  approval_no="局批〔2024〕8号", until="2024-09-30")  # fmt: skip
    revoke_grant(vault, g["id"], "复核结束", approval_no="局批〔2024〕9号")
    forge_catalog(vault.root, f"UPDATE grants SET revoked_at = NULL WHERE id = '{g['id']}'")
    with pytest.raises(AccessDenied):
        view(vault, linked, "复核")
    forged_seq = journal_count(vault)  # a real row, but not a grant.add
    forge_catalog(vault.root, "INSERT INTO grants (id, user, target, target_kind, scope, "
                  "approved_by, approval_no, until, granted_at, granted_by, seq) VALUES "
                  f"('G-{forged_seq}', '{vault.actor}', '{linked}', 'recording', 'view', "
                  f"'王局长', '伪造', '2024-09-30', '2024-08-15', '{vault.actor}', {forged_seq})")
    with pytest.raises(AccessDenied):
        view(vault, linked, "复核")
    report = verify(vault, read_data=False)
    assert any(f.code == "catalog_drift" for f in report.findings)

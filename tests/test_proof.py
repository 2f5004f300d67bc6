"""Issue 11 point 4: proof that cannot be rewritten from inside catalog.db.

Each test is an insider's attack: cut the journal's tail, delete catalog.db, re-sign a
rewritten journal with the real key, swap an original in a bag and rewrite every manifest."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from zfjl.bundle import verify_bundle
from zfjl.errors import JournalInconsistent, NotPermitted
from zfjl.vault import Vault, events
from zfjl.vault.anchors import STATE_FILE, restore_state
from zfjl.vault.settings import set_setting
from zfjl.vault.setup import init_vault
from zfjl.vault.signer import append_checkpoint, new_key
from zfjl.vault.verify import verify

from .conftest import (
    BAG,
    copy_vault,
    set_roles,
    zfjl_run,
)
from .doors import lose_catalog, payloads, rechain


def _grow(vault: Vault, n: int) -> None:
    for year in range(n):
        vault.record(events.VaultVerify(subset=f"{year}", read_data=False, objects_checked=0,
                                        problems=[]), None)  # fmt: skip


def _signed_vault(tmp_path: Path) -> Path:
    root = tmp_path / "vault"
    with init_vault(root, bureau="测试局") as v:
        _grow(v, 5)
        append_checkpoint(v)
        _grow(v, 3)
        append_checkpoint(v)  # signs 11 rows; the checkpoint row is #12
    return root


def _rewrite(root: Path, keep: int, *, skip: int | None = None) -> None:
    """As an insider with the sqlite3 shell: drop the guards, delete rows, recompute the chain."""
    rechain(root, keep=keep, skip=skip)


def _codes(root: Path) -> dict[str, str]:
    with Vault.open(root) as v:
        return {f.code: f"{f.subject} {f.expected} {f.found}" for f in verify(v).findings}


def test_a_cut_tail_fails_verify_and_checkpoint_make_refuses(tmp_path: Path) -> None:
    root = _signed_vault(tmp_path)
    _rewrite(root, keep=7)  # the last checkpoint and three rows it signed
    found = _codes(root)
    assert "journal_truncated" in found and "11 条" in found["journal_truncated"]
    cli = zfjl_run("--vault", str(root), "verify")
    assert cli.returncode == 1 and "尾部记录被删除" in cli.stdout
    made = zfjl_run("--vault", str(root), "checkpoint", "make")
    assert made.returncode == 3 and "11 条" in made.stderr and "拒绝签名" in made.stderr


def test_a_row_deleted_and_the_chain_recomputed_is_inconsistent(tmp_path: Path) -> None:
    root = _signed_vault(tmp_path)
    _rewrite(root, keep=20, skip=9)  # row 9 gone, the rest renumbered
    found = _codes(root)
    assert "journal_inconsistent" in found and "前 11 条" in found["journal_inconsistent"]


def test_a_deleted_catalog_is_noticed(tmp_path: Path) -> None:
    root = _signed_vault(tmp_path)
    lose_catalog(root)
    cli = zfjl_run("--vault", str(root), "verify")
    assert cli.returncode == 1
    assert "日志为空" in cli.stdout and "已签名 11 条" in cli.stdout


def test_the_real_key_through_the_library_refuses_an_inconsistent_journal(tmp_path: Path) -> None:
    root = _signed_vault(tmp_path)
    _rewrite(root, keep=20, skip=3)
    with Vault.open(root) as v, pytest.raises(JournalInconsistent, match="前 11 条"):
        append_checkpoint(v)


def test_a_lost_state_is_restored_by_an_admin_only_when_the_journal_checks_out(
    tmp_path: Path,
) -> None:
    """A vault from before the state file, or one whose state was lost: the signer refuses
    until an administrator restores it with an approval; a rewritten journal is refused."""
    root = _signed_vault(tmp_path)
    (root / STATE_FILE).unlink()
    _rewrite(root, keep=20, skip=3)
    with Vault.open(root) as v:
        with pytest.raises(JournalInconsistent, match="restore-state"):
            append_checkpoint(v)
        with pytest.raises(JournalInconsistent, match="拒绝重建签名状态"):
            restore_state(v, "局批〔2026〕9号")
    assert not (root / STATE_FILE).exists()
    fresh = _signed_vault(tmp_path / "b")
    (fresh / STATE_FILE).unlink()
    with Vault.open(fresh) as v:
        new_key(v)  # a new key does not begin a state afresh over a log that signed before
    assert not (fresh / STATE_FILE).exists()
    made = zfjl_run("--vault", str(fresh), "checkpoint", "make")
    assert made.returncode == 3 and "restore-state" in made.stderr and "管理员" in made.stderr
    assert "signer_state_missing" in _codes(fresh)
    no_approval = zfjl_run("--vault", str(fresh), "checkpoint", "restore-state")
    assert no_approval.returncode == 2 and "审批编号" in no_approval.stderr
    with Vault.open(copy_vault(fresh, tmp_path / "clerk")) as v:
        set_roles(v, "clerk")
        with pytest.raises(NotPermitted):
            restore_state(v, "局批〔2026〕9号")
    done = zfjl_run("--vault", str(fresh), "checkpoint", "restore-state", "--approval-no",
                    "局批〔2026〕9号", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["size"] == 11 and json.loads(done.stdout)["witness_copies"] == 0
    state = json.loads((fresh / STATE_FILE).read_text())
    assert state["size"] == 11 and oct((fresh / STATE_FILE).stat().st_mode & 0o777) == "0o600"
    with Vault.open(fresh) as v:
        (restored,) = payloads(v, events.CheckpointStateRestored)
        assert restored.approval_no == "局批〔2026〕9号"
    again = zfjl_run("--vault", str(fresh), "checkpoint", "restore-state", "--approval-no", "x")
    assert again.returncode == 2 and "无需重建" in again.stderr
    assert zfjl_run("--vault", str(fresh), "checkpoint", "make", "-q").returncode == 0
    checked = zfjl_run("--vault", str(fresh), "verify")
    assert checked.returncode == 0 and "无见证副本，仅凭日志" in checked.stdout


def test_a_state_rolled_back_is_a_finding(tmp_path: Path) -> None:
    root = _signed_vault(tmp_path)
    old = (root / STATE_FILE).read_bytes()  # 11 rows signed
    with Vault.open(root) as v:
        append_checkpoint(v)  # 12 rows signed
    assert "signer_state_stale" not in _codes(root)
    (root / STATE_FILE).write_bytes(old)  # an older copy of keys/ put back
    found = _codes(root)
    assert "至少 12 条" in found["signer_state_stale"] and "11 条" in found["signer_state_stale"]


def test_witness_copies_are_written_and_checked(tmp_path: Path) -> None:
    root = _signed_vault(tmp_path)
    usb = tmp_path / "usb"
    usb.mkdir()
    with Vault.open(root) as v:
        set_setting(v, "checkpoint.witness_dirs", [str(usb), str(tmp_path / "unmounted")])
    made = zfjl_run("--vault", str(root), "checkpoint", "make", "-q")
    # The warning wraps at the console's width, maybe inside the path (longer under xdist).
    assert made.returncode == 0 and str(tmp_path / "unmounted") in made.stderr.replace("\n", "")
    assert [p.name for p in usb.iterdir()] == ["13.txt"]  # 12 rows and the setting.set
    with Vault.open(root) as v:
        codes = {f.code: f.severity for f in verify(v).findings}
    assert codes == {"witness_missing": "warning"}
    (root / STATE_FILE).unlink()  # the insider removes the signer's state too
    _rewrite(root, keep=11)
    found = _codes(root)
    # reopening put the guards back (one more row): the witness's 13 rows are not today's
    assert "13.txt" in found.get("witness_inconsistent", found.get("journal_truncated", ""))


def test_the_witness_setting_is_validated_when_set(tmp_path: Path) -> None:
    root = _signed_vault(tmp_path)
    cli = zfjl_run("--vault", str(root), "config", "set", "checkpoint.witness_dirs", "/mnt/usb")
    assert cli.returncode == 2 and "witness_dirs" in cli.stderr
    assert zfjl_run("--vault", str(root), "verify").returncode == 0


# -- bags ------------------------------------------------------------------------------------
@pytest.fixture
def bagged(bagged_template: Path) -> Path:
    return bagged_template  # read only: each test copies the bag (and the vault) it changes


def _bag(bagged: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(bagged / BAG, tmp_path / BAG))


def _swap_and_rewrite(bag: Path, victim: Path, data: bytes) -> None:
    import bagit

    victim.chmod(0o644)
    victim.write_bytes(data)
    shutil.rmtree(bag / "zfjl")
    bagit.Bag(str(bag)).save(manifests=True)  # every manifest, tagmanifest too


def _findings(bag: Path, vault: Vault | None) -> set[tuple[str, str]]:
    return {(f.code, f.file) for f in verify_bundle(bag, vault).findings}


def test_a_fresh_bag_binds_every_original(bagged: Path, tmp_path: Path) -> None:
    bag = _bag(bagged, tmp_path)
    listed = json.loads((bag / "data/custody/originals.json").read_text())
    assert sorted(listed) == sorted(
        f"data/originals/{p.name}" for p in (bag / "data/originals").iterdir()
    )
    assert verify_bundle(bag, None).ok


@pytest.mark.parametrize("bytes_from", ["other_recording", "random"])
def test_a_replaced_original_is_named_with_and_without_the_vault(
    bagged: Path, tmp_path: Path, bytes_from: str
) -> None:
    bag = _bag(bagged, tmp_path)
    first, second = sorted((bag / "data/originals").iterdir())[:2]
    data = second.read_bytes() if bytes_from == "other_recording" else os.urandom(4096)
    rel = f"data/originals/{first.name}"
    _swap_and_rewrite(bag, first, data)
    assert ("original_replaced", rel) in _findings(bag, None)
    with Vault.open(copy_vault(bagged / "vault", tmp_path / "vault")) as v:
        with_vault = verify_bundle(bag, v)
    assert ("original_replaced", rel) in {(f.code, f.file) for f in with_vault.findings}
    assert not with_vault.ok


def test_a_rewritten_binding_list_does_not_help(bagged: Path, tmp_path: Path) -> None:
    bag = _bag(bagged, tmp_path)
    first, second = sorted((bag / "data/originals").iterdir())[:2]
    path = bag / "data/custody/originals.json"
    listed = json.loads(path.read_text())
    listed[f"data/originals/{first.name}"] = listed[f"data/originals/{second.name}"]
    path.write_text(json.dumps(listed))
    _swap_and_rewrite(bag, first, second.read_bytes())
    found = _findings(bag, None)
    assert ("original_replaced", f"data/originals/{first.name}") in found
    assert any(code == "original_absent" for code, _ in found)

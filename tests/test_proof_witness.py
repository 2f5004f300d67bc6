"""Issue 23 finding 5: an insider's rewrite, re-chained and re-signed with the real key, must
not pass `verify` however the signer's state is dealt with. Every witness copy counts, a
missing or rolled-back state is a finding, and the signer will not sign without its state.

Each test replays the red team's sequence as the vault's service account would, with its own
script: the journal's guards dropped and put back exactly as they were, one early row
rewritten, the chain recomputed, every checkpoint row re-signed with keys/checkpoint.key."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from zfjl.vault import Vault, events, merkle
from zfjl.vault.anchors import STATE_FILE
from zfjl.vault.checkpoint import Checkpoint
from zfjl.vault.journal import canonical_json
from zfjl.vault.settings import set_setting
from zfjl.vault.setup import init_vault
from zfjl.vault.signer import KEY_FILE, append_checkpoint
from zfjl.vault.verify import verify

from .conftest import copy_vault, zfjl_run
from .doors import payloads, rechain

VICTIM = 5  # a row every checkpoint but the first covers


def _grow(vault: Vault, n: int) -> None:
    for i in range(n):
        vault.record(events.VaultVerify(subset=f"{i}", read_data=False, objects_checked=0,
                                        problems=[]), None)  # fmt: skip


def _witnessed_vault(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """Three checkpoints, each copied to a witness folder; and the state as `zfjl init` left it."""
    root, usb = tmp_path / "vault", tmp_path / "usb"
    usb.mkdir()
    with init_vault(root, bureau="测试局") as v:
        at_init = (root / STATE_FILE).read_bytes()
        set_setting(v, "checkpoint.witness_dirs", [str(usb)])
        for n in (2, 5, 3):
            _grow(v, n)
            append_checkpoint(v)
    return root, usb, at_init


def _copies(usb: Path) -> list[str]:
    return sorted((p.name for p in usb.iterdir()), key=lambda name: int(name.split(".")[0]))


def _rewrite_and_resign(root: Path, victim: int = VICTIM) -> merkle.CompactRange:
    """The insider's rewrite; returns the tree of the rewritten journal as it now stands."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key((root / KEY_FILE).read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    tree = merkle.CompactRange()

    def grow(hashes: list[str]) -> None:
        for h in hashes[tree.size :]:
            tree.append(merkle.leaf_hash(bytes.fromhex(h)))

    def change(seq: int, ts: str, actor: str, kind: str, subject: str | None, data: str,
               earlier: list[str]) -> tuple[str, str]:  # fmt: skip
        grow(earlier)
        if kind == events.JournalCheckpoint.kind:
            data = _resigned(key, Checkpoint.parse(json.loads(data)["note"]), tree)
        return ("nobody-saw" if seq == victim else actor), data

    # the guards put back as they were: opening the vault notices nothing
    grow(rechain(root, change=change, keep_guards=True))
    return tree


def _resigned(key: Ed25519PrivateKey, old: Checkpoint, tree: merkle.CompactRange) -> str:
    unsigned = Checkpoint(old.origin, tree.size, tree.root(), old.extensions, ())
    name, key_id, _ = old.signatures[0]
    sig = key.sign(unsigned.body.encode())
    cp = Checkpoint(unsigned.origin, unsigned.size, unsigned.root, unsigned.extensions,
                    ((name, key_id, sig),))  # fmt: skip
    return canonical_json({"size": cp.size, "root": cp.root.hex(), "note": cp.text})


def _verify(root: Path) -> dict[str, list[str]]:
    """Finding code -> subjects (each with what was expected and found)."""
    found: dict[str, list[str]] = {}
    with Vault.open(root) as v:
        for f in verify(v).findings:
            found.setdefault(f.code, []).append(f"{f.subject} {f.expected} {f.found}")
    return found


def _named(found: list[str]) -> set[str]:
    return {Path(s.split(" ")[0]).name for s in found}


def test_the_red_teams_sequence_fails_verify_naming_the_witness_copies(tmp_path: Path) -> None:
    root, usb, _ = _witnessed_vault(tmp_path)
    before = _copies(usb)
    assert before == ["5.txt", "11.txt", "15.txt"]  # all cover row 5
    assert _verify(root) == {}
    _rewrite_and_resign(root)
    # The journal alone checks out (chain, every checkpoint): only what lies outside convicts it.
    assert set(_verify(root)) == {"witness_inconsistent", "journal_inconsistent"}
    (root / STATE_FILE).unlink()
    cron = zfjl_run("--vault", str(root), "checkpoint", "make", "-q")
    assert cron.returncode == 3 and "restore-state" in cron.stderr and "管理员" in cron.stderr
    assert _copies(usb) == before  # nothing signed, nothing copied
    found = _verify(root)
    assert set(found) == {"signer_state_missing", "witness_inconsistent"}
    assert _named(found["witness_inconsistent"]) == {"5.txt", "11.txt", "15.txt"}
    cli = zfjl_run("--vault", str(root), "verify", "--no-read-data")
    assert cli.returncode == 1
    assert all(str(usb / name) in cli.stdout for name in before) and "签名状态缺失" in cli.stdout
    restore = zfjl_run(
        "--vault", str(root), "checkpoint", "restore-state", "--approval-no", "局批〔2026〕1号"
    )
    assert (
        restore.returncode == 3
        and "拒绝重建签名状态" in restore.stderr
        and "5.txt" in restore.stderr
    )
    assert not (root / STATE_FILE).exists()


@pytest.mark.parametrize("state", ["forged", "rolled_back_to_init"])
def test_a_state_forged_or_rolled_back_lets_cron_sign_but_not_verify_pass(
    tmp_path: Path, state: str
) -> None:
    """The insider goes further: instead of deleting the state they write one that the
    rewritten journal extends (forged), or put back the one `zfjl init` wrote. Cron signs and
    copies the next checkpoint; every older copy still convicts the journal."""
    root, usb, at_init = _witnessed_vault(tmp_path)
    rewritten = _rewrite_and_resign(root)
    path = root / STATE_FILE
    if state == "forged":
        forged = json.loads(path.read_text())
        forged.update(size=rewritten.size, root=rewritten.root().hex())
        path.write_text(json.dumps(forged))
    else:
        path.write_bytes(at_init)  # size 0: any journal with the same first row extends it
    cron = zfjl_run("--vault", str(root), "checkpoint", "make", "-q")
    assert cron.returncode == 0, cron.stderr
    assert _copies(usb) == ["5.txt", "11.txt", "15.txt", "16.txt"]
    found = _verify(root)
    assert set(found) == {"witness_inconsistent"}  # the new copy agrees, the older ones do not
    assert _named(found["witness_inconsistent"]) == {"5.txt", "11.txt", "15.txt"}
    assert zfjl_run("--vault", str(root), "verify", "--no-read-data").returncode == 1


def _planted(kind: str, root: Path, path: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
        return
    if kind == "garbage":
        path.write_bytes(os.urandom(300))
        return
    with Vault.open(root) as v:  # our origin and key id, a signature that is not ours
        real = Checkpoint.parse(payloads(v, events.JournalCheckpoint)[-1].note)
    name, key_id, _ = real.signatures[0]
    fake = Checkpoint(real.origin, 999999, os.urandom(32), real.extensions,
                      ((name, key_id, os.urandom(64)),))  # fmt: skip
    path.write_text(fake.text)


@pytest.mark.parametrize("kind", ["garbage", "wrongly_signed", "fifo"])
def test_a_planted_999999_is_named_and_blinds_no_other_copy(tmp_path: Path, kind: str) -> None:
    root, usb, _ = _witnessed_vault(tmp_path)
    _planted(kind, root, usb / "999999.txt")
    found = _verify(root)
    assert list(found) == ["witness_inconsistent"]
    assert _named(found["witness_inconsistent"]) == {"999999.txt"}
    assert zfjl_run("--vault", str(root), "checkpoint", "make", "-q").returncode == 0
    _rewrite_and_resign(root)
    (root / STATE_FILE).unlink()
    found = _verify(root)
    assert _named(found["witness_inconsistent"]) == {"5.txt", "11.txt", "15.txt", "17.txt",
                                                     "999999.txt"}  # fmt: skip


def test_a_journal_rolled_back_to_a_backup_is_older_than_the_newest_copies(
    tmp_path: Path,
) -> None:
    """catalog.db and keys/ put back from last week's backup: the copies made since are
    larger than the journal, and the state is older than they are."""
    root, usb, _ = _witnessed_vault(tmp_path)
    backup = copy_vault(root, tmp_path / "backup")
    _grow_and_sign(root)
    assert _copies(usb)[-1] == "17.txt"
    found = _verify(backup)
    assert _named(found["journal_truncated"]) == {"17.txt"}
    assert "至少 17 条" in found["signer_state_stale"][0]


def _grow_and_sign(root: Path) -> None:
    with Vault.open(root) as v:
        _grow(v, 1)
        append_checkpoint(v)


def test_a_renamed_copy_is_named(tmp_path: Path) -> None:
    root, usb, _ = _witnessed_vault(tmp_path)
    os.rename(usb / "11.txt", usb / "12.txt")  # its content is what counts, but say so
    found = _verify(root)
    assert list(found) == ["witness_inconsistent"] and "被改名" in found["witness_inconsistent"][0]
    assert _named(found["witness_inconsistent"]) == {"12.txt"}


def test_an_edited_copy_is_checked_by_its_signature_not_by_its_likeness(tmp_path: Path) -> None:
    """A copy identical to a journaled checkpoint skips a second signature check; one changed
    by a single character is verified, and fails."""
    root, usb, _ = _witnessed_vault(tmp_path)
    copy = usb / "11.txt"
    text = copy.read_text()
    copy.chmod(0o644)
    copy.write_text(text.replace("time 20", "time 19", 1))
    found = _verify(root)
    assert (
        list(found) == ["witness_inconsistent"] and "签名无效" in found["witness_inconsistent"][0]
    )
    assert _named(found["witness_inconsistent"]) == {"11.txt"}


def test_an_honest_lost_state_is_restored_against_every_copy(tmp_path: Path) -> None:
    root, usb, _ = _witnessed_vault(tmp_path)
    (root / STATE_FILE).unlink()
    assert zfjl_run("--vault", str(root), "checkpoint", "make").returncode == 3
    assert set(_verify(root)) == {"signer_state_missing"}
    with Vault.open(root) as v:  # a second folder configured but not mounted: not yet
        set_setting(v, "checkpoint.witness_dirs", [str(usb), str(tmp_path / "unmounted")])
    approval = ("--approval-no", "局批〔2026〕2号")
    refused = zfjl_run("--vault", str(root), "checkpoint", "restore-state", *approval)
    assert refused.returncode == 3 and "unmounted" in refused.stderr
    (tmp_path / "unmounted").mkdir()  # mounted, and empty: nothing there to disagree
    done = zfjl_run("--vault", str(root), "checkpoint", "restore-state", *approval)
    assert done.returncode == 0, done.stderr
    assert "与 3 份见证副本核对一致" in done.stdout and "已签名至 15 条" in done.stdout
    assert json.loads((root / STATE_FILE).read_text())["size"] == 15
    assert zfjl_run("--vault", str(root), "checkpoint", "make", "-q").returncode == 0
    found = _verify(root)  # the restore stays on record, a warning
    assert list(found) == ["signer_state_restored"]
    assert "局批〔2026〕2号" in found["signer_state_restored"][0]
    assert "与 3 份见证副本核对" in found["signer_state_restored"][0]
    assert zfjl_run("--vault", str(root), "verify", "--no-read-data").returncode == 0


def test_a_witness_dropped_from_the_setting_still_convicts(tmp_path: Path) -> None:
    """The insider empties `checkpoint.witness_dirs` (a journaled `setting.set`) so that
    verify would look nowhere: a folder the journal named once is still read."""
    root, usb, _ = _witnessed_vault(tmp_path)
    rewritten = _rewrite_and_resign(root)
    forged = json.loads((root / STATE_FILE).read_text())
    forged.update(size=rewritten.size, root=rewritten.root().hex())
    (root / STATE_FILE).write_text(json.dumps(forged))
    with Vault.open(root) as v:
        set_setting(v, "checkpoint.witness_dirs", [])
    assert zfjl_run("--vault", str(root), "checkpoint", "make", "-q").returncode == 0
    assert _copies(usb) == ["5.txt", "11.txt", "15.txt"]  # no longer written to
    found = _verify(root)
    assert set(found) == {"witness_inconsistent"}  # and no witness_missing for a retired one
    assert _named(found["witness_inconsistent"]) == {"5.txt", "11.txt", "15.txt"}

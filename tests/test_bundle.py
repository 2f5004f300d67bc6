"""`zfjl bundle`: a BagIt 1.0 case package that the Library of Congress `bagit.py`, plain
`sha256sum -c` and `zfjl bundle verify` all accept, and all reject once a byte changes."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from zfjl.bundle import bundle_case, verify_bundle
from zfjl.bundle.bag import unpack
from zfjl.cases.store import get_case, import_case, reopen_case
from zfjl.errors import AccessDenied, OutputExists
from zfjl.vault import Vault, events

from .conftest import APPROVAL, BAG, CASE_CLOCK, copy_vault, fixed_clock, zfjl_run
from .doors import journal_events, journal_kinds, object_bytes, rechain

BAGIT = str(Path(sys.executable).with_name("bagit.py"))


def bagit_validate(bag: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, BAGIT, "--validate", str(bag)], capture_output=True,
                          text=True)  # fmt: skip


def sha256sum_check(bag: Path) -> subprocess.CompletedProcess[str]:
    # coreutils' own words (OK / FAILED): zfjl's CLI, run in this process by zfjl_run, sets
    # LANGUAGE=zh_CN for click's catalog, and sha256sum would inherit it.
    env = {k: v for k, v in os.environ.items() if k != "LANGUAGE"}
    return subprocess.run(["sha256sum", "-c", "manifest-sha256.txt"], cwd=bag, capture_output=True,
                          text=True, env=env)  # fmt: skip


@pytest.fixture
def sample_cases_vault(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sample_cases_template: Path,
    bagged_template: Path,
) -> Iterator[Vault]:
    """The sample-cases vault; a test that also takes `bag` gets the vault that bag was made
    from (its journal holds the bundle), as if `bag` had bundled it right here."""
    src = bagged_template / "vault" if "bag" in request.fixturenames else sample_cases_template
    v = Vault.open(copy_vault(src, tmp_path / "vault"), clock=fixed_clock(CASE_CLOCK))
    yield v
    v.close()


@pytest.fixture
def bag(sample_cases_vault: Vault, bagged_template: Path, tmp_path: Path) -> Path:
    """A court bundle of CASE-2024-045, this test's own copy (tests damage it)."""
    return Path(shutil.copytree(bagged_template / BAG, tmp_path / BAG, symlinks=True))


def test_bag_validates_with_standard_tools(bag: Path, sample_cases_vault: Vault) -> None:
    proc = bagit_validate(bag)
    assert proc.returncode == 0 and "is valid" in proc.stderr
    assert sha256sum_check(bag).returncode == 0
    assert verify_bundle(bag, sample_cases_vault).ok
    assert (
        bag / "bagit.txt"
    ).read_text() == "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    info = (bag / "bag-info.txt").read_text(encoding="utf-8")
    assert "External-Identifier: CASE-2024-045" in info
    assert "Source-Organization: 株洲市城市管理和综合执法局" in info
    assert "Bagging-Date: 2024-05-07" in info and "Payload-Oxum: " in info
    assert not (bag / "fetch.txt").exists()
    for name in ("manifest-sha512.txt", "tagmanifest-sha256.txt", "tagmanifest-sha512.txt",
                 "zfjl/manifest-blake3.txt", "zfjl/manifest-sm3.txt"):  # fmt: skip
        assert (bag / name).is_file(), name


def test_payload_holds_originals_documents_case_data_and_custody(
    bag: Path, sample_cases_vault: Vault
) -> None:
    originals = sorted(p.name for p in (bag / "data" / "originals").iterdir())
    assert "20240729_075800_DSJ03_强制拆除.mp4" in originals
    assert "20240604_095800_DSJ02_询问.mp4" in originals
    blake = dict(line.split("  ")[::-1] for line in
                 (bag / "zfjl" / "manifest-blake3.txt").read_text("utf-8").splitlines())  # fmt: skip
    for name in originals:
        oid = blake[f"data/originals/{name}"]
        assert (bag / "data" / "originals" / name).read_bytes() == \
            object_bytes(sample_cases_vault, oid)  # fmt: skip
    docs = {p.name for p in (bag / "data" / "documents").iterdir()}
    assert (
        "2024-06-24_行政处罚决定书_d-decision.pdf" in docs
        and "2024-06-03_视听资料提取清单.pdf" in docs
    )
    case = json.loads((bag / "data" / "case.json").read_text("utf-8"))
    assert case == get_case(sample_cases_vault, "CASE-2024-045")
    custody = json.loads((bag / "data" / "custody" / "custody-log.json").read_text("utf-8"))
    kinds = {e["kind"] for e in custody}
    assert {"case.import", "object.add", "object.seen"} <= kinds
    assert all(len(e["hash"]) == 64 and len(e["prev_hash"]) == 64 for e in custody)


def test_bundling_twice_gives_identical_payload_and_manifests(
    sample_cases_vault: Vault, tmp_path: Path, bag: Path
) -> None:
    again = tmp_path / "again"
    bundle_case(sample_cases_vault, "CASE-2024-045", again, purpose="court", approval=APPROVAL)
    for name in ("manifest-sha256.txt", "manifest-sha512.txt", "zfjl/manifest-blake3.txt",
                 "zfjl/manifest-sm3.txt"):  # fmt: skip
        assert (bag / name).read_bytes() == (again / name).read_bytes(), name
    for p in (bag / "data").rglob("*"):
        if p.is_file():
            assert p.read_bytes() == (again / p.relative_to(bag)).read_bytes(), p.name


@pytest.mark.parametrize(
    "victim",
    ["data/originals/20240604_095800_DSJ02_询问.mp4", "data/documents/2024-06-24_行政处罚决定书_d-decision.pdf",
     "data/case.json"],
)  # fmt: skip
def test_one_changed_byte_is_caught_and_named_by_all_three(
    bag: Path, sample_cases_vault: Vault, victim: str
) -> None:
    path = bag / victim
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    proc = bagit_validate(bag)
    assert proc.returncode != 0 and victim in proc.stderr
    check = sha256sum_check(bag)
    assert check.returncode != 0 and f"{victim}: FAILED" in check.stdout
    report = verify_bundle(bag, sample_cases_vault)
    assert victim in {f.file for f in report.findings}
    cli = zfjl_run("bundle", "verify", str(bag), env={"ZFJL_VAULT": str(sample_cases_vault.root)})
    assert cli.returncode == 1 and victim in cli.stdout


def test_a_removed_file_is_caught_and_named_by_all_three(
    bag: Path, sample_cases_vault: Vault
) -> None:
    victim = "data/originals/20240729_075800_DSJ03_强制拆除.mp4"
    (bag / victim).unlink()
    proc = bagit_validate(bag)
    # bagit-python checks Payload-Oxum (file count and bytes) before the manifests, and stops
    # there: it fails and says a file is missing; sha256sum and zfjl name the file.
    assert proc.returncode != 0 and "Payload-Oxum validation failed" in proc.stderr
    check = sha256sum_check(bag)
    assert check.returncode != 0 and victim in check.stdout + check.stderr
    assert ("file_missing", victim) in {(f.code, f.file) for f in verify_bundle(bag).findings}


def test_rewritten_manifests_do_not_fool_the_vault_check(
    bag: Path, sample_cases_vault: Vault
) -> None:
    """A forger who swaps an original and recomputes every manifest gets a valid bag, but not
    past the vault's digests."""
    import bagit

    victim = "data/originals/20240604_095800_DSJ02_询问.mp4"
    (bag / victim).chmod(0o644)
    (bag / victim).write_bytes(b"forged footage")
    shutil.rmtree(bag / "zfjl")
    bagit.Bag(str(bag)).save(manifests=True)  # bagit-python recomputes every manifest
    assert bagit_validate(bag).returncode == 0
    findings = verify_bundle(bag, sample_cases_vault).findings
    assert ("not_in_vault", victim) in {(f.code, f.file) for f in findings} or \
        ("vault_mismatch", victim) in {(f.code, f.file) for f in findings}  # fmt: skip


def test_an_edited_custody_log_is_named(bag: Path) -> None:
    log = bag / "data" / "custody" / "custody-log.json"
    rows = json.loads(log.read_text("utf-8"))
    rows[0]["actor"] = "someone-else"
    log.write_text(json.dumps(rows, ensure_ascii=False), "utf-8")
    findings = verify_bundle(bag).findings
    assert any(
        f.code == "custody_changed" and f.file.endswith(f"#{rows[0]['seq']}") for f in findings
    )


def test_tar_bundle_verifies_and_is_reproducible(sample_cases_vault: Vault, tmp_path: Path) -> None:
    first, second = tmp_path / "a.tar", tmp_path / "b.tar"
    bundle_case(sample_cases_vault, "CASE-2024-031", first, purpose="review", approval=APPROVAL)
    bundle_case(sample_cases_vault, "CASE-2024-031", second, purpose="review", approval=APPROVAL)
    assert verify_bundle(first, sample_cases_vault).ok
    with tarfile.open(first) as tar:
        unpack(tar, tmp_path / "x", first)  # extractall(filter=) needs Python 3.11.4
    assert bagit_validate(tmp_path / "x" / "a").returncode == 0
    with tarfile.open(first) as a, tarfile.open(second) as b:

        def payload(t: tarfile.TarFile) -> dict[str, bytes]:
            return {m.name.split("/", 1)[1]: t.extractfile(m).read() for m in t.getmembers()  # type: ignore[union-attr]
                    if m.isfile() and "/data/" in f"/{m.name.split('/', 1)[1]}"}  # fmt: skip

        assert payload(a) == payload(b)


def test_every_bundle_is_journaled_with_its_manifest_digest(
    bag: Path, sample_cases_vault: Vault
) -> None:
    data = journal_events(sample_cases_vault, events.CaseBundle)[-1].data
    assert data["purpose"] == "court" and data["case"] == "CASE-2024-045"
    assert (
        data["manifest_sha256"]
        == hashlib.sha256((bag / "manifest-sha256.txt").read_bytes()).hexdigest()
    )


def test_confidential_items_are_left_out_unless_approved(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    case = get_case(sample_cases_vault, "CASE-2024-031")
    case["flags"]["confidential"] = True
    reopen_case(sample_cases_vault, "CASE-2024-031", reason="测试：涉密")  # archived
    import_case(sample_cases_vault, {**case, "status": "已结案"}, reason="测试：涉密")
    kept_out = tmp_path / "no-approval"
    report = bundle_case(sample_cases_vault, "CASE-2024-031", kept_out, purpose="court")
    assert len(report.withheld) == 3 and not (kept_out / "data" / "originals").exists()
    assert "Zfjl-Withheld: 3" in (kept_out / "bag-info.txt").read_text("utf-8")
    assert len(json.loads((kept_out / "data" / "withheld.json").read_text("utf-8"))) == 3
    assert bagit_validate(kept_out).returncode == 0
    approved = tmp_path / "approved"
    report = bundle_case(sample_cases_vault, "CASE-2024-031", approved, purpose="court",
                         approval="株城管复〔2024〕7号")  # fmt: skip
    assert report.withheld == [] and len(list((approved / "data" / "originals").iterdir())) == 3


def test_never_overwrites_and_errors_are_clear(
    bag: Path, sample_cases_vault: Vault, tmp_path: Path
) -> None:
    before = (bag / "manifest-sha256.txt").read_bytes()
    with pytest.raises(OutputExists, match="输出已存在"):
        bundle_case(sample_cases_vault, "CASE-2024-045", bag, purpose="court", approval=APPROVAL)
    assert (bag / "manifest-sha256.txt").read_bytes() == before
    env = {"ZFJL_VAULT": str(sample_cases_vault.root)}
    bad = zfjl_run(
        "bundle", "CASE-2024-045", "--purpose", "party", "-o", str(tmp_path / "x"), env=env
    )
    assert bad.returncode == 2 and "--purpose" in bad.stderr
    missing = zfjl_run("bundle", "verify", str(tmp_path / "nothing"), env=env)
    assert missing.returncode == 4 and "找不到案件包" in missing.stderr
    no_vault = zfjl_run("bundle", "verify", str(bag), env={"ZFJL_VAULT": str(tmp_path / "none")})
    assert no_vault.returncode == 0 and "完好" in no_vault.stdout


def test_disk_full_while_bundling_leaves_nothing_behind(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    from zfjl.errors import DiskFull

    from .test_bad_input import small_tmpfs

    with small_tmpfs(tmp_path / "small", "4m") as mnt:
        with pytest.raises(DiskFull, match="空间不足"):
            bundle_case(sample_cases_vault, "CASE-2024-045", mnt / "bag", purpose="court", approval=APPROVAL)
        assert list(mnt.iterdir()) == []  # no half bag, no temporary folder


# -- the checkpoint and inclusion proofs a bundle carries --------------------------------------
def test_bundle_carries_a_signed_checkpoint_and_a_proof_for_every_custody_row(
    bag: Path, sample_cases_vault: Vault
) -> None:
    from zfjl.vault.checkpoint import Checkpoint, PublicKey

    custody = bag / "data" / "custody"
    cp = Checkpoint.parse((custody / "checkpoint.txt").read_text("utf-8"))
    (key,) = [PublicKey.from_vkey(x) for x in (custody / "checkpoint-key.txt").read_text().split()]
    assert cp.signed_by(key)
    rows = json.loads((custody / "custody-log.json").read_text("utf-8"))
    proofs = json.loads((custody / "inclusion-proofs.json").read_text("utf-8"))
    assert proofs["tree_size"] == cp.size and proofs["uncovered"] == []
    assert sorted(map(int, proofs["proofs"])) == [r["seq"] for r in rows]
    # Offline: no vault at hand, the bag alone proves each row was in the signed journal.
    report = verify_bundle(bag, None)
    assert report.ok, report.findings
    assert "checkpoint.txt" in (bag / "manifest-sha256.txt").read_text("utf-8")


def test_a_forged_proof_or_checkpoint_is_caught_offline(bag: Path) -> None:
    custody = bag / "data" / "custody"
    proofs_file = custody / "inclusion-proofs.json"
    proofs = json.loads(proofs_file.read_text("utf-8"))
    seq = sorted(proofs["proofs"], key=int)[0]
    proofs["proofs"][seq][0] = base64.b64encode(bytes(32)).decode()
    other = sorted(proofs["proofs"], key=int)[1]
    proofs["proofs"][other][0] = "not base64!"
    proofs_file.chmod(0o644)
    proofs_file.write_text(json.dumps(proofs), "utf-8")
    codes = {(f.code, f.file) for f in verify_bundle(bag, None).findings}
    assert ("proof_invalid", f"data/custody/custody-log.json#{seq}") in codes
    assert ("proof_invalid", f"data/custody/custody-log.json#{other}") in codes
    cp_file = custody / "checkpoint.txt"
    lines = cp_file.read_text("utf-8").split("\n")
    lines[1] = str(int(lines[1]) + 1)
    cp_file.chmod(0o644)
    cp_file.write_text("\n".join(lines), "utf-8")
    assert ("checkpoint_invalid", "data/custody/checkpoint.txt") in {
        (f.code, f.file) for f in verify_bundle(bag, None).findings
    }


def test_a_checkpoint_signed_by_another_key_is_refused_when_the_vault_is_at_hand(
    bag: Path, sample_cases_vault: Vault, tmp_path: Path
) -> None:
    """A forger re-signs the bag's checkpoint with a key of their own and ships that key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from zfjl.vault.checkpoint import Checkpoint, PublicKey

    custody = bag / "data" / "custody"
    cp = Checkpoint.parse((custody / "checkpoint.txt").read_text("utf-8"))
    mine = Ed25519PrivateKey.generate()
    pub = PublicKey(cp.origin, mine.public_key().public_bytes_raw())
    forged = Checkpoint(cp.origin, cp.size, cp.root, cp.extensions,
                        ((pub.name, pub.key_id, mine.sign(cp.body.encode())),))  # fmt: skip
    for name, text in (("checkpoint.txt", forged.text), ("checkpoint-key.txt", pub.vkey + "\n")):
        (custody / name).chmod(0o644)
        (custody / name).write_text(text, "utf-8")
    offline = {f.code for f in verify_bundle(bag, None).findings}
    assert "checkpoint_invalid" not in offline  # consistent in itself: only the key differs
    with_vault = {f.code for f in verify_bundle(bag, sample_cases_vault).findings}
    assert "checkpoint_invalid" in with_vault


# -- a checkpoint kept outside, months before the bundle ---------------------------------------
def _paper_then_more(vault: Vault) -> str:
    """Print a checkpoint (it goes in a drawer), then let the journal grow and checkpoint again."""
    from zfjl.retention.holds import place_hold
    from zfjl.vault.signer import append_checkpoint

    paper = append_checkpoint(vault)[0].text
    place_hold(vault, "CASE-2024-045", "dispute", "当事人申请行政复议")
    append_checkpoint(vault)
    return paper


def test_a_bundle_proves_it_extends_a_checkpoint_kept_on_paper(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    paper = _paper_then_more(sample_cases_vault)
    out = tmp_path / "bag"
    bundle_case(sample_cases_vault, "CASE-2024-045", out, purpose="court", approval=APPROVAL)
    report = verify_bundle(out, None, paper)  # offline: the bag and the paper only
    assert report.ok, report.findings
    rows = json.loads((out / "data/custody/custody-log.json").read_text("utf-8"))
    size = int(paper.split("\n")[1])
    assert report.anchored_rows == sum(1 for r in rows if r["seq"] <= size) > 0
    proofs = out / "data/custody/consistency-proofs.json"
    data = json.loads(proofs.read_text("utf-8"))
    data["from"][str(size)][0] = base64.b64encode(bytes(32)).decode()
    proofs.chmod(0o644)
    proofs.write_text(json.dumps(data), "utf-8")
    assert "checkpoint_inconsistent" in {f.code for f in verify_bundle(out, None, paper).findings}


def test_a_journal_rewritten_and_re_signed_after_the_paper_checkpoint_is_caught(
    sample_cases_vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone with the machine (and its key) edits an early custody row, recomputes the whole
    chain, signs a fresh checkpoint and bundles: the paper checkpoint still convicts them."""
    from zfjl.vault import anchors
    from zfjl.vault.signer import append_checkpoint

    # zfjl itself refuses to sign it (tests/test_proof.py): this forger runs their own code.
    monkeypatch.setattr(anchors, "refuse_unless_extends", lambda v, t: anchors.SignerState(0, b"", None))
    vault = sample_cases_vault
    paper = _paper_then_more(vault)
    victim = journal_events(vault, subject="case:CASE-2024-045")[0].seq
    root = vault.root
    vault.close()
    rechain(root, change=lambda seq, ts, actor, kind, subject, data, _: (
        "nobody-saw" if seq == victim else actor, data))  # fmt: skip
    forged = Vault.open(root)
    append_checkpoint(forged)  # signed with the real key: the forger has the machine
    out = tmp_path / "bag"
    bundle_case(forged, "CASE-2024-045", out, purpose="court", approval=APPROVAL)
    offline = verify_bundle(out, None)
    assert not any(f.code in ("proof_invalid", "checkpoint_invalid") for f in offline.findings)
    with_paper = verify_bundle(out, None, paper)
    assert "checkpoint_inconsistent" in {f.code for f in with_paper.findings}
    assert not with_paper.ok
    forged.close()


def test_a_paper_checkpoint_of_another_vault_or_newer_than_the_bag(
    sample_cases_vault: Vault, tmp_path: Path, bag: Path
) -> None:
    from zfjl.vault.setup import init_vault
    from zfjl.vault.signer import append_checkpoint

    other = init_vault(tmp_path / "other", bureau="测试局")
    foreign = append_checkpoint(other)[0].text
    other.close()
    assert "checkpoint_inconsistent" in {f.code for f in verify_bundle(bag, None, foreign).findings}
    sample_cases_vault.record(
        events.IngestFileWarning(run="t", source_path="later", code="t", reason="later"), None
    )
    newer = append_checkpoint(sample_cases_vault)[0].text
    report = verify_bundle(bag, sample_cases_vault, newer)
    assert [f.code for f in report.findings] == ["checkpoint_newer"] and report.ok
    cli = zfjl_run("--vault", str(sample_cases_vault.root), "bundle", "verify", str(bag),
                   "--checkpoint", str(_write(tmp_path / "paper.txt", newer)))  # fmt: skip
    assert cli.returncode == 0 and "晚于案件包" in cli.stdout


def _write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


def test_an_approving_role_bundles_only_under_an_approval_number(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    """Art. 44: the legal section's (or an administrator's) role is not itself the approval of
    a copy; without a copy grant on the originals the bundle names the approval it is made under."""
    with pytest.raises(AccessDenied, match="--approval"):
        bundle_case(sample_cases_vault, "CASE-2024-045", tmp_path / "bag", purpose="court")
    assert not (tmp_path / "bag").exists()
    report = bundle_case(sample_cases_vault, "CASE-2024-045", tmp_path / "ok", purpose="court",
                         approval=APPROVAL)  # fmt: skip
    assert report.path == tmp_path / "ok"
    kinds = journal_kinds(sample_cases_vault)
    assert "access.denied" in kinds

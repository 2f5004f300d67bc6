"""Issue 23: what a bundle may contain, when it is journaled, what a killed one leaves, and a
hostile tar handed to `bundle verify` (must hold on Debian 12's Python 3.11.2 too)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from zfjl.access import add_grant, export
from zfjl.bundle import bundle_case
from zfjl.bundle.bag import unpack
from zfjl.cases.store import add_document, attach, get_case, import_case
from zfjl.errors import AccessDenied, BundleError
from zfjl.userfs import remove_abandoned_staging
from zfjl.vault import Vault, events

from .conftest import APPROVAL, copy_vault, zfjl_run
from .doors import catalogued_object, journal_count, journal_events, object_bytes
from .test_identity import _as_clerk


def _tar_with(path: Path, *members: tuple[tarfile.TarInfo, bytes]) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o644
    return info


HOSTILE = {
    "absolute": [(_member("/tmp/zfjl-escape"), b"x")],
    "dotdot": [(_member("bag/data/../../zfjl-escape"), b"x")],
    "symlink": [(_member("bag/link", tarfile.SYMTYPE, "/etc"), b"")],
    "symlink_then_file": [
        (_member("bag", tarfile.SYMTYPE, "/tmp"), b""), (_member("bag/zfjl-escape"), b"x")
    ],
    "hardlink": [(_member("bag/passwd", tarfile.LNKTYPE, "/etc/passwd"), b"")],
    "device": [(_member("bag/null", tarfile.CHRTYPE), b"")],
    "fifo": [(_member("bag/fifo", tarfile.FIFOTYPE), b"")],
    "twice": [(_member("bag/a"), b"x"), (_member("bag/a"), b"y")],
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_tar_is_refused_before_anything_lands_outside(
    kind: str, tmp_path: Path
) -> None:
    tar_path = _tar_with(tmp_path / f"{kind}.tar", *HOSTILE[kind])
    into = tmp_path / "into"
    into.mkdir()
    with tarfile.open(tar_path) as tar, pytest.raises(BundleError, match="拒绝解包"):
        unpack(tar, into, tar_path)
    assert not Path("/tmp/zfjl-escape").exists() and not (tmp_path / "zfjl-escape").exists()
    assert not any(p.is_symlink() for p in into.rglob("*"))


def test_bundle_verify_refuses_a_hostile_tar_with_one_line(tmp_path: Path) -> None:
    tar_path = _tar_with(tmp_path / "evil.tar", *HOSTILE["dotdot"])
    run = zfjl_run("bundle", "verify", str(tar_path), env={"ZFJL_VAULT": str(tmp_path / "none")})
    assert run.returncode == 4 and "拒绝解包" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "zfjl-escape").exists()


# -- one authority check: a document's scan is an original too ------------------------------
def _recordings_of(vault: Vault, case_id: str) -> list[str]:
    return list(dict.fromkeys(m["recording"] for m in get_case(vault, case_id)["media"]))


def _sealed(vault: Vault, oid: str) -> str | None:
    """An object's SHA-256 as the catalog holds it (None until sealed)."""
    found = catalogued_object(vault, oid)
    assert found is not None
    return found.sha256


def _denials(vault: Vault, oid: str) -> list[dict[str, object]]:
    return [e.data for e in journal_events(vault, "access.denied", oid)]


def _clerk_case(vault: Vault, *, scan: str | None = None, media: str | None = None) -> str:
    doc = {"id": "d-x", "type": "现场检查笔录", "date": "2024-05-06T10:10"}
    import_case(vault, {
        "case": "CASE-2024-099", "kind": "处罚", "procedure": "一般", "cause": "占道经营",
        "party": {"type": "个人", "name": "张三"}, "origin": "依职权",
        "opened_at": "2024-05-06T09:00",
        "documents": [{**doc, "scan": scan[:16]} if scan else doc],
        "media": [{"recording": media[:16], "activity": "现场检查"}] if media else [],
    })  # fmt: skip
    return "CASE-2024-099"


def test_a_scan_naming_a_refused_recording_is_refused_and_journaled(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    """Issue 23: `scan: <recording>` used to carry a refused recording into data/scans/."""
    v = _as_clerk(sample_cases_vault)
    secret = _recordings_of(v, "CASE-2024-045")[0]
    with pytest.raises(AccessDenied):
        export(v, [secret], tmp_path / "export")  # the clerk is refused the recording
    case_id = _clerk_case(v, scan=secret)
    out = tmp_path / "out"
    with pytest.raises(AccessDenied, match="扫描件"):
        bundle_case(v, case_id, out / "bag", purpose="court")
    assert not out.exists()
    assert [d["purpose"] for d in _denials(v, secret)] == [None, "案件包：向人民法院提供"]
    assert journal_count(v, events.CaseBundle) == 0


def test_a_copy_grant_on_the_scan_lets_it_into_the_bag_and_the_journal_row(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    media, scan = _recordings_of(sample_cases_vault, "CASE-2024-045")[:2]
    for oid in (media, scan):
        add_grant(sample_cases_vault, sample_cases_vault.actor, oid, scope="copy",
                  approved_by="王局长", approval_no="局批〔2024〕9号", until="2099-12-31")  # fmt: skip
    v = _as_clerk(sample_cases_vault)
    case_id = _clerk_case(v, scan=scan, media=media)
    report = bundle_case(v, case_id, tmp_path / "bag", purpose="court")
    scans = list((report.path / "data" / "scans").iterdir())
    assert [p.read_bytes() for p in scans] == [object_bytes(v, scan)]
    row = journal_events(v, events.CaseBundle)[0].data
    assert {o["id"]: o["sha256"] for o in row["objects"]} == {
        oid: _sealed(v, oid) for oid in (media, scan)}  # fmt: skip


def test_a_case_grant_does_not_cover_what_is_linked_to_the_case_after_it(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    """A clerk holding a copy grant on their own case cannot widen it by attaching a refused
    recording, or naming it as a document's scan, after the grant was entered."""
    v = sample_cases_vault
    mine, secret, other = _recordings_of(v, "CASE-2024-045")[:3]
    case_id = _clerk_case(v, media=mine)
    add_grant(v, v.actor, case_id, scope="copy", approved_by="王局长",
              approval_no="局批〔2024〕9号", until="2099-12-31")  # fmt: skip
    v = _as_clerk(v)
    assert len(bundle_case(v, case_id, tmp_path / "ok", purpose="court").withheld) == 0
    attach(v, case_id, recordings=[secret], activity="现场检查")
    add_document(v, case_id, {"id": "d-y", "type": "询问笔录", "date": "2024-05-06T11:00",
                              "scan": other[:16]})  # fmt: skip
    with pytest.raises(AccessDenied, match="之后才关联") as refused:
        bundle_case(v, case_id, tmp_path / "bag", purpose="court")
    assert secret[:12] in str(refused.value) and other[:12] in str(refused.value)
    assert mine[:12] not in str(refused.value)
    with pytest.raises(AccessDenied, match="之后才关联"):
        export(v, [secret], tmp_path / "export")
    assert not (tmp_path / "bag").exists() and not (tmp_path / "export").exists()
    assert len(_denials(v, secret)) == 2 and len(_denials(v, other)) == 1


def test_a_bundle_row_from_before_issue_23_still_reads() -> None:
    old = {"case": "C", "purpose": "court", "path": "/x", "approval": None,
           "manifest_sha256": "0" * 64, "files": 1, "bytes": 2, "withheld": []}  # fmt: skip
    assert events.parse("case.bundle", old).objects is None  # type: ignore[attr-defined]
    assert events.parse("grant.revoke", {"grant": "G-1", "reason": None}).approval_no is None  # type: ignore[attr-defined]


# -- a direct-mode bundle killed -9 at several moments ---------------------------------------
# Each hook runs in a real child `zfjl` process and kills it (SIGKILL) at one moment.
KILL = "import os, signal\ndef die(*a, **k): os.kill(os.getpid(), signal.SIGKILL)\n"
MOMENTS = {
    # half of the first original's bytes written
    "mid_copy": KILL + "import zfjl.userfs as u\n_c = u.copy_fd\n"
    "def half(src, dst):\n    os.write(dst, os.pread(src, os.fstat(src).st_size // 2, 0)); die()\n"
    "u.copy_fd = half\n"
    "import tarfile\n_t = tarfile.copyfileobj\n"  # a .tar reads the originals from the vault
    "def half_tar(src, dst, length=None, *a, **k):\n"
    "    if '/objects/' in str(getattr(src, 'name', '')):\n"
    "        dst.write(src.read(length // 2)); dst.flush(); die()\n"
    "    return _t(src, dst, length, *a, **k)\n"
    "tarfile.copyfileobj = half_tar\n",
    # every copy made, the bag complete; the catalog busy: the journal row waits (here: never)
    "catalog_busy": KILL + "from zfjl.vault.vault import Vault\n_r = Vault.record\n"
    "def rec(self, ev, *a, **k):\n    return die() if ev.kind == 'case.bundle' else _r(self, ev, *a, **k)\n"
    "Vault.record = rec\n",
    # journaled; the copies not yet named
    "after_journal": KILL + "import zfjl.userfs as u\nu._Staging.name_deferred = die\n",
    # the instant of naming: two copies named in the staging folder, not yet renamed
    "while_naming": KILL + "import zfjl.userfs as u\n_l = u._link_fd\nn = [0]\n"
    "def link(fd, dest):\n    n[0] += 1\n    _l(fd, dest)\n    if n[0] == 2: die()\n"
    "u._link_fd = link\n",
}  # fmt: skip


def _zfjl_child(vault: Path, hook: str, *args: str) -> subprocess.CompletedProcess[str]:
    code = f"{hook}\nfrom zfjl.service.client import run\nrun()"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    env.pop("ZFJL_SOCKET", None)
    return subprocess.run([sys.executable, "-c", code, "--vault", str(vault), *args], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def _copies_of(folder: Path, originals: dict[str, int]) -> list[Path]:
    """Files under `folder` holding the bytes (or the first bytes) of an original."""
    found = []
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink() and p.stat().st_size >= 4096:
            head = p.read_bytes()[:4096]
            if any(head == h for h in originals):
                found.append(p)
    return found


@pytest.fixture(scope="module")
def killable(tmp_path_factory: pytest.TempPathFactory, bagged_template: Path) -> Path:
    return bagged_template / "vault"


@pytest.mark.parametrize(("moment", "as_tar"), [
    ("mid_copy", False), ("catalog_busy", False), ("after_journal", False),
    ("while_naming", False), ("mid_copy", True), ("after_journal", True),
])  # fmt: skip
def test_a_bundle_killed_at_any_moment_leaves_no_copy_and_is_journaled_before_it_lands(
    moment: str, as_tar: bool, killable: Path, tmp_path: Path
) -> None:
    root = copy_vault(killable, tmp_path / "vault")
    with Vault.open(root) as v:
        oids = _recordings_of(v, "CASE-2024-045")
        heads = {object_bytes(v, o)[:4096]: 0 for o in oids}
        rows_before = journal_count(v, events.CaseBundle)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / ("bag.tar" if as_tar else "bag")
    run = _zfjl_child(root, MOMENTS[moment], "bundle", "make", "CASE-2024-045", "--purpose",
                      "court", "--approval", APPROVAL, "-o", str(target))  # fmt: skip
    assert run.returncode == -signal.SIGKILL, run.stderr
    assert not os.path.lexists(target)
    left = _copies_of(out_dir, heads)
    with Vault.open(root) as v:
        rows = [e.data for e in journal_events(v, events.CaseBundle)][rows_before:]
        sealed = {o: _sealed(v, o) for o in oids}
    if moment in ("after_journal", "while_naming"):
        (row,) = rows
        assert {o["id"]: o["sha256"] for o in row["objects"] if o["id"] in sealed} == sealed
    else:
        assert rows == []
    if moment == "while_naming":  # the instant between naming the copies and the rename
        assert left and all(p.relative_to(out_dir).parts[0].startswith(".zfjl-staging-")
                            for p in left)  # fmt: skip
    else:
        assert left == []
    if moment != "while_naming":  # what the next run does first (the next case runs it)
        assert [p.name[:14] for p in out_dir.iterdir()] == [".zfjl-staging-"]
        remove_abandoned_staging(out_dir)
        assert list(out_dir.iterdir()) == []
        return
    again = _zfjl_child(root, "", "bundle", "make", "CASE-2024-045", "--purpose", "court",
                        "--approval", APPROVAL, "-o", str(target))  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert [p.name for p in out_dir.iterdir()] == [target.name]  # the staging folder is gone

"""Issue 23: what a bundle may contain, when it is journaled, what a killed one leaves, and a
hostile tar handed to `bundle verify` (must hold on Debian 12's Python 3.11.2 too)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from zfjl.bundle.bag import unpack
from zfjl.errors import BundleError

from .conftest import zfjl_run


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
    "symlink_then_file": [(_member("bag", tarfile.SYMTYPE, "/tmp"), b""),
                          (_member("bag/zfjl-escape"), b"x")],  # fmt: skip
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

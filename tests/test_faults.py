"""Machine faults and damaged vault files: one Chinese line and the documented exit code."""

from __future__ import annotations

import os
from pathlib import Path

from zfjl.vault import Vault

from .conftest import zfjl_run


def _closed(vault: Vault) -> Path:
    root = vault.root
    vault.close()
    return root


def test_a_catalog_of_random_bytes_is_exit_3(vault: Vault) -> None:
    root = _closed(vault)
    for extra in root.glob("catalog.db-*"):
        extra.unlink()
    (root / "catalog.db").write_bytes(os.urandom(65536))
    run = zfjl_run("--vault", str(root), "ls")
    assert run.returncode == 3 and "已损坏" in run.stderr and len(run.stderr.splitlines()) == 1


def test_a_folder_in_place_of_the_catalog_is_exit_3(vault: Vault) -> None:
    root = _closed(vault)
    for extra in root.glob("catalog.db*"):
        extra.unlink()
    (root / "catalog.db").mkdir()
    run = zfjl_run("--vault", str(root), "ls")
    assert run.returncode == 3 and "文件夹" in run.stderr


def test_bundle_verify_of_a_file_that_is_no_bundle(tmp_path: Path) -> None:
    f = tmp_path / "passwd"
    f.write_text("root:x:0:0:root:/root:/bin/bash\n")
    run = zfjl_run("bundle", "verify", str(f))
    assert run.returncode == 4 and "不是 zfjl 案件包" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_0_1_vault_json_with_settings_of_the_wrong_type_is_exit_3(tmp_path: Path) -> None:
    from .test_roles import _legacy

    bad = {"roles": [1], "devices": [], "bureau": 5, "upload_deadline_working_days": "2",
           "ingest": {"batch_files": "x"}, "retention": {"standing_approval": 5}}  # fmt: skip
    for i, (key, value) in enumerate(bad.items()):
        root = _legacy(tmp_path / str(i), **{key: value})
        run = zfjl_run("--vault", str(root), "ls")
        assert run.returncode == 3, (key, run.stderr)
        assert key in run.stderr and "内部错误" not in run.stderr


def test_a_full_disk_gives_exit_6_for_every_command(vault: Vault, tmp_path: Path) -> None:
    import shutil

    from .test_bad_input import small_tmpfs

    root = _closed(vault)
    with small_tmpfs(tmp_path / "small", "2m") as mnt:
        shutil.copytree(root, mnt / "v")
        fd = os.open(mnt / "fill", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        for cmd in (["ls"], ["check", "--all"], ["verify"], ["ingest", str(tmp_path)]):
            run = zfjl_run("--vault", str(mnt / "v"), *cmd)
            assert run.returncode == 6, (cmd, run.stderr)
            assert "磁盘已满" in run.stderr and len(run.stderr.strip().splitlines()) == 1

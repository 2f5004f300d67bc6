"""Sources swapped after discovery (issue 11): symlinks, FIFOs, folders, replaced files,
empty and vault-overlapping source arguments. Real files; the swap happens between the
library's own stages (`discover`, then `ingest_dump`), or from the public progress callback
(called on the main thread after a file is stored, before its batch is committed and cleared).
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from zfjl.errors import UsageError
from zfjl.ingest import IngestOptions, Progress, ingest
from zfjl.ingest.discover import discover
from zfjl.ingest.pipeline import ingest_dump
from zfjl.vault import Vault

from .conftest import write_random_files, zfjl_run
from .doors import all_read_only, catalog_rows, journal_kinds, object_files

SECRET = b"root:$6$insider-test-secret-hash:19000:0:99999:7:::\n" * 50


def _object_bytes(vault: Vault) -> list[bytes]:
    return [data for _, data in object_files(vault)]


def _assert_in_no_object(vault: Vault, *secrets: bytes) -> None:
    for data in _object_bytes(vault):
        for secret in secrets:
            assert secret not in data
    assert all_read_only(vault)


def _failures(vault: Vault) -> dict[str, str]:
    return {r["source_path"]: r["code"] for r in catalog_rows(vault, "failures")}


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "secret" / "shadow"
    secret.parent.mkdir()
    secret.write_bytes(SECRET)
    secret.chmod(0o600)
    return secret


def test_file_swapped_for_a_symlink_after_discovery_is_not_followed(
    vault: Vault, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    victim, keep = write_random_files(card, 2, len(SECRET))  # same size as the secret
    secret = _secret(tmp_path)
    own = vault.root / "vault.json"
    victim2 = card / "OWN.BIN"
    victim2.write_bytes(os.urandom(own.stat().st_size))
    with discover(card) as dump:
        victim.unlink()
        victim.symlink_to(secret)
        victim2.unlink()
        victim2.symlink_to(own)  # the vault's own file
        report = ingest_dump(vault, dump)
    status = {f.path: f for f in report.files}
    for name in (victim.name, victim2.name):
        assert status[name].status == "skipped"
        assert "符号链接" in (status[name].reason or "")
    assert status[keep.name].status == "new"
    assert _failures(vault) == {victim.name: "swapped_symlink", victim2.name: "swapped_symlink"}
    _assert_in_no_object(vault, SECRET, own.read_bytes())
    assert secret.read_bytes() == SECRET  # and left alone


@pytest.mark.parametrize("kind", ["fifo", "socket", "device"])
def test_file_swapped_for_a_special_file_is_reported_and_never_waited_on(
    vault: Vault, tmp_path: Path, kind: str
) -> None:
    card = tmp_path / "card"
    victim, keep = write_random_files(card, 2, 4000)
    if kind == "device" and os.geteuid() != 0:
        pytest.skip("mknod of a device needs root")
    sock: socket.socket | None = None
    watchdog_fired = threading.Event()
    done = threading.Event()

    def watchdog() -> None:  # should the ingest block on the FIFO, release it and say so
        if not done.wait(20):
            watchdog_fired.set()
            fd = os.open(victim, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)

    with discover(card) as dump:
        victim.unlink()
        if kind == "fifo":
            os.mkfifo(victim)
        elif kind == "socket":
            sock = socket.socket(socket.AF_UNIX)
            sock.bind(str(victim))
        else:
            os.mknod(victim, 0o600 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null
        guard = threading.Thread(target=watchdog)
        guard.start()
        started = time.monotonic()
        try:
            report = ingest_dump(vault, dump)
        finally:
            done.set()
            guard.join()
            if sock is not None:
                sock.close()
    assert not watchdog_fired.is_set(), "ingest waited on a FIFO"
    assert time.monotonic() - started < 20
    status = {f.path: f for f in report.files}
    assert status[victim.name].status == "skipped"
    assert "非普通文件" in (status[victim.name].reason or "")
    assert status[keep.name].status == "new"
    assert _failures(vault) == {victim.name: "not_regular"}


def test_file_replaced_by_another_file_after_discovery_is_reported_as_changed(
    vault: Vault, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    (victim,) = write_random_files(card, 1, 4000)
    replacement = os.urandom(4000)
    with discover(card) as dump:
        other = card / "other.tmp"
        other.write_bytes(replacement)
        os.replace(other, victim)  # same name, another inode
        report = ingest_dump(vault, dump)
    (result,) = report.files
    assert result.status == "skipped" and "替换" in (result.reason or "")
    assert _failures(vault) == {victim.name: "replaced"}
    _assert_in_no_object(vault, replacement)


def test_folder_swapped_for_a_symlink_after_discovery_is_not_followed(
    vault: Vault, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    (original,) = write_random_files(card / "DCIM", 1, len(SECRET))
    original_bytes = original.read_bytes()
    secret_dir = _secret(tmp_path).parent
    (secret_dir / original.name).write_bytes(SECRET)  # same name as the discovered file
    with discover(card) as dump:
        (card / "DCIM").rename(card / "moved")
        (card / "DCIM").symlink_to(secret_dir, target_is_directory=True)
        report = ingest_dump(vault, dump)
    _assert_in_no_object(vault, SECRET)
    # The folder discovery opened is the one read, wherever it was moved: the very file listed.
    assert [f.status for f in report.files] == ["new"]
    assert _object_bytes(vault) == [original_bytes]


def test_folder_swapped_and_its_files_gone_fails_without_following(
    vault: Vault, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    (original,) = write_random_files(card / "DCIM", 1, len(SECRET))
    secret_dir = _secret(tmp_path).parent
    (secret_dir / original.name).write_bytes(SECRET)
    with discover(card) as dump:
        original.unlink()
        (card / "DCIM").rmdir()
        (card / "DCIM").symlink_to(secret_dir, target_is_directory=True)
        report = ingest_dump(vault, dump)
    (result,) = report.files
    assert result.status == "failed" and "消失" in (result.reason or "")
    _assert_in_no_object(vault, SECRET)


@pytest.mark.parametrize("how", ["replaced", "symlink", "written"])
def test_clear_source_never_deletes_a_file_that_replaced_the_stored_one(
    vault: Vault, tmp_path: Path, how: str
) -> None:
    card = tmp_path / "card"
    victim, other = write_random_files(card, 2, 4000)
    secret = _secret(tmp_path)
    replacement = os.urandom(3000)
    swapped = threading.Event()

    def swap(p: Progress) -> None:  # after the file is stored, before its batch is cleared
        if p.current != victim.name or swapped.is_set():
            return
        swapped.set()
        if how == "replaced":
            tmp = card / "new.tmp"
            tmp.write_bytes(replacement)
            os.replace(tmp, victim)
        elif how == "symlink":
            victim.unlink()
            victim.symlink_to(secret)
        else:
            with open(victim, "ab") as f:  # the same file, written to since it was copied
                f.write(replacement)

    report = ingest(vault, card, IngestOptions(clear_source=True), progress=swap)
    assert swapped.is_set()
    assert report.cleared == 1 and not other.exists()
    assert os.path.lexists(victim)
    if how == "replaced":
        assert victim.read_bytes() == replacement
    elif how == "symlink":
        assert victim.is_symlink()
    else:
        assert victim.read_bytes().endswith(replacement)
    assert secret.read_bytes() == SECRET
    warned = {f.path: [w["code"] for w in f.warnings] for f in report.files}
    assert "clear_replaced" in warned[victim.name]
    assert "clear_replaced" not in warned[other.name]
    assert "source.cleared" in journal_kinds(vault)


@pytest.mark.parametrize("source", ["", "   ", "\t"])
def test_an_empty_source_is_a_usage_error_in_the_library(vault: Vault, source: str) -> None:
    with pytest.raises(UsageError, match="未给出要入库的文件夹"):
        ingest(vault, source)


def test_an_empty_source_is_a_usage_error_in_the_cli_and_deletes_nothing(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    write_random_files(here, 3, 1000)
    monkeypatch.chdir(here)
    proc = zfjl_run("--vault", str(vault.root), "ingest", "", "--clear-source")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "未给出要入库的文件夹" in lines[0]
    assert sorted(p.name for p in here.iterdir()) == [f"BLOB_000{i}.BIN" for i in range(3)]
    assert not object_files(vault)


@pytest.mark.parametrize("where", ["vault", "inside", "parent"])
def test_the_vault_itself_is_never_a_source(vault: Vault, tmp_path: Path, where: str) -> None:
    source = {"vault": vault.root, "inside": vault.root / "objects", "parent": tmp_path}[where]
    write_random_files(tmp_path / "card", 1, 100)
    with pytest.raises(UsageError, match="保管库"):
        ingest(vault, source, IngestOptions(clear_source=True))
    proc = zfjl_run("--vault", str(vault.root), "ingest", str(source), "--clear-source")
    assert proc.returncode == 2 and "保管库" in proc.stderr
    assert not object_files(vault)
    assert (vault.root / "vault.json").exists() and (tmp_path / "card").exists()


def test_a_bind_mount_of_the_vault_inside_the_source_is_refused(
    vault: Vault, tmp_path: Path
) -> None:
    import subprocess

    card = tmp_path / "card"
    write_random_files(card, 1, 100)
    mnt = card / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "--bind", str(vault.root), str(mnt)],
                      capture_output=True).returncode:  # fmt: skip
        pytest.skip("cannot bind-mount here")
    try:
        with pytest.raises(UsageError, match="包含保管库"):
            ingest(vault, card)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
    assert not object_files(vault)


def _photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=64x48:rate=1", "-frames:v", str(count),
                    str(folder / "IMG_%04d.JPG")], check=True)  # fmt: skip
    return sorted(folder.iterdir())


def test_prober_splits_a_long_list_among_its_processes_and_keeps_the_order(
    tmp_path: Path,
) -> None:
    from zfjl.ingest.probe import MIN_FILES_PER_PROCESS, Prober

    paths = _photos(tmp_path / "p", 2 * MIN_FILES_PER_PROCESS + 3)
    with Prober(2) as prober:
        got = prober.exif(paths)
        assert [r["SourceFile"] for r in got] == [str(p) for p in paths]
        assert all(r["File:MIMEType"] == "image/jpeg" for r in got)
        assert sum(et.running for et in prober._all) == 2  # both processes served the list


def test_prober_survives_the_threads_that_used_it(tmp_path: Path) -> None:
    """Cameras of a station run share one prober from their own threads. An exiftool started
    for a thread that then ended must still answer the next call (pyexiftool ties the process
    to the thread that started it; a dead one would be read forever)."""
    from zfjl.ingest.probe import Prober

    paths = _photos(tmp_path / "p", 3)
    with Prober(2) as prober:
        for _ in range(3):  # each call from a fresh thread that ends right after
            t = threading.Thread(target=prober.exif, args=(paths,))
            t.start()
            t.join()
        time.sleep(0.2)  # a SIGTERM on thread exit would have landed by now
        assert all(et.running for et in prober._all)
        assert [r["SourceFile"] for r in prober.exif(paths)] == [str(p) for p in paths]


def test_prober_warm_up_starts_the_processes_the_work_needs_without_waiting(tmp_path: Path) -> None:
    """An ingest warms the prober up at its first new file: exiftool's start then runs while
    the files are copied. As many processes as the dump's size asks for, started side by
    side, each on a thread that outlives the start; the first probe after it uses them."""
    from zfjl.ingest.probe import MIN_FILES_PER_PROCESS, Prober

    paths = _photos(tmp_path / "p", 2 * MIN_FILES_PER_PROCESS)
    with Prober(2) as prober:
        prober.warm_up(1)  # a small dump: one process
        assert len(prober._all) == 1
        prober.warm_up(5)  # a long one: every process, at most
        assert len(prober._all) == 2 and len(prober._starting) == 2  # submitted, not awaited
        for starting in list(prober._starting.values()):
            starting.result()
        assert all(et.running for et in prober._all)
        prober.warm_up(2)  # again: nothing new is started
        assert len(prober._all) == 2
        time.sleep(0.2)
        got = prober.exif(paths)
        assert [r["SourceFile"] for r in got] == [str(p) for p in paths]
        assert all(et.running for et in prober._all)


def test_ingest_running_sees_a_slot_held_by_any_ingest(vault: Vault) -> None:
    """The service's background sealer waits while any ingest holds a slot."""
    from zfjl.ingest.station import ingest_running, ingest_slot

    assert not ingest_running(vault)
    with ingest_slot(vault, 2):
        assert ingest_running(vault)
    assert not ingest_running(vault)


def test_ingest_running_sees_a_slot_an_older_release_holds_in_tmp(vault: Vault) -> None:
    """Slot locks moved from tmp/ to locks/ (issue 24): an ingest of the previous release,
    still copying while the service was upgraded, keeps the sealer waiting."""
    import fcntl

    from zfjl.ingest.station import ingest_running

    fd = os.open(vault.root / "tmp" / "ingest-slot-0.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert ingest_running(vault)
    finally:
        os.close(fd)
    assert not ingest_running(vault) and (vault.root / "locks").is_dir()

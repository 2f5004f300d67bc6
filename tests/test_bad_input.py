"""Bad input: each gets a clear message and leaves the vault consistent; the next run finishes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import blake3
import pytest

from zfjl.errors import DiskFull, SourceError
from zfjl.ingest import ingest
from zfjl.vault import Vault
from zfjl.vault.query import RecordingFilter, list_recordings
from zfjl.vault.settings import set_setting
from zfjl.vault.verify import verify

from .conftest import as_uid, tree_digest, write_random_files, zfjl_cli, zfjl_run
from .doors import object_files, stored_objects


def test_missing_source_path(vault: Vault, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="找不到要入库的文件夹"):
        ingest(vault, tmp_path / "no-such-card")
    proc = zfjl_run("--vault", str(vault.root), "ingest", str(tmp_path / "no-such-card"))
    assert proc.returncode == 4
    assert proc.stderr.strip().startswith("错误：找不到要入库的文件夹")
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_source_that_is_a_file(vault: Vault, tmp_path: Path) -> None:
    f = tmp_path / "DSJ01.MP4"
    f.write_bytes(b"x")
    with pytest.raises(SourceError, match="不是文件夹"):
        ingest(vault, f)


def test_symlinks_and_special_files_are_reported_not_skipped_silently(
    vault: Vault, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    write_random_files(card, 1, 1000)
    (card / "LINK.BIN").symlink_to(card / "BLOB_0000.BIN")
    os.mkfifo(card / "PIPE")
    report = ingest(vault, card)
    status = {f.path: (f.status, f.reason) for f in report.files}
    assert status["BLOB_0000.BIN"][0] == "new"
    assert status["LINK.BIN"][0] == "skipped" and "符号链接" in status["LINK.BIN"][1]
    assert status["PIPE"][0] == "skipped"
    failures = vault.conn.execute("SELECT source_path, code FROM failures ORDER BY 1").fetchall()
    assert failures == [("LINK.BIN", "symlink"), ("PIPE", "special")]


NOBODY = 65534


def _world_writable_tmp() -> Path:
    path = Path(tempfile.mkdtemp(prefix="zfjl-nobody-", dir="/tmp"))
    path.chmod(0o777)
    return path


def _ingest_as_nobody(vault_root: Path, card: Path) -> dict:  # type: ignore[type-arg]
    """Root reads every file, so an unreadable file needs an unprivileged reader: ingest with
    the library (already imported) as nobody, the report back as JSON."""

    def run() -> str:
        with Vault.open(vault_root) as v:
            return json.dumps(ingest(v, card).as_dict())

    out = as_uid(NOBODY, run)
    return {"error": out} if out.startswith("error:") else json.loads(out)  # type: ignore[no-any-return]


def test_unreadable_file_is_reported_and_the_rest_stored(tmp_path: Path) -> None:
    base = _world_writable_tmp()
    try:
        card = base / "card"
        write_random_files(card, 3, 5000)
        (card / "BLOB_0001.BIN").chmod(0o000)
        if os.geteuid() == 0:
            vault_root = base / "vault"
            Vault.create(vault_root).close()
            for p in [vault_root, *vault_root.rglob("*")]:  # a vault of nobody's own
                os.chown(p, NOBODY, NOBODY, follow_symlinks=False)
            data = _ingest_as_nobody(vault_root, card)
            assert "error" not in data, data
            files = {f["path"]: f for f in data["files"]}
        else:
            vault_root = base / "vault"
            with Vault.create(vault_root) as v:
                files = {f.path: f.__dict__ for f in ingest(v, card).files}
        assert files["BLOB_0001.BIN"]["status"] == "failed"
        assert "无法读取" in files["BLOB_0001.BIN"]["reason"]
        assert {files[n]["status"] for n in ("BLOB_0000.BIN", "BLOB_0002.BIN")} == {"new"}, files
        with Vault.open(vault_root) as v:
            codes = [r[0] for r in v.conn.execute("SELECT code FROM failures")]
            assert codes == ["unreadable"]
    finally:
        shutil.rmtree(base)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to nobody")
def test_noatime_refusal_is_not_mistaken_for_unreadable_by_another_thread(
    tmp_path: Path,
) -> None:
    """O_NOATIME is refused (EPERM) on files the reader does not own. Worker threads share
    the fallback flag: a thread whose open was refused after another cleared it must still
    retry without O_NOATIME, not report a readable file as unreadable."""
    from zfjl.vault import objects

    base = _world_writable_tmp()
    try:
        f = base / "DSJ01_0001.MP4"
        f.write_bytes(b"evidence")
        expected = objects.FileIdentity.of(f.stat())

        def open_as_if_raced() -> str:
            objects._noatime[0] = objects.O_NOATIME
            real_open = os.open

            def raced(path, flags, *args, **kw):  # type: ignore[no-untyped-def]
                objects._noatime[0] = 0  # the other thread's fallback lands first
                return real_open(path, flags, *args, **kw)

            os.open = raced  # type: ignore[assignment]  # in the forked child only
            fd, _ = objects.open_source(f, expected)
            return os.read(fd, 100).decode()

        got = as_uid(NOBODY, open_as_if_raced)
        assert got == "evidence"
    finally:
        shutil.rmtree(base)


def test_file_changing_while_read_is_never_stored_half(vault: Vault, tmp_path: Path) -> None:
    card = tmp_path / "card"
    write_random_files(card, 2, 2000)
    growing = card / "GROWING.MP4"
    growing.write_bytes(os.urandom(20 << 20))
    stop = threading.Event()

    def keep_writing() -> None:  # a camera still recording into the file
        with open(growing, "ab") as f:
            while not stop.is_set():
                f.write(os.urandom(64 << 10))
                f.flush()
                time.sleep(0.001)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        report = ingest(vault, card)
    finally:
        stop.set()
        writer.join()
    status = {f.path: f for f in report.files}
    assert status["GROWING.MP4"].status == "failed"
    assert "变化" in status["GROWING.MP4"].reason
    assert len(list_recordings(vault, RecordingFilter())) == 2  # the others are in
    assert list((vault.root / "tmp").glob("*.tmp")) == []
    assert verify(vault).ok
    again = ingest(vault, card)  # the camera stopped: the next run stores it whole
    assert {f.path: f.status for f in again.files}["GROWING.MP4"] == "new"
    row = [
        r for r in list_recordings(vault, RecordingFilter()) if r["original_name"] == "GROWING.MP4"
    ]
    assert row[0]["size"] == growing.stat().st_size


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_disk_full_mid_ingest_then_the_next_run_completes(tmp_path: Path) -> None:
    card = tmp_path / "card"
    # Files are stored smallest first, three at a time: the small one is complete long before
    # the big ones fill the disk, so the run always has something to catalogue when it stops
    # (with eight equal files a starved first worker could be the one to hit ENOSPC).
    write_random_files(card, 1, 4096, prefix="SMALL")
    write_random_files(card, 7, 1 << 20)
    before = tree_digest(card)
    with small_tmpfs(tmp_path / "small", "4m") as mnt:
        root = mnt / "vault"
        # One file a batch: the small file is catalogued before any big one is copied, so the
        # run has always catalogued something when the disk fills, however the store workers
        # are scheduled (a batch of all eight left it to the rescue after ENOSPC, which races
        # with the other workers filling the space a failed copy gave back).
        with Vault.create(root) as v:
            set_setting(v, "ingest.batch_files", 1)
        proc = zfjl_run("--vault", str(root), "ingest", str(card))
        assert proc.returncode == 6, proc.stderr
        assert "磁盘空间不足" in proc.stderr and "Traceback" not in proc.stderr
        assert list((root / "tmp").glob("*.tmp")) == []  # no half object anywhere
        with Vault.open(root) as v:
            # Stored (catalogued, sighted), not yet described: the run stopped before that.
            stored = v.conn.execute("SELECT count(*) FROM objects").fetchone()[0]
            assert 0 < stored < 8
            for oid, data in object_files(v):  # each stored object is whole, nothing else
                assert oid is not None and blake3.blake3(data).hexdigest() == oid
        subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
        proc = zfjl_run("--vault", str(root), "ingest", str(card))
        assert proc.returncode == 0, proc.stderr
        with Vault.open(root) as v:
            assert len(list_recordings(v, RecordingFilter())) == 8
            assert verify(v).ok
    assert tree_digest(card) == before


def test_disk_full_raises_a_clear_error_in_the_library(tmp_path: Path) -> None:
    card = tmp_path / "card"
    write_random_files(card, 4, 1 << 20)
    with small_tmpfs(tmp_path / "small", "2m") as mnt, Vault.create(mnt / "vault") as v:
        with pytest.raises(DiskFull, match="释放空间后重新运行"):
            ingest(v, card)
        assert verify(v).ok


def _start_ingest(vault_root: Path, card: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "zfjl", "--vault", str(vault_root), "ingest", str(card)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


# The real `zfjl` entry point, held after the ingest's first batch is catalogued: it says so
# on stderr and waits for a line on stdin (which never comes). Ctrl-C at a terminal always
# reaches a process with Python's own handler, whatever this test runner inherited (a job
# started in the background ignores SIGINT, and so would its children): restored here.
_HELD_AFTER_FIRST_BATCH = """
import signal, sys
from zfjl.ingest import pipeline
signal.signal(signal.SIGINT, signal.default_int_handler)
flush = pipeline._Run._flush
def held(self, batch):
    flush(self, batch)
    if batch and not getattr(pipeline, "held", False):
        pipeline.held = True
        print("FIRST-BATCH-CATALOGUED", file=sys.stderr, flush=True)
        sys.stdin.readline()
pipeline._Run._flush = held
from zfjl.service.client import main
sys.exit(main(sys.argv[1:]))
"""


def _held_mid_ingest(vault_root: Path, card: Path, batch: int) -> subprocess.Popen[str]:
    """`zfjl ingest` of many batches, held right after its first batch is catalogued: a signal
    sent now lands mid-ingest however loaded the machine is (no sleep, no race with the
    ingest finishing first)."""
    with Vault.create(vault_root) as v:
        set_setting(v, "ingest.batch_files", batch)
    proc = subprocess.Popen(
        [sys.executable, "-c", _HELD_AFTER_FIRST_BATCH, "--vault", str(vault_root), "ingest",
         str(card)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert "FIRST-BATCH-CATALOGUED" in line, line + proc.stderr.read()
    return proc


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_ingest_then_the_next_run_loses_nothing(tmp_path: Path, sig: int) -> None:
    total, batch = 80, 16  # five batches: the signal lands with four still to do
    card = tmp_path / "card"
    write_random_files(card, total, 64 << 10)
    root = tmp_path / "vault"
    proc = _held_mid_ingest(root, card, batch)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "中断" in stderr and "Traceback" not in stderr, stderr
    else:
        assert proc.returncode == -signal.SIGKILL
    with Vault.open(root) as v:  # it really was mid-way: the first batch catalogued, only
        assert len(stored_objects(v)) == batch
        assert len(list_recordings(v, RecordingFilter())) < total
    rerun = zfjl_run("--vault", str(root), "ingest", str(card), "--json")
    assert rerun.returncode == 0, rerun.stderr
    with Vault.open(root) as v:
        rows = list_recordings(v, RecordingFilter())
        assert sorted(r["original_name"] for r in rows) == sorted(p.name for p in card.iterdir())
        report = verify(v)
        assert report.ok and not [f for f in report.findings if f.code == "uncatalogued_object"]
    assert list((root / "tmp").glob("*.tmp")) == []  # leftovers of the killed run were cleaned


def test_stale_temp_files_are_cleaned_but_a_live_writers_are_kept(
    vault: Vault, tmp_path: Path
) -> None:
    dead = vault.root / "tmp" / "999999999-deadbeef.tmp"
    dead.write_bytes(b"half an object")
    live = vault.root / "tmp" / f"{os.getppid()}-cafe.tmp"
    live.write_bytes(b"someone else is writing")
    card = tmp_path / "card"
    write_random_files(card, 1, 100)
    ingest(vault, card)
    assert not dead.exists() and live.exists()


def _path_without(tool: str, tmp_path: Path) -> str:
    """A PATH with every tool the ingest needs except `tool`."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("exiftool", "ffprobe", "ffmpeg", "perl"):
        found = shutil.which(name)
        if found and name != tool:
            (bindir / name).symlink_to(found)
    return str(bindir)


@pytest.mark.parametrize(
    ("tool", "package"), [("exiftool", "libimage-exiftool-perl"), ("ffprobe", "ffmpeg")]
)
def test_missing_tool_names_the_package(
    vault: Vault, dump: Path, tmp_path: Path, tool: str, package: str
) -> None:
    # A child process: the command must find its tools on the PATH it was started with.
    proc = zfjl_cli(
        "--vault", str(vault.root), "ingest", str(dump), env={"PATH": _path_without(tool, tmp_path)}
    )
    assert proc.returncode == 5
    assert tool in proc.stderr and package in proc.stderr and "Traceback" not in proc.stderr
    assert list_recordings(vault, RecordingFilter()) == []


def test_concurrent_ingests_into_one_vault(tmp_path: Path, dump: Path) -> None:
    """A station docking several cameras: parallel ingests queue, none fails, nothing lost."""
    root = tmp_path / "vault"
    Vault.create(root).close()
    cards, per_card = [], 40  # five ingests for four slots: one queues whatever the count
    for i in range(3):
        card = tmp_path / f"card{i}"
        write_random_files(card, per_card, 4096, prefix=f"CAM{i}")
        cards.append(card)
    cards.append(dump)
    cards.append(dump)  # the same card twice at once: one object, no duplicate recording
    procs = [_start_ingest(root, c) for c in cards]
    results = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in procs]
    assert all(code == 0 for code, _ in results), results
    assert not any("locked" in err for _, err in results)
    with Vault.open(root) as v:
        rows = list_recordings(v, RecordingFilter())
        names = [r["original_name"] for r in rows]
        assert len(names) == len(set(names)) == 3 * per_card + 9
        assert verify(v).ok
        adds = v.conn.execute("SELECT COUNT(*) FROM journal WHERE kind = 'object.add'").fetchone()[
            0
        ]
        assert adds == 3 * per_card + 9


def test_content_left_uncatalogued_by_a_crash_is_adopted_with_both_digests(
    vault: Vault, tmp_path: Path
) -> None:
    import hashlib

    from zfjl.vault.objects import FileIdentity

    first, second = tmp_path / "a" / "A.BIN", tmp_path / "b" / "B.BIN"
    for path in (first, second):
        path.parent.mkdir()
        path.write_bytes(os.urandom(50_000))  # same size: the hash-only path is taken for B
    ingest(vault, first.parent)
    # A crash after B's object was linked but before its catalog row was written:
    vault.objects.store_from_source(second, FileIdentity.of(second.stat()))
    report = ingest(vault, second.parent)
    assert [f.status for f in report.files] == ["new"]
    row = vault.conn.execute(
        "SELECT sha256 FROM recordings WHERE original_name = 'B.BIN'"
    ).fetchone()
    assert row[0] == hashlib.sha256(second.read_bytes()).hexdigest()
    assert verify(vault, sha256=True).ok

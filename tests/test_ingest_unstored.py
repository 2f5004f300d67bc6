"""Entries an ingest could not store (issues 23 and 27): every one is journaled
(ingest.file_failed), the ingest exits 1, and the officer is never told to unplug the camera
then, but what failed and what to do. Ctrl-C while sealing, directly or through the service,
says in one line what is kept.

Real FIFOs, sockets, device nodes and symlinks, a real folder deeper than PATH_MAX (made with
mkdir relative to a folder descriptor), real signals to a real child process.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_service import Station, _base_env, as_user, module_station
from zfjl.vault import Vault

from .conftest import write_random_files, zfjl_run
from .doors import catalog_column, catalog_rows, catalog_rows_at

UNPLUG = "可以拔下记录仪"
DEEP_NAME = "d" * 200
DEEP_LEVELS = 25  # 25 × 201 bytes: past PATH_MAX (4096)
# Users of this module's own (tests/conftest.py: OS_USER_MODULES).
SERVICE, ADMIN, CLERK, LEGAL = "zfjlunst_svc", "zfjlunst_admin", "zfjlunst_clerk", "zfjlunst_legal"


# The service's seal waits at a gate while `armed` is in it (after saying `sealing`) until the
# client has left (Ctrl-C), so the signal always lands while it seals: a real seal of a few MB
# ends in a fraction of a second, before or after the signal as the machine's load has it.
def _gated_seal(gate: Path) -> str:
    armed, sealing = str(gate / "armed"), str(gate / "sealing")
    return f"""
import os, time
import zfjl.service.remote as _remote
import zfjl.vault.seal as _seal
_real_seal, _real_left, _left = _seal._digests_or_none, _remote.client_left, []
def _client_left():
    if _real_left():
        _left.append(True)
        return True
    return False
def _gated(*args):
    if os.path.exists({armed!r}):
        open({sealing!r}, "w").close()
        deadline = time.monotonic() + 60
        while not _left and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # the command's own SIGINT (server._watch_hangup) is under way
    return _real_seal(*args)
_seal._digests_or_none, _remote.client_left = _gated, _client_left
"""


@pytest.fixture(scope="module")
def seal_gate() -> Iterator[Path]:
    gate = Path(tempfile.mkdtemp(prefix="zfjl-seal-gate-"))
    gate.chmod(0o777)  # the service account says `sealing` there
    try:
        yield gate
    finally:
        shutil.rmtree(gate, ignore_errors=True)


@pytest.fixture(scope="module")
def station(seal_gate: Path) -> Iterator[Station]:
    yield from module_station(server_hook=_gated_seal(seal_gate), service=SERVICE, admin=ADMIN,
                              clerk=CLERK, legal=LEGAL)  # fmt: skip


def _deep_file(top: Path, data: bytes) -> str:
    """A file DEEP_LEVELS folders below `top`, made relative to folder descriptors (no path
    to it fits PATH_MAX); its path relative to `top`."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(DEEP_LEVELS):
            os.mkdir(DEEP_NAME, dir_fd=fd)
            inner = os.open(DEEP_NAME, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        out = os.open("DEEP.BIN", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=fd)
        os.write(out, data)
        os.close(out)
    finally:
        os.close(fd)
    return "/".join([DEEP_NAME] * DEEP_LEVELS + ["DEEP.BIN"])


def _special_entries(card: Path) -> Iterator[socket.socket]:
    """A FIFO, a listening socket, a device node and a symlink in `card`; yields the socket
    (kept open while the ingest runs)."""
    os.mkfifo(card / "PIPE")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(card / "SOCK"))
    os.mknod(card / "NULLDEV", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    (card / "LINK.BIN").symlink_to(card / "BLOB_0000.BIN")
    try:
        yield sock
    finally:
        sock.close()


UNSTORED = {"PIPE": "special", "SOCK": "special", "NULLDEV": "special", "LINK.BIN": "symlink"}


def _failures(vault: Vault) -> dict[str, str]:
    return {r["source_path"]: r["code"] for r in catalog_rows(vault, "failures")}


@pytest.mark.skipif(os.geteuid() != 0, reason="device nodes are made as root")
def test_fifo_socket_device_and_symlink_make_ingest_exit_1_journaled_and_never_say_unplug(
    vault: Vault, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    write_random_files(card, 2, 1000)
    deep = _deep_file(card, b"deep evidence")
    for _ in _special_entries(card):
        proc = zfjl_run("--vault", str(vault.root), "ingest", str(card))
    assert proc.returncode == 1, proc.stderr
    assert UNPLUG not in proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-2]  # the seal's line follows
    assert "有 4 个条目未能入库" in last and "请先不要拔下记录仪" in last and "管理员" in last
    assert "另有 4 个条目未能入库" in proc.stderr  # the "stored" line on stderr
    assert _failures(vault) == UNSTORED  # each journaled as ingest.file_failed
    sighted = set(catalog_column(vault, "sightings", "source_path"))
    assert deep in sighted  # deeper than PATH_MAX, stored all the same


def test_a_card_mounted_past_path_max_is_ingested_by_its_relative_name(
    vault: Vault, tmp_path: Path
) -> None:
    top = tmp_path / "mnt"
    top.mkdir()
    _deep_file(top, b"x")
    folder_fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    here = os.getcwd()
    try:
        os.chdir(folder_fd)
        for _ in range(DEEP_LEVELS - 1):
            os.chdir(DEEP_NAME)  # cwd is now past PATH_MAX: the card is its subfolder
        proc = zfjl_run("--vault", str(vault.root), "ingest", DEEP_NAME, "--json")
    finally:
        os.chdir(here)
        os.close(folder_fd)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["new"] == 1


# -- through the service ---------------------------------------------------------------------
def test_through_the_service_unreadable_and_special_entries_exit_1_and_are_journaled(
    station: Station,
) -> None:
    card = station.home(CLERK) / "CARD-BAD"

    def make_card() -> int:
        card.mkdir()
        for name in ("A.MP4", "B.MP4", "C.MP4"):
            (card / name).write_bytes(os.urandom(2000))
        for name in ("A.MP4", "B.MP4"):
            os.chmod(card / name, 0)  # the clerk's own files, unreadable to the clerk
        os.mkfifo(card / "PIPE")
        _deep_file(card, b"deep, through the service")
        return 0

    assert as_user(CLERK, make_card, cwd=station.home(CLERK), env={}).code == 0
    res = station.run(CLERK, "ingest", "CARD-BAD")
    assert res.code == 1, res.err
    assert "失败 2，跳过 1" in res.out
    assert UNPLUG not in res.out + res.err
    assert "有 3 个条目未能入库" in res.out and "2 个文件未能读取或存储" in res.out
    assert "重新运行同一命令" in res.out
    failures = {r["source_path"]: r["code"]  # as root, read only
                for r in catalog_rows_at(station.layout.vault, "failures")}  # fmt: skip
    assert failures == {"A.MP4": "unreadable", "B.MP4": "unreadable", "PIPE": "special"}


# -- Ctrl-C while sealing ----------------------------------------------------------------------
SLOW_SEAL = """
import os, signal, threading
import zfjl.vault.seal as seal_module
interrupted = threading.Event()
def on_sigint(signum, frame):
    interrupted.set()
    raise KeyboardInterrupt
signal.signal(signal.SIGINT, on_sigint)
real = seal_module._digests_or_none
def slow(*args):
    os.write(2, "SEALING\\n".encode())
    interrupted.wait(30)
    return real(*args)
seal_module._digests_or_none = slow
"""


def test_ctrl_c_while_sealing_says_what_is_kept_and_exits_130(vault: Vault, tmp_path: Path) -> None:
    card = tmp_path / "card"
    write_random_files(card, 1, 5000)
    code = f"import sys\n{SLOW_SEAL}\nfrom zfjl.cli import main\nsys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, "--vault", str(vault.root), "ingest",
                             str(card)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:
        if "SEALING" in line:
            proc.send_signal(signal.SIGINT)
            break
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = [x for x in err.strip().splitlines() if x.startswith("错误：")]
    assert len(lines) == 1, err
    assert "封存摘要时被中断" in lines[0] and "已安全存储" in lines[0] and "重新运行同一命令" in lines[0]
    assert "Traceback" not in err


def test_ctrl_c_of_the_client_while_the_service_stores_says_what_is_kept(
    station: Station,
) -> None:
    card = station.home(CLERK) / "CARD-INT"

    def make_card() -> int:
        card.mkdir()
        for i in range(40):
            (card / f"F{i:03}.MP4").write_bytes(os.urandom(3000))
        return 0

    assert as_user(CLERK, make_card, cwd=station.home(CLERK), env={}).code == 0
    # The client is interrupted (Ctrl-C) when the service first asks it to open files.
    hook = ("import os, signal\nfrom zfjl.service import client\nreal = client.Handler.op_open_sources\n"
            "def once(self, args, fds):\n    os.kill(os.getpid(), signal.SIGINT)\n"
            "    return real(self, args, fds)\nclient.Handler.op_open_sources = once")  # fmt: skip
    started = time.monotonic()
    res = station.run(CLERK, "ingest", "CARD-INT", hook=hook)
    assert res.code == 130, (res.out, res.err)
    lines = [x for x in res.err.strip().splitlines() if x.startswith("错误：")]
    assert len(lines) == 1 and "中断" in lines[0] and "重新运行同一命令" in lines[0], res.err
    assert time.monotonic() - started < 60


def test_ctrl_c_of_the_client_while_the_service_seals_says_what_is_kept(
    station: Station, seal_gate: Path
) -> None:
    card = station.home(CLERK) / "CARD-SEAL"

    def make_card() -> int:
        card.mkdir()
        with open(card / "BIG.MP4", "wb") as f:  # sealing it (SM3 above all) takes a while
            for _ in range(BIG // (1 << 20)):
                f.write(os.urandom(1 << 20))
        return 0

    assert as_user(CLERK, make_card, cwd=station.home(CLERK), env={}).code == 0
    entry = pwd.getpwnam(CLERK)
    home = station.home(CLERK)
    code = "import sys\nfrom zfjl.service.client import main\nsys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "ingest", "CARD-SEAL"], cwd=home, user=entry.pw_uid,
        group=entry.pw_gid, extra_groups=[], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env={**_base_env(), "ZFJL_SOCKET": str(station.layout.socket), "HOME": str(home)},
    )  # fmt: skip
    (seal_gate / "armed").touch()
    try:
        _wait_until_sealing(seal_gate, proc)
        proc.send_signal(signal.SIGINT)  # the service seals: Ctrl-C
        out, err = proc.communicate(timeout=60)
    finally:
        (seal_gate / "armed").unlink()  # the service's seal goes on (or stops: its business)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, (out, err)
    stored, said = err.strip().splitlines()  # nothing else: no warning, no traceback
    assert "已安全存储" in stored
    assert said.startswith("错误：") and "时被中断" in said and "重新运行同一命令" in said, said
    assert "可拔下记录仪" in said  # every entry was stored: the camera may go


BIG = 32 << 20


def _wait_until_sealing(gate: Path, proc: subprocess.Popen[str]) -> None:
    """Until the service's seal is at the gate: the card is stored and described."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if (gate / "sealing").exists():
            return
        time.sleep(0.01)
    raise AssertionError(f"the service never started sealing the card (client exit {proc.poll()})")

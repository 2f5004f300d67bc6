"""The vault as a service, with real OS users created by the test (CI runs as root).

A station is set up with `setup_station` into a private prefix, `zfjl serve` runs as its
service account, and station users run the real `zfjl` entry point (`zfjl.service.client.main`)
in forked processes whose real UID is theirs — the kernel, through SO_PEERCRED, is the only
source of who they are.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import blake3
import pytest

import zfjl
from zfjl.errors import ServiceError, UsageError
from zfjl.sample import SampleFile
from zfjl.service.protocol import PROTOCOL
from zfjl.service.station import SetupReport, StationLayout, setup_station

from .conftest import traversable_by_all
from .doors import catalog_rows_at

# Names of this file's own (other test files make and delete users of theirs, maybe at once);
# the run under Debian's Python beside the main one names its own (Makefile, conftest).
USERS = os.environ.get("ZFJL_TEST_USERS", "zfjlsvc")
SERVICE, ADMIN, CLERK, LEGAL = f"{USERS}_svc", f"{USERS}_admin", f"{USERS}_clerk", f"{USERS}_legal"


def _ensure_user(name: str, *, system: bool = False) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        args = ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin"]
        subprocess.run([*args, *(["--system"] if system else []), name], check=True,
                       capture_output=True)  # fmt: skip
        return pwd.getpwnam(name)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


@dataclass
class Station:
    layout: StationLayout
    base: Path
    report: SetupReport
    server: subprocess.Popen[str]

    def home(self, user: str) -> Path:
        """The user's own folder (0700: the service account cannot look inside)."""
        home = self.base / "home" / user
        if not home.exists():
            home.mkdir(parents=True)
            entry = pwd.getpwnam(user)
            os.chown(home, entry.pw_uid, entry.pw_gid)
            os.chmod(home, 0o700)
        return home

    def run(self, user: str, *args: str, env: dict[str, str] | None = None,
            hook: str = "", cwd: Path | None = None) -> Result:
        """The real `zfjl ARGS` as `user` (a process of its own with that real UID), through
        the station's socket. `hook`: Python run in that process first (to swap a file, die)."""
        home = self.home(user)
        return stock_client(user, list(args), cwd=cwd or home, hook=hook,
                            env={"ZFJL_SOCKET": str(self.layout.socket), "ZFJL_ETC": str(self.layout.etc),
                                 "HOME": str(home),
                                 "XDG_CACHE_HOME": str(home / ".cache"), **(env or {})})  # fmt: skip

    def direct(self, *args: str) -> Result:
        """`zfjl --vault VAULT ARGS` as the service account itself (direct mode)."""
        return stock_client(self.layout.account, ["--vault", str(self.layout.vault), *args],
                            cwd=self.layout.state, env={"HOME": str(self.layout.state)})  # fmt: skip


def _base_env() -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "TZ")
    return {k: os.environ[k] for k in keep if k in os.environ}


def stock_client(user: str, args: list[str], *, cwd: Path, env: dict[str, str],
                 hook: str = "") -> Result:  # fmt: skip
    """The real client entry point (`zfjl.service.client.main`, what the `zfjl` command runs
    on a station) as `user`: a forked process with that real UID, the environment exactly
    `env` (and PATH, LANG…), `hook` (Python) run in it first. Forked from this process rather
    than a new interpreter: the same code as `python -c "…main(sys.argv[1:])"`, without an
    interpreter's start-up per command."""

    def client() -> int:
        signal.alarm(120)  # a client that hangs is killed (SIGALRM), not waited for forever
        os.environ.clear()
        os.environ.update({**_base_env(), **env})
        sys.argv = ["-c", *args]
        try:
            if hook:
                exec(compile(hook, "<hook>", "exec"), {"__name__": "__main__"})
            from zfjl.service.client import main

            return main(args)
        except SystemExit as stop:  # what `sys.exit(main(…))` would have exited with
            return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)

    return as_user(user, client, cwd=cwd, env=env)


def as_user(user: str, fn: Callable[[], int], *, cwd: Path, env: dict[str, str]) -> Result:
    """Run `fn` (plain file operations, no zfjl command) in a forked process with `user`'s
    real UID, its stdout/stderr captured."""
    entry = pwd.getpwnam(user)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            os.close(out_r)
            os.close(err_r)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.setgroups([])
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            os.chdir(cwd)
            for name in ("ZFJL_VAULT", "COLUMNS"):
                os.environ.pop(name, None)
            os.environ.update({"HOME": str(cwd), "XDG_CACHE_HOME": str(cwd / ".cache"), **env})
            if not os.environ.get("ZFJL_SOCKET"):
                os.environ.pop("ZFJL_SOCKET", None)
            sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            code = fn()
        except BaseException as exc:
            os.write(2, f"test harness: {type(exc).__name__}: {exc}".encode())
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    os.close(out_w)
    os.close(err_w)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    sel = selectors.DefaultSelector()
    for fd in chunks:
        sel.register(fd, selectors.EVENT_READ)
    while sel.get_map():
        for key, _ in sel.select():
            data = os.read(key.fd, 1 << 16)
            if data:
                chunks[key.fd].append(data)
            else:
                sel.unregister(key.fd)
                os.close(key.fd)
    _, status = os.waitpid(pid, 0)
    return Result(os.waitstatus_to_exitcode(status), b"".join(chunks[out_r]).decode(),
                  b"".join(chunks[err_r]).decode())  # fmt: skip


def _start_server(layout: StationLayout, hook: str = "") -> subprocess.Popen[str]:
    """`zfjl serve` as the service account, as the systemd unit runs it. `hook`: Python run
    first in its process (a module constant made smaller for a test module)."""
    entry = pwd.getpwnam(layout.account)
    entry_point = ["-c", f"import sys\n{hook}\nfrom zfjl.service.client import run\nrun()"] if hook \
        else ["-m", "zfjl"]  # fmt: skip
    # Its log (refusals, one line each) in a file: a pipe nobody reads would stall it when full.
    log = layout.state.parent / "serve.log"
    with open(log, "a") as err:
        proc = subprocess.Popen(
            [sys.executable, *entry_point, "--vault", str(layout.vault), "serve", "--socket",
             str(layout.socket)],
            cwd=layout.state, env={**_base_env(), "HOME": str(layout.state)}, user=entry.pw_uid,
            group=entry.pw_gid, extra_groups=[], stdout=subprocess.PIPE, stderr=err,
            stdin=subprocess.DEVNULL, text=True,
        )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "保管库服务已启动" not in line:
        raise AssertionError(f"zfjl serve did not start: {line}{log.read_text()}")
    return proc


@contextlib.contextmanager
def _reachable_install() -> Iterator[None]:
    """This checkout's Python may live under root's private folder (/root is 0700): let the
    test's users traverse (not list) the folders above it while the test runs, as a
    system-wide installation would be — `setup_station` refuses one they cannot run. Modules
    on both workers (and other runs) do this at once: conftest counts them machine-wide."""
    needed = {Path(sys.executable).resolve(), Path(__file__).resolve(), Path(zfjl.__file__).resolve()}
    with traversable_by_all(needed):
        yield


def _give_role(station: Station, user: str, role: str, admin: str = ADMIN) -> None:
    """Roles are journaled facts, given by the station's administrator through the service."""
    res = station.run(admin, "role", "add", user, role, "--approval", "人〔2026〕7号")
    assert res.code == 0, res.err


# This module's service opens a card's files OPEN_AHEAD at a time, not 16: the same round
# trips with a card of 10 files rather than 40 (each file stored costs the service ~0.1 s).
OPEN_AHEAD = 4
SERVER_HOOK = f"import zfjl.service.remote as remote\nremote.OPEN_AHEAD = {OPEN_AHEAD}"


@pytest.fixture(scope="module")
def station() -> Iterator[Station]:
    yield from module_station(server_hook=SERVER_HOOK)


def module_station(server_hook: str = "", **users: str) -> Iterator[Station]:
    """A station for one test module (skipped unless root), with `users` naming its service
    account, admin, clerk and legal users when they must differ from this module's;
    `server_hook`: Python its `zfjl serve` runs first."""
    if os.geteuid() != 0:
        pytest.skip("a station is set up as root")
    with _reachable_install():
        yield from _station(**users, server_hook=server_hook)


def _clerks_card(station: Station, name: str, files: dict[str, int], clerk: str = CLERK) -> Path:
    """A card in the clerk's home, written by the clerk: random bytes of the given sizes."""
    card = station.home(clerk) / name

    def make_card() -> int:
        card.mkdir()
        for file, size in files.items():
            (card / file).write_bytes(os.urandom(size))
        return 0

    as_user(clerk, make_card, cwd=station.home(clerk), env={})
    return card


def _station(service: str = SERVICE, admin: str = ADMIN, clerk: str = CLERK,
             legal: str = LEGAL, server_hook: str = "") -> Iterator[Station]:  # fmt: skip
    for name in (admin, clerk, legal):
        _ensure_user(name)
    base = Path(tempfile.mkdtemp(prefix=f"zfjl-station-{service}-"))
    os.chmod(base, 0o755)
    layout = StationLayout(account=service, state=base / "var" / "zfjl", etc=base / "etc",
                           run=base / "run", units=base / "units", bin=base / "bin")  # fmt: skip
    report = setup_station(layout, bureau="测试市城市管理综合执法局", admins=[admin],
                           approval_no="站设〔2026〕1号", check_install=False, start=False)  # fmt: skip
    server = _start_server(layout, server_hook)
    st = Station(layout, base, report, server)
    _give_role(st, clerk, "clerk", admin)
    _give_role(st, legal, "legal", admin)
    try:
        yield st
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)
        for name in (admin, clerk, legal, service):
            subprocess.run(["userdel", name], capture_output=True)
        subprocess.run(["groupdel", service], capture_output=True)


@pytest.fixture(scope="module")
def ingested(station: Station, sample_template: tuple[Path, list[SampleFile]]) -> list[str]:
    """The clerk docks a camera: a card in the clerk's own 0700 folder, ingested through the
    service (which could not open it with its own rights). The card: a copy of the run's
    sample camera dump (made once with ffmpeg, mtimes kept)."""
    card = station.home(CLERK) / "DSJ01"
    shutil.copytree(sample_template[0], card)
    entry = pwd.getpwnam(CLERK)
    for folder, _, names in os.walk(card):
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        os.chmod(folder, 0o700)
        for n in names:
            os.chown(os.path.join(folder, n), entry.pw_uid, entry.pw_gid)
            os.chmod(os.path.join(folder, n), 0o600)
    done = station.run(CLERK, "ingest", "DSJ01", "--json")
    assert done.code == 0, done.err
    report = done.json()
    assert isinstance(report, dict)
    return [f["id"] for f in report["files"] if f.get("id") and f["status"] == "new"]


# -- set-up ----------------------------------------------------------------------------------
@pytest.mark.debian
def test_setup_made_the_station_and_is_idempotent(station: Station) -> None:
    layout = station.layout
    svc = pwd.getpwnam(SERVICE)
    assert any(SERVICE in d for d in station.report.done + station.report.present)
    assert any(str(layout.vault) in d for d in station.report.done)
    for path, mode in ((layout.state, 0o700), (layout.run, 0o755)):
        st = path.stat()
        assert (st.st_uid, st.st_mode & 0o777) == (svc.pw_uid, mode)
    assert (layout.vault / "vault.json").stat().st_uid == svc.pw_uid
    assert (layout.vault.stat().st_mode & 0o777) == 0o700
    unit = (layout.units / "zfjl.service").read_text()
    assert f"User={SERVICE}" in unit and f"serve --socket {layout.socket}" in unit
    assert (layout.etc / "zfjl.env").read_text().startswith(f"ZFJL_VAULT={layout.vault}\n")
    owner = layout.etc / "service.owner"  # whom every client checks the service against
    assert owner.read_text() == f"uid={svc.pw_uid}\nsocket={layout.socket}\n"
    assert owner.stat().st_uid == 0 and owner.stat().st_mode & 0o777 == 0o644
    again = setup_station(layout, bureau="测试市城市管理综合执法局", admins=[ADMIN],
                          approval_no="站设〔2026〕1号", check_install=False, start=False)  # fmt: skip
    assert again.done == [] and len(again.present) >= 6


@pytest.mark.debian
def test_setup_refuses_an_installation_the_account_cannot_run(station: Station) -> None:
    import sys

    probe = as_user(SERVICE, lambda: 0 if os.access(sys.executable, os.X_OK) else 1,
                    cwd=station.layout.state, env={})  # fmt: skip
    if probe.code == 0:  # installed system-wide (as a station would be): the check passes
        setup_station(station.layout, bureau="测试市城市管理综合执法局", admins=[], start=False)
    else:  # under root's private folder, as in this checkout: refused with what to do
        with pytest.raises(UsageError, match="系统级安装"):
            setup_station(station.layout, bureau="测试市城市管理综合执法局", admins=[], start=False)


def test_setup_needs_root_and_a_bureau(station: Station) -> None:
    with pytest.raises(UsageError, match="--bureau"):
        setup_station(station.layout, bureau=" ", admins=[], check_install=False, start=False)
    with pytest.raises(UsageError, match="没有用户"):
        setup_station(station.layout, bureau="局", admins=["zfjl_no_such_user"],
                      check_install=False, start=False)  # fmt: skip


# -- no file permission, no way around -------------------------------------------------------
@pytest.mark.debian
def test_a_clerk_cannot_reach_objects_catalog_or_key(station: Station, ingested: list[str]) -> None:
    vault = station.layout.vault
    obj = next(p for p in (vault / "objects").rglob("*") if p.is_file())
    targets = [obj, vault / "catalog.db", vault / "vault.json", *(vault / "keys").iterdir()]

    def try_all() -> int:
        reached = 0
        for path in targets:
            try:
                with open(path, "rb") as f:
                    f.read(1)
                reached += 1
            except PermissionError:
                pass
        try:
            os.listdir(vault)
            reached += 1
        except PermissionError:
            pass
        return reached

    assert as_user(CLERK, try_all, cwd=station.home(CLERK), env={}).code == 0


def test_a_clerk_opening_the_vault_directly_is_refused(station: Station) -> None:
    res = station.run(CLERK, "--vault", str(station.layout.vault), "ls")
    assert res.code == 8 and "zfjl serve" in res.err


def test_the_service_refuses_a_vault_named_by_the_client(station: Station) -> None:
    from zfjl.service.server import _checked

    fds = [os.open(os.devnull, os.O_RDWR) for _ in range(3)]
    with pytest.raises(ServiceError, match="--vault"):
        _checked({"v": PROTOCOL, "argv": ["--vault=/tmp/x", "ls"]}, fds)
    with pytest.raises(OSError):
        os.fstat(fds[0])  # a refused request's descriptors are closed


# -- the same command, the same answer ------------------------------------------------------
def test_ls_through_the_service_equals_direct_mode(station: Station, ingested: list[str]) -> None:
    served = station.run(CLERK, "ls", "--json")
    direct = station.direct("ls", "--json")
    assert served.code == direct.code == 0
    assert served.out == direct.out
    assert {r["id"] for r in json.loads(served.out)} >= set(ingested)
    usage = station.run(CLERK, "lss")
    assert usage.code == 2 and usage.err.startswith("错误：用法错误")
    human = station.run(CLERK, "ls", env={"COLUMNS": "120"})
    assert human.code == 0 and "共 " in human.out


@pytest.mark.debian
def test_the_actor_is_the_peer_not_the_environment(station: Station, ingested: list[str]) -> None:
    spoof = {"LOGNAME": LEGAL, "USER": LEGAL, "USERNAME": LEGAL}
    refused = station.run(CLERK, "grant", "add", CLERK, "--recording", ingested[0], "--scope",
                          "copy", "--approved-by", "局长", "--approval-no", "批-1", "--until", "2099-12-31",
                          env=spoof)  # fmt: skip
    assert refused.code != 0 and CLERK in refused.err
    log = json.loads(station.direct("log", ingested[0], "--json").out)
    actors = {e["actor"] for e in log["entries"]}
    assert CLERK in actors and LEGAL not in actors and SERVICE not in actors


def test_ingested_objects_belong_to_the_service(station: Station, ingested: list[str]) -> None:
    svc = pwd.getpwnam(SERVICE)
    for oid in ingested:
        path = station.layout.vault / "objects" / oid[:2] / oid[2:]
        st = path.stat()
        assert st.st_uid == svc.pw_uid and st.st_mode & 0o777 == 0o444
    assert (station.home(CLERK) / "DSJ01").exists()  # never changed without --clear-source


def test_a_symlink_swapped_in_after_discovery_is_not_followed(station: Station) -> None:
    card = _clerks_card(station, "SWAP", {"A.MP4": 4096, "B.MP4": 4096})

    # In the client, right after it listed the card: B.MP4 becomes a symlink to the key.
    swap = f"""
from pathlib import Path
from zfjl.service import client
listed = client.Handler.op_discover
def swapped(self, args, fds):
    listing = listed(self, args, fds)
    card = Path({str(card)!r})
    (card / "B.MP4").unlink()
    (card / "B.MP4").symlink_to({str(station.layout.vault / "keys")!r})
    return listing
client.Handler.op_discover = swapped
"""
    res = station.run(CLERK, "ingest", "SWAP", "--json", hook=swap)
    files = {f["path"]: f for f in json.loads(res.out)["files"]}
    assert files["A.MP4"]["status"] == "new"
    assert files["B.MP4"]["status"] == "skipped" and "符号链接" in files["B.MP4"]["reason"]


@pytest.mark.debian
def test_a_card_is_opened_many_files_a_round_trip_and_a_file_written_after_is_caught(
    station: Station,
) -> None:
    """The service asks the client to open OPEN_AHEAD files at a time; one written to after
    it was opened ahead (a camera still recording) is caught by the size check after its
    copy, opened again and stored as it is then. (OPEN_AHEAD: this module's station's.)"""
    count = 2 * OPEN_AHEAD + 2  # two full round trips and a part one
    sizes = {f"F{n:02d}.JPG": 4096 + n for n in range(count)}
    card = _clerks_card(station, "AHEAD", sizes)
    log = station.home(CLERK) / "ahead.log"
    hook = f"""
from zfjl.service import client
opened = client.Handler.op_open_sources
def counted(self, args, fds):
    answer = opened(self, args, fds)
    with open({str(log)!r}, "a") as f:
        f.write(f"{{len(args['indexes'])}}\\n")
    if len(args["indexes"]) > 1 and not hasattr(client, "grown"):
        client.grown = True  # the second file of the first batch grows after its open
        with open({str(card / "F01.JPG")!r}, "ab") as f:
            f.write(b"later")
    return answer
client.Handler.op_open_sources = counted
"""
    res = station.run(CLERK, "ingest", "AHEAD", "--json", hook=hook)
    assert res.code == 0, res.err
    files = {f["path"]: f for f in json.loads(res.out)["files"]}
    assert all(f["status"] == "new" for f in files.values()) and len(files) == count
    grown = blake3.blake3((card / "F01.JPG").read_bytes()).hexdigest()
    assert files["F01.JPG"]["id"] == grown and (card / "F01.JPG").stat().st_size == 4097 + 5
    batches = [int(n) for n in log.read_text().split()]
    assert max(batches) == OPEN_AHEAD
    assert len(batches) <= -(-count // OPEN_AHEAD) + 1  # the retry of F01 is one more at most


def test_a_reply_that_does_not_fit_stops_the_ingest_with_a_protocol_error(
    station: Station,
) -> None:
    """A client answering the opens with what the service cannot read: one clear line, no
    worker left waiting on descriptors that never come, nothing half-stored."""
    _clerks_card(station, "BADREPLY", {f"V{n}.MP4": (2 << 20) + n for n in range(6)})
    hook = """
from zfjl.service import client
opened = client.Handler.op_open_sources
def garbled(self, args, fds):
    answers, fds = opened(self, args, fds)
    return [{"identity": {**a["identity"], "extra": 1}} if "identity" in a else a
            for a in answers], fds
client.Handler.op_open_sources = garbled
"""
    started = time.monotonic()
    res = station.run(CLERK, "ingest", "BADREPLY", "--json", hook=hook)
    assert time.monotonic() - started < 60
    assert res.code != 0 and "协议错误" in res.err and "Traceback" not in res.err
    assert not list((station.layout.vault / "tmp").glob("*.tmp"))


def test_an_empty_source_is_a_usage_error(station: Station) -> None:
    res = station.run(CLERK, "ingest", "")
    assert res.code == 2 and "参数为空" in res.err


def test_clear_source_deletes_with_the_users_rights(station: Station) -> None:
    card = _clerks_card(station, "CLEAR", {"C.MP4": 8192})
    res = station.run(CLERK, "ingest", "CLEAR", "--clear-source", "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["summary"]["cleared"] == 1
    assert not (card / "C.MP4").exists()


def test_cameras_docked_at_once_each_store_their_own_files(station: Station) -> None:
    """A station's cameras share one connection: each is read from its own listing (one
    listing for all made every camera store the last one's files and report them stored)."""
    names = ("RECORD/A.MP4", "RECORD/B.MP4", "DCIM/C.JPG")  # the same layout on every card
    cards = [_clerks_card(station, f"MANY{k}", {}) for k in range(3)]

    def fill() -> int:
        for k, card in enumerate(cards):
            for n, name in enumerate(names):
                (card / name).parent.mkdir(exist_ok=True)
                (card / name).write_bytes(os.urandom((2 << 20) + 4096 * k if n < 2 else 8192))
        return 0

    as_user(CLERK, fill, cwd=station.home(CLERK), env={})
    wanted = {card.name: {name: blake3.blake3((card / name).read_bytes()).hexdigest()
                          for name in names} for card in cards}  # fmt: skip
    res = station.run(CLERK, "ingest", *(c.name for c in cards), "--clear-source", "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    got = {Path(s["source"]).name: {f["path"]: f["id"] for f in s["files"]}
           for s in report["sources"]}  # fmt: skip
    assert got == wanted
    assert all(s["summary"]["new"] == 3 and s["summary"]["cleared"] == 3
               for s in report["sources"])  # fmt: skip
    assert not any(p.is_file() for card in cards for p in card.rglob("*"))


def test_the_service_seals_in_the_background_what_was_stored_unsealed(station: Station) -> None:
    """`ingest --no-seal` returns once stored; the service seals right after the request."""
    _clerks_card(station, "NOSEAL", {"N.MP4": 8192})
    res = station.run(CLERK, "ingest", "NOSEAL", "--no-seal", "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    (oid,) = [f["id"] for f in report["files"] if f["status"] == "new"]
    assert report["seal"] is None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        (obj,) = catalog_rows_at(station.layout.vault, "objects", id=oid)
        digests = catalog_rows_at(station.layout.vault, "object_digests", id=oid)
        row = (obj["sealed_at"], obj["sha256"], *((digests[0]["sha512"], digests[0]["sm3"])
                                                   if digests else (None, None)))  # fmt: skip
        if row[0]:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the service did not seal the object")
    assert all(row[1:])  # SHA-256, SHA-512, SM3


# -- views and exports -----------------------------------------------------------------------
def _grant_copy(station: Station, user: str, oid: str) -> None:
    res = station.run(LEGAL, "grant", "add", user, "--recording", oid, "--scope", "copy",
                      "--approved-by", "局长", "--approval-no", "审批-2024-1", "--until", "2099-12-31")  # fmt: skip
    assert res.code == 0, res.err


@pytest.mark.debian
def test_export_is_written_by_the_user_and_journaled(station: Station, ingested: list[str]) -> None:
    oid = ingested[0]
    denied = station.run(CLERK, "export", oid[:12], "-o", "out-denied")
    assert denied.code == 8 and not (station.home(CLERK) / "out-denied").exists()
    _grant_copy(station, CLERK, oid)
    res = station.run(CLERK, "export", oid[:12], "-o", "out", "--json")
    assert res.code == 0, res.err
    report = res.json()
    assert isinstance(report, dict)
    copy = station.home(CLERK) / "out" / Path(report["files"][0]["path"]).name
    st = copy.stat()
    assert st.st_uid == pwd.getpwnam(CLERK).pw_uid and st.st_mode & 0o777 == 0o444
    stored = station.layout.vault / "objects" / oid[:2] / oid[2:]
    assert copy.read_bytes() == stored.read_bytes()
    assert (station.home(CLERK) / "out" / "SHA256SUMS").read_text().startswith(
        report["files"][0]["sha256"]
    )
    log = json.loads(station.direct("log", oid, "--json").out)
    whats = [(e["actor"], e["kind"]) for e in log["entries"]]
    assert (CLERK, "access.denied") in whats and (CLERK, "access.export") in whats


def test_an_export_is_journaled_although_the_client_dies_mid_transfer(
    station: Station, ingested: list[str]
) -> None:
    oid = ingested[1]
    _grant_copy(station, LEGAL, oid)

    # The client is killed (SIGKILL) the moment the service hands it the object.
    die = """
import os, signal
from zfjl.service import client
client.Handler.op_copy_out = lambda self, args, fds: os.kill(os.getpid(), signal.SIGKILL)
"""
    res = station.run(LEGAL, "export", oid[:12], "-o", "gone", hook=die)
    assert res.code == -signal.SIGKILL
    log = json.loads(station.direct("log", oid, "--json").out)
    assert (LEGAL, "access.export") in [(e["actor"], e["kind"]) for e in log["entries"]]
    assert not list((station.home(LEGAL) / "gone").glob("*.*"))  # no copy was made
    assert station.run(LEGAL, "ls", "--json").code == 0  # the service is still there


def test_view_lands_in_the_users_own_cache(station: Station, ingested: list[str]) -> None:
    oid = ingested[0]  # the clerk holds a copy grant on it (above), which covers viewing
    _grant_copy(station, CLERK, oid)
    res = station.run(CLERK, "view", oid[:12], "--json")
    assert res.code == 0, res.err
    path = Path(json.loads(res.out)["path"])
    assert path.is_relative_to(station.home(CLERK) / ".cache")
    assert path.stat().st_uid == pwd.getpwnam(CLERK).pw_uid


# -- documents out, files in -----------------------------------------------------------------
CASE_FILE = """\
case: CASE-2026-001
kind: 处罚
procedure: 一般
cause: 占道经营
party: {type: 个人, name: 张三}
origin: 依职权
opened_at: 2026-11-30T09:00
documents: []
media: []
"""


def test_case_files_in_and_bundles_out_through_the_client(
    station: Station, ingested: list[str]
) -> None:
    home = station.home(LEGAL)

    def write_case() -> int:
        (home / "case.yaml").write_text(CASE_FILE, encoding="utf-8")
        return 0

    as_user(LEGAL, write_case, cwd=home, env={})
    imported = station.run(LEGAL, "case", "import", "case.yaml")
    assert imported.code == 0, imported.err
    missing = station.run(LEGAL, "case", "import", "nope.yaml")
    assert missing.code == 4 and "nope.yaml" in missing.err
    exported = station.run(LEGAL, "case", "export", "CASE-2026-001", "-o", "again.yaml")
    assert exported.code == 0 and "占道经营" in (home / "again.yaml").read_text()
    made = station.run(LEGAL, "bundle", "make", "CASE-2026-001", "--purpose", "review", "-o",
                       "bag", "--json")  # fmt: skip
    assert made.code == 0, made.err
    bag = home / "bag"
    assert (bag / "bagit.txt").is_file() and bag.stat().st_uid == pwd.getpwnam(LEGAL).pw_uid
    assert not [p for p in home.iterdir() if p.name.startswith(".bag.")]  # nothing left behind
    checked = station.run(LEGAL, "bundle", "verify", "bag", "--json")
    assert checked.code == 0, checked.out + checked.err
    taken = station.run(LEGAL, "bundle", "make", "CASE-2026-001", "--purpose", "review", "-o",
                        "bag")  # fmt: skip
    assert taken.code == 6 and "输出已存在" in taken.err


def test_a_clerk_cannot_give_themself_a_role(station: Station) -> None:
    spoof = {"LOGNAME": ADMIN, "USER": ADMIN}
    res = station.run(CLERK, "role", "add", CLERK, "director", "--approval", "假〔2026〕1号",
                      env=spoof)  # fmt: skip
    assert res.code == 8 and CLERK in res.err
    roles = json.loads(station.run(CLERK, "role", "ls", "--json").out)
    assert {(r["user"], r["role"]) for r in roles} >= {(ADMIN, "admin"), (CLERK, "clerk")}
    assert (CLERK, "director") not in {(r["user"], r["role"]) for r in roles}


def test_only_an_administrator_installs_a_rule_pack_through_the_service(station: Station) -> None:
    """Issue 23: the acting user is the kernel's answer; the file is read with the caller's own
    rights (from a 0700 home) and written into the vault by the service."""
    text = "pack: 本局\nrules: []\n"
    paths = {}
    for user in (CLERK, ADMIN):
        paths[user] = station.home(user) / "本局.yaml"

        def write(path: Path = paths[user]) -> int:
            path.write_text(text, encoding="utf-8")
            return 0

        as_user(user, write, cwd=station.home(user), env={})
    refused = station.run(CLERK, "custom", "add", "rules", str(paths[CLERK]), "--approval",
                          "假〔2026〕1号", env={"LOGNAME": ADMIN, "USER": ADMIN})  # fmt: skip
    assert refused.code == 8 and "无权安装检查规则包" in refused.err
    assert not (station.layout.vault / "rules" / "本局.yaml").exists()
    added = station.run(ADMIN, "custom", "add", "rules", str(paths[ADMIN]), "--approval",
                        "局批〔2026〕9号", "--json")  # fmt: skip
    assert added.code == 0, added.err
    assert (station.layout.vault / "rules" / "本局.yaml").read_text("utf-8") == text
    rows = json.loads(station.run(CLERK, "custom", "ls", "--json").out)
    assert [(r["name"], r["state"], r["installed_by"]) for r in rows] == [
        ("本局.yaml", "installed", ADMIN)]  # fmt: skip
    gone = station.run(ADMIN, "custom", "rm", "rules", "本局.yaml", "--approval", "局批〔2026〕10号")
    assert gone.code == 0, gone.err


@pytest.mark.debian
def test_every_command_that_touches_the_users_files_still_works_through_the_service(
    station: Station, ingested: list[str]
) -> None:
    """The client does only what its command line names (docs/service.md): each command that
    reads or writes a file of the user's, given the place on its command line (or `render`
    with none: the current folder), still works."""
    home = station.home(LEGAL)

    def write_case() -> int:  # its own copy: tests may run in any order
        (home / "case.yaml").write_text(CASE_FILE, encoding="utf-8")
        return 0

    as_user(LEGAL, write_case, cwd=home, env={})
    imported = station.run(LEGAL, "case", "import", "case.yaml")
    assert imported.code == 0 or "已存在" in imported.err, imported.err

    def write_inputs() -> int:
        (home / "notice.yaml").write_text(
            "year: 2031\nnotice: 测试\nholidays:\n  - {name: 元旦, from: 2031-01-01}\n", encoding="utf-8")
        return 0

    as_user(LEGAL, write_inputs, cwd=home, env={})
    uid = pwd.getpwnam(LEGAL).pw_uid
    runs = {
        "docs/": ("render", "CASE-2026-001", "-o", "docs"),
        "log.pdf": ("log", ingested[0], "--pdf", "log.pdf"),
        "sweep.pdf": ("sweep", "--as-of", "2099-01-01", "--pdf", "sweep.pdf"),
        "ledger.pdf": ("spotcheck", "ledger", "--period", "2026-11", "--pdf", "ledger.pdf"),
        "case.json": ("case", "export", "CASE-2026-001", "-o", "case.json"),
    }
    for made, args in runs.items():
        res = station.run(LEGAL, *args)
        assert res.code in (0, 10, 11), f"{args}: {res.err}"
        path = home / made.rstrip("/")
        assert path.exists() and path.stat().st_uid == uid, args
    def make_here() -> int:
        (home / "here").mkdir()
        return 0

    as_user(LEGAL, make_here, cwd=home, env={})
    here = station.run(LEGAL, "render", "CASE-2026-001", cwd=home / "here")
    assert here.code == 0, here.err
    assert sorted(p.name for p in (home / "here").iterdir()) == sorted(
        p.name for p in (home / "docs").iterdir())  # fmt: skip
    added = station.run(LEGAL, "calendar", "add", "notice.yaml")
    assert added.code in (0, 8), added.err  # a role may be needed: the read itself went through
    assert "命令行未指定" not in added.err

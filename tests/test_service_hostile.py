"""Issue 23: the service and the client against each other's hostile hands, with real OS users.

Each attack of the red team is replayed here: a hand-written client (a socket and JSON lines,
run as a station user) against the running `zfjl serve`, and a fake service (a socket server
run as another user, and as the service account) against the stock `zfjl` client.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import typer

from tests.test_service import (
    Result,
    Station,
    _clerks_card,
    as_user,
    module_station,
    stock_client,
)
from zfjl.errors import ServiceError
from zfjl.service.client import FILE_ARGS, READ, SOURCE, TREE, WRITE, named_files
from zfjl.service.protocol import PROTOCOL, Channel, Hangup, safe_name, safe_relative
from zfjl.service.server import (
    LOCAL_COMMANDS,
    MAX_PER_USER,
    SERVED_COMMANDS,
)

# Users of this module's own (tests/conftest.py: OS_USER_MODULES).
SERVICE, ADMIN, CLERK, LEGAL = "zfjlhst_svc", "zfjlhst_admin", "zfjlhst_clerk", "zfjlhst_legal"
# This module's service gives a new connection this long (not 5 s) to send its request: the
# test of idle connections waits for that deadline.
FIRST_MESSAGE_TIMEOUT = 3.0


@pytest.fixture(scope="module", name="station")
def station_here() -> Iterator[Station]:
    """A station of this module's (as tests/test_service.py makes one)."""
    hook = f"import zfjl.service.server as server\nserver.FIRST_MESSAGE_TIMEOUT = {FIRST_MESSAGE_TIMEOUT}"
    yield from module_station(hook, service=SERVICE, admin=ADMIN, clerk=CLERK, legal=LEGAL)


Responder = Callable[[dict[str, Any], list[int]], tuple[dict[str, Any], list[int]] | None]


# -- a hand-written client -------------------------------------------------------------------
def raw_request(sock_path: Path, argv: list[str], respond: Responder | None = None,
                *, raw: bytes | None = None, fds: int = 3) -> dict[str, Any]:  # fmt: skip
    """Send `argv` (or the bytes `raw`) as a client would, answer every call with `respond`
    (None from it: hang up), and return the service's last message ({"exit": …} or
    {"hangup": True})."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(sock_path))
    channel = Channel(sock)
    std = [os.open(os.devnull, os.O_RDWR) for _ in range(fds)]
    try:
        try:  # refused at accept (busy): the answer is there although the send fails
            if raw is not None:
                socket.send_fds(sock, [raw], std) if std else sock.sendall(raw)
            else:
                channel.send({"v": PROTOCOL, "argv": argv, "env": {}, "cwd": "/"}, std)
        except (OSError, Hangup):
            pass
        while True:
            try:
                message, got = channel.recv(timeout=30)
            except Exception as exc:
                return {"hangup": True, "why": repr(exc)}
            if "exit" in message:
                return message
            answer = respond(message, got) if respond else None
            for fd in got:
                os.close(fd)
            if answer is None:
                return {"hangup": True, "asked": message}
            reply, reply_fds = answer
            channel.send(reply, reply_fds)
    finally:
        for fd in std:
            os.close(fd)
        sock.close()


def as_client(station: Station, user: str, argv: list[str], respond: Responder | None = None,
              **kw: Any) -> dict[str, Any]:  # fmt: skip
    """`raw_request` in a process of `user`'s (real UID); its last message."""

    def talk() -> int:
        print(json.dumps(raw_request(station.layout.socket, argv, respond, **kw)))
        return 0

    res = as_user(user, talk, cwd=station.home(user), env={})
    assert res.code == 0, res.err
    answer: dict[str, Any] = json.loads(res.out.strip().splitlines()[-1])
    return answer


def vault_files(station: Station) -> set[str]:
    """Every path in the vault, but what a request leaves that is not the vault's content
    (its own scratch folder while it ends, the catalog's WAL, ingest slot locks)."""
    root = station.layout.vault
    found = set()
    for folder, dirs, files in os.walk(root):
        rel = os.path.relpath(folder, root)
        dirs[:] = [d for d in dirs if not (rel == "tmp" and d.startswith("serve-"))]
        for name in [*dirs, *files]:
            if name.startswith("catalog.db-") or (rel == "locks" and name.startswith("ingest-slot-")):
                continue  # the catalog's WAL; an ingest's slot lock (made once, kept)
            found.add(os.path.normpath(os.path.join(rel, name)))
    return found


def settle(station: Station) -> None:
    """Wait until no living request child of the service has its scratch folder any more
    (serve-PID-…; a child killed mid-way leaves its own, removed at the next start: waiting
    for it cost 20 s per fuzz example)."""
    deadline = time.monotonic() + 20
    while _live_scratches(station) and time.monotonic() < deadline:
        time.sleep(0.05)


def _live_scratches(station: Station) -> list[Path]:
    live = []
    for folder in (station.layout.vault / "tmp").glob("serve-*"):
        pid = folder.name.split("-")[1]
        if pid.isdigit() and Path(f"/proc/{pid}").exists():
            live.append(folder)
    return live


def listing_of(dirs: list[str], files: list[str]) -> Responder:
    """Answer a `bundle verify` with a listing of these names, and every open with /etc/hosts."""

    def respond(message: dict[str, Any], fds: list[int]) -> tuple[dict[str, Any], list[int]] | None:
        if message["call"] == "tree_list":
            return {"ok": {"kind": "dir", "dirs": dirs, "files": files}}, []
        if message["call"] == "tree_open":
            return {"ok": None}, [os.open("/etc/hosts", os.O_RDONLY) for _ in message["args"]["files"]]
        return None

    return respond


# -- attack 1a: names from the client planted files with the service's rights ------------------
ESCAPES = [
    "{vault}/templates/evil.html",  # absolute: Path joins it as is
    "../../../templates/evil.html",
    "ok/../../../../rules/evil.yaml",
    "./evil",
    "a//evil",
    "",
    "evil\x00.txt",
    "x" * 300,
]


@pytest.mark.parametrize("escape", ESCAPES)
def test_a_listing_naming_a_place_outside_the_scratch_refuses_the_request(
    station: Station, escape: str
) -> None:
    name = escape.format(vault=station.layout.vault)
    before = vault_files(station)
    for dirs, files in (([name], ["ok.txt"]), ([], [name])):
        answer = as_client(station, CLERK, ["bundle", "verify", "bag"], listing_of(dirs, files))
        assert answer.get("exit") == 3, answer
    settle(station)
    assert vault_files(station) == before
    assert not (station.layout.vault / "templates" / "evil.html").exists()


def test_a_listing_answered_with_a_folder_or_a_fifo_descriptor_is_refused(station: Station) -> None:
    fifo = Path(tempfile.mkdtemp()) / "fifo"
    os.chmod(fifo.parent, 0o755)
    os.mkfifo(fifo, 0o666)

    def respond(message: dict[str, Any], fds: list[int]) -> tuple[dict[str, Any], list[int]] | None:
        if message["call"] == "tree_list":
            return {"ok": {"kind": "dir", "dirs": [], "files": ["a", "b"]}}, []
        return {"ok": None}, [os.open("/", os.O_RDONLY), os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)]

    started = time.monotonic()
    answer = as_client(station, CLERK, ["bundle", "verify", "bag"], respond)
    assert answer.get("exit") == 3 and time.monotonic() - started < 10


# -- attack 1b: the stock client did whatever a (fake) service asked -------------------------
class FakeService:
    """A socket server, run in a process of `user`'s, that answers a client's request with
    `calls` (one after the other) and records what came back (replies and descriptors)."""

    def __init__(self, base: Path, user: str, calls: list[dict[str, Any]]) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix=f"fake-{user}-", dir=base))
        os.chmod(self.folder, 0o755)
        entry = pwd.getpwnam(user)
        os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self.path = self.folder / "zfjl.sock"
        self.log = self.folder / "log.jsonl"
        self.ready_r, ready_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the fake service
            code = 1
            try:
                os.close(self.ready_r)
                os.setgroups([])
                os.setgid(entry.pw_gid)
                os.setuid(entry.pw_uid)
                code = self._serve(calls, ready_w)
            finally:
                os._exit(code)
        os.close(ready_w)
        os.read(self.ready_r, 1)

    def _serve(self, calls: list[dict[str, Any]], ready: int) -> int:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(self.path))
        os.chmod(self.path, 0o666)
        server.listen(4)
        os.write(ready, b"1")
        server.settimeout(30)
        conn, _ = server.accept()
        channel = Channel(conn)
        with open(self.log, "w") as log:
            try:
                conn.settimeout(5)
                request, fds = channel.recv()
                log.write(json.dumps({"request": request["argv"], "fds": len(fds)}) + "\n")
                for call in calls:
                    channel.send(call)
                    reply, got = channel.recv()
                    data = [os.pread(fd, 200, 0).decode(errors="replace") for fd in got]
                    log.write(json.dumps({"reply": reply, "data": data}) + "\n")
                channel.send({"exit": 0})
            except Exception as exc:
                log.write(json.dumps({"ended": type(exc).__name__}) + "\n")
        return 0

    def record(self) -> list[dict[str, Any]]:
        os.waitpid(self.pid, 0)
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def record_for(station: Station) -> Iterator[Callable[[str, Path], Path]]:
    """A station record (root's, 0644) naming `uid` of `user` on `sock`: the client believes
    it (as it would believe /etc/zfjl/service.owner)."""
    made: list[Path] = []

    def make(user: str, sock: Path) -> Path:
        etc = Path(tempfile.mkdtemp(prefix="zfjl-etc-"))
        os.chmod(etc, 0o755)
        (etc / "service.owner").write_text(f"uid={pwd.getpwnam(user).pw_uid}\nsocket={sock}\n")
        os.chmod(etc / "service.owner", 0o644)
        made.append(etc)
        return etc

    yield make
    for etc in made:  # not left behind in /tmp: a run made some 60 of them
        shutil.rmtree(etc, ignore_errors=True)


def client_of(station: Station, user: str, fake: FakeService, etc: Path | None, *args: str,
              ) -> Result:  # fmt: skip
    """The stock `zfjl ARGS` as `user` (root included), talking to `fake`."""
    home = station.home(user) if user != "root" else Path("/root")
    env = {"ZFJL_SOCKET": str(fake.path), "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    if etc is not None:
        env["ZFJL_ETC"] = str(etc)
    return stock_client(user, list(args), cwd=home, env=env)


def test_the_client_talks_only_to_the_recorded_service_account(
    station: Station, record_for: Callable[[str, Path], Path]
) -> None:
    """A socket served by another user (here: the legal section's) where the client looks:
    refused before the command line leaves the client; the fake got nothing."""
    fake = FakeService(station.base, LEGAL, [{"call": "read", "args": {"path": "/etc/shadow"}}])
    etc = record_for(SERVICE, fake.path)
    res = client_of(station, CLERK, fake, etc, "ls")
    assert res.code == 3 and "不是本站登记的保管库服务账户" in res.err
    assert [r for r in fake.record() if "request" in r] == []


def test_an_unrecorded_socket_counts_only_in_a_folder_of_its_owner(station: Station) -> None:
    """No record names the socket: its folder must be its server's alone. A socket the
    legal section put in a world-writable folder is refused."""
    fake = FakeService(station.base, LEGAL, [])
    os.chown(fake.folder, 0, 0)
    os.chmod(fake.folder, 0o1777)  # a /tmp-like folder: anyone could have put the socket there
    res = client_of(station, CLERK, fake, None, "ls")
    assert res.code == 3 and "不归应答方" in res.err
    assert [r for r in fake.record() if "request" in r] == []


# What a fake service asked the stock client to do for `zfjl verify` (red team, issue 23).
FOREIGN_CALLS = [
    {"call": "read", "args": {"path": "{secret}", "what": "x"}},
    {"call": "tree_list", "args": {"path": "{home}", "what": "x"}},
    {"call": "tree_open", "args": {"path": "{home}", "files": ["secret"]}},
    {"call": "discover", "args": {"source": "{home}"}},
    {"call": "write", "args": {"path": "{home}/planted"}},
    {"call": "make_dirs", "args": {"path": "{home}/planted"}},
    {"call": "tree_begin", "args": {"dest": "{home}/planted"}},
    {"call": "append", "args": {"path": "{home}/.bashrc"}},
    {"call": "view_dir", "args": {}},
    {"call": "exists", "args": {"path": "{secret}"}},
]


@pytest.mark.parametrize("user", [CLERK, "root"])
@pytest.mark.parametrize("call", FOREIGN_CALLS, ids=lambda c: c["call"])
def test_a_service_asking_for_files_the_command_line_did_not_name_is_refused(
    station: Station, record_for: Callable[[str, Path], Path], user: str, call: dict[str, Any],
    tmp_path: Path,
) -> None:
    """The fake runs as the service account itself (SO_PEERCRED passes): the stock client
    still does nothing its own command line did not name, says so and exits 3."""
    home = station.home(user) if user != "root" else tmp_path / "root-home"
    home.mkdir(exist_ok=True)
    secret = home / "secret"
    secret.write_text("root:$6$hash:19000:0:99999:7:::\n")
    entry = pwd.getpwnam(user)
    os.chown(secret, entry.pw_uid, entry.pw_gid)
    os.chmod(secret, 0o600)
    asked = json.loads(json.dumps(call).replace("{secret}", str(secret)).replace("{home}", str(home)))
    fake = FakeService(station.base, SERVICE, [asked])
    res = client_of(station, user, fake, record_for(SERVICE, fake.path), "verify")
    assert res.code == 3 and "命令行未指定" in res.err, res.err
    record = fake.record()
    assert record[0]["request"] == ["verify"]
    assert not any("reply" in r for r in record)  # no answer at all: the client hung up
    assert not (home / "planted").exists() and not (home / ".bashrc").exists()


def test_a_service_cannot_unlink_a_source_without_clear_source(
    station: Station, record_for: Callable[[str, Path], Path]
) -> None:
    card = _clerks_card(station, "NOCLEAR", {"K.MP4": 4096}, CLERK)
    calls = [{"call": "discover", "args": {"source": "NOCLEAR"}},
             {"call": "unlink_source", "args": {"token": "dump-0", "index": 0}}]  # fmt: skip
    fake = FakeService(station.base, SERVICE, calls)
    res = client_of(station, CLERK, fake, record_for(SERVICE, fake.path), "ingest", "NOCLEAR")
    assert res.code == 3 and "命令行未指定" in res.err
    replies = [r["reply"] for r in fake.record() if "reply" in r]
    assert len(replies) == 1 and "ok" in replies[0]  # the discovery it asked for: answered
    assert (card / "K.MP4").exists()


def test_a_service_writing_beside_the_named_output_is_refused(
    station: Station, record_for: Callable[[str, Path], Path]
) -> None:
    """`-o out` lets the service make `out` and files directly in it, nothing else."""
    calls = [{"call": "make_dirs", "args": {"path": "out"}},
             {"call": "make_dirs", "args": {"path": "out/sub/../../elsewhere"}}]  # fmt: skip
    fake = FakeService(station.base, SERVICE, calls)
    res = client_of(station, CLERK, fake, record_for(SERVICE, fake.path), "render", "C", "-o", "out")
    assert res.code == 3 and "命令行未指定" in res.err
    assert (station.home(CLERK) / "out").is_dir()
    assert not (station.home(CLERK) / "elsewhere").exists()


def test_a_service_making_a_hidden_file_in_the_default_folder_is_refused(
    station: Station, record_for: Callable[[str, Path], Path]
) -> None:
    """`render` with no `-o` writes into the current folder (a home, often): a document name
    is fine there, a hidden one (`.bash_profile`, run at the next login) is refused."""
    calls = [{"call": "write", "args": {"path": "2024-06-04_询问笔录.pdf"}},
             {"call": "write", "args": {"path": ".bash_profile"}}]  # fmt: skip
    fake = FakeService(station.base, SERVICE, calls)
    res = client_of(station, CLERK, fake, record_for(SERVICE, fake.path), "render", "C")
    assert res.code == 3 and "命令行未指定" in res.err
    assert not (station.home(CLERK) / ".bash_profile").exists()


# -- what each command line names ------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "command", "named"),
    [
        (["ingest", "--device", "D1", "/media/A", "B"], "ingest", {SOURCE: ["/media/A", "B"]}),
        (["--json", "render", "C-1"], "render", {WRITE: ["."]}),
        (["render", "C-1", "-odocs"], "render", {WRITE: ["docs"]}),
        (["export", "abc", "--output=out", "--purpose", "x"], "export", {WRITE: ["out"]}),
        (["case", "doc", "C-1", "doc.yaml", "--reason", "r"], "case doc", {READ: ["doc.yaml"]}),
        (["case", "import", "--reason", "why", "c.yaml"], "case import", {READ: ["c.yaml"]}),
        (["bundle", "verify", "bag", "--checkpoint", "cp.txt"], "bundle verify",
         {TREE: ["bag"], READ: ["cp.txt"]}),
        (["bundle", "C-1", "--purpose", "court", "-o", "bag"], "bundle", {WRITE: ["bag"]}),
        (["checkpoint", "--verify", "cp.txt"], "checkpoint", {READ: ["cp.txt"]}),
        (["calendar", "add", "notice.yaml"], "calendar add", {READ: ["notice.yaml"]}),
        (["log", "abc", "--pdf", "log.pdf"], "log", {WRITE: ["log.pdf"]}),
        (["ls", "--json"], "ls", {}),
    ],
)
def test_what_a_command_line_names(argv: list[str], command: str, named: dict[str, list[str]]) -> None:
    got_command, got = named_files(argv)
    assert got_command == command
    assert {k: v for k, v in got.items() if v} == named


def test_the_clients_file_arguments_match_the_cli() -> None:
    """Every argument of the command tree that names a file is in the client's FILE_ARGS
    with its options taking values (a new `--pdf` added without it would be refused by the
    client: this test says so first)."""
    from zfjl.cli.app import build_app

    root = typer.main.get_command(build_app())
    assert isinstance(root, click.Group)
    found: dict[str, tuple[list[str], set[str], set[str]]] = {}

    def walk(cmd: click.Command, words: list[str]) -> None:
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, [*words, name])
            return
        key = " ".join(words)
        if words[0] in LOCAL_COMMANDS:
            return
        paths = [p for p in cmd.params if isinstance(p.type, click.Path) or p.name == "sources"]
        if not paths:
            return
        options = {o for p in paths if isinstance(p, click.Option) for o in p.opts}
        positional = [p.name or "" for p in cmd.params if isinstance(p, click.Argument)]
        values = {o for p in cmd.params if isinstance(p, click.Option) and not p.is_flag
                  and p not in paths for o in p.opts}  # fmt: skip
        found[key] = (positional, options, values)
        assert key in FILE_ARGS, f"{key}: its file arguments are unknown to the client"

    walk(root, [])
    for key, (positional, options, values) in found.items():
        kinds, file_options, file_values = FILE_ARGS[key]
        assert set(file_options) == options, key
        if kinds:  # positionals are found by skipping the values of options
            assert set(file_values) == values, key
            assert len(kinds) == len(positional) or str(kinds[-1]).endswith("*"), key


def test_safe_names() -> None:
    assert safe_name("DSJ01_2024.MP4") and safe_name("录像.mp4") and safe_name("\udcc2\udcbc")
    for bad in ("", ".", "..", "a/b", "a\x00", "x" * 256, 3, None):
        assert not safe_name(bad)
    assert safe_relative("a/b/c.txt") and safe_relative("data/录像.mp4")
    for bad in ("/etc/shadow", "../x", "a/../b", "a//b", "a/", "./a", "a/./b", "", "a/\x00"):
        assert not safe_relative(bad)


def test_a_silent_peer_is_cut_off_after_the_deadline() -> None:
    left, right = socket.socketpair()
    started = time.monotonic()
    with pytest.raises(ServiceError, match="无应答"):
        Channel(left).recv(timeout=0.3)
    assert 0.25 < time.monotonic() - started < 2

    def trickle() -> None:  # a byte now and then never completes a message
        for _ in range(6):
            right.send(b"{")
            time.sleep(0.1)

    sender = threading.Thread(target=trickle)
    sender.start()
    started = time.monotonic()
    with pytest.raises(ServiceError, match="无应答"):
        Channel(left).recv(timeout=0.35)
    assert time.monotonic() - started < 0.55
    sender.join()
    left.close()
    right.close()


# -- attack 2: any argv ran as the service account -------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--socket", "{socket}"],
        ["--json", "serve", "--socket", "{socket}"],
        ["sample", "{vault}/objects/b1"],
        ["station", "setup", "--bureau", "x"],
        ["init", "--bureau", "x"],
        ["--lang", "ls", "serve"],  # an unknown option before the command could hide it
    ],
)
def test_commands_that_run_only_where_typed_are_refused(station: Station, argv: list[str]) -> None:
    empty = station.layout.vault / "objects" / "b1"
    empty.mkdir(exist_ok=True)
    os.chown(empty, pwd.getpwnam(SERVICE).pw_uid, -1)
    sent = [a.format(socket=station.layout.socket, vault=station.layout.vault) for a in argv]
    socket_inode = station.layout.socket.stat().st_ino
    answer = as_client(station, CLERK, sent)
    assert answer["exit"] == 2 and "error" in answer
    assert answer["error"][:20] in (station.layout.state.parent / "serve.log").read_text()  # logged
    assert empty.is_dir()
    assert station.layout.socket.stat().st_ino == socket_inode  # the station's own, still
    assert station.run(CLERK, "ls", "--json").code == 0


def test_every_command_is_either_served_or_local() -> None:
    from zfjl.cli.app import COMMANDS

    assert set(COMMANDS) == SERVED_COMMANDS | LOCAL_COMMANDS
    assert not SERVED_COMMANDS & LOCAL_COMMANDS


def test_the_stock_client_says_why_a_command_was_refused(station: Station) -> None:
    """`zfjl --json ls` passes the root-flag check (click answers it); a refusal reaches the
    user as one Chinese line."""
    res = station.run(CLERK, "--version")
    assert res.code == 0 and "zfjl" in res.out
    answer = as_client(station, CLERK, ["sample", "x"])
    assert "只能在本机直接运行" in answer["error"]


# -- attack 3: idle connections held every child ---------------------------------------------
def _exit_of(sock: socket.socket, timeout: float) -> int | None:
    """The exit code the service sent on `sock` (it then closed it), or None."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except OSError:
        return None
    try:
        return int(json.loads(data.splitlines()[0])["exit"])
    except (ValueError, IndexError, KeyError):
        return None


def test_idle_connections_of_one_user_do_not_hold_the_service(station: Station) -> None:
    """The clerk opens 100 connections and says nothing: the legal section's `ls` still
    answers at once; the clerk's over-cap connections are refused at once (exit 7), the rest
    cut off after the first-message deadline."""
    results: dict[str, Any] = {}
    connected = station.home(CLERK) / "connected"
    connected.unlink(missing_ok=True)

    def hold() -> int:
        socks = []
        for _ in range(100):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(str(station.layout.socket))
            socks.append(s)
        connected.touch()
        time.sleep(1.0)
        refused = sum(_exit_of(s, 0.05) == 7 for s in socks)  # answered at accept
        time.sleep(FIRST_MESSAGE_TIMEOUT)
        cut = sum(_exit_of(s, 3) == 3 for s in socks)  # the rest: after the deadline
        print(refused, cut)
        return 0

    holder = threading.Thread(target=lambda: results.update(r=as_user(CLERK, hold, cwd=station.home(CLERK), env={})))
    holder.start()
    deadline = time.monotonic() + 60  # the 100 connections are made (however loaded we are)
    while not connected.exists() and holder.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)

    def ask() -> int:
        started = time.monotonic()
        answer = raw_request(station.layout.socket, ["ls", "--json"])
        print(json.dumps({"answer": answer, "took": time.monotonic() - started}))
        return 0

    res = as_user(LEGAL, ask, cwd=station.home(LEGAL), env={})
    took = json.loads(res.out.strip().splitlines()[-1])
    holder.join(timeout=60)
    # At once: not after the idle connections' deadline (a loaded machine may take a second).
    assert took["answer"].get("exit") == 0 and took["took"] < FIRST_MESSAGE_TIMEOUT / 2, took
    refused, cut = (int(n) for n in results["r"].out.split())
    assert refused == 100 - MAX_PER_USER  # refused at accept, not queued
    assert cut == MAX_PER_USER


def test_a_user_over_the_cap_is_told_busy(station: Station) -> None:
    def over() -> int:
        socks = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(MAX_PER_USER + 1)]
        for s in socks:
            s.connect(str(station.layout.socket))
        time.sleep(0.5)
        print(json.dumps(raw_request(station.layout.socket, ["ls"])))
        from zfjl.service.client import main

        return main(["ls", "--json"])  # the stock client, told the same

    env = {"ZFJL_SOCKET": str(station.layout.socket), "ZFJL_ETC": str(station.layout.etc)}
    res = as_user(ADMIN, over, cwd=station.home(ADMIN), env=env)
    answer = json.loads(res.out.strip().splitlines()[0])
    assert answer["exit"] == 7 and "上限" in answer["error"]
    assert res.code == 7 and res.err.startswith("错误：") and "上限" in res.err
    assert json.loads(res.out.strip().splitlines()[-1])["error"]["exit_code"] == 7


def test_the_default_socket_without_a_record_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A station whose record is missing (set up before the record existed): the client does
    not guess who the service is; it says to run `zfjl station setup` again."""
    from zfjl.service.client import check_service
    from zfjl.service.protocol import DEFAULT_SOCKET

    monkeypatch.setenv("ZFJL_ETC", str(tmp_path))
    left, right = socket.socketpair()
    with pytest.raises(ServiceError, match="station setup"):
        check_service(left, DEFAULT_SOCKET)
    (tmp_path / "service.owner").write_text(f"uid=0\nsocket={DEFAULT_SOCKET}\n")
    os.chmod(tmp_path / "service.owner", 0o666)  # anyone could have written it
    with pytest.raises(ServiceError, match="不予采信"):
        check_service(left, DEFAULT_SOCKET)
    os.chmod(tmp_path / "service.owner", 0o644)
    os.chmod(tmp_path, 0o755)
    if os.geteuid() == 0:
        check_service(left, DEFAULT_SOCKET)  # root's record naming root, who is the peer here
    else:  # a record that is not root's is never believed, whoever the peer is
        with pytest.raises(ServiceError, match="不予采信"):
            check_service(left, DEFAULT_SOCKET)
    left.close()
    right.close()


def test_a_card_listing_with_escaping_or_malformed_entries_is_refused() -> None:
    """What the client's discovery answers is checked before the ingest uses any of it."""
    from zfjl.service.remote import RemoteDump

    good = {"rel_os": "DCIM/A.MP4", "rel": "DCIM/A.MP4", "name": "A.MP4", "name_hex": None,
            "identity": {"size": 1, "mtime_ns": 2, "ino": 3, "dev": 4}}  # fmt: skip
    listing = {"token": "dump-0", "root": "/media/DSJ01", "files": [good], "skipped": [],
               "dir_ids": [[1, 2]]}  # fmt: skip
    dump = RemoteDump.from_listing(None, listing)  # type: ignore[arg-type]
    assert [str(f.path) for f in dump.files] == ["/media/DSJ01/DCIM/A.MP4"]
    bad_entries: list[dict[str, Any]] = [{"rel_os": "../../etc/shadow"}, {"rel_os": "/etc/shadow"}, {"rel": None},
                   {"identity": {"size": "1", "mtime_ns": 2, "ino": 3, "dev": 4}},
                   {"identity": {"size": 1}}, {"name": "a\x00"}]  # fmt: skip
    for bad in bad_entries:
        with pytest.raises(ServiceError, match="协议错误"):
            RemoteDump.from_listing(None, {**listing, "files": [{**good, **bad}]})  # type: ignore[arg-type]
    bad_listings: list[dict[str, Any]] = [{"root": "relative"}, {"dir_ids": [["1", 2]]}, {"token": 5}]
    for bad_listing in bad_listings:
        with pytest.raises(ServiceError, match="协议错误"):
            RemoteDump.from_listing(None, {**listing, **bad_listing})  # type: ignore[arg-type]

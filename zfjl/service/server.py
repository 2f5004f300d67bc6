"""`zfjl serve`: the only process that opens the vault; every station user's command runs here.

One process listens on a Unix socket. Each connection is answered by a forked child (like
inetd): the child learns the caller from the kernel (SO_PEERCRED), takes the client's standard
streams, runs the very same command line (`zfjl.cli.app.main`, handed over as a
`CommandLine` by `zfjl serve`) against the served vault with
that caller as the acting user, does every file operation outside the vault through the
client (zfjl.service.remote), and replies with the exit code. A child per request keeps one
user's command from seeing another's state (the CLI keeps module-level settings), lets a slow
bundle never block an `ls`, and costs ~1 ms: the parent has imported everything beforehand.

Only the commands of SERVED_COMMANDS run for a client; at most MAX_PER_USER requests of one
UID (MAX_CHILDREN in all) run at once, the rest are told "busy" at accept() without waiting;
a connection has FIRST_MESSAGE_TIMEOUT to send its request (docs/service.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zfjl.errors import ServiceError, UsageError, VaultError
from zfjl.service.protocol import (
    MAX_LINE,
    PASSED_ENV,
    PROTOCOL,
    Channel,
    Hangup,
    peer_credentials,
)

MAX_CHILDREN = 64  # requests answered at once; more are refused at once (busy, exit 7)
MAX_PER_USER = 8  # requests of one UID answered at once: one user cannot take every child
FIRST_MESSAGE_TIMEOUT = 5.0  # seconds a new connection may take to send its request
# What a station user may run through the service (docs/service.md). Everything else —
# `serve`, `station`, `sample`, `init`, and a command added to zfjl.cli.app.COMMANDS but not
# here — runs only where it is typed (direct mode), never as the service account.
SERVED_COMMANDS = frozenset({
    "verify", "rebuild", "ingest", "seal", "ls", "show", "attach", "detach", "check", "render",
    "sweep", "view", "export", "log", "report", "help", "case", "bundle", "hold", "grant",
    "checkpoint", "calendar", "rules", "device", "spotcheck", "role", "config", "custom",
    "redact", "disclose", "web", "sync",
})  # fmt: skip
LOCAL_COMMANDS = frozenset({"serve", "station", "sample", "init", "migrate-to-bureau"})
# Options a client may put before the command word (flags only: an option taking a value
# there could hide the real command from this check).
ROOT_FLAGS = frozenset({"--help", "-h", "--version", "--json"})
# How often the service looks for undescribed or unsealed objects when idle (stored by `ingest
# --no-seal`, or left by an ingest killed between "stored" and "sealed"); also after each request.
SEAL_EVERY = 30.0
# How often a bureau station's service ships what is pending to the bureau store when idle
# (issue 25: a camera never waits for the bucket); also after each request.
SHIP_EVERY = 60.0
WAKE_EVERY = 1.0
SCRATCH_PREFIX = "serve-"


def bind(path: Path) -> socket.socket:
    """Listen on `path`, mode 0666: anyone on the station may ask; who asks is the kernel's
    answer, and what they may do is the vault's roles and grants."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(path.lstat().st_mode):
            path.unlink()  # a stale socket of a service that died
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.bind(str(path))
        os.chmod(path, 0o666)
    except OSError as exc:
        sock.close()
        raise VaultError(f"无法在 {path} 上监听：{exc.strerror}") from None
    sock.listen(128)
    return sock


def check_owner(vault_root: Path) -> None:
    """The service runs as the vault's owner, root included: objects written by root would
    be root's, and the next service start could not read them."""
    try:
        owner = os.stat(vault_root).st_uid
    except OSError as exc:
        raise VaultError(f"无法访问保管库 {vault_root}：{exc.strerror}") from None
    if owner != os.getuid():
        raise UsageError(
            f"zfjl serve 须以保管库所有者（UID {owner}）的身份运行，当前 UID {os.getuid()}"
            "（站点上为服务账户 zfjl：systemctl start zfjl）"
        )


@dataclass(frozen=True)
class CommandLine:
    """The command line the service runs for its clients, handed over by `zfjl serve`
    (zfjl.cli.station gives zfjl.cli.app's): the CLI imports the service, never the reverse."""

    load: Callable[[], object]  # import every command module (once, before the first fork)
    run: Callable[[list[str]], int]  # one command as typed: its exit code
    detect_terminal: Callable[[], object]  # once the client's streams are the process's own


def prepare(vault_root: Path, commands: CommandLine) -> None:
    """Before the first fork: open the vault once (it migrates now, not in a request), load
    what every command loads, remove scratch folders of children killed earlier."""
    from zfjl.vault import Vault

    commands.load()  # every command module imported once here, inherited by every child

    check_owner(vault_root)
    Vault.open(vault_root).close()  # no database connection may cross a fork
    for leftover in (vault_root / "tmp").glob(f"{SCRATCH_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)


def serve(
    vault_root: Path,
    socket_path: Path,
    *,
    commands: CommandLine,
    max_requests: int | None = None,
    ready: Any = None,
    seal_every: float = SEAL_EVERY,
    web: WebListener | None = None,
    ship_every: float = SHIP_EVERY,
) -> None:
    """Answer requests until SIGTERM/SIGINT (or `max_requests`, for tests). Between and after
    requests, a forked child seals what was stored unsealed (see `_start_sealer`), and on a
    bureau station another ships what is pending to the bucket (`_start_shipper`)."""
    vault_root = Path(vault_root).resolve()
    prepare(vault_root, commands)
    sock = bind(socket_path)
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopping.set()
        sock.close()  # wakes accept()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if ready is not None:
        ready()
    children: dict[int, int] = {}  # pid -> the UID it answers
    sealer: dict[int, int] = {}  # the background sealer, while one runs
    shipper: dict[int, int] = {}  # the background shipper, while one runs
    served = 0
    sock.settimeout(WAKE_EVERY)  # accept() wakes to reap and to start the sealer
    sealed_at = -seal_every  # at start: what a killed ingest left unsealed
    shipped_at = -ship_every  # at start: what a stopped service left unshipped
    try:
        while not stopping.is_set() and (max_requests is None or served < max_requests):
            before = len(children)
            _reap(set(children) | set(sealer) | set(shipper), block=False,
                  into=(children, sealer, shipper))  # fmt: skip
            request_ended = len(children) < before
            if not sealer and (request_ended or time.monotonic() - sealed_at >= seal_every):
                sealer[_start_sealer(vault_root, sock, *([web.sock] if web else []))] = -1
                sealed_at = time.monotonic()
            if not shipper and (request_ended or time.monotonic() - shipped_at >= ship_every):
                shipper[_start_shipper(vault_root, sock, *([web.sock] if web else []))] = -1
                shipped_at = time.monotonic()
            if web is not None:  # HTTP on 127.0.0.1 beside the socket (docs/web.md)
                try:
                    ready = select.select([sock, web.sock], [], [], WAKE_EVERY)[0]
                except (OSError, ValueError):
                    if stopping.is_set():
                        break
                    raise
                if web.sock in ready:
                    _answer_web(web, sock, children)
                if sock not in ready:
                    continue
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                if stopping.is_set():
                    break
                raise
            _reap(set(children) | set(sealer) | set(shipper), block=False,
                  into=(children, sealer, shipper))  # fmt: skip
            try:
                uid = peer_credentials(conn)[1]
            except OSError:  # gone already: nothing to answer
                conn.close()
                continue
            busy = _over_cap(uid, children)
            if busy is not None:  # answered here and now: the accept loop never waits on it
                _refuse(conn, 7, busy)
                _note(f"拒绝了 UID {uid} 的连接：{busy}")
                continue
            conn.settimeout(None)
            served += 1
            pid = os.fork()
            if pid == 0:
                code = 70
                try:
                    sock.close()
                    if web is not None:
                        web.sock.close()
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
                    signal.signal(signal.SIGINT, signal.default_int_handler)
                    code = answer(vault_root, conn, commands)
                finally:
                    os._exit(code if 0 <= code < 256 else 70)
            conn.close()
            children[pid] = uid
    finally:
        with contextlib.suppress(OSError):
            sock.close()
        with contextlib.suppress(OSError):
            socket_path.unlink()
        if web is not None:
            with contextlib.suppress(OSError):
                web.sock.close()
        for pid in [p for p, u in children.items() if u == WEB_UID] + list(sealer) + list(shipper):
            # a seal or a shipment stops at once (the next service goes on: an object
            # uploaded but not journaled is found in the bucket, not sent again); a page is
            # asked again
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        while children or sealer or shipper:  # let requests under way finish
            _reap(set(children) | set(sealer) | set(shipper), block=True,
                  into=(children, sealer, shipper))  # fmt: skip


WEB_UID = -1  # the children answering HTTP connections (their user is the session's)
MAX_WEB_CHILDREN = 24  # HTTP connections answered at once (a browser opens up to 6)


@dataclass(frozen=True)
class WebListener:
    """The review pages' listener (zfjl.web.http), handed to `serve` by `zfjl serve --http`:
    `fork` accepts one connection and forks its child (closing the sockets it is given in
    the child), `refuse` answers one with 503 at once."""

    sock: socket.socket
    fork: Callable[[list[socket.socket]], int | None]
    refuse: Callable[[], None]


def _answer_web(web: WebListener, unix: socket.socket, children: dict[int, int]) -> None:
    if sum(1 for u in children.values() if u == WEB_UID) >= MAX_WEB_CHILDREN:
        web.refuse()
        return
    pid = web.fork([unix])
    if pid is not None:
        children[pid] = WEB_UID


def _over_cap(uid: int, children: dict[int, int]) -> str | None:
    """Why a new request of `uid` is refused now, or None."""
    if sum(1 for u in children.values() if u == uid) >= MAX_PER_USER:
        return (f"您已有 {MAX_PER_USER} 个请求正在保管库服务中进行（每个用户的上限）："
                "请等其中的命令结束后再试")  # fmt: skip
    if len(children) >= MAX_CHILDREN:
        return f"保管库服务正同时处理 {MAX_CHILDREN} 个请求（上限）：请稍后再试"
    return None


def _refuse(conn: socket.socket, code: int, message: str) -> None:
    """Answer a connection with its exit code without reading it, never blocking: the reply
    is one short line into an empty socket buffer."""
    with contextlib.suppress(OSError):
        conn.setblocking(False)
        conn.send((json.dumps({"exit": code, "error": message}) + "\n").encode("ascii"))
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_WR)
    conn.close()


def _note(line: str) -> None:
    """A line in the service's own log (journalctl -u zfjl), never the client's."""
    with contextlib.suppress(OSError, ValueError):
        print(f"zfjl serve: {line}", file=sys.__stderr__, flush=True)


def _reap(waiting: set[int], *, block: bool, into: tuple[dict[int, int], ...]) -> None:
    """Collect ended children (waiting for one when `block`), removing each from `into`."""
    while waiting:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            for pids in into:
                pids.clear()
            return
        if pid == 0:
            return
        waiting.discard(pid)
        for pids in into:
            pids.pop(pid, None)
        block = False


def _fork_background(job: Callable[[Path], int], vault_root: Path, listening: socket.socket,
                     *more: socket.socket) -> int:  # fmt: skip
    """Fork a child that runs `job(vault_root)` as the service's user and exits with its code:
    it answers nobody, stops at once on SIGTERM and ignores Ctrl-C (the service's to handle)."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        for sock in (listening, *more):
            sock.close()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        code = job(vault_root)
    except BaseException:  # a child: never back into the accept loop
        code = 1
    finally:
        os._exit(code)


def _seal_stored(vault_root: Path) -> int:
    """Describe and seal every object stored but not yet described or sealed, then exit (at
    once when there is none). Safe beside an ingest's own: each object is journaled once,
    asked again under the lock."""
    from zfjl.ingest.describe import finish
    from zfjl.ingest.station import ingest_running
    from zfjl.vault import Vault

    with Vault.open(vault_root) as vault:
        if not ingest_running(vault):  # a station's cameras are stored first, sealed after
            finish(vault)
    return 0


def _ship_held(vault_root: Path) -> int:
    """Ship what this station holds unshipped to the bureau's bucket (`bureau.ship_pending`:
    nothing for a vault without a store, or with nothing pending; a person's `zfjl sync`
    under way: left to it). Not while an ingest runs: the camera's "stored" comes first. A
    store that is down: one line in the log, and the next round tries again."""
    from zfjl.errors import ZfjlError
    from zfjl.ingest.station import ingest_running
    from zfjl.vault import Vault
    from zfjl.vault.bureau import ship_pending

    with Vault.open(vault_root) as vault:
        if ingest_running(vault):
            return 0
        try:
            ship_pending(vault)
        except ZfjlError as exc:
            _note(f"后台上传未完成：{exc}")
            return 1
    return 0


def _start_sealer(vault_root: Path, listening: socket.socket, *more: socket.socket) -> int:
    return _fork_background(_seal_stored, vault_root, listening, *more)


def _start_shipper(vault_root: Path, listening: socket.socket, *more: socket.socket) -> int:
    return _fork_background(_ship_held, vault_root, listening, *more)


# -- in the child -----------------------------------------------------------------------------
def answer(vault_root: Path, conn: socket.socket, commands: CommandLine) -> int:
    """Run one command for the peer; returns the exit code it sent."""
    _, uid, _ = peer_credentials(conn)
    channel = Channel(conn)
    try:
        request, fds = channel.recv(timeout=FIRST_MESSAGE_TIMEOUT)
        argv = _checked(request, fds)
    except (ServiceError, UsageError, Hangup) as exc:
        code = exc.exit_code if isinstance(exc, (ServiceError, UsageError)) else 3
        message = exc.message if isinstance(exc, (ServiceError, UsageError)) else "请求中断"
        _note(f"拒绝了 UID {uid} 的请求：{message}")
        with contextlib.suppress(Hangup, OSError):
            channel.send({"exit": code, "error": message})
        return code
    # A fresh folder of the service's own per request: whatever the request builds or copies
    # in lands below it, and it is removed whole at the end (and at the next start).
    scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=vault_root / "tmp"))
    try:
        code = _run_for(commands, uid, vault_root, scratch, channel, argv, request, fds)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the client leaving now changes nothing
    with contextlib.suppress(Hangup, OSError):
        channel.send({"exit": code})
    return code


def _checked(request: dict[str, Any], fds: list[int]) -> list[str]:
    try:
        if request.get("v") != PROTOCOL:
            raise ServiceError(
                f"客户端协议第 {request.get('v')} 版，服务为第 {PROTOCOL} 版：请使用同一版本的 zfjl"
            )
        argv = request.get("argv")
        if not (isinstance(argv, list) and all(isinstance(a, str) for a in argv)):
            raise ServiceError("服务收到的命令参数格式不对（协议错误）")
        if len(fds) != 3:
            raise ServiceError("请求须附带标准输入、输出和错误（协议错误）")
        if len(fds) != 3 or len(argv) > 10_000 or sum(len(a) for a in argv) > MAX_LINE:
            raise ServiceError("请求格式不对（协议错误）")
        if any(a == "--vault" or a.startswith("--vault=") for a in argv):
            raise ServiceError("通过服务使用时不能指定 --vault：服务只管理它自己的保管库")
        served_command(argv)
    except (ServiceError, UsageError):
        for fd in fds:
            os.close(fd)
        raise
    return argv


def served_command(argv: list[str]) -> str | None:
    """The command word of `argv` when the service runs it for a client (None: only root
    flags, e.g. `zfjl --help`); UsageError (exit 2) for anything else."""
    for token in argv:
        if token in ROOT_FLAGS:
            continue
        if token.startswith("-"):
            raise UsageError(f"通过保管库服务使用时，命令前只能有 {'、'.join(sorted(ROOT_FLAGS))}："
                             f"不接受 {token[:40]}")  # fmt: skip
        if token in SERVED_COMMANDS:
            return token
        if token not in LOCAL_COMMANDS:
            raise UsageError(f"用法错误：没有命令 “{token[:40]}”（zfjl --help 列出全部命令）")
        raise UsageError(f"保管库服务不代为运行 “{token[:40]}”：zfjl serve、station、sample、init "
                         "只能在本机直接运行（以有权限的账户），其余命令见 zfjl --help")  # fmt: skip
    return None


def _run_for(
    commands: CommandLine,
    uid: int,
    vault_root: Path,
    scratch: Path,
    channel: Channel,
    argv: list[str],
    request: dict[str, Any],
    fds: list[int],
) -> int:
    from zfjl import userfs
    from zfjl.service.remote import ClientFiles
    from zfjl.vault.vault import act_for

    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    # A relative path the command would (wrongly) open itself lands in an empty folder of
    # the service's, never in the vault: every file outside the vault goes through userfs.
    os.chdir(scratch)
    given = request.get("env")
    env: dict[str, Any] = given if isinstance(given, dict) else {}
    for key in PASSED_ENV:
        os.environ.pop(key, None)
        if isinstance(env.get(key), str):
            os.environ[key] = env[key]
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - the client's streams
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    commands.detect_terminal()
    act_for(uid)
    userfs.use(ClientFiles(channel, scratch))
    _watch_hangup(channel.sock)
    try:
        return commands.run(["--vault", str(vault_root), *argv])
    except SystemExit as exc:  # rich exits 1 when the reader of stdout went away (| head)
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
            sys.stderr.flush()


def _watch_hangup(conn: socket.socket) -> None:
    """A client that is interrupted (Ctrl-C) or killed hangs up: stop the command as Ctrl-C
    stops it in direct mode (what is stored stays stored; the next run finishes the job)."""
    from zfjl.service.remote import client_left


    def watch() -> None:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLRDHUP)
        while True:
            for _, event in poller.poll():
                if event & (select.POLLRDHUP | select.POLLHUP | select.POLLERR):
                    if client_left():
                        os.kill(os.getpid(), signal.SIGINT)
                    return

    threading.Thread(target=watch, daemon=True, name="hangup").start()

"""HTTP on 127.0.0.1 for the review pages: the listener, one forked child per connection
(werkzeug's request handler, deadlines), and `zfjl web`'s direct-mode loop.

The service (`zfjl serve --http 127.0.0.1:PORT`, or the setting `web.listen`) accepts these
connections in its own accept loop, beside the Unix socket, and forks a child for each as it
does for a command: the same vault, the same authority code, limits and deadlines, no
long-running server of another kind (docs/web.md says why).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import socket
import sys
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import WSGIRequestHandler

from zfjl.errors import UsageError, VaultError

IDLE_SECONDS = 15.0  # a connection silent this long (between or within requests) is closed
REQUEST_SECONDS = 5  # the request line and headers, whole (as the socket's first message): a byte
# now and then does not extend it
LIFETIME_SECONDS = 3600  # no child lives longer (a slow reader of a long video included)
MAX_HTTP_CHILDREN = 24  # connections served at once (a browser opens up to 6 per page)
MAX_HTTP_PER_UID = 12  # of them, from one local user's connections (the proxy's included)
LOOPBACK = ("127.0.0.1", "localhost")
DEFAULT_PORT = 8470


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def parse_listen(text: str) -> Listen:
    """'127.0.0.1:8470' (or 'localhost:8470', or a bare port): loopback only — other machines
    reach the pages through a reverse proxy with TLS (docs/web.md)."""
    host, _, port = text.strip().rpartition(":")
    host = host or "127.0.0.1"
    if host not in LOOPBACK:
        raise UsageError(f"网页服务只监听本机地址（127.0.0.1），收到 {text!r}：其他电脑经反向代理（TLS）访问，"
                         "见 docs/web.md")  # fmt: skip
    try:
        number = int(port)
    except ValueError:
        raise UsageError(f"端口应为数字，收到 {text!r}（如 127.0.0.1:8470）") from None
    if not 0 <= number < 65536:
        raise UsageError(f"端口超出范围：{number}")
    return Listen("127.0.0.1" if host == "localhost" else host, number)


def bind_http(listen: Listen) -> tuple[socket.socket, Listen]:
    """Listen on `listen` (port 0: one the kernel picks); returns the socket and the address
    it really has."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((listen.host, listen.port))
    except OSError as exc:
        sock.close()
        raise VaultError(f"无法在 {listen.host}:{listen.port} 上监听网页服务：{exc.strerror}") from None
    sock.listen(128)
    return sock, Listen(listen.host, sock.getsockname()[1])


def proxy_settings(section: dict[str, Any]) -> dict[str, Any]:
    """make_app's reverse-proxy arguments from the `web` settings: the proxy account's UID
    (`web.proxy_user`, a login) and the names it forwards (`web.hosts`)."""
    import pwd

    hosts = {h for h in section.get("hosts") or [] if isinstance(h, str)}
    name = section.get("proxy_user")
    if not name:
        return {"proxy_uid": None, "proxy_hosts": set()}
    try:
        return {"proxy_uid": pwd.getpwnam(str(name)).pw_uid, "proxy_hosts": hosts}
    except KeyError:
        raise UsageError(f"设置 web.proxy_user 指定的系统用户 {name!r} 不存在") from None


def allowed_hosts(listen: Listen, extra: list[str] | None = None) -> set[str]:
    """The Host header values answered: this listener by address or as localhost, and the
    names a reverse proxy forwards (setting `web.hosts`). Anything else is DNS rebinding."""
    return {f"127.0.0.1:{listen.port}", f"localhost:{listen.port}", *(extra or [])}


# -- who is at the other end (issue 26 item 1) ---------------------------------------------------
PEER_UID = "zfjl.peer_uid"  # the WSGI environ key: the kernel's owner of the client's socket
_ESTABLISHED = "01"


def _proc_address(host: str, port: int, width: int) -> str:
    """An address as /proc/net/tcp{,6} prints it: the raw address words in host byte order,
    in hex, then the port."""
    raw = ipaddress.ip_address(host)
    packed = (ipaddress.IPv6Address(f"::ffff:{raw}") if width == 32 and raw.version == 4
              else raw).packed  # fmt: skip
    words = [int.from_bytes(packed[i:i + 4], sys.byteorder) for i in range(0, len(packed), 4)]
    return "".join(f"{w:08X}" for w in words) + f":{port:04X}"


def peer_uid(conn: socket.socket) -> int | None:
    """The UID owning the client's end of this loopback connection: the /proc/net/tcp (or tcp6)
    row whose local address is our peer and whose remote address is us, ESTABLISHED (a row in
    TIME_WAIT has no owner and reads as UID 0). None when no such row is found."""
    try:
        (my_host, my_port), (their_host, their_port) = (conn.getsockname()[:2],
                                                        conn.getpeername()[:2])  # fmt: skip
    except OSError:
        return None
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        local = _proc_address(their_host, their_port, width)
        remote = _proc_address(my_host, my_port, width)
        try:
            with open(table, encoding="ascii") as rows:
                next(rows, None)
                for row in rows:
                    f = row.split()
                    if len(f) > 7 and f[1] == local and f[2] == remote and f[3] == _ESTABLISHED:
                        return int(f[7])
        except (OSError, ValueError):
            continue
    return None


# -- one connection, in a forked child ----------------------------------------------------------
class _Handler(WSGIRequestHandler):
    # werkzeug answers "Connection: close" to every request: one request per connection and
    # per child, as the service answers one command per connection.
    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS

    def parse_request(self) -> bool:
        """Once the request line and headers are in, the connection's lifetime applies."""
        complete = super().parse_request()
        signal.alarm(LIFETIME_SECONDS)
        return complete

    def make_environ(self) -> Any:
        environ = super().make_environ()
        environ[PEER_UID] = self.server.peer_uid  # type: ignore[attr-defined]
        return environ

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # the journal records what matters; access logs would be a second, unsigned one


@dataclass
class _OneConnection:
    """What werkzeug's handler asks of its server, for the single connection of a child."""

    app: Any
    server_address: tuple[str, int]
    multithread: bool = False
    multiprocess: bool = True
    passthrough_errors: bool = False
    ssl_context: None = None
    _server_version: str = "zfjl"
    peer_uid: int | None = None

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            with contextlib.suppress(OSError, ValueError):
                print(f"zfjl web: {message % args if args else message}", file=sys.__stderr__)


class ChildStopped(BaseException):
    """A deadline or SIGTERM in an HTTP child: not an Exception, so no handler swallows it."""


def _unwind(signum: int, frame: Any) -> None:
    raise ChildStopped(signum)


def answer_http(app: Any, conn: socket.socket, peer: Any, listen: Listen,
                owner: int | None = None) -> None:  # fmt: skip
    """Serve one HTTP connection until it closes, idles (IDLE_SECONDS) or ages (LIFETIME)."""
    # Past a deadline, or told to stop, the child unwinds: `finally` blocks kill an ffmpeg
    # under way (a signal's default action would end the child and leave ffmpeg running).
    signal.signal(signal.SIGALRM, _unwind)
    signal.signal(signal.SIGTERM, _unwind)
    signal.alarm(REQUEST_SECONDS)  # then LIFETIME_SECONDS, from `parse_request`
    conn.settimeout(IDLE_SECONDS)
    if owner is None:
        owner = peer_uid(conn)  # now, while the client's socket is surely established
    with contextlib.suppress(OSError):
        _Handler(conn, peer, _OneConnection(app, (listen.host, listen.port), peer_uid=owner))  # type: ignore[arg-type]
    with contextlib.suppress(OSError):
        conn.close()


def fork_http(app: Any, listening: socket.socket, listen: Listen, close: list[socket.socket]) -> int | None:
    """Accept one HTTP connection and fork a child for it (its pid); None if none was there."""
    try:
        conn, peer = listening.accept()
    except (BlockingIOError, TimeoutError, InterruptedError):
        return None
    owner = peer_uid(conn)
    if _serving(owner) >= MAX_HTTP_PER_UID:  # one user cannot take every child
        _answer_busy(conn)
        return None
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            for sock in (listening, *close):
                sock.close()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # until answer_http's own handler
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            answer_http(app, conn, peer, listen, owner)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    conn.close()
    _by_uid[pid] = owner
    return pid


# The HTTP children this (accepting) process forked, by the peer UID they answer. The accept
# loop reaps them itself: a pid no longer there has ended.
_by_uid: dict[int, int | None] = {}


def _serving(uid: int | None) -> int:
    for pid in list(_by_uid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            del _by_uid[pid]
        except PermissionError:
            pass
    return sum(1 for u in _by_uid.values() if u == uid)


def refuse_busy(listening: socket.socket) -> None:
    """Too many connections at once: a short 503 without forking (the accept loop never waits)."""
    try:
        conn, _ = listening.accept()
    except (BlockingIOError, TimeoutError, InterruptedError):
        return
    _answer_busy(conn)


def _answer_busy(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.setblocking(False)
        body = "网页服务繁忙，请稍后刷新\n".encode()
        conn.send(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    conn.close()


def serve_direct(app: Any, listening: socket.socket, listen: Listen) -> None:
    """`zfjl web` on a vault of one's own: answer connections until Ctrl-C, a child each."""
    import select

    children: set[int] = set()
    listening.settimeout(1.0)
    try:
        while True:
            _reap(children)
            ready, _, _ = select.select([listening], [], [], 1.0)
            if not ready:
                continue
            if len(children) >= MAX_HTTP_CHILDREN:
                refuse_busy(listening)
                continue
            pid = fork_http(app, listening, listen, [])
            if pid:
                children.add(pid)
    finally:
        listening.close()
        stop_children(children)


STOP_GRACE_SECONDS = 5.0  # a child told to stop unwinds (and kills its ffmpeg) within this


def stop_children(children: set[int]) -> None:
    """SIGTERM each child, then SIGKILL what still runs after the grace period: shutting
    down never hangs on one child (its ffmpeg dies with it: PR_SET_PDEATHSIG)."""
    import time

    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while children and time.monotonic() < deadline:
        _reap(children)
        if children:
            time.sleep(0.05)
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    while children:
        _reap(children, block=True)


def _reap(children: set[int], block: bool = False) -> None:
    while children:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            children.clear()
            return
        if pid == 0:
            return
        children.discard(pid)
        block = False

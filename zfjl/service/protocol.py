"""The wire between `zfjl` (the client) and `zfjl serve`: JSON lines over a Unix stream socket,
descriptors beside them (SCM_RIGHTS). See docs/service.md for why.

A conversation, strictly alternating (so a line and its descriptors are never mixed with the
next message's):
  client → {"v": 3, "argv": [...], "env": {...}, "cwd": "..."} + stdin, stdout, stderr
  service → {"call": OP, "args": {...}} (+ descriptors)   — zero or more, the client's files
  client  → {"ok": RESULT} or {"fail": {...}} (+ descriptors)
  service → {"exit": N}
The caller is never named in a message: the service asks the kernel (SO_PEERCRED: the
EFFECTIVE UID of the process that called connect(), as it was at that moment), and so does the
client about the service (it must be the account the station recorded, see client.py).

Both sides are hostile to each other: every name that crosses is checked with `safe_name` /
`safe_relative` (one path component, or a relative path made only of such), every count and
size is bounded, and every wait has a deadline (`Channel.recv(timeout=…)`).
"""

from __future__ import annotations

import json
import os
import select
import socket
import struct
import time
from pathlib import Path
from typing import Any

from zfjl.errors import ServiceError

# 2: a card's files opened many at a time (open_sources), each listing named by a token.
# 3: names checked on both sides (safe_relative), tree listings bounded, the client obeys
#    only its own command line, deadlines on every wait (docs/service.md).
PROTOCOL = 3
DEFAULT_SOCKET = Path("/run/zfjl/zfjl.sock")
MAX_LINE = 1 << 22  # a listing of a dump of many thousand files fits; nothing larger is sent
MAX_FDS = 64  # descriptors per message (the kernel allows 253)
MAX_NAME = 255  # bytes of one path component (NAME_MAX)
MAX_PATH = 4096  # bytes of a relative path (PATH_MAX)
MAX_DEPTH = 64  # components of a relative path
# A camera card's entries are opened by the client relative to folder descriptors and only
# named to the service (never opened by path there): a card may nest deeper than PATH_MAX,
# and such a file is evidence like any other (tests/test_ingest_unstored.py).
MAX_CARD_PATH = 1 << 15
MAX_CARD_DEPTH = 1024
MAX_TREE_FILES = 100_000  # files in a listing (a bag to verify, a camera card)
MAX_TREE_DIRS = 20_000  # folders in a listing
# Terminal settings that shape output; nothing else of the client's environment is taken.
PASSED_ENV = ("COLUMNS", "LINES", "TERM", "NO_COLOR", "FORCE_COLOR", "LANG", "LC_ALL")


def safe_name(name: object) -> bool:
    """One path component: a non-empty str, no '/', no NUL, not '.' or '..', ≤ NAME_MAX bytes."""
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\0" in name:
        return False
    try:
        return len(os.fsencode(name)) <= MAX_NAME
    except UnicodeError:
        return False


def safe_relative(rel: object, max_len: int = MAX_PATH, max_depth: int = MAX_DEPTH) -> bool:
    """A relative path made only of `safe_name` components (no leading '/', no '..', no '.',
    no empty component: 'a//b' and 'a/' are refused), bounded in length and depth."""
    if not isinstance(rel, str) or not rel or len(rel) > max_len:
        return False
    parts = rel.split("/")
    return len(parts) <= max_depth and all(safe_name(p) for p in parts)


def check_relative(rels: object, what: str, limit: int) -> list[str]:
    """`rels` as a list of `safe_relative` paths, at most `limit`; otherwise the whole request
    is refused (ServiceError): one bad name is a hostile or broken peer, not a file to skip."""
    if not isinstance(rels, list):
        raise ServiceError(f"{what}格式不对（协议错误）")
    if len(rels) > limit:
        raise ServiceError(f"{what}超过上限 {limit} 项，已拒绝（协议错误）")
    for rel in rels:
        if not safe_relative(rel):
            raise ServiceError(f"{what}含不安全的名称 {str(rel)[:80]!r}（绝对路径、“..”或空名），已拒绝")
    return rels


class Hangup(Exception):
    """The other side closed the connection (a client interrupted or killed)."""


class Channel:
    """One connection: send and receive whole messages, each with its descriptors."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = b""
        self._fds: list[int] = []

    def send(self, message: dict[str, Any], fds: list[int] | tuple[int, ...] = ()) -> None:
        # ASCII on the wire: a file name that is not valid UTF-8 (a GBK card) travels as its
        # surrogate escapes and arrives as the same OS name.
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode("ascii")
        try:
            if fds:
                sent = socket.send_fds(self.sock, [data], list(fds))
                data = data[sent:]
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise Hangup from exc

    def recv(self, timeout: float | None = None) -> tuple[dict[str, Any], list[int]]:
        """The next whole message; `timeout`: seconds the whole message may take (None: no
        limit), after which ServiceError — a peer trickling a byte now and then is stalling
        as surely as a silent one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buf:
            try:
                if deadline is not None and not _readable(self.sock, deadline):
                    self._close_fds()
                    raise ServiceError(f"对方 {timeout:g} 秒内未发来完整的消息（无应答），已断开（协议规定的时限）")
                chunk, fds, flags, _ = socket.recv_fds(self.sock, 1 << 16, MAX_FDS)
            except ConnectionResetError as exc:
                raise Hangup from exc
            self._fds.extend(fds)
            if flags & socket.MSG_CTRUNC:
                self._close_fds()
                raise ServiceError("收到的描述符过多（协议错误）")
            if not chunk:
                self._close_fds()
                raise Hangup
            self._buf += chunk
            if len(self._buf) > MAX_LINE:
                self._close_fds()
                raise ServiceError("消息过长（协议错误）")
        line, _, self._buf = self._buf.partition(b"\n")
        fds, self._fds = self._fds, []
        try:
            message = json.loads(line)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            for fd in fds:
                os.close(fd)
            raise ServiceError("收到无法解析的消息（协议错误）")
        return message, fds

    def _close_fds(self) -> None:
        while self._fds:
            os.close(self._fds.pop())


def _readable(sock: socket.socket, deadline: float) -> bool:
    """Something to read (or a hang-up) on `sock` before `deadline` (time.monotonic)."""
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            return bool(poller.poll(left * 1000))
        except InterruptedError:  # pragma: no cover - PEP 475 retries poll itself
            continue


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the peer as the kernel recorded them when the connection was made:
    the EFFECTIVE UID and GID of the process that called connect() (or listen(), seen from the
    client), at that moment — not its real UID, and not what it became afterwards."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", creds)
    return int(pid), int(uid), int(gid)


def client_env() -> dict[str, str]:
    return {k: os.environ[k] for k in PASSED_ENV if k in os.environ}

"""The wire between `zfjl` (the client) and `zfjl serve`: JSON lines over a Unix stream socket,
descriptors beside them (SCM_RIGHTS). See docs/service.md for why.

A conversation, strictly alternating (so a line and its descriptors are never mixed with the
next message's):
  client → {"v": 1, "argv": [...], "env": {...}, "cwd": "..."} + stdin, stdout, stderr
  service → {"call": OP, "args": {...}} (+ descriptors)   — zero or more, the client's files
  client  → {"ok": RESULT} or {"fail": {...}} (+ descriptors)
  service → {"exit": N}
The caller is never named in a message: the service asks the kernel (SO_PEERCRED).
"""

from __future__ import annotations

import json
import os
import socket
import struct
from pathlib import Path
from typing import Any

from zfjl.errors import ServiceError

# 2: a card's files opened many at a time (open_sources), each listing named by a token.
PROTOCOL = 2
DEFAULT_SOCKET = Path("/run/zfjl/zfjl.sock")
MAX_LINE = 1 << 22  # a listing of a dump of many thousand files fits; nothing larger is sent
MAX_FDS = 64  # descriptors per message (the kernel allows 253)
# Terminal settings that shape output; nothing else of the client's environment is taken.
PASSED_ENV = ("COLUMNS", "LINES", "TERM", "NO_COLOR", "FORCE_COLOR", "LANG", "LC_ALL")


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

    def recv(self) -> tuple[dict[str, Any], list[int]]:
        while b"\n" not in self._buf:
            try:
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


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the connecting process, as the kernel recorded them at connect()."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", creds)
    return int(pid), int(uid), int(gid)


def client_env() -> dict[str, str]:
    return {k: os.environ[k] for k in PASSED_ENV if k in os.environ}

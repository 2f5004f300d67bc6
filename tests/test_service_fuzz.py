"""A hostile client, generated: malformed requests and answers against a running `zfjl serve`.

Hypothesis makes the messages a client could send (bad JSON, wrong types, names that climb
out or are absolute, too many descriptors, folders and FIFOs for files, answers out of order
or never). Whatever it sends, the service writes nothing outside its scratch folder, stays up,
and another user's request still answers promptly. Bounded to run in seconds.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.test_service import Station, as_user, module_station
from tests.test_service_hostile import raw_request, settle, vault_files
from zfjl.service.protocol import MAX_FDS, PROTOCOL

# Users of this module's own (tests/conftest.py: OS_USER_MODULES).
SERVICE, ADMIN, CLERK, LEGAL = "zfjlfuzz_svc", "zfjlfuzz_admin", "zfjlfuzz_clerk", "zfjlfuzz_legal"


@pytest.fixture(scope="module", name="station")
def station_here() -> Iterator[Station]:
    yield from module_station(service=SERVICE, admin=ADMIN, clerk=CLERK, legal=LEGAL)


JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.text(max_size=6), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)  # fmt: skip
COMPONENT = st.one_of(
    st.sampled_from(["..", ".", "", "templates", "rules", "doctypes", "witness", "objects",
                     "catalog.db", "a", "x" * 300, "a\x00b", "\udcff"]),
    st.text(min_size=1, max_size=6),
)  # fmt: skip
ESCAPE = st.sampled_from([
    # Where a scratch copy must never land: the vault's own folders, absolute or climbed to
    # from the request's folder (tmp/serve-*/in.*/bag); "{vault}" is replaced when sent.
    "{vault}/templates/t.html", "{vault}/rules", "../../../templates/t.html",
    "../../../../rules/r.yaml", "ok/../../../../doctypes/d.yaml"])  # fmt: skip
NAME = st.one_of(
    ESCAPE, ESCAPE,  # often: a listing of plain names only tests less
    st.builds(lambda parts, absolute: ("/" if absolute else "") + "/".join(parts),
              st.lists(COMPONENT, min_size=1, max_size=4), st.booleans()),
)  # fmt: skip
LISTING = st.fixed_dictionaries({
    "kind": st.one_of(st.just("dir"), st.just("dir"), st.just("file"), JUNK),
    "dirs": st.one_of(st.lists(NAME, max_size=4), st.lists(NAME, max_size=4), JUNK),
    "files": st.one_of(st.lists(NAME, max_size=4), st.lists(NAME, max_size=4), JUNK),
})  # fmt: skip
DISCOVERY = st.fixed_dictionaries({
    "token": st.one_of(st.text(max_size=4), JUNK), "root": st.one_of(NAME, JUNK),
    "files": st.one_of(st.lists(st.fixed_dictionaries({
        "rel_os": NAME, "rel": NAME, "name": COMPONENT, "name_hex": st.one_of(st.none(), JUNK),
        "identity": st.one_of(JUNK, st.fixed_dictionaries({k: st.integers(0, 2**40) for k in
                                                          ("size", "mtime_ns", "ino", "dev")})),
    }), max_size=3), JUNK),
    "skipped": st.one_of(st.just([]), JUNK), "dir_ids": st.one_of(st.just([]), JUNK),
})  # fmt: skip
# One answer of the client: a JSON message, or raw bytes; with descriptors of these kinds.
ANSWER = st.tuples(
    st.one_of(
        st.builds(lambda v: {"ok": v}, LISTING),  # most answers look right, to get deeper
        st.builds(lambda v: {"ok": v}, LISTING),
        st.builds(lambda v: {"ok": v}, DISCOVERY),
        st.builds(lambda v: {"ok": v}, JUNK),
        st.builds(lambda v: {"fail": v}, st.one_of(JUNK, st.just({"kind": "oserror", "errno": "x"}))),
        JUNK.map(lambda v: {"other": v}),
        st.sampled_from([b"{not json\n", b"[1,2]\n", b"\n", b'"x"\n', b"\xff\xfe\n"]),
    ),
    st.lists(st.sampled_from(["null", "dir", "fifo", "file"]), max_size=6),
)
VERIFY, INGEST = ["bundle", "verify", "bag"], ["ingest", "CARD"]
REQUEST = st.one_of(
    st.just(VERIFY), st.just(VERIFY), st.just(INGEST),  # most requests reach the client's files
    st.sampled_from([["bundle", "verify", "bag"], ["ingest", "CARD"], ["case", "import", "c.yaml"],
                     ["ls"], ["serve"], ["--vault=/", "ls"], [""], ["--", "ls"]]),
    st.lists(st.one_of(st.text(max_size=5), JUNK), max_size=3),
    st.sampled_from([b"{bad\n", b"[]\n", b'{"v": 3}\n', b'{"v": "3", "argv": "ls"}\n']),
)  # fmt: skip


def open_kind(kind: str, fifo: str) -> int:
    if kind == "dir":
        return os.open("/", os.O_RDONLY)
    if kind == "fifo":
        return os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    return os.open("/etc/hosts" if kind == "file" else os.devnull, os.O_RDONLY)


def hostile(sock_path: str, request: Any, fds: int, answers: list[tuple[Any, list[str]]],
            fifo: str, vault: str) -> int:  # fmt: skip
    """One conversation: the request, then each answer in turn to whatever the service says."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sock_path)
    std = [os.open(os.devnull, os.O_RDWR) for _ in range(fds)]
    try:
        line = request if isinstance(request, bytes) else (json.dumps(
            {"v": PROTOCOL, "argv": request, "env": {}, "cwd": "/"}) + "\n").encode()  # fmt: skip
        socket.send_fds(sock, [line], std)
        sock.settimeout(10)
        for message, kinds in answers:
            if not sock.recv(1 << 20):  # the service's next line (or its exit and close)
                break
            data = message if isinstance(message, bytes) else (
                json.dumps(message).replace("{vault}", vault) + "\n").encode()  # fmt: skip
            attached = [open_kind(k, fifo) for k in kinds]
            try:
                socket.send_fds(sock, [data], attached)
            finally:
                for fd in attached:
                    os.close(fd)
    except OSError:
        pass  # the service hung up on us: that is an answer too
    finally:
        for fd in std:
            os.close(fd)
        sock.close()
    return 0


def test_a_hostile_client_cannot_write_outside_the_scratch_nor_stop_the_service(
    station: Station,
) -> None:
    fifo = station.base / "fuzz.fifo"
    if not fifo.exists():
        os.mkfifo(fifo, 0o666)
    before = vault_files(station)
    sock_path = str(station.layout.socket)

    @settings(max_examples=20, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(request=REQUEST, fds=st.sampled_from([3, 3, 0, 4, MAX_FDS]),
           answers=st.lists(ANSWER, max_size=3))  # fmt: skip
    # The red team's own (issue 23), always tried: a folder, then a file, climbing out.
    @example(request=VERIFY, fds=3, answers=[
        ({"ok": {"kind": "dir", "dirs": ["../../../../templates"], "files": []}}, [])])
    @example(request=VERIFY, fds=3, answers=[
        ({"ok": {"kind": "dir", "dirs": [], "files": ["../../../../rules/r.yaml"]}}, []),
        ({"ok": None}, ["file"])])  # fmt: skip
    def conversation(request: Any, fds: int, answers: list[tuple[Any, list[str]]]) -> None:
        res = as_user(CLERK, lambda: hostile(sock_path, request, fds, answers, str(fifo),
                                             str(station.layout.vault)),
                      cwd=station.home(CLERK), env={})  # fmt: skip
        assert res.code == 0, res.err
        assert station.server.poll() is None, "the service died"
        settle(station)
        assert vault_files(station) == before
        started = time.monotonic()
        ls = as_user(LEGAL, lambda: print(json.dumps(raw_request(station.layout.socket,
                                                                 ["ls", "--json"]))) or 0,
                     cwd=station.home(LEGAL), env={})  # fmt: skip
        assert json.loads(ls.out.strip().splitlines()[-1]).get("exit") == 0, ls.out + ls.err
        assert time.monotonic() - started < 5, "another user's ls waited"  # ~0.2 s unloaded
    conversation()

"""Issue 23 through the service: a bundle's scans pass the one authority check, and the
bundle is journaled before the client is handed its first descriptor (a client that keeps
what it got and dies is on record). Its own station (own OS users) so that it can run beside
tests/test_service.py; that module's helpers are reused."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from zfjl.sample import SampleFile

from .doors import catalog_rows_at, journal_events_at
from .test_service import Station, as_user, module_station

SERVICE, ADMIN, CLERK, LEGAL = "zfjlbag_svc", "zfjlbag_admin", "zfjlbag_clerk", "zfjlbag_legal"


@pytest.fixture(scope="module")
def station() -> Iterator[Station]:
    yield from module_station(service=SERVICE, admin=ADMIN, clerk=CLERK, legal=LEGAL)


@pytest.fixture(scope="module")
def ingested(station: Station, sample_template: tuple[Path, list[SampleFile]]) -> list[str]:
    """The run's sample camera dump (made once), copied into the clerk's home and ingested."""
    card = station.home(CLERK) / "DSJ01"
    shutil.copytree(sample_template[0], card)
    entry = pwd.getpwnam(CLERK)
    for folder, _, names in os.walk(card):
        for p in [folder, *(os.path.join(folder, n) for n in names)]:
            os.chown(p, entry.pw_uid, entry.pw_gid)
    done = station.run(CLERK, "ingest", "DSJ01", "--json")
    assert done.code == 0, done.err
    report = done.json()
    assert isinstance(report, dict)
    return [f["id"] for f in report["files"] if f.get("id") and f["status"] == "new"]


def _case_file(station: Station, user: str, case: str, *, media: str = "", scan: str = "") -> None:
    text = (f"case: {case}\nkind: 处罚\nprocedure: 一般\ncause: 占道经营\n"
            "party: {type: 个人, name: 张三}\norigin: 依职权\nopened_at: 2026-11-30T09:00\n"
            "documents:\n  - {id: d-x, type: 现场检查笔录, date: 2026-11-30T10:00"
            + (f", scan: '{scan[:16]}'" if scan else "") + "}\n"
            + (f"media:\n  - {{recording: '{media[:16]}', activity: 现场检查}}\n" if media
               else "media: []\n"))  # fmt: skip
    home = station.home(user)

    def write() -> int:
        (home / f"{case}.yaml").write_text(text, encoding="utf-8")
        return 0

    as_user(user, write, cwd=home, env={})
    res = station.run(user, "case", "import", f"{case}.yaml")
    assert res.code == 0, res.err


def _journal(station: Station, kind: str, subject: str) -> list[tuple[str, dict[str, object]]]:
    return [(e.actor, e.data) for e in journal_events_at(station.layout.vault, kind, subject)]


def _sha256(station: Station, oid: str) -> str:
    (row,) = catalog_rows_at(station.layout.vault, "objects", id=oid)
    return str(row["sha256"])


def test_a_scan_of_a_refused_recording_is_refused_through_the_service(
    station: Station, ingested: list[str]
) -> None:
    secret = ingested[2]
    _case_file(station, CLERK, "CASE-2026-201", scan=secret)
    res = station.run(CLERK, "bundle", "make", "CASE-2026-201", "--purpose", "court", "-o", "bag")
    assert res.code == 8 and "扫描件" in res.err and "Traceback" not in res.err
    assert not (station.home(CLERK) / "bag").exists()
    assert not [p for p in station.home(CLERK).iterdir() if p.name.startswith(".zfjl-staging-")]
    denied = _journal(station, "access.denied", secret)
    assert [(a, d["purpose"]) for a, d in denied] == [(CLERK, "案件包：向人民法院提供")]


def test_a_client_killed_at_its_first_descriptor_is_already_journaled(
    station: Station, ingested: list[str]
) -> None:
    media, scan = ingested[0], ingested[1]
    _case_file(station, LEGAL, "CASE-2026-202", media=media, scan=scan)
    # The client dies (SIGKILL) the moment the service hands it the first file descriptor.
    die = """
import os, signal
from zfjl.service import client
_put = client.Handler.op_tree_put
def put(self, args, fds):
    if fds:
        os.kill(os.getpid(), signal.SIGKILL)
    return _put(self, args, fds)
client.Handler.op_tree_put = put
"""
    res = station.run(LEGAL, "bundle", "make", "CASE-2026-202", "--purpose", "court",
                      "--approval", "株城管复〔2026〕7号", "-o", "bag", hook=die)  # fmt: skip
    assert res.code == -signal.SIGKILL, res.err
    (row,) = _journal(station, "case.bundle", "case:CASE-2026-202")
    actor, data = row
    assert actor == LEGAL and data["approval"] == "株城管复〔2026〕7号"
    objects = data["objects"]
    assert isinstance(objects, list)
    assert {o["id"]: o["sha256"] for o in objects} == {
        media: _sha256(station, media), scan: _sha256(station, scan)}  # fmt: skip
    home = station.home(LEGAL)
    assert not (home / "bag").exists()
    # The next bundle into that folder removes what the killed client left, and completes.
    again = station.run(LEGAL, "bundle", "make", "CASE-2026-202", "--purpose", "court",
                        "--approval", "株城管复〔2026〕7号", "-o", "bag")  # fmt: skip
    assert again.code == 0, again.err
    assert not [p for p in home.iterdir() if p.name.startswith(".zfjl-staging-")]
    assert len(_journal(station, "case.bundle", "case:CASE-2026-202")) == 2
    assert station.run(LEGAL, "bundle", "verify", "bag").code == 0
    tar = station.run(LEGAL, "bundle", "make", "CASE-2026-202", "--purpose", "court",
                      "--approval", "株城管复〔2026〕7号", "-o", "bag.tar")  # fmt: skip
    assert tar.code == 0, tar.err
    assert (home / "bag.tar").stat().st_uid == pwd.getpwnam(LEGAL).pw_uid
    assert station.run(LEGAL, "bundle", "verify", "bag.tar").code == 0

"""Redaction and disclosure through the station's service (issue 26): the clerk's command runs
in the service as the clerk (the journal says so), ffmpeg reads the object there, and the
disclosed copy and its receipt land in the clerk's own 0700 folder, which the service account
cannot open. Its own station (own OS users), as tests/test_bundle_service.py."""

from __future__ import annotations

import json
import os
import pwd
import sqlite3
from collections.abc import Iterator

import pytest

from zfjl.sample import make_video

from .conftest import RECORDED
from .test_service import Station, module_station

SERVICE, ADMIN, CLERK, LEGAL = "zfjlred_svc", "zfjlred_admin", "zfjlred_clerk", "zfjlred_legal"


@pytest.fixture(scope="module")
def station() -> Iterator[Station]:
    yield from module_station(service=SERVICE, admin=ADMIN, clerk=CLERK, legal=LEGAL)


def _journal(station: Station, kind: str) -> list[tuple[str, dict[str, object]]]:
    db = sqlite3.connect(f"file:{station.layout.vault / 'catalog.db'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT actor, data FROM journal WHERE kind = ? ORDER BY seq",
                          (kind,)).fetchall()  # fmt: skip
    finally:
        db.close()
    return [(actor, json.loads(data)) for actor, data in rows]


def test_a_clerk_redacts_and_discloses_through_the_service(station: Station) -> None:
    card = station.home(CLERK) / "DSJ01"
    card.mkdir()
    make_video(card / "DSJ01_20240503_101530_0001.MP4", RECORDED, seconds=1.0)
    entry = pwd.getpwnam(CLERK)
    for p in (card, *card.iterdir()):
        os.chown(p, entry.pw_uid, entry.pw_gid)
    done = station.run(CLERK, "ingest", "DSJ01", "--json")
    assert done.code == 0, done.err
    report = done.json()
    assert isinstance(report, dict)
    (oid,) = [f["id"] for f in report["files"] if f.get("id")]
    refused = station.run(CLERK, "redact", oid[:12], "--mute", "0-0.5")
    assert refused.code == 8 and "拒绝查阅" in refused.err
    granted = station.run(LEGAL, "grant", "add", CLERK, "--recording", oid[:12], "--scope", "copy",
                          "--approved-by", "王局长", "--approval-no", "局批〔2026〕9号",
                          "--until", "2099-12-31")  # fmt: skip
    assert granted.code == 0, granted.err
    made = station.run(CLERK, "redact", oid[:12], "--box", "16,16,64,64@0-1", "--json")
    assert made.code == 0, made.err
    derivative = made.json()
    assert isinstance(derivative, dict)
    given = station.run(CLERK, "disclose", oid[:12], "--derivative", str(derivative["id"])[:12],
                        "--to", "张三", "--approval-no", "局批〔2026〕10号", "-o", "给张三", "--json")  # fmt: skip
    assert given.code == 0, given.err
    out = station.home(CLERK) / "给张三"
    copy = out / f"DSJ01_20240503_101530_0001_删减副本_{str(derivative['id'])[:12]}.mp4"
    assert copy.stat().st_uid == entry.pw_uid and copy.stat().st_size == derivative["size"]
    assert (out / f"DSJ01_20240503_101530_0001_提供回执_{str(derivative['id'])[:12]}.pdf").stat().st_size > 0
    assert [a for a, _ in _journal(station, "access.read")] == [CLERK]
    assert [a for a, _ in _journal(station, "derivative.make")] == [CLERK]
    (who, data), = _journal(station, "derivative.disclose")
    assert who == CLERK and data["party"] == "张三" and data["dest"] == str(copy)

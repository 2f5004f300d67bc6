"""Issue 14: exiftool off the path to "stored". A file is stored (durable, BLAKE3-named, its
sighting journaled) before its metadata is read; the describe stage journals the recording
right behind, and whatever runs next (an ingest, `zfjl seal`, the service) describes what a
killed run left — identically to an uninterrupted run."""

from __future__ import annotations

import _thread
import json
import os
import shutil
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from zfjl.ingest import IngestOptions, Progress, ingest
from zfjl.ingest.describe import describe, finish, undescribed
from zfjl.ingest.probe import Prober
from zfjl.ingest.station import ingest_sources
from zfjl.retention import sweep
from zfjl.vault import Vault, events
from zfjl.vault.query import RecordingFilter, list_recordings
from zfjl.vault.seal import unsealed
from zfjl.vault.verify import verify

from .conftest import INGEST_CLOCK, fixed_clock, ingest_killed_once_stored, init_vault
from .doors import (
    catalog_column,
    catalog_count,
    catalog_rows,
    journal_events,
    journal_kinds,
    payloads,
)

STORE_ONLY = IngestOptions(describe=False, seal=False)  # what a kill right after "stored" leaves


def _recordings(v: Vault) -> dict[str, dict[str, Any]]:
    """Each recording's row, less what names the run (each vault's runs have their own ids)."""
    rows = sorted(catalog_rows(v, "recordings"), key=lambda r: r["id"])
    return {r["id"]: {c: x for c, x in r.items() if c != "run"} for r in rows}


def _kinds(v: Vault, oid: str) -> list[str]:
    return journal_kinds(v, oid)


def test_stored_then_described_then_sealed_each_journaled_once(vault: Vault, dump: Path) -> None:
    stages: list[str] = []
    report = ingest(vault, dump, progress=lambda p: stages.append(p.stage))
    order = [s for s in stages if s in ("stored", "described", "sealed")]
    assert order == ["stored", "described", "sealed"]
    new = [f for f in report.files if f.status == "new"]
    assert new and report.probed == len(new)
    assert all(f.kind is not None for f in new)  # the report tells what each file is
    for f in new:
        assert f.id is not None
        assert _kinds(vault, f.id) == ["object.add", "object.seen", "recording.describe",
                                       "object.digests"]  # fmt: skip
    # object.add names the bytes only; the recording's time of ingest is the storing's.
    adds = payloads(vault, events.ObjectAdd)
    assert adds and all(a.recording is None for a in adds)
    stored_at = {o["id"]: o["stored_at"] for o in catalog_rows(vault, "objects")}
    assert [r["id"] for r in catalog_rows(vault, "recordings")
            if r["ingested_at"] != stored_at[r["id"]]] == []  # fmt: skip
    assert report.described_seconds is not None
    assert report.stored_seconds <= report.described_seconds <= (report.sealed_seconds or 0)
    assert verify(vault).ok and not [f for f in verify(vault).findings if f.code == "undescribed"]


def test_a_recording_described_later_is_the_one_described_at_once(dump: Path, tmp_path: Path) -> None:
    """A kill between "stored" and "described" (STORE_ONLY) then `finish`: the same rows, with
    the killed run's options (--device) and its time of ingest (art. 37's lateness), not the
    describer's."""
    at_once = init_vault(tmp_path / "a", bureau="测试局", clock=fixed_clock(INGEST_CLOCK))
    later = init_vault(tmp_path / "b", bureau="测试局", clock=fixed_clock(INGEST_CLOCK))
    with at_once, later:
        ingest(at_once, dump, IngestOptions(device="DSJ09", officer="054321"))
        stored = ingest(later, dump, IngestOptions(device="DSJ09", officer="054321",
                                                   describe=False, seal=False))  # fmt: skip
        assert all(f.kind is None for f in stored.files)
        assert len(undescribed(later)) == stored.count("new")
        assert list_recordings(later, RecordingFilter()) == []  # not a recording yet
        assert catalog_count(later, "recordings") == 0
        found = verify(later)
        assert found.ok and len([f for f in found.findings if f.code == "undescribed"]) == len(
            undescribed(later))
        # A month on, another clock: the description still dates the ingest to the storing.
        described = Vault.open(tmp_path / "b", clock=fixed_clock(INGEST_CLOCK.replace(month=6)))
        with described:
            report = finish(described)
            assert report.describe.described == stored.count("new")
            assert report.seal.sealed == stored.count("new")
            assert _recordings(described) == _recordings(at_once)
            # ... which would differ had the run's --device been lost: it is checked against names
            assert any("device_mismatch" in r["warnings"] for r in _recordings(described).values())
            assert not undescribed(described) and not unsealed(described)
            assert finish(described).describe.described == 0  # idempotent
            assert verify(described, digests=True).ok


def test_an_undescribed_object_is_never_swept(vault: Vault, dump: Path) -> None:
    report = ingest(vault, dump, STORE_ONLY)
    far = INGEST_CLOCK.replace(year=INGEST_CLOCK.year + 5)
    items = list(sweep.classify(vault, far))
    assert len(items) == report.count("new")
    assert {i.cls for i in items} == {"unknown"} and not any(i.due for i in items)
    assert sweep.plan(vault, far).due == []


def test_sightings_before_the_description_add_their_marks(vault: Vault, dump: Path, tmp_path: Path) -> None:
    """The same clip docked twice before it was described, the second time marked IMP: the
    recording, once described, is important (as a sighting after the description would make it)."""
    clip = next(p for p in sorted(dump.rglob("*.MP4")) if "IMP" not in p.name)
    again = tmp_path / "again" / "DSJ01"
    again.mkdir(parents=True)
    shutil.copy2(clip, again / clip.name.replace(".MP4", "_IMP.MP4"))
    ingest(vault, dump, STORE_ONLY)
    ingest(vault, again, STORE_ONLY)
    oid = catalog_column(vault, "sightings", "object_id", original_name=clip.name)[0]
    assert describe(vault).described >= 1
    (row,) = catalog_rows(vault, "recordings", id=oid)
    assert (row["important"], row["original_name"]) == (1, clip.name)  # described from the first sighting, marked by the second


def test_a_station_describes_once_every_camera_is_stored(vault: Vault, dump: Path, tmp_path: Path) -> None:
    second = tmp_path / "media" / "DSJ02"
    shutil.copytree(dump, second)
    for p in second.rglob("*"):  # other bytes: a camera of its own
        if p.is_file():
            os.chmod(p, 0o644)
            with open(p, "ab") as f:
                f.write(b"DSJ02")
    stages: list[tuple[int, str]] = []
    lock = threading.Lock()

    def seen(i: int, p: Progress) -> None:
        with lock:
            stages.append((i, p.stage))

    outcomes, sealed = ingest_sources(vault, [str(dump), str(second)], IngestOptions(),
                                      progress=seen, workers=2)  # fmt: skip
    marks = [s for s in stages if s[1] in ("stored", "described")]
    assert sorted(marks[:2]) == [(0, "stored"), (1, "stored")]  # both stored before any described
    assert sorted(marks[2:]) == [(0, "described"), (1, "described")]
    for o in outcomes:
        assert o.report is not None
        new = [f for f in o.report.files if f.status == "new"]
        assert new and all(f.kind for f in new) and o.report.probed == len(new)
    assert sealed is not None and not unsealed(vault) and not undescribed(vault)


def test_kill_9_after_stored_then_zfjl_seal_describes_and_seals(dump: Path, tmp_path: Path) -> None:
    root = tmp_path / "vault"
    zfjl = ingest_killed_once_stored(root, dump)
    with Vault.open(root) as v:
        objects = set(catalog_column(v, "objects", "id"))
        sighted = set(catalog_column(v, "sightings", "object_id"))
        assert objects and objects == sighted  # every stored file's sighting is journaled
        left = len(undescribed(v))  # what the kill left (at most all of them)
    done = zfjl("seal", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    with Vault.open(root) as v:
        assert not undescribed(v) and not unsealed(v)
        assert result["described"] == left
        assert {r["id"] for r in list_recordings(v, RecordingFilter())} == objects
        assert verify(v, digests=True).ok
    text = zfjl("seal")
    assert text.returncode == 0 and "读取元数据" not in text.stdout  # nothing left to describe


def test_the_custody_log_says_what_the_description_found(vault: Vault, dump: Path) -> None:
    from zfjl.access.custody import describe as line
    from zfjl.dates import chinese_time

    ingest(vault, dump)
    seen = 0
    for ev in journal_events(vault, events.RecordingDescribe):
        if ev.kind == events.RecordingDescribe.kind:
            rec = ev.data["recording"]
            assert line(ev).startswith(rec["original_name"])
            assert chinese_time(rec["recorded_at"]) in line(ev)  # 2024年5月3日 10:15
            seen += 1
        elif ev.kind == events.ObjectAdd.kind:
            assert line(ev) == f"{ev.data['object']['size']} 字节"
    assert seen


def test_an_exiftool_killed_mid_answer_is_replaced_and_the_describe_finishes(
    dump: Path, tmp_path: Path
) -> None:
    """pyexiftool alone polls a dead exiftool's pipe for ever: the ingest hung. Now the dead
    process is reaped and replaced, the batch asked again, and every recording is the one an
    undisturbed run describes."""
    calm = init_vault(tmp_path / "calm", bureau="测试局", clock=fixed_clock(INGEST_CLOCK))
    hit = init_vault(tmp_path / "hit", bureau="测试局", clock=fixed_clock(INGEST_CLOCK))
    with calm, hit, Prober(processes=1) as prober:
        ingest(calm, dump, IngestOptions(seal=False))
        ingest(hit, dump, STORE_ONLY)
        with hit.objects.local_path(next(hit.objects.list_oids())) as path:
            prober.exif([path])  # started, answering
        victim = prober._all[0]._process
        os.kill(victim.pid, signal.SIGSTOP)  # it takes the next question but cannot answer
        # Killed once the question is asked and the describer waits in the answer; the
        # watchdog turns a hang (the bug) into a failure.
        killer = threading.Timer(0.5, os.kill, (victim.pid, signal.SIGKILL))
        watchdog = threading.Timer(30, _thread.interrupt_main)
        killer.start(), watchdog.start()
        try:
            described = describe(hit, prober).described
        except KeyboardInterrupt:
            pytest.fail("describe hung on a dead exiftool")
        finally:
            watchdog.cancel()
        assert described == len(_recordings(calm)) and victim.poll() is not None
        assert prober._all[0]._process is not victim  # a new process took its place
        assert _recordings(hit) == _recordings(calm)
        assert not undescribed(hit)

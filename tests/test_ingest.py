"""Ingest of a real camera dump: every file stored, metadata read, nothing changed or lost."""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path

import pytest

from zfjl.errors import ZfjlError
from zfjl.ingest import IngestOptions, ingest
from zfjl.ingest.names import identity_name, parse_name
from zfjl.sample import GBK_NAME, SampleFile, make_video, set_mtime
from zfjl.vault import Vault
from zfjl.vault.query import RecordingFilter, list_recordings, show_recording
from zfjl.vault.settings import set_setting
from zfjl.vault.verify import verify

from .conftest import INGEST_CLOCK, RECORDED, TZ, fixed_clock, tree_digest
from .doors import catalog_count, object_bytes


def by_name(vault: Vault) -> dict[str, dict]:  # type: ignore[type-arg]
    return {r["original_name"]: r for r in list_recordings(vault, RecordingFilter())}


def test_every_file_of_the_dump_is_stored_and_classified(
    vault: Vault, dump: Path, sample_files: list[SampleFile], run_ingest
) -> None:  # type: ignore[no-untyped-def]
    report = run_ingest(dump)
    assert report.summary()["new"] == len(sample_files) and report.failed == 0
    rows = by_name(vault)
    assert len(rows) == len(sample_files)
    for sf in sample_files:
        row = rows[Path(sf.rel).name]
        assert row["kind"] == sf.kind, sf.rel
        assert row["device"] == sf.device, sf.rel
        assert row["officer"] == sf.officer, sf.rel
        assert row["important"] == sf.important, sf.rel
        stored = object_bytes(vault, row["id"])
        assert stored == (dump / _os_rel(sf)).read_bytes()


def _os_rel(sf: SampleFile) -> str:
    return os.fsdecode(os.path.join(b"RECORD", GBK_NAME)) if sf.note == "gbk" else sf.rel


def test_metadata_times_and_durations(vault: Vault, dump: Path, run_ingest) -> None:  # type: ignore[no-untyped-def]
    run_ingest(dump)
    rows = by_name(vault)
    first = show_recording(vault, rows["DSJ01_20240503_101530_0001.MP4"]["id"])
    assert first["recorded_at"] == "2024-05-03T10:15:30+08:00"
    assert first["name_time"] == first["meta_time"] == "2024-05-03T10:15:30+08:00"
    assert first["mtime"] == "2024-05-03T10:15:32+08:00"
    assert first["time_source"] == "name" and first["clock_skew"] is False
    assert first["duration"] == pytest.approx(2.0, abs=0.1)
    assert first["metadata"]["File:MIMEType"] == "video/mp4"
    assert "File:Directory" not in first["metadata"]  # describes the vault copy, not the original
    photo = show_recording(vault, rows["DSJ_DSJ03_012345_20240503_102530_IMP.JPG"]["id"])
    assert photo["meta_time"] == "2024-05-03T10:25:30+08:00"
    assert (photo["make"], photo["model"], photo["serial"]) == ("ZFJL-SAMPLE", "DSJ-V9", "SN0003")
    assert photo["gps_lat"] == pytest.approx(27.8274) and photo["gps_lon"] == pytest.approx(113.134)
    amr = show_recording(vault, rows["DSJ01_20240503_103530_0004.AMR"]["id"])
    assert amr["kind"] == "audio" and amr["duration"] == pytest.approx(2.0, abs=0.1)
    assert amr["metadata"]["zfjl:AMR"] == {
        "codec": "amr_nb",
        "frames": 100,
        "duration": 2.0,
        "damaged": False,
    }
    assert amr["file_type"] == "AMR"
    wav = rows["DSJ01_20240503_103030_0003.WAV"]
    assert wav["kind"] == "audio" and wav["duration"] == pytest.approx(2.0, abs=0.1)


def test_bad_files_are_stored_with_warnings(vault: Vault, dump: Path, run_ingest) -> None:  # type: ignore[no-untyped-def]
    report = run_ingest(dump)
    warnings = {Path(f.path).name: {w["code"] for w in f.warnings} for f in report.files}
    assert "corrupt_media" in warnings["DSJ01_20240503_104030_0005.MP4"]
    assert "empty_file" in warnings["EMPTY.LOG"]
    rows = by_name(vault)
    assert rows["EMPTY.LOG"]["size"] == 0
    assert rows["DEVICE.INI"]["kind"] == "other"


def test_gbk_file_name_is_decoded_and_its_bytes_kept(vault: Vault, dump: Path, run_ingest) -> None:  # type: ignore[no-untyped-def]
    run_ingest(dump)
    row = by_name(vault)["执法记录_询问.mp4"]
    sighting = show_recording(vault, row["id"])["sightings"][0]
    assert bytes.fromhex(sighting["name_hex"]) == GBK_NAME
    assert sighting["source_path"] == "RECORD/执法记录_询问.mp4"


def test_source_is_byte_identical_afterwards(vault: Vault, dump: Path, run_ingest) -> None:  # type: ignore[no-untyped-def]
    before = tree_digest(dump)
    atimes = {p: p.stat().st_atime_ns for p in dump.rglob("*") if p.is_file()}
    run_ingest(dump)
    assert tree_digest(dump) == before
    assert {p: p.stat().st_atime_ns for p in atimes} == atimes  # opened with O_NOATIME


def test_reingest_adds_nothing_and_records_the_sighting(
    vault: Vault, dump: Path, run_ingest
) -> None:  # type: ignore[no-untyped-def]
    first = run_ingest(dump)
    objects = sorted(p.name for p in (vault.root / "objects").rglob("*") if p.is_file())
    second = run_ingest(dump)
    s = second.summary()
    assert s["new"] == 0 and s["already_stored"] == len(first.files) and s["bytes_copied"] == 0
    assert sorted(p.name for p in (vault.root / "objects").rglob("*") if p.is_file()) == objects
    assert catalog_count(vault, "recordings") == len(first.files)
    assert catalog_count(vault, "sightings") == 2 * len(first.files)
    assert verify(vault).ok


def test_file_renamed_imp_on_the_camera_is_the_same_object(
    vault: Vault, dump: Path, run_ingest
) -> None:  # type: ignore[no-untyped-def]
    run_ingest(dump)
    old = dump / "DCIM/100MEDIA/DSJ01_20240503_101530_0001.MP4"
    new = old.with_name("DSJ01_20240503_101530_0001_IMP.MP4")
    old.rename(new)
    report = run_ingest(dump)
    assert report.summary()["new"] == 0
    row = by_name(vault)["DSJ01_20240503_101530_0001.MP4"]
    assert row["important"] is True
    names = [s["original_name"] for s in show_recording(vault, row["id"])["sightings"]]
    assert names == ["DSJ01_20240503_101530_0001.MP4", "DSJ01_20240503_101530_0001_IMP.MP4"]
    assert identity_name(new.name) == old.name


def test_ls_json_fields_and_filters(vault: Vault, dump: Path, run_ingest) -> None:  # type: ignore[no-untyped-def]
    run_ingest(dump)
    rows = list_recordings(vault, RecordingFilter())
    required = {
        "id",
        "sha256",
        "size",
        "kind",
        "device",
        "officer",
        "recorded_at",
        "duration",
        "original_name",
        "ingested_at",
        "late",
        "important",
    }
    assert all(required <= set(r) for r in rows)
    dsj01 = list_recordings(vault, RecordingFilter(device="DSJ01"))
    assert {r["device"] for r in dsj01} == {"DSJ01"} and len(dsj01) == 4
    assert len(list_recordings(vault, RecordingFilter(officer="012345"))) == 2
    assert {r["kind"] for r in list_recordings(vault, RecordingFilter(kind="audio"))} == {"audio"}
    assert len(list_recordings(vault, RecordingFilter(important=True))) == 2
    window = list_recordings(
        vault, RecordingFilter(since="2024-05-03T10:21", until="2024-05-03T10:31")
    )
    assert [r["original_name"] for r in window] == [
        "DSJ_DSJ03_012345_20240503_102530_IMP.JPG",
        "DSJ01_20240503_103030_0003.WAV",
    ]
    assert list_recordings(vault, RecordingFilter(late=True)) == []


def test_show_accepts_a_unique_prefix_only(vault: Vault, dump: Path, run_ingest) -> None:  # type: ignore[no-untyped-def]
    from zfjl.errors import NotFoundError, UsageError

    run_ingest(dump)
    oid = list_recordings(vault, RecordingFilter())[0]["id"]
    assert show_recording(vault, oid[:8])["id"] == oid
    kinds = [e["kind"] for e in show_recording(vault, oid)["events"]]
    # stored, then described, then sealed
    assert kinds == ["object.add", "object.seen", "recording.describe", "object.digests"]
    with pytest.raises(NotFoundError):
        show_recording(vault, "0000")
    with pytest.raises(UsageError):
        show_recording(vault, "xyz")


# -- art. 37: stored within 2 working days -----------------------------------------------------
def _single_video(tmp_path: Path, when: dt.datetime, name: str | None = None) -> Path:
    folder = tmp_path / "card"
    folder.mkdir(exist_ok=True)
    path = folder / (name or f"DSJ01_{when:%Y%m%d_%H%M%S}_0001.MP4")
    make_video(path, when, seconds=1.0)
    set_mtime(path, when + dt.timedelta(seconds=1))
    return folder


def _ingest_at(tmp_path: Path, clock: dt.datetime, folder: Path) -> dict:  # type: ignore[type-arg]
    v = (
        Vault.open(tmp_path / "vault", clock=fixed_clock(clock))
        if (tmp_path / "vault").exists()
        else Vault.create(tmp_path / "vault", clock=fixed_clock(clock))
    )
    with v:
        ingest(v, folder)
        rows = list_recordings(v, RecordingFilter())
        return show_recording(v, rows[-1]["id"])


@pytest.mark.parametrize(
    ("ingested", "late"),
    [
        # Made Mon 30 Sep 2024; 1-7 Oct is the National Day holiday: the 2 working days
        # are Tue 8 and Wed 9 Oct (a plain weekday count would wrongly end on 2 Oct).
        (dt.datetime(2024, 10, 9, 23, 0, tzinfo=TZ), False),
        (dt.datetime(2024, 10, 10, 8, 0, tzinfo=TZ), True),
    ],
)
def test_late_upload_uses_the_official_calendar(
    tmp_path: Path, ingested: dt.datetime, late: bool
) -> None:
    folder = _single_video(tmp_path, dt.datetime(2024, 9, 30, 16, 0, tzinfo=TZ))
    rec = _ingest_at(tmp_path, ingested, folder)
    assert rec["late"] is late
    assert rec["late_deadline"] == "2024-10-09"


def test_make_up_working_day_counts(tmp_path: Path) -> None:
    # Fri 10 Oct 2025 → Sat 11 Oct 2025 is a make-up working day (调休上班), then Mon 13.
    folder = _single_video(tmp_path, dt.datetime(2025, 10, 10, 9, 0, tzinfo=TZ))
    rec = _ingest_at(tmp_path, dt.datetime(2025, 10, 14, 9, 0, tzinfo=TZ), folder)
    assert rec["late_deadline"] == "2025-10-13" and rec["late"] is True


def test_uncovered_year_is_unknown_until_the_bureau_adds_its_notice(tmp_path: Path) -> None:
    from zfjl.workdays import add_notice

    folder = _single_video(tmp_path, dt.datetime(2031, 1, 2, 9, 0, tzinfo=TZ))
    rec = _ingest_at(tmp_path, dt.datetime(2031, 1, 3, 9, 0, tzinfo=TZ), folder)
    assert rec["late"] is None and "未覆盖" in rec["late_note"]
    assert "late_unknown" in {w["code"] for w in rec["warnings"]}
    notice = tmp_path / "2031.yaml"
    notice.write_text(
        "year: 2031\nnotice: 国务院办公厅关于2031年部分节假日安排的通知（测试）\n"
        "holidays:\n  - {name: 元旦, from: 2031-01-01, to: 2031-01-03}\n"
        "workdays: [2031-01-04]\n",
        encoding="utf-8",
    )
    with Vault.open(tmp_path / "vault") as v:
        add_notice(v, notice)
    folder2 = _single_video(
        tmp_path, dt.datetime(2031, 1, 2, 10, 0, tzinfo=TZ), "DSJ02_20310102_100000_0001.MP4"
    )
    rec2 = _ingest_at(tmp_path, dt.datetime(2031, 1, 7, 9, 0, tzinfo=TZ), folder2)
    # Holidays 1-3 Jan; Sat 4 Jan is a make-up working day; Mon 6 Jan is the second.
    assert rec2["late_deadline"] == "2031-01-06" and rec2["late"] is True


# -- clocks ------------------------------------------------------------------------------------
def test_clock_skew_between_name_and_metadata_is_flagged(tmp_path: Path) -> None:
    named = dt.datetime(2024, 5, 3, 10, 0, 0, tzinfo=TZ)
    folder = tmp_path / "card"
    folder.mkdir()
    path = folder / f"DSJ01_{named:%Y%m%d_%H%M%S}_0001.MP4"
    make_video(path, named - dt.timedelta(hours=1), seconds=1.0)  # camera clock an hour off
    set_mtime(path, named + dt.timedelta(seconds=1))
    rec = _ingest_at(tmp_path, INGEST_CLOCK, folder)
    assert rec["clock_skew"] is True and rec["skew_seconds"] == pytest.approx(3600, abs=2)
    assert rec["recorded_at"] == "2024-05-03T10:00:00+08:00"  # the file-name time is kept
    assert rec["meta_time"] == "2024-05-03T09:00:00+08:00"  # and the metadata time beside it


def test_metadata_clock_policy_utc(tmp_path: Path) -> None:
    named = dt.datetime(2024, 5, 3, 10, 0, 0, tzinfo=TZ)
    folder = tmp_path / "card"
    folder.mkdir()
    path = folder / f"DSJ09_{named:%Y%m%d_%H%M%S}_0001.MP4"
    make_video(path, named.astimezone(dt.UTC).replace(tzinfo=None), seconds=1.0)
    set_mtime(path, named + dt.timedelta(seconds=1))
    with Vault.create(tmp_path / "vault") as v:
        set_setting(v, "devices.DSJ09.metadata_clock", "utc")
    rec = _ingest_at(tmp_path, INGEST_CLOCK, folder)
    assert rec["meta_time"] == "2024-05-03T10:00:00+08:00" and rec["clock_skew"] is False


# -- names -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "device", "officer", "time", "imp"),
    [
        ("DSJ01_20240503_101530_0001.MP4", "DSJ01", None, "2024-05-03 10:15:30", False),
        (
            "012345_DSJ02_20240503101530_0002_IMP.MP4",
            "DSJ02",
            "012345",
            "2024-05-03 10:15:30",
            True,
        ),
        ("012345_DSJ02_20240503101530_0002.MP4", "DSJ02", "012345", "2024-05-03 10:15:30", False),
        (
            "DSJ_DSJ03_012345_20240503_101530_IMP.JPG",
            "DSJ03",
            "012345",
            "2024-05-03 10:15:30",
            True,
        ),
        ("DSJ_DSJ03_012345_20240503_101530.JPG", "DSJ03", "012345", "2024-05-03 10:15:30", False),
        ("DSJ01_20240503_101530_0001imp.mp4", "DSJ01", None, "2024-05-03 10:15:30", True),
        ("VID0001.MP4", None, None, None, False),
    ],
)
def test_builtin_name_patterns(name: str, device, officer, time, imp) -> None:  # type: ignore[no-untyped-def]
    info = parse_name(name)
    assert (info.device, info.officer, info.important) == (device, officer, imp)
    assert (str(info.time) if info.time else None) == time


def test_configured_pattern_comes_first_and_bad_dates_are_reported() -> None:
    info = parse_name(
        "ZF-0042-DSJ07-20240503-101530.mp4", ("ZF-{officer}-{device}-{YYYYMMDD}-{hhmmss}",)
    )
    assert (info.officer, info.device, str(info.time)) == ("0042", "DSJ07", "2024-05-03 10:15:30")
    bad = parse_name("DSJ01_20241399_101530_0001.MP4")
    assert bad.time is None and bad.bad_time == "20241399101530"


def test_device_option_fills_in_and_a_conflict_is_warned(tmp_path: Path, vault: Vault) -> None:
    folder = tmp_path / "card"
    folder.mkdir()
    make_video(folder / "VID0001.MP4", RECORDED, seconds=1.0)
    make_video(folder / "DSJ05_20240503_101530_0001.MP4", RECORDED + dt.timedelta(minutes=1), 1.0)
    report = ingest(vault, folder, IngestOptions(device="DSJ04", officer="777"))
    rows = by_name(vault)
    assert rows["VID0001.MP4"]["device"] == "DSJ04" and rows["VID0001.MP4"]["officer"] == "777"
    assert rows["DSJ05_20240503_101530_0001.MP4"]["device"] == "DSJ05"
    codes = {w["code"] for f in report.files for w in f.warnings}
    assert "device_mismatch" in codes


def test_device_from_the_serial_number_in_the_metadata(tmp_path: Path) -> None:
    from zfjl.sample import make_photo

    folder = tmp_path / "card"
    folder.mkdir()
    make_photo(folder / "IMG_0001.JPG", RECORDED)  # the sample photo carries serial SN0003
    with Vault.create(tmp_path / "vault") as v:
        set_setting(v, "devices.DSJ03.serial", "SN0003")
    rec = _ingest_at(tmp_path, INGEST_CLOCK, folder)
    assert rec["device"] == "DSJ03" and rec["serial"] == "SN0003"
    assert rec["time_source"] == "metadata" and rec["recorded_at"] == "2024-05-03T10:15:30+08:00"


def test_amr_frames_are_counted_and_damage_is_noticed(tmp_path: Path) -> None:
    from zfjl.ingest.probe import amr_info
    from zfjl.sample import make_amr

    good = tmp_path / "a.amr"
    make_amr(good, seconds=1.0)
    assert amr_info(good) == {"codec": "amr_nb", "frames": 50, "duration": 1.0, "damaged": False}
    cut = tmp_path / "cut.amr"
    cut.write_bytes(good.read_bytes()[:-10])
    assert amr_info(cut) == {"codec": "amr_nb", "frames": 49, "duration": 0.98, "damaged": True}
    other = tmp_path / "x.bin"
    other.write_bytes(b"RIFF....")
    assert amr_info(other) is None


def test_small_files_are_stored_on_the_ingest_thread_and_the_same_either_way(
    dump: Path, tmp_path: Path
) -> None:
    """A card's small files are copied on the ingest's own thread (a hand-over to a worker
    costs more than the copy); `ingest.inline_bytes 0` hands them to the workers. Either way
    the same objects."""
    assert max(p.stat().st_size for p in dump.rglob("*") if p.is_file()) < 1 << 20
    seen: dict[str, tuple[set[str], list[str | None]]] = {}
    for mode in ("inline", "workers"):
        with Vault.create(tmp_path / mode, clock=fixed_clock(INGEST_CLOCK)) as v:
            if mode == "workers":
                with pytest.raises(ZfjlError, match=r"ingest\.inline_bytes 应为非负整数"):
                    set_setting(v, "ingest.inline_bytes", -1)
                set_setting(v, "ingest.inline_bytes", 0)
            threads: set[str] = set()
            report = ingest(v, dump, progress=lambda p, threads=threads: threads.update(
                t.name.rpartition("_")[0] for t in threading.enumerate()))  # fmt: skip
            assert report.count("new") == len(report.files) > 0
            seen[mode] = (threads, sorted(f.id for f in report.files))
    assert "zfjl-store" not in seen["inline"][0] and "zfjl-store" in seen["workers"][0]
    assert seen["inline"][1] == seen["workers"][1]

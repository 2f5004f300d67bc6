"""A small, realistic body-camera dump made with ffmpeg and exiftool: for the demo, the tests
and the benchmarks (the repository ships no media).

It holds what real dumps hold: videos named by three vendors' patterns (one marked IMP), a
photo with EXIF time, WAV and AMR audio, a vendor's settings file, a zero-byte file, a
truncated MP4 and a file whose name is in GBK bytes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zfjl.errors import StorageError
from zfjl.ingest.probe import require_tools
from zfjl.vault import events

GBK_NAME = "执法记录_询问.mp4".encode("gbk")


@dataclass(frozen=True)
class SampleFile:
    rel: str  # display path inside the dump
    kind: str  # what ingest should classify it as
    device: str | None
    officer: str | None
    important: bool = False
    note: str = ""


def _run(*args: str) -> None:
    subprocess.run(args, check=True, stdin=subprocess.DEVNULL, capture_output=True)


def _ffmpeg(*args: str) -> None:
    _run("ffmpeg", "-nostdin", "-y", "-v", "error", *args)


def make_video(path: Path, when: dt.datetime, seconds: float = 2.0, size: str = "320x240") -> None:
    """An H.264 + AAC MP4 whose QuickTime dates hold `when` as camera-local wall time."""
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc=size={size}:rate=15:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
        "-metadata", f"creation_time={when.strftime('%Y-%m-%dT%H:%M:%S')}",
        "-shortest", str(path),
    )  # fmt: skip


def make_long_video(path: Path, when: dt.datetime, seconds: float) -> None:
    """A long recording made cheaply (tiny frame, 1 frame/s, no sound): hours in a second."""
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc=size=64x48:rate=1:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-an",
        "-metadata", f"creation_time={when.strftime('%Y-%m-%dT%H:%M:%S')}", str(path),
    )  # fmt: skip


def make_photo(path: Path, when: dt.datetime) -> None:
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=640x480",
        "-frames:v",
        "1",
        str(path),
    )
    _run(
        "exiftool",
        "-q",
        "-overwrite_original",
        f"-DateTimeOriginal={when.strftime('%Y:%m:%d %H:%M:%S')}",
        "-Make=ZFJL-SAMPLE",
        "-Model=DSJ-V9",
        "-SerialNumber=SN0003",
        "-GPSLatitude=27.8274",
        "-GPSLatitudeRef=N",
        "-GPSLongitude=113.134",
        "-GPSLongitudeRef=E",
        str(path),
    )


def make_wav(path: Path, seconds: float = 2.0) -> None:
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=300:duration={seconds}",
        "-ac",
        "1",
        "-ar",
        "16000",
        str(path),
    )


def make_amr(path: Path, seconds: float = 2.0, seed: int = 0) -> None:
    """AMR-NB narrowband speech, as dictaphone-style cameras record it.

    Debian's ffmpeg has an AMR decoder but no encoder, so the file is assembled from
    12.2 kbit/s frames (a 1-byte frame header and 31 payload bytes per 20 ms) — a valid
    stream that ffprobe reads and that exiftool cannot identify, as with real AMR files.
    """
    rng = random.Random(seed)
    frames = int(seconds / 0.02)
    path.write_bytes(b"#!AMR\n" + b"".join(b"\x3c" + rng.randbytes(31) for _ in range(frames)))


def set_mtime(path: Path, when: dt.datetime) -> None:
    ts = when.timestamp()
    os.utime(path, (ts, ts))


@contextlib.contextmanager
def new_output_folder(dest: Path) -> Iterator[Path]:
    """A folder to write a sample into that becomes `dest` when done: `dest` must not exist
    or be an empty folder (`zfjl sample` once wrote into a full one and counted only its own
    files). Nothing is left behind when generation fails."""
    from zfjl import userfs

    dest = Path(dest)
    if dest.is_dir() and not dest.is_symlink():
        try:
            if next(dest.iterdir(), None) is not None:
                raise StorageError(f"{dest} 不是空目录：示例只写入新的或空的目录，请换一个路径")
            dest.rmdir()  # empty: rebuilt whole below, under the same name
        except OSError as exc:
            raise userfs.output_error(exc, f"使用目录 {dest}") from exc
    with userfs.current().output_tree(dest) as work:
        yield work


def make_camera_dump(dest: Path, recorded: dt.datetime | None = None) -> list[SampleFile]:
    """Write a small dump under dest (a DCIM-like tree); return what each file should become.

    `recorded` is the camera-local start of the first recording (aware); the others follow
    at a few minutes' interval. mtime is set to the end of each recording, as cameras do.
    """
    require_tools("ffmpeg", "exiftool")
    tz = dt.timezone(dt.timedelta(hours=8))
    recorded = (recorded or dt.datetime.now(tz) - dt.timedelta(hours=3)).astimezone(tz)
    video_dir = dest / "DCIM" / "100MEDIA"
    other_dir = dest / "RECORD"
    video_dir.mkdir(parents=True, exist_ok=True)
    other_dir.mkdir(parents=True, exist_ok=True)
    files: list[SampleFile] = []

    def at(minutes: int) -> dt.datetime:
        return recorded + dt.timedelta(minutes=minutes)

    t = at(0)
    name = f"DSJ01_{t:%Y%m%d_%H%M%S}_0001.MP4"
    make_video(video_dir / name, t)
    set_mtime(video_dir / name, t + dt.timedelta(seconds=2))
    files.append(SampleFile(f"DCIM/100MEDIA/{name}", "video", "DSJ01", None))

    t = at(5)
    name = f"012345_DSJ02_{t:%Y%m%d%H%M%S}_0002_IMP.MP4"
    make_video(video_dir / name, t)
    set_mtime(video_dir / name, t + dt.timedelta(seconds=2))
    files.append(SampleFile(f"DCIM/100MEDIA/{name}", "video", "DSJ02", "012345", True))

    t = at(10)
    name = f"DSJ_DSJ03_012345_{t:%Y%m%d_%H%M%S}_IMP.JPG"
    make_photo(video_dir / name, t)
    set_mtime(video_dir / name, t)
    files.append(SampleFile(f"DCIM/100MEDIA/{name}", "photo", "DSJ03", "012345", True))

    t = at(15)
    name = f"DSJ01_{t:%Y%m%d_%H%M%S}_0003.WAV"
    make_wav(other_dir / name)
    set_mtime(other_dir / name, t + dt.timedelta(seconds=2))
    files.append(SampleFile(f"RECORD/{name}", "audio", "DSJ01", None))

    t = at(20)
    name = f"DSJ01_{t:%Y%m%d_%H%M%S}_0004.AMR"
    make_amr(other_dir / name)
    set_mtime(other_dir / name, t + dt.timedelta(seconds=2))
    files.append(SampleFile(f"RECORD/{name}", "audio", "DSJ01", None))

    t = at(25)
    name = f"DSJ01_{t:%Y%m%d_%H%M%S}_0005.MP4"
    make_video(video_dir / name, t)
    data = (video_dir / name).read_bytes()
    (video_dir / name).write_bytes(data[: len(data) // 3])  # battery died mid-write
    set_mtime(video_dir / name, t + dt.timedelta(seconds=2))
    files.append(SampleFile(f"DCIM/100MEDIA/{name}", "video", "DSJ01", None, note="truncated"))

    (dest / "DEVICE.INI").write_text("[device]\nid=DSJ01\nfirmware=V2.3.1\n", encoding="ascii")
    files.append(SampleFile("DEVICE.INI", "other", None, None, note="unknown"))
    (other_dir / "EMPTY.LOG").write_bytes(b"")
    files.append(SampleFile("RECORD/EMPTY.LOG", "other", None, None, note="empty"))

    t = at(30)
    gbk_path = os.path.join(os.fsencode(other_dir), GBK_NAME)
    make_video(Path(os.fsdecode(gbk_path)), t, seconds=1.0)
    set_mtime(Path(os.fsdecode(gbk_path)), t + dt.timedelta(seconds=1))
    files.append(SampleFile("RECORD/执法记录_询问.mp4", "video", None, None, note="gbk"))
    return files


# The recordings the three sample cases (zfjl/checklists/samples) refer to: device, start
# (camera-local), length in seconds, or None for a photo.
CASE_RECORDINGS = (
    ("DSJ01", "2024-05-06T10:05:00", 45 * 60),
    ("DSJ01", "2024-05-09T16:00:00", None),
    ("DSJ01", "2024-05-13T10:00:00", None),
    ("DSJ02", "2024-06-03T09:00:00", 40 * 60),
    ("DSJ02", "2024-06-04T09:58:00", 34 * 60),
    ("DSJ02", "2024-06-14T14:55:00", 10 * 60),
    ("DSJ02", "2024-06-24T09:55:00", 10 * 60),
    ("DSJ02", "2024-07-08T09:55:00", 10 * 60),
    ("DSJ02", "2024-07-22T09:55:00", 10 * 60),
    ("DSJ03", "2024-07-29T07:58:00", 3 * 3600 + 4 * 60),
    ("DSJ04", "2024-07-15T10:00:00", None),
)


def make_case_dump(dest: Path) -> list[Path]:
    """Write the sample cases' recordings under dest, named as the cameras name them."""
    require_tools("ffmpeg", "exiftool")
    tz = dt.timezone(dt.timedelta(hours=8))
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (device, start, seconds) in enumerate(CASE_RECORDINGS, 1):
        when = dt.datetime.fromisoformat(start).replace(tzinfo=tz)
        if seconds is None:
            path = dest / f"DSJ_{device}_0100{i:02d}_{when:%Y%m%d_%H%M%S}.JPG"
            make_photo(path, when)
            set_mtime(path, when)
        else:
            path = dest / f"{device}_{when:%Y%m%d_%H%M%S}_{i:04d}.MP4"
            make_long_video(path, when, seconds)
            set_mtime(path, when + dt.timedelta(seconds=seconds))
        paths.append(path)
    return paths


# -- a month of a whole bureau, as catalog events (report tests and bench/report_bench.py) -----
UNITS = [f"第{n}中队" for n in "一二三四五六七八九十"]


def make_bureau_month(
    vault: Any, period: str, *, cameras: int = 200, recordings: int = 50_000, cases: int = 2_000,
    seed: int = 1,
) -> None:  # fmt: skip
    """Journal a month of a bureau's activity: devices with units and officers, some faults,
    recordings (with durations, lateness and clock skew) and cases. The events are the same
    ones ingest and `zfjl case`/`device` write, but no media is made: the objects they name
    are not on disk, so this is for figures (reports, spot checks), never for `verify`."""
    rng = random.Random(seed)
    tz = vault.config.tz
    start = dt.datetime.fromisoformat(f"{period}-01").replace(tzinfo=tz)
    days = ((start + dt.timedelta(days=32)).replace(day=1) - start).days
    devices = [f"DSJ{i:03d}" for i in range(1, cameras + 1)]
    with vault.writing() as w:
        for i, dev in enumerate(devices):
            w.append(events.DeviceAdd(
                device=dev, model="DSJ-V9", serial=f"SN{i:06d}", unit=UNITS[i % 10],
                assigned_to=f"{10_000 + i}", since=(start - dt.timedelta(days=90)).isoformat(),
            ), f"device:{dev}")  # fmt: skip
            if i % 40 == 7:  # a few cameras break mid-month
                w.append(events.DeviceLog(device=dev, event="fault", note="无法开机",
                         at=(start + dt.timedelta(days=10)).isoformat()), f"device:{dev}")  # fmt: skip
    for first in range(0, recordings, 5_000):
        with vault.writing() as w:
            for n in range(first, min(first + 5_000, recordings)):
                _synthetic_recording(w, rng, n, devices, start, days, seed)
    with vault.writing() as w:
        for n in range(cases):
            opened = start + dt.timedelta(days=rng.randrange(days), hours=rng.randrange(8, 18))
            case_id = f"CASE-{start.year}-{n + 1:05d}"
            w.append(events.CaseOpen(case={
                "case": case_id, "kind": "处罚", "procedure": "一般", "cause": "占道经营",
                "party": {"type": "个人", "name": f"当事人{n}"}, "origin": "依职权",
                "opened_at": opened.isoformat(), "unit": UNITS[n % 10], "flags": {},
                "status": rng.choice(["办理中", "已结案"]), "documents": [], "media": [],
            }), f"case:{case_id}")  # fmt: skip


def _synthetic_recording(w: Any, rng: random.Random, n: int, devices: list[str],
                         start: dt.datetime, days: int, seed: int) -> None:  # fmt: skip
    oid = hashlib.sha256(f"{seed}:{n}".encode()).hexdigest()  # 64 hex: an object id's shape
    dev_index = rng.randrange(len(devices))
    when = start + dt.timedelta(
        days=rng.randrange(days), seconds=rng.randrange(6 * 3600, 22 * 3600)
    )
    kind = rng.choices(["video", "audio", "photo"], [85, 10, 5])[0]
    # Stored, then described: the two events an ingest journals (no sighting: no card).
    w.append(events.ObjectAdd(
        object={"id": oid, "sha256": oid, "size": rng.randrange(1 << 20, 1 << 28)},
        recording=None,
    ), oid)  # fmt: skip
    w.append(events.RecordingDescribe(
        id=oid, run=None, recording={
            "kind": kind, "device": devices[dev_index],
            "officer": None if n % 10 == 0 else f"{10_000 + dev_index}",
            "recorded_at": when.isoformat(), "time_source": "name",
            "duration": None if kind == "photo" else float(rng.randrange(30, 900)),
            "original_name": f"{devices[dev_index]}_{when:%Y%m%d_%H%M%S}_{n:05d}.MP4",
            "late": rng.random() < 0.05, "important": 0, "clock_skew": int(rng.random() < 0.02),
            "warnings": [], "metadata": {},
        },
    ), oid)  # fmt: skip

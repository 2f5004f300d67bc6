"""Turn a stored file, its name and its metadata into a recording (the describe stage).

Three clocks are kept side by side and never rewritten: the time in the file name (what the
camera's on-screen clock said), the embedded metadata time and the file's mtime. The
recording time is the file-name time when there is one, else the metadata time, else mtime;
a disagreement over the vault's threshold is flagged as clock skew.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from zfjl.devices import DeviceBook
from zfjl.ingest.names import NameInfo
from zfjl.ingest.probe import DURATION_TAGS, MEDIA_EXT, Probe
from zfjl.units import approx_seconds
from zfjl.vault.vault import VaultConfig
from zfjl.workdays import WorkdayCalendar

MIME_KIND = {"video": "video", "image": "photo", "audio": "audio"}

# (tag, clock) in order of preference. "device" follows the vault's metadata_clock policy
# (QuickTime dates: UTC by spec, local on many body cameras); "local" is wall-clock time.
TIME_TAGS = (
    ("EXIF:DateTimeOriginal", "local"),
    ("QuickTime:CreateDate", "device"),
    ("QuickTime:MediaCreateDate", "device"),
    ("QuickTime:TrackCreateDate", "device"),
    ("XMP:DateTimeOriginal", "local"),
    ("XMP:CreateDate", "local"),
    ("RIFF:DateTimeOriginal", "local"),
    ("EXIF:CreateDate", "local"),
)
EXIF_DATE = re.compile(
    r"^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?"
)


@dataclass
class Warnings:
    items: list[dict[str, str]] = field(default_factory=list)

    def add(self, code: str, message: str) -> None:
        self.items.append({"code": code, "message": message})

    def codes(self) -> set[str]:
        return {w["code"] for w in self.items}


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def parse_exif_date(text: Any, clock: str, tz: ZoneInfo) -> dt.datetime | None:
    m = EXIF_DATE.match(str(text)) if text else None
    if not m:
        return None
    y, mo, d, h, mi, s, off = m.groups()
    if y == "0000" or mo == "00":
        return None  # cameras write zeros when they have no clock
    try:
        naive = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
    except ValueError:
        return None
    if off:
        offset = dt.UTC if off == "Z" else _offset(off)
        return naive.replace(tzinfo=offset).astimezone(tz)
    if clock == "utc":
        return naive.replace(tzinfo=dt.UTC).astimezone(tz)
    return naive.replace(tzinfo=tz)


def _offset(text: str) -> dt.timezone:
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def metadata_time(exif: dict[str, Any], device_clock: str, tz: ZoneInfo) -> dt.datetime | None:
    for tag, clock in TIME_TAGS:
        when = parse_exif_date(exif.get(tag), device_clock if clock == "device" else clock, tz)
        if when:
            return when
    return None


def _by_tag(exif: dict[str, Any]) -> dict[str, tuple[int, Any]]:
    """Tag name (without its group) → (position, value) of its first non-empty occurrence:
    built once per file, not a scan of every tag per lookup."""
    found: dict[str, tuple[int, Any]] = {}
    for i, (key, value) in enumerate(exif.items()):
        if value not in (None, ""):
            found.setdefault(key.rpartition(":")[2], (i, value))
    return found


def _first(tags: dict[str, tuple[int, Any]], names: tuple[str, ...]) -> Any:
    """The value of whichever of `names` comes first in the metadata."""
    hits = [tags[n] for n in names if n in tags]
    return min(hits, key=lambda hit: hit[0])[1] if hits else None


def classify(probe: Probe, name: str) -> str:
    mime = str(probe.exif.get("File:MIMEType") or "")
    kind = MIME_KIND.get(mime.split("/", 1)[0])
    if kind:
        return kind
    if probe.amr:
        return "audio"
    if probe.ffprobe:
        types = {s.get("codec_type") for s in probe.ffprobe.get("streams", [])}
        if "video" in types:
            return "video"
        if "audio" in types:
            return "audio"
    return MEDIA_EXT.get(Path(name).suffix.lower().lstrip("."), "other")


def duration_of(probe: Probe) -> float | None:
    if probe.amr:
        return float(probe.amr["duration"]) or None
    for key in DURATION_TAGS:
        value = probe.exif.get(key)
        if isinstance(value, int | float) and value > 0:
            return float(value)
    if probe.ffprobe:
        try:
            value = float(probe.ffprobe.get("format", {}).get("duration"))
        except (TypeError, ValueError):
            return None
        return value if value > 0 else None
    return None


def _skew(
    name_time: dt.datetime | None,
    meta_time: dt.datetime | None,
    mtime: dt.datetime | None,
    duration: float | None,
) -> tuple[float, list[str]]:
    """Largest disagreement (seconds) between the clocks, and which pairs disagree."""
    pairs: list[tuple[str, float]] = []
    start = name_time or meta_time
    if name_time and meta_time:
        pairs.append(("文件名时间与元数据时间", abs((name_time - meta_time).total_seconds())))
    if start and mtime:
        end = start + dt.timedelta(seconds=duration or 0)
        # A camera closes the file when it stops recording: mtime should fall in [start, end].
        gap = max((start - mtime).total_seconds(), (mtime - end).total_seconds(), 0.0)
        pairs.append(("录制时间与文件修改时间", gap))
    worst = max((s for _, s in pairs), default=0.0)
    return worst, [label for label, s in pairs if s == worst and s > 0]


@dataclass(frozen=True)
class Context:
    config: VaultConfig
    calendar: WorkdayCalendar
    ingested_at: dt.datetime
    run: str
    device: str | None = None  # --device, when file names and metadata do not say
    officer: str | None = None
    devices: DeviceBook | None = None  # the registry: officer by assignment, faults


DEVICE_WARNINGS = ("device_fault", "device_retired")


@dataclass(frozen=True)
class Seen:
    """A stored file as its first sighting journaled it: the card's name, size and mtime."""

    name: str
    size: int
    mtime: dt.datetime | None


def _device_warnings(device: str, when: dt.datetime, book: DeviceBook, warn: Warnings) -> None:
    """Art. 52: a camera reported faulty must stop recording until repaired; a retired one
    must not record at all. A recording made anyway is kept, and flagged."""
    status, since = book.status_at(device, when)
    if status == "fault":
        warn.add("device_fault", f"记录仪 {device} 自 {(since or '')[:16]} 报告故障、应停止使用"
                 "（第五十二条），此文件却在其间录制：请核查")  # fmt: skip
    elif status == "retired":
        warn.add(
            "device_retired", f"记录仪 {device} 已于 {(since or '')[:10]} 报废，仍有录制：请核查"
        )


def build_recording(sf: Seen, info: NameInfo, probe: Probe, ctx: Context) -> dict[str, Any]:
    cfg = ctx.config
    tz = cfg.tz
    warn = Warnings()
    exif = probe.exif
    tags = _by_tag(exif)
    serial = _first(tags, ("SerialNumber", "InternalSerialNumber", "CameraSerialNumber"))
    device = info.device or _device_by_serial(cfg, serial) or ctx.device
    if ctx.device and info.device and ctx.device.upper() != info.device.upper():
        warn.add("device_mismatch", f"文件名中的设备 {info.device} 与指定设备 {ctx.device} 不一致")
    officer = info.officer or ctx.officer
    kind = classify(probe, sf.name)
    media = kind != "other"
    if device is None and media:
        warn.add("no_device", "未能从文件名或元数据确定记录仪编号（可用 --device 指定）")

    name_time = info.time.replace(tzinfo=tz) if info.time else None
    if info.bad_time:
        warn.add("bad_name_time", f"文件名中的时间 {info.bad_time} 不是有效日期")
    meta_time = metadata_time(exif, cfg.metadata_clock_for(device), tz)
    mtime = sf.mtime.astimezone(tz) if sf.mtime else None
    duration = duration_of(probe)
    recorded_at, source = next(
        ((t, s) for t, s in ((name_time, "name"), (meta_time, "metadata"), (mtime, "mtime")) if t),
        (None, None),
    )
    if source == "mtime" and media:
        warn.add("time_from_mtime", "文件名与元数据均无录制时间，暂以文件修改时间为准")

    skew, pairs = _skew(name_time, meta_time, mtime, duration)
    threshold = cfg.clock_skew_seconds
    clock_skew = skew > threshold
    if clock_skew:
        warn.add(
            "clock_skew",
            f"时钟偏差{approx_seconds(skew)}（{skew:.0f} 秒；{'、'.join(pairs)}），"
            f"超过 {approx_seconds(threshold)}：记录仪时钟可能不准",
        )
    if recorded_at and recorded_at > ctx.ingested_at + dt.timedelta(seconds=threshold):
        clock_skew = True
        warn.add("future_time", "录制时间晚于入库时间：记录仪时钟可能不准")

    if device and ctx.devices is not None:
        when = recorded_at or ctx.ingested_at
        officer = officer or ctx.devices.officer_at(device, when)  # who carried it then
        _device_warnings(device, when, ctx.devices, warn)

    late, deadline, late_note = upload_lateness(recorded_at, ctx, cfg.upload_deadline_working_days)
    if late_note:
        warn.add("late_unknown", late_note)

    _media_warnings(sf, probe, kind, warn)
    gps_lat = _first(tags, ("GPSLatitude",))
    gps_lon = _first(tags, ("GPSLongitude",))
    metadata = dict(exif)
    if probe.amr:
        metadata["zfjl:AMR"] = probe.amr
    if probe.ffprobe:
        metadata["ffprobe"] = {
            "format": probe.ffprobe.get("format", {}),
            "streams": probe.ffprobe.get("streams", []),
        }
    return {
        "kind": kind,
        "mime": exif.get("File:MIMEType"),
        "file_type": _file_type(probe),
        "device": device,
        "officer": officer,
        "recorded_at": iso(recorded_at),
        "time_source": source,
        "duration": duration,
        "original_name": sf.name,
        "late": late,
        "late_deadline": deadline,
        "late_note": late_note,
        "important": info.important,
        "make": _first(tags, ("Make",)),
        "model": _first(tags, ("Model",)),
        "serial": None if serial is None else str(serial),
        "gps_lat": gps_lat if isinstance(gps_lat, int | float) else None,
        "gps_lon": gps_lon if isinstance(gps_lon, int | float) else None,
        "name_time": iso(name_time),
        "meta_time": iso(meta_time),
        "mtime": iso(mtime),
        "clock_skew": clock_skew,
        "skew_seconds": round(skew, 3),
        "warnings": warn.items,
        "metadata": metadata,
        "run": ctx.run,
    }


def _file_type(probe: Probe) -> str | None:
    if probe.exif.get("File:FileType"):
        return str(probe.exif["File:FileType"])
    if probe.amr:
        return "AMR-WB" if probe.amr["codec"] == "amr_wb" else "AMR"
    name = (probe.ffprobe or {}).get("format", {}).get("format_name")
    return str(name) if name else None


def upload_lateness(
    recorded_at: dt.datetime | None, ctx: Context, working_days: int
) -> tuple[bool | None, str | None, str | None]:
    """Art. 37: stored within N working days after the day it was made, or late, or unknown."""
    if recorded_at is None:
        return None, None, "无录制时间，无法判断是否按时存储（第三十七条）"
    made = recorded_at.astimezone(ctx.config.tz).date()
    deadline = ctx.calendar.nth_workday_after(made, working_days)
    if deadline is None:
        return (
            None,
            None,
            (
                f"工作日历未覆盖 {made} 之后的日期，无法判断是否逾期"
                "（请用 zfjl calendar add 录入国务院节假日安排）"
            ),
        )
    return ctx.ingested_at.date() > deadline, deadline.isoformat(), None


def _device_by_serial(cfg: VaultConfig, serial: Any) -> str | None:
    if serial is None:
        return None
    for device, info in cfg.devices.items():
        if str(info.get("serial", "")) == str(serial):
            return device
    return None


def _media_warnings(sf: Seen, probe: Probe, kind: str, warn: Warnings) -> None:
    if sf.size == 0:
        warn.add("empty_file", "空文件（0 字节），已照样入库")
        return
    if probe.amr and probe.amr["damaged"]:
        warn.add("corrupt_media", "AMR 音频不完整或有损坏的帧，已照样入库")
    elif kind in ("video", "audio") and probe.ffprobe_error:
        warn.add("corrupt_media", f"媒体文件损坏或不完整，已照样入库：{probe.ffprobe_error}")
    elif "ExifTool:Warning" in probe.exif and kind in ("video", "audio", "photo"):
        warn.add("metadata_warning", f"元数据读取告警：{probe.exif['ExifTool:Warning']}")
    if kind == "other" and "ExifTool:Error" in probe.exif:
        warn.add("unknown_type", "无法识别的文件类型，已作为其他文件入库")

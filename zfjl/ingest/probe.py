"""The describe stage's reader: each new object's metadata, from its stored copy.

A few persistent exiftool processes, one per core, serve the whole run (batches of files per
call, a batch split among them): exiftool is Perl on one core, and a card of 500 photos is
mostly its work. One `Prober` is shared by every camera of a station run, so eight cameras
start two exiftool processes, not eight. ffprobe runs only where exiftool cannot tell (AMR
audio, a missing duration, damaged media).
Probing reads the *stored object*: exactly the bytes kept, under an ASCII name, whatever
encoding the camera used for the original name.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import warnings
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import exiftool
import exiftool.exiftool
import ffmpeg
from exiftool.exceptions import ExifToolException

from zfjl.errors import ToolMissing

BATCH = 128  # files per exiftool call (its answer for 128 photos is ~170 KB of JSON)
READ_BLOCK = 1 << 16  # pyexiftool reads the answer 4 KiB at a time by default: 9% slower
# exiftool processes: one per core (it is single-threaded Perl), at most this many.
EXIFTOOL_PROCESSES = 4
MIN_FILES_PER_PROCESS = 16  # fewer are not worth starting another process for
FFPROBE_PARALLEL = 4  # ffprobe is a process per file: overlap their start-up

MEDIA_EXT = {
    **dict.fromkeys(
        [
            "mp4",
            "mov",
            "avi",
            "mkv",
            "ts",
            "mts",
            "m2ts",
            "3gp",
            "flv",
            "wmv",
            "h264",
            "h265",
            "dav",
        ],
        "video",
    ),
    **dict.fromkeys(["jpg", "jpeg", "png", "bmp", "gif", "heic", "tif", "tiff"], "photo"),
    **dict.fromkeys(["wav", "amr", "mp3", "aac", "m4a", "ogg", "opus", "wma"], "audio"),
}
DURATION_TAGS = ("QuickTime:Duration", "Composite:Duration", "RIFF:Duration")
EXIFTOOL_ARGS = ["-G", "-n", "-api", "largefilesupport=1"]
# Tags that describe the vault's copy, not the recording: dropped from the raw metadata.
COPY_TAGS = {
    "SourceFile",
    "File:FileName",
    "File:Directory",
    "File:FileModifyDate",
    "File:FileAccessDate",
    "File:FileInodeChangeDate",
    "File:FilePermissions",
    "ExifTool:ExifToolVersion",
}
INSTALL_HINT = {
    "exiftool": "apt-get install libimage-exiftool-perl",
    "ffprobe": "apt-get install ffmpeg",
}


def require_tools(*names: str) -> None:
    for name in names:
        if shutil.which(name) is None:
            raise ToolMissing(f"未找到 {name}，请先安装：{INSTALL_HINT[name]}")


class ExifToolDied(ExifToolException):  # type: ignore[misc]  # pyexiftool is untyped
    """exiftool exited in the middle of an answer (killed, out of memory, a crash)."""


def _read_answer(fd: int, end: bytes, block_size: int) -> bytes:
    """pyexiftool's reader of an answer (exiftool.exiftool._read_fd_endswith), but the end of
    the pipe raises: pyexiftool 0.5.6 polls a dead exiftool's pipe for ever, at 100% of a core,
    and the ingest, `zfjl seal` or the service's sealer hung with it."""
    chunks: list[bytes] = []
    tail, keep = b"", len(end) + 4  # the end marker may be followed by a newline
    while not tail.strip().endswith(end):
        chunk = os.read(fd, block_size)
        if not chunk:
            raise ExifToolDied("exiftool 意外退出")
        chunks.append(chunk)
        tail = (tail + chunk)[-keep:]
    return b"".join(chunks)


# Every answer pyexiftool reads goes through this module-level function (see test_describe).
exiftool.exiftool._read_fd_endswith = _read_answer
# An exiftool that died under a Ctrl-C is warned about again when pyexiftool collects its
# object, after the command's one-line message: nothing the officer needs (nor a module path).
warnings.filterwarnings("ignore", "ExifTool process was previously running but died", UserWarning)
DIED_ERROR = "exiftool 读取此文件时意外退出"


def _alive(et: exiftool.ExifToolHelper) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pyexiftool's "died": the caller knows
        return bool(et.running)


@dataclass(frozen=True)
class Probe:
    """What was read of one stored object."""

    exif: dict[str, Any]
    ffprobe: dict[str, Any] | None = None
    ffprobe_error: str | None = None
    amr: dict[str, Any] | None = None


class Prober:
    """Context manager around a few exiftool processes, each started when first needed (a
    re-ingest of an already-stored dump needs none). Thread-safe: the cameras of a station
    run share one, each process serving one call at a time."""

    def __init__(self, processes: int | None = None) -> None:
        require_tools("exiftool", "ffprobe")
        count = processes or min(EXIFTOOL_PROCESSES, len(os.sched_getaffinity(0)))
        self.processes = max(1, count)
        self._all: list[exiftool.ExifToolHelper] = []
        # pyexiftool asks the kernel to stop exiftool when the *thread* that started it ends
        # (PR_SET_PDEATHSIG): processes are started on these threads, which live as long as
        # the prober, never on a worker that ends after one call (exiftool would die under
        # the next call, and pyexiftool reads a dead pipe forever). One per process: they
        # start side by side (each start is ~0.2 s of Perl).
        self._starter = ThreadPoolExecutor(self.processes, thread_name_prefix="zfjl-exiftool-start")
        self._idle: queue.SimpleQueue[exiftool.ExifToolHelper | None] = queue.SimpleQueue()
        for _ in range(self.processes):
            self._idle.put(None)  # a slot whose process is not started yet
        self._starting: dict[int, Future[None]] = {}  # id(process) → its start under way

    def __enter__(self) -> Prober:
        return self

    def __exit__(self, *exc: object) -> None:
        for et in self._all:
            if _alive(et):
                with contextlib.suppress(ExifToolException):
                    et.terminate()
        self._starter.shutdown()

    def _take(self, wait: bool = True) -> exiftool.ExifToolHelper | None:
        """A free exiftool process, started (on the starter thread) if its slot had none or
        its process died; None when `wait` is false and every process is busy."""
        try:
            et = self._idle.get(block=wait)
        except queue.Empty:
            return None
        try:
            if et is None:
                et = self._start()
            if (starting := self._starting.pop(id(et), None)) is not None:
                starting.result()
            if not _alive(et):  # died since: start it again
                self._starter.submit(et.run).result()
        except BaseException:
            self._idle.put(et)
            raise
        return et

    def _start(self) -> exiftool.ExifToolHelper:
        """A new exiftool process, its start submitted to the starter thread (not awaited)."""
        # check_execute=False: one unreadable file must not make the whole batch raise.
        et = exiftool.ExifToolHelper(common_args=EXIFTOOL_ARGS, check_execute=False,
                                     auto_start=False)  # fmt: skip
        et.block_size = READ_BLOCK
        self._all.append(et)
        self._starting[id(et)] = self._starter.submit(et.run)
        return et

    def _revive(self, et: exiftool.ExifToolHelper) -> None:
        """Reap an exiftool that died mid-answer and start a new one in its place (on the
        starter thread, as every start: see __init__)."""
        if _alive(et):  # not reaped yet: terminate() waits for it
            with contextlib.suppress(ExifToolException, OSError):
                et.terminate(timeout=5)
        self._starter.submit(et.run).result()

    def warm_up(self, wanted: int) -> None:
        """Start processes, without waiting, until `wanted` (at most all) are started or
        starting: called when an ingest finds its first new file, so exiftool's start (a
        quarter of a second of Perl) runs while the files are copied, not before the first
        probe. No more than the work needs: eight cameras of videos are served by one
        process, and a second one's start is CPU the copies need."""
        taken: list[exiftool.ExifToolHelper | None] = []
        with contextlib.suppress(queue.Empty):
            while True:  # the idle slots only: a busy process is running already
                taken.append(self._idle.get(block=False))
        for et in taken:
            if et is None and len(self._all) < wanted:
                et = self._start()
            self._idle.put(et)

    def probe(self, items: Sequence[tuple[Path, str, int]]) -> list[Probe]:
        """Probe stored objects, given as (object path, original name, size)."""
        exifs = [clean_exif(e) for e in self.exif([path for path, _, _ in items])]
        probes: list[Probe | None] = [None] * len(items)
        need_ffprobe: list[int] = []
        for i, ((path, name, size), exif) in enumerate(zip(items, exifs, strict=True)):
            amr = amr_info(path) if "ExifTool:Error" in exif and size else None
            if amr is not None:
                probes[i] = Probe(exif, amr=amr)
            elif needs_ffprobe(exif, size, name):
                need_ffprobe.append(i)
            else:
                probes[i] = Probe(exif)
        with ThreadPoolExecutor(FFPROBE_PARALLEL) as pool:
            answers = pool.map(ffprobe, [items[i][0] for i in need_ffprobe])
            for i, (info, err) in zip(need_ffprobe, answers, strict=True):
                probes[i] = Probe(exifs[i], info, err)
        return [p for p in probes if p is not None]

    def exif(self, paths: Sequence[Path]) -> list[dict[str, Any]]:
        """exiftool metadata for each path, in order; {} with an error note when unreadable.
        A long list is split among the processes and read in parallel."""
        if not paths:
            return []
        parts = max(1, min(self.processes, len(paths) // MIN_FILES_PER_PROCESS))
        held: list[exiftool.ExifToolHelper] = []
        try:
            first = self._take()
            assert first is not None
            held.append(first)
            while len(held) < parts and (more := self._take(wait=False)) is not None:
                held.append(more)  # the others are busy (another camera's): use fewer
            if len(held) == 1:
                return self._exif_part(held[0], paths)
            size = -(-len(paths) // len(held))
            chunks = [paths[i : i + size] for i in range(0, len(paths), size)]
            with ThreadPoolExecutor(len(chunks), thread_name_prefix="zfjl-exiftool") as pool:
                parts_out = pool.map(self._exif_part, held[: len(chunks)], chunks)
                return [e for part in parts_out for e in part]
        finally:
            for et in held:
                self._idle.put(et)

    def _exif_part(self, et: exiftool.ExifToolHelper, paths: Sequence[Path]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for start in range(0, len(paths), BATCH):
            out.extend(self._exif_batch(et, paths[start : start + BATCH]))
        return out

    def _exif_batch(
        self, et: exiftool.ExifToolHelper, paths: Sequence[Path]
    ) -> list[dict[str, Any]]:
        names = [str(p) for p in paths]
        try:
            results = et.execute_json(*names)
        except ExifToolDied:
            self._revive(et)
            if len(paths) == 1:  # this very file: it is described with the error
                return [{"ExifTool:Error": DIED_ERROR}]
            results = []  # some file of the batch, or a kill: each asked again below
        except (ExifToolException, json.JSONDecodeError, ValueError):
            results = []
        by_source = {r.get("SourceFile"): r for r in results}
        if len(paths) > 1 and len(by_source) < len(paths):
            # A batch that lost files: ask again one by one so each gets its own answer.
            return [
                self._exif_batch(et, [p])[0] if n not in by_source else by_source[n]
                for p, n in zip(paths, names, strict=True)
            ]
        return [by_source.get(n) or {"ExifTool:Error": "exiftool 无法读取"} for n in names]


def ffprobe(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """ffprobe's format and streams, or None and its error text."""
    try:
        data = ffmpeg.probe(str(path), cmd="ffprobe")
    except ffmpeg.Error as exc:
        lines = exc.stderr.decode("utf-8", "replace").strip().splitlines()
        # ffprobe prefixes the object's path; the reason is what follows it.
        reason = lines[-1].removeprefix(f"{path}:").strip() if lines else ""
        return None, reason or "ffprobe 无法读取"
    return data, None


def clean_exif(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in COPY_TAGS}


def needs_ffprobe(exif: dict[str, Any], size: int, name: str) -> bool:
    """exiftool could not tell a media file's type or duration, or it is damaged.

    Unknown files with a non-media extension (.INI, .LOG, .BIN) are not sent to ffprobe:
    one process per file is what makes naive ingesters slow.
    """
    if size == 0:
        return False
    mime = str(exif.get("File:MIMEType") or "")
    if "ExifTool:Error" in exif or not mime:
        ext = Path(name).suffix.lower().lstrip(".")
        return ext in MEDIA_EXT or not ext
    if mime.startswith(("video/", "audio/")):
        return not any(isinstance(exif.get(k), int | float) and exif.get(k) for k in DURATION_TAGS)
    return False


# AMR (RFC 4867 storage format): a magic line, then frames whose first byte gives the frame
# type and so the frame's length; every frame is 20 ms. exiftool does not read AMR, and an
# ffprobe process per file is 40x slower than walking the frame headers.
AMR_FORMATS = (
    (b"#!AMR-WB\n", "amr_wb", (17, 23, 32, 36, 40, 46, 50, 58, 60, 5, 0, 0, 0, 0, 0, 0)),
    (b"#!AMR\n", "amr_nb", (12, 13, 15, 17, 19, 20, 26, 31, 5, 0, 0, 0, 0, 0, 0, 0)),
)
AMR_RESERVED_NB = range(9, 15)
AMR_RESERVED_WB = range(10, 14)


def _amr_format(head: bytes) -> tuple[bytes, str, tuple[int, ...]] | None:
    return next((fmt for fmt in AMR_FORMATS if head.startswith(fmt[0])), None)


def amr_info(path: Path) -> dict[str, Any] | None:
    """Codec, frame count and duration of an AMR file; None when it is not AMR."""
    with open(path, "rb") as f:
        fmt = _amr_format(f.read(9))
        if fmt is None:
            return None
        magic, codec, sizes = fmt
        f.seek(len(magic))
        data = f.read()  # audio at 12.2 kbit/s: an hour is 5.5 MB
    reserved = AMR_RESERVED_WB if codec == "amr_wb" else AMR_RESERVED_NB
    frames, pos, damaged = 0, 0, False
    while pos < len(data):
        ft = (data[pos] >> 3) & 0x0F
        if ft in reserved:
            damaged = True
            break
        pos += 1 + sizes[ft]
        frames += 1
    if pos > len(data):
        damaged, frames = True, frames - 1  # the last frame is cut short
    return {
        "codec": codec,
        "frames": frames,
        "duration": round(frames * 0.02, 3),
        "damaged": damaged,
    }

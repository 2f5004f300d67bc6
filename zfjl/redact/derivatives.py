"""Derivative objects: a new file made from an original — a playable proxy of what a browser
cannot play (HEVC, AVI, AMR…), a redacted copy — stored as an object of its own beside the
original, which never changes.

Each is journaled as `derivative.make` on its original: its object id, kind, every parameter
that decides the output (the redaction, the encoder's settings), the tools' versions, the
original's sealed SHA-256 and the derivative's own digests (sealed at once: `object.digests`
in the same transaction). Reading the original is an access like a view: it needs a view
grant and is journaled (`access.read`) before ffmpeg reads the first byte.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zfjl import __version__
from zfjl.access.authority import Item, authorize
from zfjl.errors import MediaError, NotFoundError, UsageError
from zfjl.redact import media
from zfjl.redact.spec import EVEN_FRAME, RedactionSpec, audio_filter, check_against, video_graph
from zfjl.vault import events
from zfjl.vault.objects import FileIdentity, storage_error
from zfjl.vault.queries.derivatives import (
    DerivativeRow,
    derivative,
    derivatives_of,
    recording_kind,
)
from zfjl.vault.queries.evidence import catalogued, tombstoned_at
from zfjl.vault.query import resolve_id
from zfjl.vault.seal import digests_of, require_sealed
from zfjl.vault.vault import Vault

PROXY = "proxy"
REDACTION = "redaction"
FACES = "faces"  # an access.read's use when face boxes are proposed (nothing is made)
KIND_NAMES = {PROXY: "播放副本", REDACTION: "删减副本"}

# What every derivative is encoded with: H.264 (yuv420p: what browsers decode) and AAC in an
# MP4 whose index is at the front (plays while it loads). Metadata, chapters, subtitle and
# data streams (a camera's GPS track) are not carried over: a copy for a party must not
# leak what the redaction hid, and a proxy only has to play.
VIDEO_ARGS = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p")
AUDIO_ARGS = ("-c:a", "aac", "-b:a", "128k")
CONTAINER_ARGS = ("-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn",
                  "-movflags", "+faststart", "-f", "mp4")  # fmt: skip
# What a browser's <video>/<audio> plays (Chromium: H.264 in yuv420p, AAC/MP3 in MP4).
PLAYABLE_CONTAINERS = ("mp4", "mov", "m4a")
PLAYABLE_VIDEO = {"h264"}
PLAYABLE_AUDIO = {"aac", "mp3"}


@dataclass(frozen=True)
class Derivative(DerivativeRow):
    """A derivative as the library hands it out: its catalog row, and `created` (made by
    this call)."""

    created: bool = False

    @classmethod
    def of(cls, row: DerivativeRow, created: bool = False) -> Derivative:
        return cls(**row.__dict__, created=created)

    def as_dict(self) -> dict[str, Any]:
        fields = {k: v for k, v in self.__dict__.items() if k != "seq"}  # the journal's business
        return {**fields, "kind_text": KIND_NAMES.get(self.kind, self.kind)}


def list_derivatives(vault: Vault, prefix: str, kind: str | None = None) -> list[Derivative]:
    """The derivatives of a recording (id or unique prefix), oldest first."""
    return [Derivative.of(r) for r in derivatives_of(vault, resolve_id(vault, prefix), kind)]


def get_derivative(vault: Vault, prefix: str) -> Derivative:
    """One derivative by its id or a unique prefix; NotFoundError if that object is none."""
    oid = resolve_id(vault, prefix)
    row = derivative(vault, oid)
    if row is None:
        raise NotFoundError(f"{oid[:12]} 不是派生件（播放副本或删减副本）")
    return Derivative.of(row)


# -- what a browser plays -----------------------------------------------------------------------
def is_playable(info: media.MediaInfo) -> bool:
    """Whether a browser plays the file as it is (Chromium: no HEVC, no AVI, no AMR)."""
    if not any(c in info.container.split(",") for c in PLAYABLE_CONTAINERS):
        return False
    if info.has_video and (info.video_codec not in PLAYABLE_VIDEO or info.pix_fmt != "yuv420p"):
        return False
    return not info.has_audio or info.audio_codec in PLAYABLE_AUDIO


def needs_proxy(vault: Vault, prefix: str) -> bool:
    """Whether the recording needs a playable proxy: audio or video a browser cannot play.
    Reads the container's headers only (ffprobe), as ingest does: no access to journal."""
    oid = _live(vault, prefix)
    if recording_kind(vault, oid) == "photo":
        return False  # a browser shows the camera's JPEG as it is
    with vault.objects.local_path(oid) as path:
        info = media.probe(path)
    return (info.has_video or info.has_audio) and not is_playable(info)


def playable_proxy(
    vault: Vault, prefix: str, *, purpose: str | None = None, progress: media.Progress | None = None
) -> Derivative:
    """The recording's H.264/AAC MP4 proxy: made once (under the user's view grant, the read
    journaled first), the existing one returned every later time without reading anything.
    Serving its bytes to a person is a view of the original: the caller journals that.
    `progress` is told the share done while ffmpeg works."""
    oid = _live(vault, prefix, media_only=True)
    existing = derivatives_of(vault, oid, PROXY)
    if existing:
        return Derivative.of(existing[0])
    with _reading_original(vault, oid, PROXY, purpose) as (path, grant, source_sha256):
        info = media.probe(path)
        if not (info.has_video or info.has_audio):
            raise MediaError(f"{oid[:12]} 没有音视频流，无需也无法制作播放副本")
        args = _proxy_args(info)
        params = {"encode": list(args)}
        return _make(vault, oid, PROXY, params, grant, source_sha256,
                     _encoder(path, args, "制作播放副本", info.duration, progress))


def _proxy_args(info: media.MediaInfo) -> tuple[str, ...]:
    video = ("-map", "0:v:0", "-vf", EVEN_FRAME, *VIDEO_ARGS) if info.has_video else ("-vn",)
    audio = ("-map", "0:a:0", *AUDIO_ARGS) if info.has_audio else ("-an",)
    return (*video, *audio, *CONTAINER_ARGS)


# -- redaction -----------------------------------------------------------------------------------
def redact(
    vault: Vault, prefix: str, spec: RedactionSpec, *, purpose: str | None = None,
    progress: media.Progress | None = None,
) -> Derivative:
    """A redacted copy of the recording: each box blurred (or pixelated) over its time range,
    each muted range silent, everything else re-encoded as it was; stored as a derivative.
    Boxes outside the frame and ranges beyond the end are refused before anything is read
    beyond the headers (UsageError naming the value); the read is journaled first."""
    oid = _live(vault, prefix, media_only=True)
    with vault.objects.local_path(oid) as path:
        info = media.probe(path)  # headers only: the checks come before the access
    check_against(spec, info)
    with _reading_original(vault, oid, REDACTION, purpose) as (path, grant, source_sha256):
        args = _redaction_args(spec, info)
        params = {**spec.as_params(), "frame": [info.width, info.height],
                  "duration": info.duration, "encode": list(args)}  # fmt: skip
        return _make(vault, oid, REDACTION, params, grant, source_sha256,
                     _encoder(path, args, "删减", info.duration, progress))


def _redaction_args(spec: RedactionSpec, info: media.MediaInfo) -> tuple[str, ...]:
    video: tuple[str, ...] = ()
    if info.has_video:
        graph = video_graph(spec, info.duration, (info.width, info.height))
        video = ("-filter_complex", graph, "-map", "[v]", *VIDEO_ARGS)
    audio: tuple[str, ...] = ("-an",)
    if info.has_audio:
        muted = audio_filter(spec, info.duration)
        audio = ("-map", "0:a:0", *(("-af", muted) if muted else ()), *AUDIO_ARGS)
    return (*(video or ("-vn",)), *audio, *CONTAINER_ARGS)


# -- the common steps ----------------------------------------------------------------------------
def _encoder(source: Path, args: tuple[str, ...], what: str, duration: float,
             progress: media.Progress | None) -> Callable[[Path], None]:  # fmt: skip
    """What writes the derivative to a given path: ffmpeg from the original with `args`."""

    def encode(out: Path) -> None:
        media.run_ffmpeg(["-i", media.file_url(source), *args, media.file_url(out)], what,
                         duration=duration, progress=progress)  # fmt: skip

    return encode


def _live(vault: Vault, prefix: str, *, media_only: bool = False) -> str:
    """The original's id: not destroyed, not itself a derivative; with `media_only`, not a
    photo (a redacted or proxied photo would come out as a one-frame video)."""
    oid = resolve_id(vault, prefix)
    kind = recording_kind(vault, oid) if media_only else None
    if kind == "photo":
        raise UsageError(f"{oid[:12]} 是照片：本命令只处理音视频（照片的删减尚未提供）")
    if kind == "other":  # not media by ingest's probe: never handed to ffmpeg's demuxers
        raise UsageError(f"{oid[:12]} 不是音视频文件（类别“其他”）：本命令只处理音视频")
    gone = tombstoned_at(vault, oid)
    if gone:
        raise NotFoundError(f"{oid[:12]} 已于 {gone[:10]} 按保存期限销毁（见 zfjl log {oid[:12]}）")
    if derivative(vault, oid) is not None:
        raise UsageError(f"{oid[:12]} 是派生件：请对原始记录操作（zfjl show {oid[:12]} 可见其原件）")
    return oid


@contextlib.contextmanager
def _reading_original(
    vault: Vault, oid: str, use: str, purpose: str | None
) -> Iterator[tuple[Path, str | None, str]]:
    """The original's file for ffmpeg, under the user's view grant (art. 47; a refusal is
    journaled by `authorize`), its read journaled as `access.read` before the first byte;
    with the grant and the original's sealed SHA-256."""
    release = authorize(vault, [Item(oid, "音像记录")], "view", purpose=purpose)
    grant = release.grants[oid]
    require_sealed(vault, [oid])
    row = catalogued(vault, oid)
    if row is None or row.sha256 is None:
        raise storage_error(OSError(5, "原始记录无法封存（对象缺失或损坏，请运行 zfjl verify）"),
                            f"读取 {oid[:12]}")  # fmt: skip
    vault.record(events.AccessRead(user=vault.actor, grant=str(grant), purpose=purpose, use=use), oid)
    with release.local_paths(vault, [oid]) as paths:
        yield paths[oid], grant, row.sha256


@contextlib.contextmanager
def _scratch(vault: Vault) -> Iterator[Path]:
    """A private folder for ffmpeg's output on the vault's own disk (a 10-minute 1080p copy
    may not fit a tmpfs /tmp; on the same file system the store copies it in the kernel).
    Named `<pid>-derive-…`, never `*.tmp`, which the store's own clean-up owns."""
    base = vault.root / "tmp"
    with tempfile.TemporaryDirectory(prefix=f"{os.getpid()}-derive-",
                                     dir=base if base.is_dir() else None) as work:  # fmt: skip
        yield Path(work)


def _make(
    vault: Vault, source: str, kind: str, params: dict[str, Any], grant: str | None,
    source_sha256: str, produce: Callable[[Path], None],
) -> Derivative:  # fmt: skip
    """Produce the file, store it as an object (stage + put, as ingest does), and journal
    `derivative.make` with its seal; the same bytes made again are the same derivative."""
    with _scratch(vault) as work:
        out = work / "derivative.mp4"
        produce(out)
        digests = digests_of(out)  # all four in one read; BLAKE3 checked against the store's
        size = out.stat().st_size
        stored = _store(vault, out)
    if stored != digests["blake3"]:
        raise storage_error(OSError(5, "派生件写入前后内容不一致"), "保存派生件")
    known = derivative(vault, stored)
    if known is not None:
        return Derivative.of(known)
    tools = {"ffmpeg": media.ffmpeg_version(), "zfjl": __version__}
    with vault.writing() as w:
        w.append(events.DerivativeMake(
            id=stored, source=source, derivative_kind=kind, size=size,
            sha256=digests["sha256"], source_sha256=source_sha256, params=params, tools=tools,
            grant=grant,
        ), source)  # fmt: skip
        w.append(events.ObjectDigests(id=stored, sha512=digests["sha512"], sm3=digests["sm3"],
                                      sha256=digests["sha256"]), stored)  # fmt: skip
    row = derivative(vault, stored)
    assert row is not None, "derivative.make was just applied"
    return Derivative.of(row, created=True)


def _store(vault: Vault, path: Path) -> str:
    """Put the finished file in the object store, durably; its object id."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        pending = vault.objects.stage(fd, FileIdentity.of(os.fstat(fd)))
    finally:
        os.close(fd)
    (result,) = vault.objects.put([pending])
    return result.digests.blake3

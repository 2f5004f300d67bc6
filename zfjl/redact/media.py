"""ffprobe and ffmpeg, as the derivatives need them: what a file holds (size, duration,
codecs), the tool's version for the journal, and a run that is stopped with the command
(Ctrl-C, a client hanging up on the service) instead of outliving it."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from zfjl.errors import MediaError, ToolMissing

PROBE_SECONDS = 60  # ffprobe reads headers only: a minute is a hung disk, not a big file
LAST_LINES = 3  # of ffmpeg's stderr, in a failure's message


@dataclass(frozen=True)
class MediaInfo:
    """What a recording holds, as ffprobe reads it: the frame as shown (rotation applied,
    as ffmpeg's filters see it) and the codecs a browser would need."""

    duration: float  # seconds; 0.0 when ffprobe cannot tell
    width: int  # 0: no video stream
    height: int
    video_codec: str | None
    pix_fmt: str | None
    audio_codec: str | None
    container: str  # ffprobe's format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    frame_rate: float  # frames per second of the video stream (0.0 without one)

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None and self.width > 0

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


def file_url(path: Path) -> str:
    """A path as ffmpeg must be given it: `file:` first, or a vault under `/srv/a:b/` would
    be read as protocol `/srv/a`, and a name could pick another protocol or an option."""
    return f"file:{path}"


# An input may open no other protocol (a playlist or concat list inside a crafted file naming
# http:, tcp:, …): the file protocol only.
FILES_ONLY = ("-protocol_whitelist", "file")


def files_only(args: Sequence[str]) -> list[str]:
    """`args` with every input (`-i`) restricted to the file protocol."""
    out: list[str] = []
    for arg in args:
        if arg == "-i":
            out.extend(FILES_ONLY)
        out.append(arg)
    return out


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(f"未找到 {name}：请安装 ffmpeg（apt install ffmpeg）")
    return found


@functools.cache
def ffmpeg_version() -> str:
    """`ffmpeg -version`'s version word (5.1.9-0+deb12u1): journaled with each derivative."""
    done = subprocess.run([_tool("ffmpeg"), "-hide_banner", "-version"], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=PROBE_SECONDS)  # fmt: skip
    first = (done.stdout.splitlines() or [""])[0].split()
    return first[2] if len(first) > 2 and first[:2] == ["ffmpeg", "version"] else "unknown"


def _rate(text: str | None) -> float:
    try:
        num, _, den = (text or "0/1").partition("/")
        return float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return 0.0


def _rotation(stream: dict[str, Any]) -> int:
    for side in stream.get("side_data_list") or []:
        if isinstance(side, dict) and "rotation" in side:
            with contextlib.suppress(TypeError, ValueError):
                return int(side["rotation"])
    with contextlib.suppress(TypeError, ValueError):
        return int((stream.get("tags") or {}).get("rotate", 0))
    return 0


def probe(path: Path) -> MediaInfo:
    """The first video and audio streams of `path`; MediaError when ffprobe cannot read it."""
    args = [_tool("ffprobe"), "-v", "error", "-print_format", "json", "-show_format",
            "-show_streams", *FILES_ONLY, file_url(path)]  # fmt: skip
    try:
        done = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=PROBE_SECONDS)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise MediaError(f"ffprobe 在 {PROBE_SECONDS} 秒内未能读出文件信息") from None
    if done.returncode != 0:
        raise MediaError(f"ffprobe 无法读取该记录：{_last_lines(done.stderr)}")
    data = json.loads(done.stdout or "{}")
    streams = [s for s in data.get("streams") or [] if isinstance(s, dict)]
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not (s.get("disposition") or {}).get("attached_pic")), None)  # fmt: skip
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    fmt = data.get("format") or {}
    width, height = (int(video.get("width") or 0), int(video.get("height") or 0)) if video else (0, 0)
    if video and abs(_rotation(video)) % 180 == 90:
        width, height = height, width  # ffmpeg turns the frame upright before any filter
    try:
        duration = float(fmt.get("duration") or (video or audio or {}).get("duration") or 0.0)
    except (TypeError, ValueError):
        duration = 0.0
    return MediaInfo(
        duration=duration, width=width, height=height,
        video_codec=video.get("codec_name") if video else None,
        pix_fmt=video.get("pix_fmt") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        container=str(fmt.get("format_name") or ""),
        frame_rate=_rate(video.get("avg_frame_rate") or video.get("r_frame_rate")) if video else 0.0,
    )  # fmt: skip


def _last_lines(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return "；".join(lines[-LAST_LINES:])[:400] or "（无输出）"


Progress = Callable[[float], None]  # the share of the work done, 0.0 … 1.0


def run_ffmpeg(args: Sequence[str], what: str, *, duration: float = 0.0,
               progress: Progress | None = None) -> None:  # fmt: skip
    """Run ffmpeg to completion; MediaError naming `what` and its last words when it fails.
    `progress` is told how far it is (its output time over `duration`) as it goes. ffmpeg is
    killed if this is interrupted, so an abandoned command leaves no encoder behind."""
    report = ["-progress", "pipe:1", "-nostats"] if progress and duration > 0 else []
    cmd = [_tool("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", "-y", *report, *files_only(args)]
    # stderr into a file, not a pipe: read only at the end, it can never block ffmpeg.
    with tempfile.TemporaryFile() as stderr, _process(
        cmd, stdout=subprocess.PIPE if report else subprocess.DEVNULL, stderr=stderr
    ) as proc:
        if report and proc.stdout is not None and progress is not None:
            _follow(proc.stdout, duration, progress)
        proc.wait()
        stderr.seek(max(0, stderr.seek(0, os.SEEK_END) - (64 << 10)))  # its last words
        said = stderr.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise MediaError(f"{what}失败（ffmpeg）：{_last_lines(said)}")


def _follow(stream: IO[bytes], duration: float, progress: Progress) -> None:
    """ffmpeg's `-progress` lines (key=value): out_time_us over the duration."""
    for line in stream:
        key, _, value = line.decode("ascii", "replace").strip().partition("=")
        if key in ("out_time_us", "out_time_ms") and value.strip().isdigit():
            # Both are microseconds (out_time_ms is misnamed in ffmpeg).
            progress(min(1.0, int(value) / 1e6 / duration))
        elif key == "progress" and value == "end":
            progress(1.0)


def _die_with_parent() -> None:
    """In ffmpeg's child before exec: SIGKILL when the process that started it dies, however
    it dies (an HTTP child killed past its deadline runs no `finally`)."""
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


@contextlib.contextmanager
def _process(
    cmd: list[str], stdout: int, stderr: int | IO[bytes] = subprocess.PIPE
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                            preexec_fn=_die_with_parent)  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@contextlib.contextmanager
def ffmpeg_frames(args: Sequence[str]) -> Iterator[IO[bytes]]:
    """ffmpeg writing raw frames to a pipe (`args` end with `-f rawvideo -`): the stream to
    read them from. The process is killed when the block ends early."""
    cmd = [_tool("ffmpeg"), "-nostdin", "-hide_banner", "-v", "error", *files_only(args)]
    with _process(cmd, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        yield proc.stdout
        # Read to the end: a clean exit. stderr is only drained here (frames are small
        # enough that ffmpeg's few error lines never fill the pipe first).
        assert proc.stderr is not None
        stderr = proc.stderr.read()
        if proc.wait() != 0:
            raise MediaError(f"读取画面失败（ffmpeg）：{_last_lines(stderr.decode('utf-8', 'replace'))}")

"""What a redaction does, as data: boxes (a region of the frame over a time range) blurred or
pixelated, muted audio ranges; their parsing from `x,y,w,h@t0-t1` / `t0-t1`, their checks
against the recording, and the ffmpeg filter graph they make.

Times are seconds from the recording's start (`12.5`) or `分:秒` / `时:分:秒` (`1:02.5`).
A box without `@…` covers the whole recording. Boxes are widened to even pixels (H.264's
4:2:0 chroma has one sample per 2×2 pixels; a box on an odd edge would leave half a chroma
sample of the face unblurred), never narrowed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from zfjl.errors import UsageError
from zfjl.redact.media import MediaInfo

Method = Literal["blur", "mosaic"]
METHODS: dict[str, str] = {"blur": "模糊", "mosaic": "马赛克"}
# H.264 in 4:2:0 needs even sides: an odd frame loses its last column or row (a no-op otherwise).
EVEN_FRAME = "scale=trunc(iw/2)*2:trunc(ih/2)*2"
MIN_BOX = 8  # pixels: a smaller box cannot be blurred (boxblur's radius) and hides nothing
TIME_SLACK = 0.05  # seconds past the probed duration still accepted (container rounding)
MOSAIC_BLOCKS = 8  # blocks across a mosaic box's shorter side: 12 still showed eyes and mouth


@dataclass(frozen=True)
class Span:
    """A time range of the recording, in seconds; `end` None: to the end."""

    start: float
    end: float | None

    def as_text(self) -> str:
        return f"{_fmt(self.start)}-{'' if self.end is None else _fmt(self.end)}"

    def ffmpeg_enable(self, duration: float) -> str:
        end = duration + 1 if self.end is None else self.end
        return f"between(t,{self.start:.3f},{end:.3f})"


@dataclass(frozen=True)
class Box:
    """A region of the frame (pixels, top-left origin) over a time range."""

    x: int
    y: int
    w: int
    h: int
    span: Span

    def as_text(self) -> str:
        return f"{self.x},{self.y},{self.w},{self.h}@{self.span.as_text()}"

    def even(self, frame: tuple[int, int]) -> Box:
        """Widened outwards to even edges (see the module's note), within the frame."""
        x, y = self.x - self.x % 2, self.y - self.y % 2
        right, bottom = self.x + self.w, self.y + self.h
        right = min(right + right % 2, frame[0] - frame[0] % 2)
        bottom = min(bottom + bottom % 2, frame[1] - frame[1] % 2)
        return Box(x, y, right - x, bottom - y, self.span)


@dataclass(frozen=True)
class RedactionSpec:
    boxes: tuple[Box, ...] = ()
    mutes: tuple[Span, ...] = ()
    method: Method = "blur"

    def as_params(self) -> dict[str, Any]:
        """What decides the output, as journaled (with the encoder's settings)."""
        boxes = [{"x": b.x, "y": b.y, "w": b.w, "h": b.h, "from": b.span.start,
                  "to": b.span.end} for b in self.boxes]  # fmt: skip
        mutes = [{"from": s.start, "to": s.end} for s in self.mutes]
        return {"method": self.method, "boxes": boxes, "mutes": mutes}

    def summary(self) -> str:
        """遮挡 2 处（模糊）、静音 1 段: what a receipt and a listing say of it."""
        parts = []
        if self.boxes:
            parts.append(f"遮挡 {len(self.boxes)} 处（{METHODS[self.method]}）")
        if self.mutes:
            parts.append(f"静音 {len(self.mutes)} 段")
        return "、".join(parts) or "未作删减"


def _fmt(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


_TIME = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)$")


def parse_time(text: str, option: str, whole: str) -> float:
    """`12.5`, `1:02.5`, `1:02:03` as seconds; UsageError naming `whole` otherwise."""
    m = _TIME.match(text.strip())
    if not m:
        raise UsageError(f"{option} {whole}：时间 {text!r} 应为秒数（12.5）或 分:秒（1:02.5）")
    a, b, c = m.groups()
    hours, minutes = (int(a), int(b)) if b is not None else (0, int(a or 0))
    seconds = float(c)
    if (a is not None and seconds >= 60) or (b is not None and minutes >= 60):
        raise UsageError(f"{option} {whole}：时间 {text!r} 的分、秒数应小于 60")
    return hours * 3600 + minutes * 60 + seconds


def parse_span(text: str, option: str = "--mute", whole: str | None = None) -> Span:
    """`t0-t1` (or `t0-`: to the end)."""
    whole = whole or text
    start, sep, end = text.strip().partition("-")
    if not sep or not start.strip():
        raise UsageError(f"{option} {whole}：时间段应写作 起-止（如 3-7.5 或 0:03-0:07.5）")
    t0 = parse_time(start, option, whole)
    t1 = parse_time(end, option, whole) if end.strip() else None
    if t1 is not None and t1 <= t0:
        raise UsageError(f"{option} {whole}：结束时间 {_fmt(t1)} 秒不晚于开始时间 {_fmt(t0)} 秒")
    return Span(t0, t1)


def parse_box(text: str) -> Box:
    """`x,y,w,h@t0-t1` (or `x,y,w,h`: the whole recording)."""
    region, at, when = text.strip().partition("@")
    parts = [p.strip() for p in region.split(",")]
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise UsageError(f"--box {text}：应写作 x,y,宽,高@起-止（像素为非负整数，如 120,80,64,64@3-7.5）")
    x, y, w, h = (int(p) for p in parts)
    if w < MIN_BOX or h < MIN_BOX:
        raise UsageError(f"--box {text}：宽和高至少 {MIN_BOX} 像素（收到 {w}×{h}）")
    span = parse_span(when, "--box", text) if at else Span(0.0, None)
    return Box(x, y, w, h, span)


def check_against(spec: RedactionSpec, info: MediaInfo) -> None:
    """Refuse, naming the bad value, a box outside the frame or a range beyond the end."""
    if spec.boxes and not info.has_video:
        raise UsageError("该记录没有画面：不能用 --box 遮挡（可用 --mute 静音）")
    if spec.mutes and not info.has_audio:
        raise UsageError("该记录没有声音：不能用 --mute 静音")
    if not spec.boxes and not spec.mutes:
        raise UsageError("未给出删减内容：请用 --box 指定遮挡区域或 --mute 指定静音时间段")
    for box in spec.boxes:
        where = f"--box {box.as_text()}"
        if box.x + box.w > info.width or box.y + box.h > info.height:
            raise UsageError(
                f"{where}：超出画面（画面 {info.width}×{info.height}，框的右下角在"
                f" {box.x + box.w},{box.y + box.h}）"
            )
        _check_span(box.span, info, where)
    for span in spec.mutes:
        _check_span(span, info, f"--mute {span.as_text()}")


def _check_span(span: Span, info: MediaInfo, where: str) -> None:
    if info.duration <= 0:
        return  # ffprobe could not tell: ffmpeg's `between` simply never fires past the end
    limit = info.duration + TIME_SLACK
    for t in (span.start, span.end):
        if t is not None and t > limit:
            raise UsageError(f"{where}：时间 {_fmt(t)} 秒超出记录时长 {_fmt(info.duration)} 秒")


# -- the ffmpeg filter graph ---------------------------------------------------------------------
def _blur(box: Box) -> str:
    """A strong box blur inside the box, within boxblur's limits (a radius at most half the
    plane's shorter side; the chroma planes are half the size in 4:2:0)."""
    short = min(box.w, box.h)
    luma = max(1, min(short // 4, short // 2 - 1))
    chroma = max(0, min(luma // 2, short // 4 - 1))
    return f"boxblur=luma_radius={luma}:luma_power=3:chroma_radius={chroma}:chroma_power=3"


def _mosaic(box: Box) -> str:
    """Blocks: shrink to a few pixels by area averaging, enlarge without interpolation
    (ffmpeg 5.1 has no `pixelize`, which came with 6.0)."""
    block = max(2, math.ceil(min(box.w, box.h) / MOSAIC_BLOCKS))
    small_w, small_h = max(1, math.ceil(box.w / block)), max(1, math.ceil(box.h / block))
    return f"scale={small_w}:{small_h}:flags=area,scale={box.w}:{box.h}:flags=neighbor"


def video_graph(spec: RedactionSpec, duration: float, frame: tuple[int, int]) -> str:
    """`split` → per box `crop` → blur or mosaic → `overlay` enabled over its time range.
    Input label [0:v], output label [v]."""
    boxes = [b.even(frame) for b in spec.boxes]
    if not boxes:
        return f"[0:v]{EVEN_FRAME}[v]"
    n = len(boxes)
    parts = [f"[0:v]split={n + 1}[base]" + "".join(f"[c{i}]" for i in range(n))]
    for i, b in enumerate(boxes):
        hide = _mosaic(b) if spec.method == "mosaic" else _blur(b)
        parts.append(f"[c{i}]crop={b.w}:{b.h}:{b.x}:{b.y},{hide}[h{i}]")
    below = "base"
    for i, b in enumerate(boxes):
        parts.append(f"[{below}][h{i}]overlay={b.x}:{b.y}:enable='{b.span.ffmpeg_enable(duration)}'[o{i}]")
        below = f"o{i}"
    return ";".join([*parts, f"[{below}]{EVEN_FRAME}[v]"])


def audio_filter(spec: RedactionSpec, duration: float) -> str | None:
    """`volume=0` enabled over each muted range; None without any."""
    if not spec.mutes:
        return None
    return ",".join(f"volume=enable='{s.ffmpeg_enable(duration)}':volume=0" for s in spec.mutes)

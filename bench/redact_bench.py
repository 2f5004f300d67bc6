"""`zfjl redact` against a plain ffmpeg re-encode of the same file, in the same run; and face
proposals over the same recording.

    .venv/bin/python bench/redact_bench.py                      # 10 minutes of 1080p30
    .venv/bin/python bench/redact_bench.py --seconds 60         # reduced, on a loaded machine

The recording is made first (not timed): `testsrc2` with sensor-like noise at the size and
rate given, H.264 + AAC as a body camera writes it, with a real face (Grace Hopper's portrait
from matplotlib's wheel) crossing the frame for a third of the time. It is ingested into a
fresh vault under a view grant. Then, timed:
- the plain re-encode: ffmpeg with the very encoder settings a derivative uses (libx264
  veryfast CRF 20, AAC 128k, faststart), no filter;
- `redact`: three boxes (two over time ranges, one for the whole recording) blurred and one
  muted range, everything the library does included (the grant check, the journal, ffmpeg,
  the four digests, the store, the seal);
- `propose_faces`: sampling at 3 fps, CenterFace on each sample, merging.
Targets (issue 26): redaction ≥ 1× real time; face proposals ≤ the recording's duration.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from zfjl.access import add_grant  # noqa: E402
from zfjl.ingest import ingest  # noqa: E402
from zfjl.redact import RedactionSpec, parse_box, parse_span, redact  # noqa: E402
from zfjl.redact.derivatives import AUDIO_ARGS, CONTAINER_ARGS, VIDEO_ARGS  # noqa: E402
from zfjl.redact.faces import propose_faces  # noqa: E402
from zfjl.vault.setup import init_vault  # noqa: E402


def make_recording(path: Path, seconds: float, size: str, fps: int) -> None:
    import matplotlib

    photo = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    w, h = (int(x) for x in size.split("x"))
    face_h = h // 3
    graph = (f"[0:v]noise=alls=12:allf=t[bg];[1:v]scale=-2:{face_h}[f];"
             f"[bg][f]overlay=x='mod(t*{w / 20:.0f},{w})':y={h // 4}"
             f":enable='between(mod(t,30),0,10)'[v]")  # fmt: skip
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:duration={seconds}",
         "-loop", "1", "-framerate", str(fps), "-t", str(seconds), "-i", str(photo),
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-filter_complex", graph, "-map", "[v]", "-map", "2:a",
         "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "8M", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", str(path)],
        check=True,
    )  # fmt: skip


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (ffmpeg): on a machine shared
    with others the wall clock measures the neighbours, this does not."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """fn's result, wall seconds, CPU seconds."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    out = fn()
    return out, time.perf_counter() - wall, cpu_seconds() - cpu


def plain_reencode(src: Path, dest: Path) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src),
                    *VIDEO_ARGS, *AUDIO_ARGS, *CONTAINER_ARGS, str(dest)], check=True)  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--fps", type=int, default=30)
    args = ap.parse_args()
    (HERE / "data").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="zfjl-redact-bench-", dir=HERE / "data") as tmp:
        work = Path(tmp)
        card = work / "card"
        card.mkdir()
        src = card / "DSJ01_20240506_103200_0001.MP4"
        t0 = time.perf_counter()
        make_recording(src, args.seconds, args.size, args.fps)
        print(f"recording made in {time.perf_counter() - t0:.1f} s ({src.stat().st_size >> 20} MiB)",
              file=sys.stderr)  # fmt: skip
        with init_vault(work / "vault", bureau="株洲市城市管理和综合执法局") as vault:
            (oid,) = [f.id for f in ingest(vault, card).files if f.id]
            add_grant(vault, vault.actor, oid, scope="view", approved_by="王局长",
                      approval_no="局批〔2026〕1号", until="2099-12-31")  # fmt: skip
            w, h = (int(x) for x in args.size.split("x"))
            end = args.seconds
            spec = RedactionSpec(boxes=(
                parse_box(f"{w // 10},{h // 10},{w // 6},{h // 5}@0-{end / 2:g}"),
                parse_box(f"{w // 2},{h // 2},{w // 5},{h // 4}@{end / 4:g}-{end:g}"),
                parse_box(f"{w - w // 8 - 16},16,{w // 8},{h // 12}"),  # a timestamp overlay
            ), mutes=(parse_span(f"{end / 3:g}-{end / 2:g}"),))  # fmt: skip
            load = os.getloadavg()[0]
            _, plain, plain_cpu = timed(lambda: plain_reencode(src, work / "plain.mp4"))
            made, redaction, redaction_cpu = timed(lambda: redact(vault, oid, spec))
            faces, proposing, proposing_cpu = timed(lambda: propose_faces(vault, oid))
    cores = os.cpu_count() or 1
    result = {
        "recording": {"seconds": args.seconds, "size": args.size, "fps": args.fps},
        "cpus": cores, "load_before": round(load, 2),
        "plain_reencode": {"wall_s": round(plain, 2), "cpu_s": round(plain_cpu, 2)},
        "redact": {"wall_s": round(redaction, 2), "cpu_s": round(redaction_cpu, 2)},
        "faces": {"wall_s": round(proposing, 2), "cpu_s": round(proposing_cpu, 2),
                  "frames": faces.frames, "proposed": len(faces.proposals)},
        "redact_vs_plain_wall": round(redaction / plain, 3),
        "redact_vs_plain_cpu": round(redaction_cpu / plain_cpu, 3),
        "redact_x_realtime_wall": round(args.seconds / redaction, 3),
        # What the wall clock would be with the cores to itself: CPU time spread over them.
        "redact_x_realtime_cores": round(args.seconds / (redaction_cpu / cores), 3),
        "faces_vs_duration_wall": round(proposing / args.seconds, 3),
        "faces_vs_duration_cores": round(proposing_cpu / cores / args.seconds, 3),
        "derivative_bytes": made.size,
    }  # fmt: skip
    print(json.dumps(result, indent=2))
    ok = result["redact_x_realtime_wall"] >= 1.0 and result["faces_vs_duration_wall"] <= 1.0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

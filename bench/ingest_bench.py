"""Ingest, re-ingest, verify and metadata speed, as ratios against reference tools run in the
same session on the same dump (never absolute timings in unit tests).

    make bench            # or: .venv/bin/python bench/ingest_bench.py [--size-gb 2.2]

The dump (≥ 2 GB: long CBR H.264 videos under three vendors' names, JPEG photos, WAV and AMR
audio, a settings file) is generated once under bench/data/ and reused. Each measurement runs
with a warm page cache, like the reference figures in docs/ingest.md.
Targets (issue #2, 2-core machine; since issue 14 a first ingest is timed until every file is
reported stored, sealed beside it, as bench/seal_bench.py does):
  first ingest   ≥ 0.8 × throughput of `cp -r` + `sync`
  re-ingest      ≤ 3 × the time of `b3sum`
  verify         ≥ 0.5 × throughput of `b3sum`
  metadata       ≥ 0.8 × files/s of one `exiftool -r -j`
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from seal_bench import ingest_timed  # the same clock for "stored" as the issue-14 bench

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
ZFJL = [sys.executable, "-m", "zfjl"]
TZ = dt.timezone(dt.timedelta(hours=8))


def run(*args: str | Path, **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([str(a) for a in args], check=True, stdin=subprocess.DEVNULL, **kw)  # type: ignore[call-overload, no-any-return]


def ffmpeg(*args: str | Path) -> None:
    run("ffmpeg", "-nostdin", "-y", "-v", "error", *args)


def make_dump(dest: Path, size_gb: float) -> None:
    """Generate the dump: one long CBR video remuxed under many names and dates, photos,
    audio. Remuxing (-c copy) makes each video distinct in bytes at disk speed."""
    sys.path.insert(0, str(HERE.parent))
    from zfjl.sample import make_amr

    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    video_dir, photo_dir, audio_dir = (
        tmp / "DCIM" / "100MEDIA",
        tmp / "DCIM" / "PHOTO",
        tmp / "RECORD",
    )
    for d in (video_dir, photo_dir, audio_dir):
        d.mkdir(parents=True)
    base = tmp / "base.mp4"
    print("生成基础视频（60 秒 1280x720，20 Mbit/s CBR）…", flush=True)
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1280x720:rate=25:duration=60",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=60",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-b:v",
        "20M",
        "-minrate",
        "20M",
        "-maxrate",
        "20M",
        "-bufsize",
        "20M",
        "-x264-params",
        "nal-hrd=cbr:force-cfr=1",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        base,
    )
    start = dt.datetime(2024, 5, 6, 8, 0, 0, tzinfo=TZ)
    n_videos = max(1, int(size_gb * 1e9 / base.stat().st_size) + 1)
    names = [
        "{d}_{t:%Y%m%d_%H%M%S}_{i:04d}.MP4",
        "{o}_{d}_{t:%Y%m%d%H%M%S}_{i:04d}_IMP.MP4",
        "DSJ_{d}_{o}_{t:%Y%m%d_%H%M%S}.MP4",
    ]
    print(f"封装 {n_videos} 个视频…", flush=True)
    for i in range(n_videos):
        t = start + dt.timedelta(minutes=2 * i)
        name = names[i % 3].format(d=f"DSJ{i % 5 + 1:02d}", o=f"01{i % 7:04d}", t=t, i=i)
        ffmpeg(
            "-i",
            base,
            "-c",
            "copy",
            "-metadata",
            f"creation_time={t:%Y-%m-%dT%H:%M:%S}",
            video_dir / name,
        )
        stamp = (t + dt.timedelta(seconds=60)).timestamp()
        os.utime(video_dir / name, (stamp, stamp))
    base.unlink()
    print("生成照片与音频…", flush=True)
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1920x1080:rate=1",
        "-frames:v",
        "300",
        "-q:v",
        "2",
        photo_dir / "IMG_%04d.JPG",
    )
    run(
        "exiftool",
        "-q",
        "-overwrite_original",
        "-DateTimeOriginal=2024:05:06 09:00:00",
        "-Make=ZFJL",
        "-Model=DSJ-V9",
        photo_dir,
    )
    for i, p in enumerate(sorted(photo_dir.iterdir())):
        t = start + dt.timedelta(minutes=i)
        p.rename(photo_dir / f"DSJ_DSJ{i % 5 + 1:02d}_01{i % 7:04d}_{t:%Y%m%d_%H%M%S}.JPG")
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=300:duration=400",
        "-ac",
        "1",
        "-ar",
        "16000",
        "-f",
        "segment",
        "-segment_time",
        "10",
        audio_dir / "REC_%04d.WAV",
    )
    for i in range(40):
        t = start + dt.timedelta(minutes=3 * i)
        make_amr(audio_dir / f"DSJ{i % 5 + 1:02d}_{t:%Y%m%d_%H%M%S}_{i:04d}.AMR", 10.0, seed=i)
    (tmp / "DEVICE.INI").write_text("[device]\nid=DSJ01\n", encoding="ascii")
    tmp.rename(dest)


def files_and_bytes(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def warm(root: Path) -> None:
    for p in root.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                while f.read(8 << 20):
                    pass


def probe_rate(vault: Path) -> tuple[int, float]:
    """The metadata stage alone, as ingest runs it (one exiftool process, batched; AMR read
    from frame headers; ffprobe only where needed), over every stored object."""
    sys.path.insert(0, str(HERE.parent))
    from zfjl.ingest.probe import Prober
    from zfjl.vault import Vault

    with Vault.open(vault) as v:
        items = [
            (v.objects.path_for(oid), name, size)
            for oid, name, size in v.conn.execute("SELECT id, original_name, size FROM recordings")
        ]
    start = time.perf_counter()
    with Prober() as prober:
        prober.probe(items)
    return len(items), time.perf_counter() - start


def line(label: str, value: float, target: str, ok: bool) -> str:
    return f"  {label:<44} {value:6.2f}   目标 {target:<8} {'达标' if ok else '未达标'}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size-gb", type=float, default=2.2)
    args = ap.parse_args()
    dump = DATA / "dump"
    if not dump.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        make_dump(dump, args.size_gb)
    n_files, n_bytes = files_and_bytes(dump)
    mb = n_bytes / 1e6
    print(f"样本：{n_files} 个文件，{mb:.0f} MB（{dump}）", flush=True)
    warm(dump)

    copy_dest = DATA / "cp-copy"
    vault = DATA / "vault"
    for p in (copy_dest, vault):
        shutil.rmtree(p, ignore_errors=True)

    # cp -r + sync against a first ingest into a fresh vault: each starts after a `sync`,
    # rounds alternate which goes first, the best of three is kept (this disk's speed swings
    # two-fold from minute to minute; a single pair of runs can land either way).
    def cp_once() -> float:
        return timed(lambda: (run("cp", "-r", dump, copy_dest), run("sync")))

    sealed: list[float] = []

    def ingest_once() -> float:
        # Until every file is reported stored, as issue 14 defines a first ingest; the seal
        # runs behind it in the same command and is printed beside.
        stored, done, _ = ingest_timed(vault, [dump])
        sealed.append(done)
        return stored

    t_cps, t_ingests = [], []
    for n in range(3):
        pair = [(t_cps, cp_once, copy_dest), (t_ingests, ingest_once, vault)]
        for times, fn, target in pair if n % 2 == 0 else reversed(pair):
            shutil.rmtree(target, ignore_errors=True)
            if target == vault:
                run(*ZFJL, "--vault", vault, "init", "--bureau", "测试局", stdout=subprocess.DEVNULL)
            run("sync")
            times.append(fn())
    shutil.rmtree(copy_dest, ignore_errors=True)
    t_cp, t_ingest = min(t_cps), min(t_ingests)
    median = sorted(t_cps)[1] / sorted(t_ingests)[1]

    all_files = sorted(str(p) for p in dump.rglob("*") if p.is_file())
    t_b3 = None
    if shutil.which("b3sum"):
        t_b3 = min(
            timed(lambda: run("b3sum", *all_files, stdout=subprocess.DEVNULL)) for _ in range(3)
        )

    t_exif = timed(
        lambda: run(
            "exiftool",
            "-r",
            "-j",
            "-G",
            "-n",
            dump,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )

    t_reingest = timed(
        lambda: run(*ZFJL, "--vault", vault, "ingest", dump, "--json", stdout=subprocess.DEVNULL)
    )
    # Best of three, as b3sum is timed: one run of either swings by a third on this machine.
    t_verify = min(
        timed(lambda: run(*ZFJL, "--vault", vault, "verify", stdout=subprocess.DEVNULL))
        for _ in range(3)
    )
    probed, probe_s = probe_rate(vault)

    print("\n参考（同一会话、同一样本、热缓存）：")
    print(f"  cp -r + sync（最快）  {t_cp:7.2f} s   {mb / t_cp:7.0f} MB/s")
    if t_b3:
        print(f"  b3sum                 {t_b3:7.2f} s   {mb / t_b3:7.0f} MB/s")
    print(f"  exiftool -r -j        {t_exif:7.2f} s   {n_files / t_exif:7.0f} 文件/s")
    print("zfjl：")
    print(f"  ingest（首次，最快）  {t_ingest:7.2f} s   {mb / t_ingest:7.0f} MB/s（至已存储；"
          f"至已封存 {min(sealed):.2f} s）")
    print(f"  元数据阶段            {probe_s:7.2f} s   {probed / probe_s:7.0f} 文件/s")
    print(f"  ingest（再次）        {t_reingest:7.2f} s")
    print(f"  verify                {t_verify:7.2f} s   {mb / t_verify:7.0f} MB/s")
    print("\n比值：")
    r_ingest = t_cp / t_ingest
    print(line("首次入库吞吐 / cp -r+sync 吞吐（各取最快）", r_ingest, "≥ 0.8", r_ingest >= 0.8))
    print(
        f"  （各取中位数：{median:.2f}；三轮 cp {', '.join(f'{t:.2f}' for t in t_cps)} s，"
        f"ingest {', '.join(f'{t:.2f}' for t in t_ingests)} s）"
    )
    if t_b3:
        r_re = t_reingest / t_b3
        print(line("再次入库耗时 / b3sum 耗时", r_re, "≤ 3", r_re <= 3))
        r_ver = t_b3 / t_verify
        print(line("verify 吞吐 / b3sum 吞吐", r_ver, "≥ 0.5", r_ver >= 0.5))
    else:
        print("  （未安装 b3sum：apt-get install b3sum 后可比较再次入库与 verify）")
    r_meta = (probed / probe_s) / (n_files / t_exif) if probe_s else float("inf")
    print(line("元数据 文件/s / exiftool -r -j 文件/s", r_meta, "≥ 0.8", r_meta >= 0.8))
    shutil.rmtree(vault, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

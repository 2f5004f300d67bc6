"""Many stations ingesting at once into one bureau catalog on PostgreSQL (issue 25).

    .venv/bin/python bench/stations_bench.py [--stations 8] [--files 6] [--mb 24]

A PostgreSQL 15 is started here on loopback (tests/postgres.py's server: an unprivileged
user, a free port, fsync off — the catalog's round trips are measured, not its disk). The
bureau's vault is made in the first station's folder (`init --catalog --catalog-owner`), the
others join it (`init --catalog --station`). Each station gets its own camera dump: `--files`
videos of `--mb` MB (one ffmpeg video, each copy given its own trailing bytes, so no content
repeats across stations). All N `zfjl ingest` processes start together; the clock runs until
the last exits (stored, described and sealed). Then: every file catalogued once, in its own
station's folder; the journal's chain intact with no gap; no process failed or met a lock
error; `verify` clean from every station. Beside it, one station alone on SQLite ingests the
same N dumps in one `zfjl ingest` (N cameras at once): its MB/s is the reference; and as a
control, N separate SQLite vaults ingest the N dumps at once (N processes, no shared catalog).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from catalog_bench import bench_pg_server  # noqa: E402

from tests.postgres import _stop  # noqa: E402
from zfjl.vault import Vault, events, journal  # noqa: E402
from zfjl.vault.setup import init_vault, join_station  # noqa: E402
from zfjl.vault.verify import verify  # noqa: E402

DATA = HERE / "data" / "stations"
ZFJL = [sys.executable, "-m", "zfjl"]
BUREAU = "株洲市城市管理和综合执法局"


def template_video(mb: int) -> Path:
    """One camera video of about `mb` MB, made once and reused."""
    path = DATA / f"template-{mb}MB.MP4"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # CBR 8 Mbit/s (1 MB/s, a body camera's 1080p rate): `mb` seconds of video.
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        f"testsrc=size=640x360:rate=25:duration={mb}", "-c:v", "libx264",
                        "-preset", "ultrafast", "-b:v", "8M", "-minrate", "8M", "-maxrate", "8M",
                        "-bufsize", "2M", "-x264-params", "nal-hrd=cbr", "-pix_fmt", "yuv420p",
                        "-metadata", "creation_time=2024-05-04T09:00:00", str(path)],
                       check=True)  # fmt: skip
    return path


def make_dump(dest: Path, station: int, files: int, template: Path) -> int:
    """`files` copies of the template named as a camera names them, each made unique by
    trailing bytes (MP4 readers ignore them). Returns the dump's size in bytes."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    total = 0
    body = template.read_bytes()
    for i in range(files):
        name = f"DSJ{station:02d}_20240504_09{i:02d}00_000{i}.MP4"
        data = body + f"zfjl-bench station {station} file {i} {os.urandom(8).hex()}".encode()
        (dest / name).write_bytes(data)
        total += len(data)
    return total


STAGES: dict[str, list[float]] = {}  # label -> each process's seconds in its stages


def ingest_all(roots: list[Path], dumps: list[Path], label: str = ""
               ) -> tuple[float, list[tuple[int, str]]]:  # fmt: skip
    """Every station's ingest started at once; (seconds until the last exits, [(code, stderr)]).
    Each process's stage times (its --json report) are collected into STAGES[label…]."""
    t0 = time.perf_counter()
    procs = [subprocess.Popen([*ZFJL, "--vault", str(r), "ingest", str(d), "--json"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for r, d in zip(roots, dumps, strict=True)]  # fmt: skip
    outs = [p.communicate() for p in procs]
    seconds = time.perf_counter() - t0
    for out, _ in outs:
        try:
            report = json.loads(out)
            summary = report["summary"]
        except (ValueError, KeyError, TypeError):
            continue
        stages = {**summary.get("stage_seconds", {}), "stored": summary.get("stored_seconds"),
                  "described": summary.get("described_seconds"),
                  "seal": report.get("seal", {}).get("seconds")}  # fmt: skip
        for stage, value in stages.items():
            if value is not None:
                STAGES.setdefault(f"{label}{stage}", []).append(value)
    return seconds, [(p.returncode, err) for p, (_, err) in zip(procs, outs, strict=True)]


def check_bureau(roots: list[Path], files_per_station: int) -> list[str]:
    """What must hold after the run; each failure a line."""
    problems: list[str] = []
    with Vault.open(roots[0]) as v:
        adds = v.conn.execute("SELECT subject, station FROM journal WHERE kind = ?",
                              (events.ObjectAdd.kind,)).fetchall()  # fmt: skip
        subjects = [s for s, _ in adds]
        if len(subjects) != len(set(subjects)) or len(subjects) != files_per_station * len(roots):
            problems.append(f"object.add rows {len(subjects)} ({len(set(subjects))} distinct), "
                            f"expected {files_per_station * len(roots)}")  # fmt: skip
        chain = journal.check_chain(v.conn)
        if chain:
            problems.append(f"chain: {chain[:3]}")
        seqs = [r[0] for r in v.conn.execute("SELECT seq FROM journal ORDER BY seq")]
        if seqs != list(range(1, len(seqs) + 1)):
            problems.append("journal seq has a gap or a repeat")
    for root in roots:
        with Vault.open(root) as v:
            report = verify(v, read_data=False)
            if not report.ok or report.objects_checked != files_per_station:
                codes = sorted({f.code for f in report.findings})
                problems.append(f"verify {root.name}: {report.objects_checked} objects, {codes}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stations", type=int, default=8)
    ap.add_argument("--files", type=int, default=6, help="videos per station")
    ap.add_argument("--mb", type=int, default=24, help="MB per video")
    args = ap.parse_args()
    template = template_video(args.mb)
    server, station_url, owner_url = bench_pg_server("zfjl-pg-stations-")
    try:
        roots = [DATA / f"station-{n}" for n in range(args.stations)]
        dumps = [DATA / f"dump-{n}" / f"DSJ{n:02d}" for n in range(args.stations)]
        for path in roots:
            shutil.rmtree(path, ignore_errors=True)
        size = sum(make_dump(d, n, args.files, template) for n, d in enumerate(dumps))
        init_vault(roots[0], bureau=BUREAU, catalog=station_url, catalog_owner=owner_url).close()
        for n, root in enumerate(roots[1:], 1):
            join_station(root, catalog=station_url, station=f"station-{n}").close()
        os.sync()  # the dumps' pages written out before the clock starts
        seconds, results = ingest_all(roots, dumps, "pg:")
        failed = [(n, code, err.strip()[-300:]) for n, (code, err) in enumerate(results) if code]
        locks = [n for n, (_, err) in enumerate(results) if "锁" in err or "locked" in err]
        problems = check_bureau(roots, args.files)
        # The reference: one station on SQLite ingesting the same dumps in one run (its N
        # cameras at once, the ingest's own worker limit), so the same bytes on the same disk.
        alone = DATA / "station-sqlite"
        shutil.rmtree(alone, ignore_errors=True)
        init_vault(alone, bureau=BUREAU).close()
        os.sync()
        t0 = time.perf_counter()
        solo = subprocess.run([*ZFJL, "--vault", str(alone), "ingest", *map(str, dumps), "--json"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
        solo_seconds = time.perf_counter() - t0
        # The control: N stations on N separate SQLite vaults, at once — N processes on the
        # same cores and disk without a shared catalog, to tell the catalog's cost from theirs.
        separate = [DATA / f"station-sqlite-{n}" for n in range(args.stations)]
        for root in separate:
            shutil.rmtree(root, ignore_errors=True)
            init_vault(root, bureau=BUREAU).close()
        os.sync()
        separate_seconds, separate_results = ingest_all(separate, dumps, "separate:")
        mb = 1024 * 1024
        figures = {
            "stations": args.stations, "files_per_station": args.files,
            "mb_total": round(size / mb, 1), "seconds": round(seconds, 2),
            "aggregate_mb_s": round(size / mb / seconds, 1),
            "one_station_sqlite_mb_s": round(size / mb / solo_seconds, 1),
            "one_station_sqlite_seconds": round(solo_seconds, 2),
            "separate_sqlite_vaults_mb_s": round(size / mb / separate_seconds, 1),
            "failed": failed, "lock_errors": locks, "problems": problems,
            "sqlite_failed": [solo.returncode] if solo.returncode else [],
            "separate_failed": [c for c, _ in separate_results if c],
        }
        figures["mean_stage_seconds"] = {k: round(sum(v) / len(v), 2) for k, v in STAGES.items()}
        figures["ratio"] = round(figures["aggregate_mb_s"] / figures["one_station_sqlite_mb_s"], 2)
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        print(f"\n{args.stations} stations → one PostgreSQL catalog: {figures['aggregate_mb_s']} MB/s"
              f" aggregate ({figures['mb_total']} MB in {figures['seconds']} s); one station on"
              f" SQLite: {figures['one_station_sqlite_mb_s']} MB/s; ratio {figures['ratio']}×;"
              f" {args.stations} separate SQLite vaults at once:"
              f" {figures['separate_sqlite_vaults_mb_s']} MB/s")  # fmt: skip
        ok = not (failed or locks or problems or figures["sqlite_failed"]
                  or figures["separate_failed"])  # fmt: skip
        print("every file once, chain intact, no lock error, verify clean" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        _stop(server)  # type: ignore[arg-type]


if __name__ == "__main__":
    raise SystemExit(main())

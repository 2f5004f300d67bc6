"""A bureau-sized catalog on SQLite and on PostgreSQL, side by side (issue 25, "Speed").

    .venv/bin/python bench/scale_bench.py [--cases 100000] [--cameras 500] [--per-day 4]

The same content goes into two vaults, one on catalog.db and one on a PostgreSQL started here
on loopback (tests/postgres.py's server, fsync off: the figures compare query work, not disks):

- a month (2024-05) of footage from `--cameras` registered cameras, `--per-day` files a camera a
  day (`zfjl.sample.make_bureau_month`: the events ingest and `zfjl device` journal, no media
  bytes — the report and the search read the catalog only);
- `--cases` cases: the three sample cases (13, 30 and 7 documents, 1-9 media links) cloned with
  new numbers, units and dates spread over the twelve months up to the report's, imported as
  `case.import` events 2,000 to a transaction (the derived tables are what `zfjl case import`
  makes: the same `Writer.append`).

Then, on each backend: `check --all` as the library call the CLI makes (and once through the
CLI, start-up included), the monthly report's figures over the cameras (`build_report`), and
the web page's recording search (`search_recordings`: the first page, page 500, one camera,
one officer). Printed: each figure and PostgreSQL / SQLite (smaller is faster).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from catalog_bench import bench_pg_server  # noqa: E402
from check_bench import shifted, timed  # noqa: E402

from tests.postgres import _stop  # noqa: E402
from zfjl.checklists import check_all  # noqa: E402
from zfjl.checklists.examples import SAMPLES, load_sample  # noqa: E402
from zfjl.reports import build_report  # noqa: E402
from zfjl.sample import UNITS, make_bureau_month  # noqa: E402
from zfjl.vault import Vault, events  # noqa: E402
from zfjl.vault.queries.web import RecordingSearch, search_recordings  # noqa: E402

PERIOD = "2024-05"
AS_OF = dt.date(2024, 5, 31)
TZ = dt.timezone(dt.timedelta(hours=8))
BATCH = 2_000


def add_cases(vault: Vault, n: int) -> None:
    """n cases opened over the year up to the end of PERIOD (about a twelfth in it), open."""
    samples = [load_sample(name) for name in SAMPLES]
    for base in range(0, n, BATCH):
        with vault.writing() as w:
            for i in range(base, min(base + BATCH, n)):
                sample = samples[i % 3]
                opened = dt.date(2024, 5, 31) - dt.timedelta(days=(i * 7919) % 365)
                days = (opened - dt.date.fromisoformat(sample["opened_at"][:10])).days
                case = copy.deepcopy(shifted(sample, days))
                assert isinstance(case, dict)
                case.update(case=f"CASE-S-{i:06d}", unit=UNITS[i % 10], status="办理中")
                w.append(events.CaseImport(case=case), f"case:{case['case']}")


def build(vault: Vault, cases: int, cameras: int, per_day: int) -> tuple[float, float]:
    start = time.perf_counter()
    make_bureau_month(vault, PERIOD, cameras=cameras, recordings=cameras * 31 * per_day, cases=0)
    footage = time.perf_counter() - start
    start = time.perf_counter()
    add_cases(vault, cases)
    return footage, time.perf_counter() - start


def best_of(fn: Callable[[], Any], rounds: int = 3) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def searches(vault: Vault) -> dict[str, float]:
    return {
        "search p1": best_of(lambda: search_recordings(vault, RecordingSearch())),
        "search p500": best_of(lambda: search_recordings(vault, RecordingSearch(), 500)),
        "search cam": best_of(lambda: search_recordings(vault, RecordingSearch(device="DSJ007"))),
        # DSJ008's holder (make_bureau_month: camera i is assigned to officer 10000 + i)
        "search officer": best_of(lambda: search_recordings(vault, RecordingSearch(officer="10007"))),
    }


def measure(root: Path, args: argparse.Namespace, **catalog: str) -> dict[str, float]:
    shutil.rmtree(root, ignore_errors=True)
    with Vault.create(root, clock=lambda: dt.datetime(2024, 6, 20, 9, tzinfo=TZ),
                      **catalog) as vault:  # type: ignore[arg-type]  # fmt: skip
        t_footage, t_cases = build(vault, args.cases, args.cameras, args.per_day)
    figures = {"build footage": t_footage, "build cases": t_cases}
    print(f"  built: footage {t_footage:.1f} s, cases {t_cases:.1f} s", flush=True)
    with Vault.open(root) as vault:
        start = time.perf_counter()
        reports = list(check_all(vault, today=AS_OF))
        figures["check --all (library)"] = time.perf_counter() - start
        assert len(reports) == args.cases, len(reports)
        figures["report"] = best_of(lambda: build_report(vault, PERIOD), 2)
        figures.update(searches(vault))
    timed("--vault", str(root), "check", "CASE-S-000000")  # warm-up: bytecode, rule cache
    figures["check --all (CLI)"], _ = timed("--vault", str(root), "check", "--all", "--as-of",
                                            AS_OF.isoformat(), "--json")  # fmt: skip
    return figures


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--cameras", type=int, default=500)
    ap.add_argument("--per-day", type=int, default=4)
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    args = ap.parse_args()
    server, station_url, owner_url = bench_pg_server("zfjl-pg-scale-")
    roots = {"SQLite": (HERE / "data" / "scale-sqlite", {}),
             "PostgreSQL": (HERE / "data" / "scale-pg",
                            {"catalog": station_url, "catalog_owner": owner_url})}  # fmt: skip
    if args.only:
        roots = {k: v for k, v in roots.items() if k.lower() == args.only}
    recordings = args.cameras * 31 * args.per_day
    print(f"{args.cases} 件案件，{args.cameras} 台记录仪，{recordings} 件记录（{PERIOD}）")
    try:
        figures: dict[str, dict[str, float]] = {}
        for name, (root, catalog) in roots.items():
            figures[name] = measure(root, args, **catalog)
            print(f"{name}: " + "，".join(f"{k} {v:.3f} s" for k, v in figures[name].items()),
                  flush=True)  # fmt: skip
        if len(figures) == 2:
            s, p = figures["SQLite"], figures["PostgreSQL"]
            print(f"{'':24}{'SQLite':>10}{'PostgreSQL':>12}{'PG/SQLite':>11}")
            for key in s:
                print(f"{key:24}{s[key]:10.3f}{p[key]:12.3f}{p[key] / s[key]:10.2f}×")
        print(f"本机 {os.cpu_count()} 核，平均负载 {'/'.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        _stop(server)  # type: ignore[arg-type]
        shutil.rmtree(server.folder, ignore_errors=True)  # type: ignore[attr-defined]
        for root, _ in roots.values():
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`zfjl bundle` throughput against `cp -r` of the same original files, in one session.

    .venv/bin/python bench/bundle_bench.py

Both sides are timed to the end of a `sync`. Uses the ≥ 2 GB dump of bench/ingest_bench.py (generated there if missing): all its videos
linked to one case. Measures the import of the case (which fixes each original's SHA-512 and SM3 in the journal, once),
`cp -r` of the objects, and `zfjl bundle`: each case's first bundle and a later one, medians of four rounds.
Target (issues #4, #14): ≥ 0.8 × the throughput of `cp -r`, the first bundle and every later one.
"""

from __future__ import annotations

import copy
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from zfjl.bundle import bundle_case  # noqa: E402
from zfjl.cases.store import import_case  # noqa: E402
from zfjl.checklists.examples import load_sample  # noqa: E402
from zfjl.ingest import ingest  # noqa: E402
from zfjl.vault.setup import init_vault  # noqa: E402


def main() -> int:
    dump = HERE / "data" / "dump"
    if not dump.exists():  # the dump only, not ingest_bench's measures
        sys.path.insert(0, str(HERE))
        from ingest_bench import make_dump

        dump.parent.mkdir(parents=True, exist_ok=True)
        make_dump(dump, 2.2)
    work = Path(tempfile.mkdtemp(prefix="zfjl-bundle-bench-", dir=HERE / "data"))
    try:
        with init_vault(work / "vault", bureau="株洲市城市管理和综合执法局") as vault:
            ingest(vault, dump)
            media = [{"device": f"DSJ{d:02d}", "from": "2024-05-06T07:00", "to": "2024-05-06T12:00",
                      "activity": "现场检查", "proves": "现场情况", "maker": "李明"}
                     for d in range(1, 6)]  # fmt: skip
            # Four cases over the same footage: each one's first bundle typesets its documents
            # anew, so first bundles can be timed four times too.
            t_import = []
            for n in range(1, 5):
                case = copy.deepcopy(load_sample("penalty"))
                case["case"], case["media"] = f"CASE-BENCH-{n:03d}", media
                start = time.perf_counter()
                linked = import_case(vault, case)["media"]
                t_import.append(time.perf_counter() - start)
            objects = [vault.objects.path_for(m["recording"]) for m in linked]
            size = sum(p.stat().st_size for p in objects)
            src = work / "objects-only"
            src.mkdir()
            for p in objects:
                (src / p.name).hardlink_to(p)

            # Every measurement ends with `sync` and starts after one; rounds alternate which
            # side goes first and the median of each is kept: this disk's speed swings
            # two-fold from minute to minute.
            def timed(fn) -> float:  # type: ignore[no-untyped-def]
                subprocess.run(["sync"], check=True)
                start = time.perf_counter()
                fn()
                subprocess.run(["sync"], check=True)
                return time.perf_counter() - start

            def cp(n: int, again: bool) -> None:
                subprocess.run(["cp", "-r", str(src), str(work / f"cp-{n}")], check=True)

            def bundle(n: int, again: bool) -> None:
                bag = work / f"bag-{n}-{again}"
                bundle_case(vault, f"CASE-BENCH-{n:03d}", bag, purpose="court", approval="株城管复〔2024〕7号")

            times: dict[str, list[float]] = {"cp": [], "first": [], "again": []}
            for n in range(1, 5):
                steps = [("cp", cp, False), ("first", bundle, False), ("again", bundle, True)]
                for key, fn, again in steps if n % 2 else reversed(steps):
                    times[key].append(timed(lambda fn=fn, n=n, again=again: fn(n, again)))  # type: ignore[misc]
                for leftover in work.glob(f"*-{n}*"):
                    shutil.rmtree(leftover)
            t_cp = statistics.median(times["cp"])
            timings = [statistics.median(times["first"]), statistics.median(times["again"])]
        mb = size / 1e6
        print(f"原始记录 {len(objects)} 个，{mb:.0f} MB")
        print(f"  cp -r + sync（中位数）   {t_cp:6.2f} s  {mb / t_cp:7.0f} MB/s")
        print(f"  导入案件：首次 {t_import[0]:.2f} s，之后 {min(t_import[1:]):.2f} s")
        labels = ("bundle（案件首次打包）", "bundle（再次打包）")
        for label, t in zip(labels, timings, strict=True):
            ratio = t_cp / t
            print(f"  {label:<22}{t:6.2f} s  {mb / t:7.0f} MB/s  比值 {ratio:.2f}  目标 ≥ 0.8  "
                  f"{'达标' if ratio >= 0.8 else '未达标'}")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`zfjl report` for a month of a 200-camera bureau: ~50,000 recordings, 2,000 cases.

    .venv/bin/python bench/report_bench.py [--cameras 200] [--recordings 50000] [--cases 2000]

Devices, recordings and faults come from `zfjl.sample.make_bureau_month`; the cases are the
three sample cases (13, 27 and 7 documents) cloned into the month with units, as
bench/check_bench.py makes them, so the per-case checks cost what real cases cost.
Target (issue #6, 2-core machine): the figures in ≤ 2 s. The reference is a bare SQL scan of
the same recordings table in the same process (what no report can beat), printed as a ratio.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from check_bench import shifted  # noqa: E402

from zfjl.checklists.examples import SAMPLES, load_sample  # noqa: E402
from zfjl.render import report_pdf, vault_template_dirs  # noqa: E402
from zfjl.reports import build_report, to_html  # noqa: E402
from zfjl.reports.charts import charts  # noqa: E402
from zfjl.sample import UNITS, make_bureau_month  # noqa: E402
from zfjl.vault import Vault, events  # noqa: E402

PERIOD = "2024-05"


def add_cases(vault: Vault, n: int) -> None:
    samples = [load_sample(name) for name in SAMPLES]
    for base in range(0, n, 500):
        with vault.writing() as w:
            for i in range(base, min(base + 500, n)):
                sample = samples[i % 3]
                days = (
                    dt.date(2024, 5, 1 + i % 31) - dt.date.fromisoformat(sample["opened_at"][:10])
                ).days
                case = copy.deepcopy(shifted(sample, days))
                assert isinstance(case, dict)
                case.update(case=f"CASE-R-{i:05d}", unit=UNITS[i % 10], status="办理中")
                w.append(events.CaseImport(case=case), f"case:{case['case']}")


def best_of(fn, rounds: int = 3) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, default=200)
    ap.add_argument("--recordings", type=int, default=50_000)
    ap.add_argument("--cases", type=int, default=2_000)
    args = ap.parse_args()
    root = HERE / "data" / "report-vault"
    shutil.rmtree(root, ignore_errors=True)
    tz = dt.timezone(dt.timedelta(hours=8))
    vault = Vault.create(root, clock=lambda: dt.datetime(2024, 6, 20, 9, tzinfo=tz))
    start = time.perf_counter()
    make_bureau_month(vault, PERIOD, cameras=args.cameras, recordings=args.recordings, cases=0)
    add_cases(vault, args.cases)
    print(f"生成：{args.cameras} 台记录仪，{args.recordings} 件记录，{args.cases} 件案件，"
          f"{time.perf_counter() - start:.1f} s")  # fmt: skip
    ref, _ = best_of(lambda: vault.conn.execute(
        "SELECT device, COUNT(*), SUM(duration), SUM(late) FROM recordings GROUP BY device").fetchall())  # fmt: skip
    t_fig, report = best_of(lambda: build_report(vault, PERIOD))
    assert isinstance(report, dict)
    t_html, _ = best_of(lambda: to_html(report), 1)
    t_pdf, _ = best_of(lambda: report_pdf(report, charts(report), vault_template_dirs(vault),
                                          bureau=vault.config.bureau), 1)  # fmt: skip
    print(f"参照：一次 SQL 全表分组统计 {ref:.3f} s")
    print(f"统计数字（含 {args.cases} 件案件逐条检查）：{t_fig:.2f} s = 参照的 {t_fig / ref:.0f} 倍   "
          f"目标 ≤ 2 s  {'达标' if t_fig <= 2 else '未达标'}")  # fmt: skip
    print(f"HTML（含 3 幅图）：{t_html:.2f} s；PDF：{t_pdf:.2f} s")
    cold = time.perf_counter()
    subprocess.run([sys.executable, "-m", "zfjl", "--vault", str(root), "report", "--period", PERIOD,
                    "--json"], stdout=subprocess.DEVNULL, check=True)  # fmt: skip
    print(f"zfjl report --json（命令行，含启动）：{time.perf_counter() - cold:.2f} s")
    vault.close()
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

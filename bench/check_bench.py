"""`zfjl check --all` over 10,000 cases of realistic size, and one `zfjl check` from a cold start.

    .venv/bin/python bench/check_bench.py [--cases 10000]

The cases are the three sample cases (13, 30 and 7 documents; 1-9 media links) cloned with
new numbers and dates shifted over a year, marked open, and imported as journal events.
Targets (issues #3 and #12, 2-core machine): ≥ 1,000 cases checked per second end to end,
start-up included; one case in under 0.3 s including start-up.

The commands run as an installed zfjl runs: with its modules' bytecode cached (written once,
by a warm-up run, under bench/data/pycache, even where PYTHONDONTWRITEBYTECODE is set) and the
rule packs' parse cached (~/.cache/zfjl). The single-case time without any bytecode is printed
too, for comparison.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from zfjl.checklists.examples import SAMPLES, load_sample  # noqa: E402
from zfjl.vault import Vault, events  # noqa: E402

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def shifted(value: object, days: int) -> object:
    if isinstance(value, dict):
        return {k: shifted(v, days) for k, v in value.items()}
    if isinstance(value, list):
        return [shifted(v, days) for v in value]
    if isinstance(value, str) and ISO.match(value):
        return (dt.datetime.fromisoformat(value) + dt.timedelta(days=days)).isoformat()
    return value


def populate(vault: Vault, n: int) -> float:
    samples = [load_sample(name) for name in SAMPLES]
    start = time.perf_counter()
    batch = 500
    for base in range(0, n, batch):
        with vault.writing() as w:
            for i in range(base, min(base + batch, n)):
                case = copy.deepcopy(shifted(samples[i % 3], (i * 7) % 365))
                assert isinstance(case, dict)
                case["case"] = f"CASE-B-{i:05d}"
                case["status"] = "办理中"
                w.append(events.CaseImport(case=case), f"case:{case['case']}")
    return time.perf_counter() - start


def bench_env(bytecode: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(HERE.parent)
    if bytecode:
        env["PYTHONPYCACHEPREFIX"] = str(HERE / "data" / "pycache")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    return env


def timed(*args: str, bytecode: bool = True) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "zfjl", *args], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False, env=bench_env(bytecode))  # fmt: skip
    return time.perf_counter() - start, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=10_000)
    args = ap.parse_args()
    root = HERE / "data" / "check-vault"
    shutil.rmtree(root, ignore_errors=True)
    with Vault.create(root) as vault:
        t_import = populate(vault, args.cases)
    print(
        f"导入 {args.cases} 件：{t_import:.2f} s（{args.cases / t_import:.0f} 件/s，日志事件直写）"
    )
    timed("--vault", str(root), "check", "CASE-B-00000")  # warm-up: bytecode and rule cache
    t_all, rc = timed("--vault", str(root), "check", "--all", "--as-of", "2025-06-30", "--json")
    rate = args.cases / t_all
    print(
        f"zfjl check --all：{t_all:.2f} s，{rate:.0f} 件/s（退出码 {rc}）   目标 ≥ 1000 件/s  "
        f"{'达标' if rate >= 1000 else '未达标'}"
    )
    singles = [timed("--vault", str(root), "check", "CASE-B-00001")[0] for _ in range(7)]
    best, median = min(singles), sorted(singles)[3]
    print(
        f"zfjl check 单件（含启动）：最快 {best:.3f} s，中位 {median:.3f} s   "
        f"目标 < 0.3 s  {'达标' if median < 0.3 else ('最快达标' if best < 0.3 else '未达标')}"
    )
    cold = [timed("--vault", str(root), "check", "CASE-B-00001", bytecode=False)[0]
            for _ in range(3)]  # fmt: skip
    print(f"  对照：不用字节码缓存（每次编译源码）最快 {min(cold):.3f} s")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"  本机 {os.cpu_count()} 核，1 分钟平均负载 {load:.2f}")
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

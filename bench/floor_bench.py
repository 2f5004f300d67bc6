"""The floor under any first ingest on this machine: the least work the issue asks for — copy each
file, SHA-256 and BLAKE3 of it, make it durable — with nothing else (no metadata, no catalog,
no journal, no checks), both cores busy. Compared with `cp -r` + `sync` of the same dump in
alternating rounds, best of three each, as bench/ingest_bench.py does.

    .venv/bin/python bench/floor_bench.py     # after bench/ingest_bench.py made bench/data/dump

If this floor is below 0.8 × cp, no implementation of issue #2 can reach 0.8 × here.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import blake3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from zfjl.vault.objects import copy_file

DATA = Path(__file__).resolve().parent / "data"


def store(src: Path, dest: Path) -> None:
    copy_file(src, dest)  # the vault's own in-kernel copy (copy_file_range)
    with open(src, "rb") as f:
        if os.fstat(f.fileno()).st_size:
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                hashlib.sha256(m).digest()  # hashlib and blake3 release the GIL
                blake3.blake3(m).digest()


def floor_once(dump: Path, dest: Path) -> None:
    files = sorted((p for p in dump.rglob("*") if p.is_file()), key=lambda p: -p.stat().st_size)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda p: store(p, dest / p.relative_to(dump)), files))
    os.sync()


def cp_once(dump: Path, dest: Path) -> None:
    subprocess.run(["cp", "-r", str(dump), str(dest)], check=True)
    os.sync()


def main() -> int:
    dump = DATA / "dump"
    files = [p for p in dump.rglob("*") if p.is_file()]
    mb = sum(p.stat().st_size for p in files) / 1e6
    times: dict[str, list[float]] = {"cp": [], "floor": []}
    for n in range(3):
        order = [("cp", cp_once), ("floor", floor_once)]
        for name, fn in order if n % 2 == 0 else reversed(order):
            dest = DATA / f"{name}-out"
            shutil.rmtree(dest, ignore_errors=True)
            os.sync()
            start = time.perf_counter()
            fn(dump, dest)
            times[name].append(time.perf_counter() - start)
            shutil.rmtree(dest, ignore_errors=True)
    cp, fl = min(times["cp"]), min(times["floor"])
    print(f"{len(files)} 个文件，{mb:.0f} MB")
    print(f"cp -r + sync：{', '.join(f'{t:.2f}' for t in times['cp'])} s；最快 {mb / cp:.0f} MB/s")
    print(f"最少工作量（复制 + SHA-256 + BLAKE3 + sync，两核）：{', '.join(f'{t:.2f}' for t in times['floor'])} s；"
          f"最快 {mb / fl:.0f} MB/s")  # fmt: skip
    print(
        f"比值（各取最快）：{cp / fl:.2f}；中位数：{sorted(times['cp'])[1] / sorted(times['floor'])[1]:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

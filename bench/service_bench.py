"""A command through `zfjl serve` against the same command in direct mode, in one session.

    .venv/bin/python bench/service_bench.py [--runs 15] [--mb 512]

Latency (issue 11: within 50 ms of direct mode): `zfjl ls` and `zfjl check CASE` as the real
`zfjl` executable, alternating direct (`--vault`) and served (`ZFJL_SOCKET`), median of the runs.
Throughput: first ingest of the same dump (fresh vault each time, page cache dropped when
permitted) direct and through the service; the ratio served/direct should stay ≈ 1.

Runs as the vault's owner (the service and the client are the same user here: what is measured
is the socket, the fork and the descriptor passing, not permissions).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ZFJL = [sys.executable, "-m", "zfjl"]
BYTECODE = HERE / "data" / "pycache"


def env_for(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ZFJL_VAULT", "ZFJL_SOCKET")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(BYTECODE)  # as an installed zfjl runs: bytecode cached
    env["PYTHONPATH"] = str(HERE.parent)
    return {**env, **extra}


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([*ZFJL, *args], env=env, check=False, stdout=subprocess.DEVNULL,  # check: 11 = findings
                   stderr=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - start


def drop_caches() -> None:
    subprocess.run(["sync"], check=True)
    with contextlib.suppress(OSError):
        Path("/proc/sys/vm/drop_caches").write_text("3\n")


def start_service(vault: Path, sock: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([*ZFJL, "--vault", str(vault), "serve", "--socket", str(sock)],
                            env=env_for(), stdout=subprocess.PIPE)  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.readline()  # "保管库服务已启动…": listening
    return proc


def latency(work: Path, runs: int) -> None:
    vault = work / "vault"
    subprocess.run([*ZFJL, "--vault", str(vault), "init", "--bureau", "测试局"], env=env_for(),
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    from zfjl.sample import make_case_dump

    make_case_dump(work / "dump")
    subprocess.run([*ZFJL, "--vault", str(vault), "ingest", str(work / "dump")], env=env_for(),
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    case_file = HERE.parent / "zfjl" / "checklists" / "samples" / "penalty.yaml"
    subprocess.run([*ZFJL, "--vault", str(vault), "case", "import", str(case_file)],
                   env=env_for(), check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    sock = work / "zfjl.sock"
    service = start_service(vault, sock)
    try:
        for command in (["ls"], ["check", "CASE-2024-031"]):
            direct, served = [], []
            timed(["--vault", str(vault), *command], env_for())  # warm the bytecode cache
            for _ in range(runs):
                direct.append(timed(["--vault", str(vault), *command], env_for()))
                served.append(timed(command, env_for(ZFJL_SOCKET=str(sock))))
            d, s = statistics.median(direct), statistics.median(served)
            print(f"zfjl {' '.join(command):<20} direct {d * 1000:6.0f} ms   served {s * 1000:6.0f} ms"
                  f"   difference {(s - d) * 1000:+5.0f} ms (target ≤ +50 ms)")
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait()


def ingest_ratio(work: Path, mb: int, runs: int) -> None:
    dump = work / "big"
    dump.mkdir()
    block = os.urandom(1 << 20)
    for i in range(mb // 64):  # 64 MB files: the size of a few minutes of 20 Mbit/s video
        with open(dump / f"DSJ01_20240506{i:06d}.MP4", "wb") as f:
            for _ in range(64):
                f.write(block[i % 7 :] + block[: i % 7])
    times: dict[str, list[float]] = {"direct": [], "served": []}
    for run in range(runs):
        for mode in ("direct", "served") if run % 2 == 0 else ("served", "direct"):
            vault = work / f"v-{mode}-{run}"
            subprocess.run([*ZFJL, "--vault", str(vault), "init", "--bureau", "测试局"],
                           env=env_for(), check=True, stdout=subprocess.DEVNULL)  # fmt: skip
            drop_caches()
            if mode == "direct":
                times[mode].append(timed(["--vault", str(vault), "ingest", str(dump)], env_for()))
            else:
                sock = work / f"s-{run}.sock"
                service = start_service(vault, sock)
                try:
                    times[mode].append(timed(["ingest", str(dump)], env_for(ZFJL_SOCKET=str(sock))))
                finally:
                    service.send_signal(signal.SIGTERM)
                    service.wait()
            shutil.rmtree(vault)
    d, s = statistics.median(times["direct"]), statistics.median(times["served"])
    print(f"ingest {mb} MB   direct {mb / d:6.0f} MB/s   served {mb / s:6.0f} MB/s   "
          f"served/direct throughput {d / s:.2f}× (target ≈ 1)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--mb", type=int, default=512)
    parser.add_argument("--ingest-runs", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    with tempfile.TemporaryDirectory(prefix="zfjl-service-bench-", dir=HERE.parent / "bench") as tmp:
        latency(Path(tmp), args.runs)
        ingest_ratio(Path(tmp), args.mb, args.ingest_runs)


if __name__ == "__main__":
    main()

"""A command through `zfjl serve` against the same command in direct mode, in one session.

    .venv/bin/python bench/service_bench.py [--runs 15] [--mb 512] [--tree DIR]

Latency (issue 11: within 50 ms of direct mode): `zfjl ls` and `zfjl check CASE` as the real
`zfjl` executable, alternating direct (`--vault`) and served (`ZFJL_SOCKET`), median of the runs.
Commands that write a station user's files (issue 23: a station still serves them at today's
speed): `render CASE -o DIR` (every document of the sample penalty case, PDF/A), `bundle make
CASE --purpose court --approval … -o DIR` (its court bag: originals, documents, manifests) and
`export ID… -o DIR` (the case's recordings, under a copy grant the owner gives itself as the
vault's administrator); each run writes to a path of its own (an existing output is refused),
alternating direct and served as above, median of the runs, the ratio served/direct printed.
Throughput: first ingest of the same dump (fresh vault each time, page cache dropped when
permitted) direct and through the service; the ratio served/direct should stay ≈ 1.

Runs as the vault's owner (the service and the client are the same user here: what is measured
is the socket, the fork and the descriptor passing, not permissions). The socket lies in a
0700 folder of that user, with no station record (`$ZFJL_ETC` points at an empty folder): the
client accepts a peer that alone owns the socket's folder.

`--tree DIR` measures another checkout (default: the one holding this file) with its own
`.venv` when it has one, so the same script measures the code before and after a change:

    .venv/bin/python bench/service_bench.py --tree ../wt-old --runs 7 --mb 256
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
BYTECODE = HERE / "data" / "pycache"
CASE = "CASE-2024-031"  # zfjl/checklists/samples/penalty.yaml
APPROVAL = "株城管复〔2024〕7号"


class Tree:
    """The checkout measured: its code on PYTHONPATH, its virtualenv's python as `zfjl`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        python = self.root / ".venv" / "bin" / "python"
        self.zfjl = [str(python) if python.exists() else sys.executable, "-m", "zfjl"]
        self.etc = Path(tempfile.mkdtemp(prefix="zfjl-bench-etc-"))  # no station record

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("ZFJL_VAULT", "ZFJL_SOCKET")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(BYTECODE)  # as an installed zfjl runs: bytecode cached
        env["PYTHONPATH"] = str(self.root)
        env["PYTHONSAFEPATH"] = "1"  # `-m zfjl` must not import a zfjl/ of the working folder
        env["ZFJL_ETC"] = str(self.etc)
        return {**env, **extra}

    def run(self, args: list[str], **extra: str) -> str:
        done = subprocess.run([*self.zfjl, *args], env=self.env(**extra), check=False,
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode:
            sys.exit(f"zfjl {' '.join(args)}: exit {done.returncode}\n{done.stderr}")
        return done.stdout

    def timed(self, args: list[str], ok: tuple[int, ...] = (0,), **extra: str) -> float:
        """Seconds for one command; a command that fails is an error, not a fast run."""
        start = time.perf_counter()
        done = subprocess.run([*self.zfjl, *args], env=self.env(**extra), check=False,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        elapsed = time.perf_counter() - start
        if done.returncode not in ok:
            sys.exit(f"zfjl {' '.join(args)}: exit {done.returncode}\n{done.stderr.decode()}")
        return elapsed

    def start_service(self, vault: Path, sock: Path) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([*self.zfjl, "--vault", str(vault), "serve", "--socket", str(sock)],
                                env=self.env(), stdout=subprocess.PIPE)  # fmt: skip
        assert proc.stdout is not None
        proc.stdout.readline()  # "保管库服务已启动…": listening
        return proc


def socket_folder(work: Path, name: str) -> Path:
    """A folder only this user may write in: where the client accepts a socket of our own."""
    folder = work / name
    folder.mkdir(mode=0o700)
    os.chmod(folder, 0o700)  # whatever the umask
    return folder / "zfjl.sock"


def drop_caches() -> None:
    subprocess.run(["sync"], check=True)
    with contextlib.suppress(OSError):
        Path("/proc/sys/vm/drop_caches").write_text("3\n")


def report(what: str, direct: list[float], served: list[float], target: str = "") -> None:
    d, s = statistics.median(direct), statistics.median(served)
    print(f"zfjl {what:<30} direct {d * 1000:6.0f} ms   served {s * 1000:6.0f} ms"
          f"   difference {(s - d) * 1000:+5.0f} ms   served/direct {s / d:.2f}×{target}", flush=True)


def case_vault(tree: Tree, work: Path) -> tuple[Path, list[str]]:
    """A vault holding the sample cases' footage and the penalty case, its owner granted a copy
    of that case; returns it and the case's recordings."""
    vault = work / "vault"
    tree.run(["--vault", str(vault), "init", "--bureau", "测试局"])
    tree.run(["sample", "--cases", str(work / "dump")])
    tree.run(["--vault", str(vault), "ingest", str(work / "dump")])
    tree.run(["--vault", str(vault), "case", "import",
              str(tree.root / "zfjl" / "checklists" / "samples" / "penalty.yaml")])  # fmt: skip
    owner = pwd.getpwuid(os.getuid()).pw_name
    tree.run(["--vault", str(vault), "grant", "add", owner, "--case", CASE, "--scope", "copy",
              "--approved-by", "王局长", "--approval-no", APPROVAL, "--until", "2099-12-31",
              "--purpose", "性能测试"])  # fmt: skip
    media = json.loads(tree.run(["--vault", str(vault), "case", "show", CASE, "--json"]))["media"]
    return vault, sorted({m["recording"] for m in media})


def latency(tree: Tree, work: Path, runs: int) -> None:
    vault, recordings = case_vault(tree, work)
    sock = socket_folder(work, "run")
    out = work / "out"
    out.mkdir()
    counter = iter(range(1_000_000))

    def fresh(name: str) -> str:
        return str(out / f"{name}-{next(counter)}")  # an existing output is refused (exit 6)

    def bag() -> list[str]:
        return ["bundle", "make", CASE, "--purpose", "court", "--approval", APPROVAL, "-o", fresh("bag")]

    commands: list[tuple[str, Callable[[], list[str]], tuple[int, ...], str]] = [
        ("ls", lambda: ["ls"], (0,), " (target ≤ +50 ms)"),
        (f"check {CASE}", lambda: ["check", CASE], (0, 11), " (target ≤ +50 ms)"),  # 11: findings
        (f"render {CASE}", lambda: ["render", CASE, "-o", fresh("documents")], (0,), ""),
        (f"bundle make {CASE}", bag, (0,), ""),
        (f"export ×{len(recordings)}", lambda: ["export", *recordings, "-o", fresh("copies")], (0,), ""),
    ]
    service = tree.start_service(vault, sock)
    try:
        for what, argv, ok, target in commands:
            direct, served = [], []
            tree.timed(["--vault", str(vault), *argv()], ok)  # warm the bytecode cache
            for run in range(runs):
                for mode in ("direct", "served") if run % 2 == 0 else ("served", "direct"):
                    if mode == "direct":
                        direct.append(tree.timed(["--vault", str(vault), *argv()], ok))
                    else:
                        served.append(tree.timed(argv(), ok, ZFJL_SOCKET=str(sock)))
            report(what, direct, served, target)
            for made in out.iterdir():  # keep the disk and the next command's page cache tidy
                shutil.rmtree(made)
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait()


def ingest_ratio(tree: Tree, work: Path, mb: int, runs: int) -> None:
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
            tree.run(["--vault", str(vault), "init", "--bureau", "测试局"])
            drop_caches()
            if mode == "direct":
                times[mode].append(tree.timed(["--vault", str(vault), "ingest", str(dump)]))
            else:
                sock = socket_folder(work, f"s-{run}")
                service = tree.start_service(vault, sock)
                try:
                    times[mode].append(tree.timed(["ingest", str(dump)], ZFJL_SOCKET=str(sock)))
                finally:
                    service.send_signal(signal.SIGTERM)
                    service.wait()
            shutil.rmtree(vault)
    d, s = statistics.median(times["direct"]), statistics.median(times["served"])
    print(f"ingest {mb} MB   direct {mb / d:6.0f} MB/s   served {mb / s:6.0f} MB/s   "
          f"served/direct throughput {d / s:.2f}× (target ≈ 1)")


def describe(tree: Tree) -> str:
    """The checkout, the interpreter and the load; exits when `zfjl` would not be that tree's."""
    where = subprocess.run([tree.zfjl[0], "-c", "import zfjl; print(zfjl.__file__)"], env=tree.env(),
                           check=True, stdout=subprocess.PIPE, text=True).stdout.strip()  # fmt: skip
    if not Path(where).resolve().is_relative_to(tree.root):
        sys.exit(f"zfjl would be imported from {where}, not from {tree.root}")
    commit = subprocess.run(["git", "-C", str(tree.root), "rev-parse", "--short", "HEAD"],
                            check=False, stdout=subprocess.PIPE, text=True).stdout.strip()  # fmt: skip
    return f"tree {tree.root} @ {commit or '?'}   python {tree.zfjl[0]}   load {os.getloadavg()[0]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--mb", type=int, default=512)
    parser.add_argument("--ingest-runs", type=int, default=3)
    parser.add_argument("--tree", type=Path, default=HERE.parent, help="the checkout measured")
    args = parser.parse_args()
    tree = Tree(args.tree)
    print(describe(tree), flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="zfjl-service-bench-", dir=HERE) as tmp:
            latency(tree, Path(tmp), args.runs)
            ingest_ratio(tree, Path(tmp), args.mb, args.ingest_runs)
    finally:
        shutil.rmtree(tree.etc)
    print(f"load at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

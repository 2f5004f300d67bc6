"""Shipping a station's objects to SeaweedFS: `S3ObjectStore.upload` against boto3's
`upload_file` of the same files to the same server, in one run (issue 25).

    .venv/bin/python bench/ship_bench.py [--gb 1.0] [--rounds 2]

Starts its own `weed mini` on 127.0.0.1 (tests/seaweed.py), writes a dump of camera-like
files (a few large videos, many small photos; random bytes: nothing to compress), and ships it
both ways into the same Object Lock bucket under separate prefixes, alternating which goes
first. zfjl's side sends a SHA-256 with every request and the COMPLIANCE lock; boto3's side is
`upload_file` with its defaults (8 MiB multipart, 10 threads per file), one file after the
other, as a script would. Target: zfjl ≥ 0.9 × boto3 (the server is the bottleneck; zfjl
must add nothing on top). Also timed: reading everything back through the store with BLAKE3
(what `zfjl sync` does before it calls an object shipped).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.seaweed import OWNER_PROFILE, start_seaweed  # noqa: E402
from zfjl.vault.objects import hash_path  # noqa: E402
from zfjl.vault.s3store import S3ObjectStore  # noqa: E402

MB = 1 << 20


def make_dump(folder: Path, total: int) -> list[Path]:
    """Three quarters in 96 MiB videos, the rest in 3 MiB photos."""
    folder.mkdir(parents=True)
    sizes = [96 * MB] * max(1, (total * 3 // 4) // (96 * MB))
    sizes += [3 * MB] * max(1, (total - sum(sizes)) // (3 * MB))
    paths = []
    for i, size in enumerate(sizes):
        p = folder / f"f{i:04d}.bin"
        with open(p, "wb") as f:
            for _ in range(0, size, 8 * MB):
                f.write(os.urandom(min(8 * MB, size - f.tell())))
        paths.append(p)
    os.sync()
    return paths


CPU: dict[str, list[float]] = {"zfjl": [], "boto3": []}  # this process's CPU seconds per run


def ship_zfjl(store: S3ObjectStore, files: list[tuple[Path, object]]) -> float:
    start, cpu = time.perf_counter(), time.process_time()
    results = store.upload(files)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    CPU["zfjl"].append(time.process_time() - cpu)
    assert all(r.created for r in results)
    return elapsed


def ship_boto3(client: object, bucket: str, prefix: str, paths: list[Path]) -> float:
    start, cpu = time.perf_counter(), time.process_time()
    for p in paths:
        client.upload_file(str(p), bucket, f"{prefix}{p.name}")  # type: ignore[attr-defined]
    CPU["boto3"].append(time.process_time() - cpu)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--checksum", default="SHA256", choices=["SHA256", "CRC32"])
    args = ap.parse_args()
    (HERE / "data").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="zfjl-ship-bench-", dir=HERE / "data"))
    sw = None
    try:
        paths = make_dump(work / "dump", int(args.gb * (1 << 30)))
        size = sum(p.stat().st_size for p in paths)
        files = [(p, hash_path(p)) for p in paths]
        sw = start_seaweed(work / "seaweed")
        os.environ["AWS_CONFIG_FILE"] = str(sw.config_file)
        client = sw.client()
        client.create_bucket(Bucket="ship-bench", ObjectLockEnabledForBucket=True)
        print(f"{len(paths)} files, {size / MB:.0f} MiB; SeaweedFS {sw.endpoint}")
        t_zfjl: list[float] = []
        t_boto: list[float] = []
        for r in range(args.rounds):
            store = S3ObjectStore("ship-bench", work / "spool", prefix=f"zfjl{r}/",
                                  profile=OWNER_PROFILE, checksum=args.checksum)  # fmt: skip
            order = ["zfjl", "boto3"] if r % 2 == 0 else ["boto3", "zfjl"]
            for side in order:
                if side == "zfjl":
                    t_zfjl.append(ship_zfjl(store, files))
                else:
                    t_boto.append(ship_boto3(client, "ship-bench", f"boto{r}/", paths))
                print(f"  round {r + 1} {side:5s} {size / MB / (t_zfjl if side == 'zfjl' else t_boto)[-1]:6.1f} MiB/s")
        start = time.perf_counter()
        assert all(store.digest_uncached(d.blake3) == d.blake3 for _, d in files)
        t_read = time.perf_counter() - start
        z, b = statistics.median(t_zfjl), statistics.median(t_boto)
        print(f"S3ObjectStore.upload  {size / MB / z:6.1f} MiB/s  ({z:.1f} s, median of {len(t_zfjl)})")
        print(f"boto3 upload_file     {size / MB / b:6.1f} MiB/s  ({b:.1f} s)")
        print(f"ratio zfjl / boto3    {b / z:.2f}  (target ≥ 0.9)")
        cz, cb = statistics.median(CPU["zfjl"]), statistics.median(CPU["boto3"])
        print(f"client CPU            zfjl {cz:.1f} s, boto3 {cb:.1f} s (the rest is the server's)")
        print(f"read back + BLAKE3    {size / MB / t_read:6.1f} MiB/s  ({t_read:.1f} s)")
        return 0
    finally:
        if sw is not None:
            sw.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

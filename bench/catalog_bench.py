"""The catalog on SQLite and on PostgreSQL side by side: import, `zfjl check --all`, `ls`.

    .venv/bin/python bench/catalog_bench.py [--cases 10000]

The same cases as bench/check_bench.py (the three sample cases cloned, shifted, open) are
journaled into two vaults, one on catalog.db and one on a PostgreSQL 15 started here on
loopback (tests/postgres.py's server: an unprivileged user, a free port, fsync off — so the
figures compare query work, not disks). Each command runs as a user runs it, start-up
included, the vault on PostgreSQL through its working role.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from check_bench import populate, timed  # noqa: E402

from tests.postgres import OWNER, STATION, _start, _stop  # noqa: E402
from zfjl.vault import Vault  # noqa: E402


def bench_pg_server(prefix: str = "zfjl-pg-bench-") -> tuple[object, str, str]:
    """tests/postgres.py's server for a bench: its roles' passwords in a pgpass file named by
    PGPASSFILE (the children inherit it), one fresh database; (server, working URL, owner URL)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    server = _start(folder)
    passfile = folder / "pgpass"
    passfile.write_text("".join(f"127.0.0.1:{server.port}:*:{role}:{pw}\n"
                                for role, pw in server.passwords.items()))  # fmt: skip
    passfile.chmod(0o600)
    os.environ["PGPASSFILE"] = str(passfile)  # the children inherit it
    db = server.new_database()
    return server, server.url(STATION, db), server.url(OWNER, db)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=10_000)
    args = ap.parse_args()
    server, station_url, owner_url = bench_pg_server()
    roots = {"SQLite": HERE / "data" / "catalog-sqlite", "PostgreSQL": HERE / "data" / "catalog-pg"}
    try:
        figures: dict[str, dict[str, float]] = {}
        for name, root in roots.items():
            shutil.rmtree(root, ignore_errors=True)
            pg = {"catalog": station_url, "catalog_owner": owner_url} if name == "PostgreSQL" else {}
            with Vault.create(root, **pg) as vault:  # type: ignore[arg-type]
                t_import = populate(vault, args.cases)
            timed("--vault", str(root), "check", "CASE-B-00000")  # warm-up: bytecode, rules
            t_all, rc_all = timed("--vault", str(root), "check", "--all", "--as-of", "2025-06-30",
                                  "--json")  # fmt: skip
            t_one, rc_one = min(timed("--vault", str(root), "check", "CASE-B-00001")
                                for _ in range(3))  # fmt: skip
            figures[name] = {"import": t_import, "all": t_all, "one": t_one}
            print(f"{name:10}  导入 {args.cases} 件 {t_import:6.2f} s   check --all {t_all:6.2f} s"
                  f"（{args.cases / t_all:5.0f} 件/s，退出码 {rc_all}）   单件 {t_one:.3f} s"
                  f"（退出码 {rc_one}）")  # fmt: skip
        s, p = figures["SQLite"], figures["PostgreSQL"]
        print(f"PostgreSQL / SQLite：导入 {p['import'] / s['import']:.2f}×，check --all "
              f"{p['all'] / s['all']:.2f}×，单件 {p['one'] / s['one']:.2f}×（越小越快）")
        load = os.getloadavg()[0]
        print(f"  本机 {os.cpu_count()} 核，1 分钟平均负载 {load:.2f}")
    finally:
        _stop(server)  # type: ignore[arg-type]
        shutil.rmtree(server.folder, ignore_errors=True)  # type: ignore[attr-defined]
        for root in roots.values():
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

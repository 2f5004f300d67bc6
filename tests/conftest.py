"""Shared fixtures: real ffmpeg/exiftool media, real vaults in tmp_path, a fixed trusted clock."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from zfjl.ingest import IngestOptions, IngestReport, ingest
from zfjl.sample import SampleFile, make_camera_dump
from zfjl.vault import Vault
from zfjl.vault.objects import hash_path
from zfjl.vault.setup import init_vault

TZ = dt.timezone(dt.timedelta(hours=8))
# Recordings of the sample dump start here; the vault's clock is a day later (on time).
RECORDED = dt.datetime(2024, 5, 3, 10, 15, 30, tzinfo=TZ)
INGEST_CLOCK = dt.datetime(2024, 5, 4, 9, 0, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test ever touches a real user's vault."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / ".local" / "share"))
    monkeypatch.delenv("ZFJL_VAULT", raising=False)


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[SampleFile]]:
    root = tmp_path_factory.mktemp("sample") / "DSJ01"
    return root, make_camera_dump(root, RECORDED)


@pytest.fixture
def dump(sample_template: tuple[Path, list[SampleFile]], tmp_path: Path) -> Path:
    """A fresh copy of the sample camera dump (mtimes kept, as a card mount shows them)."""
    src, _ = sample_template
    dest = tmp_path / "media" / "DSJ01"
    shutil.copytree(src, dest)
    return dest


@pytest.fixture
def sample_files(sample_template: tuple[Path, list[SampleFile]]) -> list[SampleFile]:
    return sample_template[1]


def fixed_clock(when: dt.datetime) -> Callable[[], dt.datetime]:
    return lambda: when


SAMPLE_CASES = Path(__file__).resolve().parent.parent / "zfjl" / "checklists" / "samples"


@pytest.fixture(scope="session")
def case_dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The footage the three sample cases refer to (2024), generated once per run."""
    from zfjl.sample import make_case_dump

    dest = tmp_path_factory.mktemp("casedump") / "DSJ"
    make_case_dump(dest)
    return dest


@pytest.fixture
def case_vault(tmp_path: Path, case_dump: Path) -> Iterator[Vault]:
    """A vault holding that footage, stored on time (the day after the first recording)."""
    v = init_vault(tmp_path / "vault", clock=fixed_clock(dt.datetime(2024, 5, 7, 9, tzinfo=TZ)))
    ingest(v, case_dump)
    yield v
    v.close()


@pytest.fixture
def sample_cases_vault(case_vault: Vault) -> Vault:
    """case_vault with the three sample cases imported."""
    from zfjl.cases.io import read_case_file
    from zfjl.cases.store import import_case

    for name in ("penalty", "demolition", "licensing"):
        import_case(case_vault, read_case_file(SAMPLE_CASES / f"{name}.yaml"))
    return case_vault


@pytest.fixture
def vault(tmp_path: Path) -> Iterator[Vault]:
    v = init_vault(tmp_path / "vault", clock=fixed_clock(INGEST_CLOCK))
    yield v
    v.close()


@pytest.fixture
def run_ingest(vault: Vault) -> Callable[..., IngestReport]:
    def run(source: Path, **options: object) -> IngestReport:
        return ingest(vault, source, IngestOptions(**options))  # type: ignore[arg-type]

    return run


def tree_digest(root: Path) -> dict[str, tuple[str, int, int]]:
    """Every file under root: (blake3, size, mtime_ns), to prove a source was not changed."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            st = path.stat()
            out[str(path.relative_to(root))] = (hash_path(path).blake3, st.st_size, st.st_mtime_ns)
    return out


def zfjl_cli(
    *args: str, env: dict[str, str] | None = None, check: bool = False, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real command in a child process (exit codes, stderr, signals)."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "zfjl", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"zfjl {args} failed ({proc.returncode}): {proc.stderr}")
    return proc


def sqlite3_shell(db: Path, sql: str) -> subprocess.CompletedProcess[str]:
    """What a person with shell access would do: the sqlite3 command-line tool."""
    return subprocess.run(["sqlite3", str(db)], input=sql, capture_output=True, text=True)


def edit_vault_json(root: Path, **changes: object) -> None:
    """Change settings in a vault's vault.json as an administrator would, by hand."""
    import json

    path = root / "vault.json"
    cfg = json.loads(path.read_text(encoding="utf-8"))
    cfg.update(changes)
    path.write_text(json.dumps(cfg, ensure_ascii=False), encoding="utf-8")


def write_random_files(folder: Path, count: int, size: int, prefix: str = "BLOB") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        p = folder / f"{prefix}_{i:04d}.BIN"
        p.write_bytes(os.urandom(size))
        paths.append(p)
    return paths

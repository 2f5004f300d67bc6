"""Shared fixtures: real ffmpeg/exiftool media, real vaults in tmp_path, a fixed trusted clock.

Expensive state (a vault holding the sample footage, the sample cases imported) is built once
per session into a template folder and copied into each test's tmp_path, so every test still
gets a vault of its own to change. `zfjl_run` runs the command line in this process;
`zfjl_cli` runs it as a child process, for what only a process shows (signals, a child's
environment, cron's view of a run, locks between processes).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import io
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.seaweed import seaweed  # noqa: F401 (the session's SeaweedFS, tests/seaweed.py)
from zfjl.ingest import IngestOptions, IngestReport, ingest
from zfjl.sample import SampleFile, make_camera_dump
from zfjl.vault import Vault
from zfjl.vault.objects import hash_path
from zfjl.vault.setup import init_vault

from .postgres import PgDatabase, pg_database, pg_empty_database, pg_server  # noqa: F401 - fixtures

TZ = dt.timezone(dt.timedelta(hours=8))
# Recordings of the sample dump start here; the vault's clock is a day later (on time).
RECORDED = dt.datetime(2024, 5, 3, 10, 15, 30, tzinfo=TZ)
INGEST_CLOCK = dt.datetime(2024, 5, 4, 9, 0, 0, tzinfo=TZ)
# ZFJL_TEST_CATALOG=postgresql runs every test of the vault fixtures on PostgreSQL (those that
# open catalog.db themselves then fail, by design): a way to look for SQLite-only SQL.
DEFAULT_CATALOG = os.environ.get("ZFJL_TEST_CATALOG", "sqlite")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test ever touches a real user's vault."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / ".local" / "share"))
    monkeypatch.delenv("ZFJL_VAULT", raising=False)


def built_once(
    factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]
) -> tuple[Path, object]:
    """A folder `build(folder)` filled once per run, and what it returned (pickled). Under
    xdist the workers of one run share it: the first to ask builds it, the others wait on its
    lock and copy from the same folder (the media, vaults and bags below are never changed in
    place: every test copies them). Serially, a folder of this session's own."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        folder = factory.mktemp(name)
        built = build(folder)
        gc.collect()  # whatever the build left open is closed before anyone copies it
        return folder, built
    import fcntl
    import pickle

    run = factory.getbasetemp().parent  # this run's base; each worker's basetemp is below it
    folder, built = run / f"shared-{name}", run / f"shared-{name}.pickle"
    with open(run / f"shared-{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed half-way
            folder.mkdir()
            built.write_bytes(pickle.dumps(build(folder)))
            gc.collect()  # whatever the build left open is closed before anyone copies it
        return folder, pickle.loads(built.read_bytes())


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[SampleFile]]:
    folder, files = built_once(
        tmp_path_factory, "sample", lambda f: make_camera_dump(f / "DSJ01", RECORDED)
    )
    return folder / "DSJ01", files  # type: ignore[return-value]


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

    folder, _ = built_once(tmp_path_factory, "casedump", lambda f: make_case_dump(f / "DSJ"))
    return folder / "DSJ"


APPROVAL = "株城管复〔2024〕7号"  # the approval a legal-section bundle is made under (art. 44)
CASE_CLOCK = dt.datetime(2024, 5, 7, 9, tzinfo=TZ)  # the day after the first case recording


def copy_vault(src: Path, dest: Path) -> Path:
    """Copy a vault no one is writing to (a folder: vault.json, objects/, catalog.db, keys/,
    tmp/).

    Everything is copied, -wal/-shm included should a connection still be open somewhere (a
    Vault the command line left to the garbage collector): between transactions the copy is
    consistent either way, and its first opening replays the WAL. Objects stay 0444 (copy2
    keeps modes and mtimes); they get new inodes, as after a restore from backup.
    """
    shutil.copytree(src, dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def case_vault_template(tmp_path_factory: pytest.TempPathFactory, case_dump: Path) -> Path:
    """Built once: a vault holding the case footage, stored on time. Copy it, never open it."""

    def build(folder: Path) -> None:
        clock = fixed_clock(CASE_CLOCK)
        with init_vault(folder / "vault", bureau="株洲市城市管理和综合执法局", clock=clock) as v:
            ingest(v, case_dump)

    return built_once(tmp_path_factory, "case-vault", build)[0] / "vault"


@pytest.fixture(scope="session")
def sample_cases_template(
    tmp_path_factory: pytest.TempPathFactory, case_vault_template: Path
) -> Path:
    """Built once: the case vault with the three sample cases imported."""
    from zfjl.cases.io import read_case_file
    from zfjl.cases.store import import_case

    def build(folder: Path) -> None:
        root = copy_vault(case_vault_template, folder / "vault")
        with Vault.open(root, clock=fixed_clock(CASE_CLOCK)) as v:
            for name in ("penalty", "demolition", "licensing"):
                import_case(v, read_case_file(SAMPLE_CASES / f"{name}.yaml"))

    return built_once(tmp_path_factory, "sample-cases", build)[0] / "vault"


def on_catalog(request: pytest.FixtureRequest, root: Path) -> Path:
    """A copied vault's catalog moved onto PostgreSQL when the test asks for it
    (`parametrize(<fixture>, ["postgresql"], indirect=True)`), else left in catalog.db."""
    if getattr(request, "param", DEFAULT_CATALOG) == "postgresql":
        from zfjl.vault.pg_backend import move_catalog

        db: PgDatabase = request.getfixturevalue("pg_empty_database")
        move_catalog(root, db.owner_url, db.station_url)
    return root


@pytest.fixture
def case_vault(request: pytest.FixtureRequest, tmp_path: Path, case_vault_template: Path) -> Iterator[Vault]:
    """A vault holding that footage, stored on time (the day after the first recording)."""
    root = on_catalog(request, copy_vault(case_vault_template, tmp_path / "vault"))
    v = Vault.open(root, clock=fixed_clock(CASE_CLOCK))
    yield v
    v.close()


@pytest.fixture
def sample_cases_vault(
    request: pytest.FixtureRequest, tmp_path: Path, sample_cases_template: Path
) -> Iterator[Vault]:
    """case_vault with the three sample cases imported."""
    root = on_catalog(request, copy_vault(sample_cases_template, tmp_path / "vault"))
    v = Vault.open(root, clock=fixed_clock(CASE_CLOCK))
    yield v
    v.close()


@pytest.fixture(scope="session")
def rendered_samples(
    tmp_path_factory: pytest.TempPathFactory, sample_cases_template: Path
) -> dict[str, object]:
    """Every document of the three sample cases rendered once per run, shared by the workers
    (the render tests read them): case id → (case, RenderResult); "vault" → the closed vault
    they came from."""
    from zfjl.cases.store import get_case
    from zfjl.render import render_case

    def build(base: Path) -> dict[str, object]:
        root = copy_vault(sample_cases_template, base / "vault")
        out: dict[str, object] = {"vault": root}
        with Vault.open(root, clock=fixed_clock(CASE_CLOCK)) as v:
            for case_id in ("CASE-2024-031", "CASE-2024-045", "CASE-2024-052"):
                out[case_id] = (get_case(v, case_id), render_case(v, case_id, base / case_id))
        return out

    return built_once(tmp_path_factory, "rendered-samples", build)[1]  # type: ignore[return-value]


@pytest.fixture
def vault(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Vault]:
    """A new vault, its catalog in catalog.db; on PostgreSQL (a database of the test's own)
    for a test marked `@pytest.mark.parametrize("vault", [...], indirect=True)` with
    "postgresql" (tests/postgres.py)."""
    where = getattr(request, "param", DEFAULT_CATALOG)
    catalog: dict[str, str] = {}
    if where == "postgresql":
        db: PgDatabase = request.getfixturevalue("pg_database")
        catalog = {"catalog": db.station_url, "catalog_owner": db.owner_url}
    v = init_vault(tmp_path / "vault", bureau="株洲市城市管理和综合执法局", clock=fixed_clock(INGEST_CLOCK),
                   **catalog)  # fmt: skip
    yield v
    v.close()


BOTH_CATALOGS = pytest.mark.parametrize("vault", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def pg_vault(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Vault]:
    """A new vault whose catalog is on PostgreSQL (`pg_database`, through the working role)."""
    db: PgDatabase = request.getfixturevalue("pg_database")
    v = init_vault(tmp_path / "vault", bureau="株洲市城市管理和综合执法局", clock=fixed_clock(INGEST_CLOCK),
                   catalog=db.station_url, catalog_owner=db.owner_url)  # fmt: skip
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


@contextlib.contextmanager
def _fd_redirected(fd: int, target: int) -> Iterator[None]:
    saved = os.dup(fd)
    try:
        os.dup2(target, fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _text_stream(fd: int, mode: str) -> io.TextIOWrapper:
    raw = io.FileIO(os.dup(fd), mode)
    return io.TextIOWrapper(raw, encoding="utf-8", write_through=True)


@contextlib.contextmanager
def _bound_consoles(stdout: io.TextIOWrapper, stderr: io.TextIOWrapper) -> Iterator[None]:
    """Point rich Consoles of zfjl.cli's modules that were bound at import to the then-current
    sys.stdout/sys.stderr (`Console(file=sys.stdout)`) at the captured streams for the call.
    Consoles created without a file resolve sys.stdout/sys.stderr as they print: left alone."""
    from rich.console import Console

    outs = {id(sys.stdout), id(sys.__stdout__)}
    errs = {id(sys.stderr), id(sys.__stderr__)}
    rebound: list[tuple[Console, object]] = []
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "zfjl.cli" or name.startswith("zfjl.cli.")):
            continue
        for value in list(vars(module).values()):
            bound = getattr(value, "_file", None) if isinstance(value, Console) else None
            if bound is not None and id(bound) in outs | errs:
                rebound.append((value, bound))
                value.file = stdout if id(bound) in outs else stderr
    try:
        yield
    finally:
        for console, bound in rebound:
            console.file = bound  # type: ignore[assignment]


def ingest_killed_once_stored(root: Path, source: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """A new vault at `root` and `zfjl ingest SOURCE` in a child, killed -9 the moment it says
    the camera may be unplugged; returns a runner of further `zfjl --vault ROOT ARGS` children."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    zfjl = [sys.executable, "-m", "zfjl", "--vault", str(root)]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*zfjl, *args], env=env, capture_output=True, text=True)

    assert run("init", "--bureau", "株洲市城市管理和综合执法局").returncode == 0
    proc = subprocess.Popen([*zfjl, "ingest", str(source)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:
        if "已安全存储" in line:
            proc.send_signal(signal.SIGKILL)
            break
    assert proc.wait() == -signal.SIGKILL
    return run


def zfjl_run(
    *args: str, env: dict[str, str] | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run `zfjl ARGS` in this process: `zfjl.cli.main(list(args))`, seen as `zfjl_cli` sees
    the child: exit code, stdout and stderr as text (UTF-8), same CompletedProcess type.

    It depends only on `zfjl.cli.main(argv) -> int`, not on where the CLI's consoles live.
    Output is captured at two levels at once, onto the same two temporary files:
    - file descriptors: 0 is /dev/null, 1 and 2 are the files (os.dup2), as the child's
      stdin=DEVNULL and pipes. Whatever reaches fd 1/2 (a tool the command starts, C code) is
      caught, and rich finds no terminal on any standard fd: 80 columns, no colour, no live
      progress bar, exactly as in the child.
    - sys.stdin/stdout/stderr: text streams over those same descriptors, so Python-level
      writes (sys.stdout.write, print, click.echo, rich Consoles that resolve sys.stdout when
      they print) land in the same files, in order. A Console bound at import to the
      then-current sys.stdout/stderr is pointed at them for the call (`_bound_consoles`).
    Around the call: `env` overrides os.environ, sys.argv is ["zfjl", *args] and the SIGTERM
    handler main() installs is put back. SystemExit becomes the return code; any other
    exception escaping main() (ZFJL_DEBUG) propagates to the test.

    Main thread only (main() installs a signal handler). Use `zfjl_cli` instead to test
    signals, a child's environment (PATH), cron's view of a process, or locks between
    processes.
    """
    assert threading.current_thread() is threading.main_thread(), "zfjl_run: main thread only"
    argv = list(args)
    saved_env = {name: os.environ.get(name) for name in env or {}}
    saved_argv, saved_sigterm = sys.argv, signal.getsignal(signal.SIGTERM)
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    with contextlib.ExitStack() as stack:
        out_file = stack.enter_context(tempfile.TemporaryFile())
        err_file = stack.enter_context(tempfile.TemporaryFile())
        devnull = stack.enter_context(open(os.devnull, "rb"))
        for stream in saved_streams[1:]:
            with contextlib.suppress(Exception):
                stream.flush()
        stack.enter_context(_fd_redirected(0, devnull.fileno()))
        stack.enter_context(_fd_redirected(1, out_file.fileno()))
        stack.enter_context(_fd_redirected(2, err_file.fileno()))
        stdin, stdout, stderr = _text_stream(0, "r"), _text_stream(1, "w"), _text_stream(2, "w")
        for stream in (stdin, stdout, stderr):
            stack.callback(stream.close)
        try:
            os.environ.update(env or {})
            sys.argv = ["zfjl", *argv]
            sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
            with _bound_consoles(stdout, stderr):
                from zfjl.cli import main

                try:
                    returncode = main(argv)
                except SystemExit as exc:
                    code = exc.code
                    returncode = code if isinstance(code, int) else (0 if code is None else 1)
                stdout.flush()
                stderr.flush()
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved_streams
            sys.argv = saved_argv
            signal.signal(signal.SIGTERM, saved_sigterm)
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        out_file.seek(0)
        err_file.seek(0)
        proc = subprocess.CompletedProcess(
            ["zfjl", *argv],
            returncode,
            out_file.read().decode("utf-8"),
            err_file.read().decode("utf-8"),
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


def set_roles(vault: Vault, *roles: str) -> None:
    """Make the acting user hold exactly `roles`, journaled as an administrator does it
    (`zfjl role add/rm`, zfjl.vault.settings); a stand-in administrator keeps the vault
    administered when the user gives up `admin`."""
    from zfjl.vault.settings import add_role, remove_role

    current = vault.roles_of(vault.actor)
    if "admin" not in current:
        raise AssertionError("set_roles: the acting user must be an administrator first")
    if "admin" not in roles and "admin" not in vault.roles_of("zfjl-admin"):
        add_role(vault, "zfjl-admin", "admin", approval_no="测试〔2024〕1号")
    for role in sorted(set(roles) - current):
        add_role(vault, vault.actor, role, approval_no="测试〔2024〕1号")
    for role in sorted(current - set(roles)):
        remove_role(vault, vault.actor, role)


def write_random_files(folder: Path, count: int, size: int, prefix: str = "BLOB") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        p = folder / f"{prefix}_{i:04d}.BIN"
        p.write_bytes(os.urandom(size))
        paths.append(p)
    return paths


BAG = "CASE-2024-045-court"


@pytest.fixture(scope="session")
def bagged_template(tmp_path_factory: pytest.TempPathFactory, sample_cases_template: Path) -> Path:
    """Built once: the sample-cases vault after `bundle_case` for court (`vault/`), and that bag
    (`BAG`). Copy either before changing it."""
    from zfjl.bundle import bundle_case

    def build(base: Path) -> None:
        root = copy_vault(sample_cases_template, base / "vault")
        with Vault.open(root, clock=fixed_clock(CASE_CLOCK)) as v:
            bundle_case(v, "CASE-2024-045", base / BAG, purpose="court", approval=APPROVAL)

    return built_once(tmp_path_factory, "bagged", build)[0]


def as_uid(uid: int, fn: Callable[[], object]) -> str:
    """Run `fn()` in a forked child whose real and effective UID are `uid` (root drops, as a
    login would); its result back as text, or "error: …" if it raised."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        try:
            os.setgroups([])
            os.setgid(pwd.getpwuid(uid).pw_gid)
            os.setuid(uid)
            result = str(fn())
        except BaseException as exc:  # reported to the parent, never raised in the fork
            result = f"error: {type(exc).__name__}: {exc}"
        os.write(write, result.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        out = f.read()
    os.waitpid(pid, 0)
    return out



# Machine-wide resources. The modules that make OS users make and delete users of fixed names:
# two runs of one module at once (the two xdist workers, `make test`'s run under Debian's
# Python beside the main run, another checkout's run on this machine) would delete each other's
# users. So each module names its users with a prefix of its own (below), and holds a lock named
# after it for the whole module (files in /tmp, so every process on the machine sees the same:
# flock, released by the kernel if the process dies); modules of different prefixes run at once.
# They all also hold "os-users" shared: older checkouts take it exclusively, as they open /root
# to the service account without counting who else did (`traversable_by_all` counts).
# A module that starts a server on a fixed port or name marks itself
# `pytest.mark.exclusive("that-name")`.
OS_USER_MODULES = {
    "test_bundle_service.py": "zfjlbag",
    "test_identity.py": "zfjltest_clerk",
    "test_ingest_unstored.py": "zfjlunst",
    "test_redact_service.py": "zfjlred",
    "test_service.py": os.environ.get("ZFJL_TEST_USERS", "zfjlsvc"),  # zfjldeb: the Debian run
    "test_service_fuzz.py": "zfjlfuzz",
    "test_service_hostile.py": "zfjlhst",
    "test_station_setup.py": "zfjltest_set",
    "test_web.py": "zfjlweb",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "exclusive(name): the module uses a machine-wide resource `name`; no other test "
        "process on this machine uses it meanwhile (a module-long lock)",
    )
    config.addinivalue_line(
        "markers",
        "debian: run again under Debian's own Python by `make test` (the service's paths a "
        "station's /opt/zfjl takes; the rest of the module is the same code)",
    )


@contextlib.contextmanager
def machine_lock(name: str, *, shared: bool = False) -> Iterator[None]:
    """Exclusive (or shared) use of the resource `name` among every test process on this
    machine."""
    import fcntl

    path = Path(tempfile.gettempdir()) / f"zfjl-tests-{name}.lock"
    fd = _open_lock_file(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)  # waits for the holder
        yield
    finally:
        os.close(fd)  # releases the lock


REACHABLE_STATE = Path(tempfile.gettempdir()) / "zfjl-tests-reachable.json"


@contextlib.contextmanager
def traversable_by_all(paths: set[Path]) -> Iterator[None]:
    """Every folder above `paths` traversable by others (o+x) while any test process on the
    machine still needs it; the modes as found are put back by the last one to leave. The
    modes found are kept in a file, the users counted by a shared flock (a dead user's lock
    goes with it): two modules at once never restore /root under each other's feet."""
    import fcntl
    import json

    users = _open_lock_file(Path(tempfile.gettempdir()) / "zfjl-tests-reachable-users.lock")
    try:
        with machine_lock("reachable"):
            found = json.loads(REACHABLE_STATE.read_text()) if REACHABLE_STATE.exists() else {}
            for folder in {f for p in paths for f in p.parents}:
                mode = folder.stat().st_mode & 0o7777
                if not mode & 0o001:
                    found.setdefault(str(folder), mode)
                    os.chmod(folder, mode | 0o001)
            REACHABLE_STATE.write_text(json.dumps(found))
            fcntl.flock(users, fcntl.LOCK_SH)
        yield
    finally:
        with machine_lock("reachable"):
            fcntl.flock(users, fcntl.LOCK_UN)
            try:
                fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody else in?
            except BlockingIOError:
                pass
            else:
                found = json.loads(REACHABLE_STATE.read_text()) if REACHABLE_STATE.exists() else {}
                for folder, mode in sorted(found.items(), key=lambda item: -len(item[0])):
                    os.chmod(folder, mode)
                REACHABLE_STATE.unlink(missing_ok=True)
            os.close(users)


def _open_lock_file(path: Path) -> int:
    """Read-only is enough for flock, and lets a non-root run use root's file; created only
    when missing (in sticky /tmp, O_CREAT on another user's file is refused)."""
    try:
        return os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        try:
            return os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return os.open(path, os.O_RDONLY)


def module_resources(module: pytest.Module) -> list[tuple[str, bool]]:
    """(lock name, shared?) the module holds while it runs."""
    names = {(str(mark.args[0]), False) for mark in module.iter_markers("exclusive")}
    if module.path.name in OS_USER_MODULES:
        names |= {("os-users", True), (f"users-{OS_USER_MODULES[module.path.name]}", False)}
    return sorted(names)  # always taken in the same order: no two processes wait on each other


@pytest.fixture(scope="module", autouse=True)
def _exclusive_resources(request: pytest.FixtureRequest) -> Iterator[None]:
    """Held from before the module's first fixture until after its last (autouse fixtures of
    a scope are set up first, so torn down last)."""
    module = request.node.getparent(pytest.Module)
    with contextlib.ExitStack() as stack:
        for name, shared in module_resources(module) if module is not None else []:
            stack.enter_context(machine_lock(name, shared=shared))
        yield


# Under `pytest -n 3 --dist loadgroup` (make test): every module runs whole on one worker (its
# tests share module-scoped fixtures: a running service, a server, what an earlier test made).
# The OS-user modules spread over the workers (each has users of its own, above).
def worker_group(nodeid: str) -> str:
    return nodeid.split("::", 1)[0].rsplit("/", 1)[-1]


# Longest first, so no long module is left to run alone at the end: the seconds each group took
# in the last run on this machine (pytest's cache), else in a run here when tests/
# group-seconds.json was written (a fresh clone — CI — has no cache: ordered by test counts,
# a 3-test module of 20 s came last and ran alone for its 20 s), else its number of tests as a
# guess; the OS-user modules (slow tests: a station each) first. `make timings` writes the
# file again from the cache of the last run.
GROUP_SECONDS = "zfjl/group-seconds"
RECORDED_SECONDS = Path(__file__).with_name("group-seconds.json")
_group_seconds: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _group_seconds[worker_group(report.nodeid)] = (
        _group_seconds.get(worker_group(report.nodeid), 0.0) + report.duration
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    cache = getattr(session.config, "cache", None)
    if cache is None or hasattr(session.config, "workerinput") or not _group_seconds:
        return
    known = cache.get(GROUP_SECONDS, {})
    cache.set(GROUP_SECONDS, {**known, **{k: round(v, 2) for k, v in _group_seconds.items()}})


def _group_weights(config: pytest.Config, nodeids: list[str]) -> dict[str, tuple[bool, float]]:
    """Each group's place in the queue (smallest first): the OS-user modules first, then the
    longest (seconds of the last run, else of tests/group-seconds.json, else 0.3 s a test)."""
    cache = getattr(config, "cache", None)
    known: dict[str, float] = json.loads(RECORDED_SECONDS.read_text(encoding="utf-8"))
    known.update(cache.get(GROUP_SECONDS, {}) if cache is not None else {})
    counts: dict[str, int] = {}
    for nodeid in nodeids:
        counts[worker_group(nodeid)] = counts.get(worker_group(nodeid), 0) + 1
    return {group: (group not in OS_USER_MODULES, -known.get(group, 0.3 * n))
            for group, n in counts.items()}  # fmt: skip


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """--dist loadgroup, grouped by `worker_group` instead of xdist_group marks: xdist 3.8 marks
    a group by rewriting item._nodeid, which pytest 9.2 no longer reads (node ids are _id)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling
    from xdist.workermanage import WorkerController

    class ModuleGroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group(nodeid)

        weights: dict[str, tuple[bool, float]] | None = None

        def schedule(self) -> None:
            if self.collection is None and self.collection_is_completed:
                self.config.option.loadscopereorder = False  # our order, not by test count
                collected: list[str] = list(next(iter(self.registered_collections.values()), []))
                self.weights = _group_weights(self.config, collected)
            super().schedule()

        def _assign_work_unit(self, node: WorkerController) -> None:
            # The heaviest group left goes next. Only the queue is reordered: the nodes'
            # collections must stay as the workers collected them (tests are sent by index).
            if self.weights and self.workqueue:
                weights = self.weights
                best = min(self.workqueue, key=lambda group: weights.get(group, (True, 0.0)))
                self.workqueue.move_to_end(best, last=False)
            super()._assign_work_unit(node)

    return ModuleGroupScheduling(config, log)

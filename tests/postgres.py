"""A real PostgreSQL server for the tests: one per session (per xdist worker), a fresh
database per test.

`initdb` refuses to run as root, and CI runs as root: the server then runs as a system user
made here when missing (`zfjl-pgtest`); as anyone else, as oneself. It listens on 127.0.0.1 on
a free port and on a socket in its own folder, with fsync off (a test server: nothing here
must survive a power cut). initdb takes ~2 s, start 0.2 s; each test then gets its own
database copied from a template (`CREATE DATABASE … TEMPLATE`, ~0.1 s).

Two login roles exist in the cluster, as on a bureau's server (docs/scale.md): `zfjl_owner`,
which owns each test database and runs schema creation and migrations, and `zfjl_station`, the
working role, which owns nothing. Their passwords are in a pgpass file named by PGPASSFILE,
libpq's convention: no password is ever in a URL or on a command line.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
SERVER_USER = "zfjl-pgtest"
OWNER, STATION = "zfjl_owner", "zfjl_station"
TEMPLATE = "zfjl_template"  # empty
SCHEMA_TEMPLATE = "zfjl_template_schema"  # the catalog's current schema, no journal row


def pg_bin() -> Path | None:
    """The newest installed server's bin folder (Debian: /usr/lib/postgresql/<major>/bin)."""
    for folder in PG_BIN_DIRS:
        if (folder / "initdb").exists():
            return folder
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _server_account() -> pwd.struct_passwd:
    """Who runs the server: this user, or when root (initdb refuses root) a system user."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        # Two xdist workers may race here: the loser's useradd fails, the user exists.
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        SERVER_USER], check=False, capture_output=True)  # fmt: skip
        return pwd.getpwnam(SERVER_USER)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    bin: Path
    folder: Path
    port: int
    account: pwd.struct_passwd
    passwords: dict[str, str]
    _numbers = itertools.count(1)

    @property
    def sockdir(self) -> Path:
        return self.folder / "sock"

    def url(self, role: str, database: str) -> str:
        """A libpq URL without a password (the pgpass file has it)."""
        return f"postgresql://{role}@127.0.0.1:{self.port}/{database}"

    def run_as_server(self, *args: str) -> subprocess.CompletedProcess[str]:
        user = self.account.pw_name if os.geteuid() == 0 else None
        return subprocess.run(list(args), check=True, capture_output=True, text=True, user=user,
                              cwd=self.folder)  # fmt: skip

    def superuser_sql(self, sql: str, database: str = "postgres") -> None:
        """Run SQL as the cluster's superuser over its socket (trust: the server's own
        account only, through the 0700 socket folder)."""
        import psycopg

        with psycopg.connect(host=str(self.sockdir), port=self.port, user="postgres",
                             dbname=database, autocommit=True) as conn:  # fmt: skip
            conn.execute(sql)

    def new_database(self, template: str = TEMPLATE) -> str:
        name = f"zfjl_test_{os.getpid()}_{next(self._numbers)}"
        self.superuser_sql(
            # WAL_LOG: no checkpoint (FILE_COPY takes one, ~0.5 s on a busy machine).
            f"CREATE DATABASE {name} OWNER {OWNER} TEMPLATE {template} STRATEGY WAL_LOG"
        )
        return name


def _start(folder: Path) -> PgServer:
    binary = pg_bin()
    assert binary is not None
    account = _server_account()
    os.chown(folder, account.pw_uid, account.pw_gid)
    passwords = {OWNER: os.urandom(12).hex(), STATION: os.urandom(12).hex()}
    server = PgServer(binary, folder, _free_port(), account, passwords)
    server.run_as_server("mkdir", "-m", "0700", str(server.sockdir))
    # Local socket: trust (the server's account, behind the 0700 folder). TCP: passwords.
    server.run_as_server(str(binary / "initdb"), "-D", str(folder / "data"), "-U", "postgres",
                         "--auth-local=trust", "--auth-host=scram-sha-256", "--locale=C",
                         "--encoding=UTF8", "--no-sync")  # fmt: skip
    options = (f"-k {server.sockdir} -p {server.port} -c listen_addresses=127.0.0.1"
               " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")  # fmt: skip
    server.run_as_server(str(binary / "pg_ctl"), "-D", str(folder / "data"), "-l",
                         str(folder / "server.log"), "-w", "-o", options, "start")  # fmt: skip
    for role, password in passwords.items():
        server.superuser_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    server.superuser_sql(f"CREATE DATABASE {TEMPLATE} OWNER {OWNER}")
    return server


def _make_schema_template(server: PgServer) -> None:
    """A template holding the catalog's schema, made once by the owner as `Vault.create`
    makes it (tables, guards, grants): a new vault on a copy runs no DDL (~0.3 s a test)."""
    from zfjl.vault.pg_backend import upgrade_as_owner

    server.superuser_sql(f"CREATE DATABASE {SCHEMA_TEMPLATE} OWNER {OWNER} TEMPLATE {TEMPLATE}")
    upgrade_as_owner(server.url(OWNER, SCHEMA_TEMPLATE), server.url(STATION, SCHEMA_TEMPLATE),
                     root=server.folder, actor="zfjl-test",
                     now_iso=lambda: "2024-01-01T00:00:00.000+08:00")  # fmt: skip


def _stop(server: PgServer) -> None:
    server.run_as_server(str(server.bin / "pg_ctl"), "-D", str(server.folder / "data"), "-m",
                         "immediate", "stop")  # fmt: skip


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's server; its roles' passwords in PGPASSFILE for every libpq client."""
    if pg_bin() is None:
        pytest.fail("PostgreSQL server binaries not installed (scripts/setup.sh installs them)")
    # /tmp, not pytest's tmp: the server's account must reach its folder (pytest's is 0700).
    folder = Path(tempfile.mkdtemp(prefix="zfjl-pg-"))
    server = _start(folder)
    passfile = Path(tempfile.mkdtemp(prefix="zfjl-pgpass-")) / "pgpass"
    passfile.write_text("".join(f"127.0.0.1:{server.port}:*:{role}:{pw}\n"
                                for role, pw in server.passwords.items()))  # fmt: skip
    passfile.chmod(0o600)
    saved = os.environ.get("PGPASSFILE")
    os.environ["PGPASSFILE"] = str(passfile)
    try:
        _make_schema_template(server)
        yield server
    finally:
        _stop(server)
        if saved is None:
            os.environ.pop("PGPASSFILE", None)
        else:
            os.environ["PGPASSFILE"] = saved
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(passfile.parent, ignore_errors=True)


@dataclass(frozen=True)
class PgDatabase:
    server: PgServer
    name: str

    @property
    def owner_url(self) -> str:
        return self.server.url(OWNER, self.name)

    @property
    def station_url(self) -> str:
        return self.server.url(STATION, self.name)


@pytest.fixture
def pg_database(pg_server: PgServer) -> PgDatabase:
    """A database of this test's own holding the catalog's schema and no journal row, owned
    by the owner role: what a new vault's catalog starts from. Not dropped after the test
    (DROP DATABASE checkpoints, ~1 s): the whole cluster goes at the end."""
    return PgDatabase(pg_server, pg_server.new_database(SCHEMA_TEMPLATE))


@pytest.fixture
def pg_empty_database(pg_server: PgServer) -> PgDatabase:
    """A database of this test's own with nothing in it: for schema creation, migrations and
    moving a catalog in."""
    return PgDatabase(pg_server, pg_server.new_database())

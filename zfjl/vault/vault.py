"""The vault: a folder with vault.json, objects/, tmp/, locks/ and catalog.db.

`Vault` is the library entry point (like sqlite-utils' `Database`): it finds and opens a
vault, hands out the object store, and runs journal writes in short write transactions
that wait for other writers instead of failing with "database is locked".

Its parts live by job: config.py (vault.json, settings, location), actor.py (who acts),
connection.py (this process's writer queue), backend.py and sqlite_backend.py (the catalog's
database), migrations.py (bringing an older catalog up to date). Their public names are
re-exported here for the modules that import them from zfjl.vault.vault.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zfjl.errors import DiskFull, NotPermitted, VaultError, VaultNotFound
from zfjl.vault import catalog, events, journal, migrations
from zfjl.vault.actor import act_for, current_actor, refuse_foreign
from zfjl.vault.backend import CatalogBackend, Connection, backend_for, dict_rows
from zfjl.vault.config import (
    CATALOG_FORMAT_VERSION,
    DEFAULT_BUREAU,
    FORMAT,
    FORMAT_VERSION,
    MAX_FORMAT_VERSION,
    MIN_FORMAT_VERSION,
    MIN_PATROL_MONTHS,
    ROLES,
    VAULT_JSON_KEYS,
    VaultConfig,
    bootstrap_config,
    check_format,
    default_vault_path,
    resolve_vault_path,
)
from zfjl.vault.connection import writer_queue
from zfjl.vault.journal import Event
from zfjl.vault.objects import fsync_dir
from zfjl.vault.sqlite_backend import BUSY_WAIT_SECONDS, sqlite_utils_db
from zfjl.vault.station_copy import ReadThroughStore, bucket_locator
from zfjl.vault.stations import joined_stations
from zfjl.vault.witness import witness_dirs

if TYPE_CHECKING:
    import sqlite_utils

__all__ = [
    "BUSY_WAIT_SECONDS", "DEFAULT_BUREAU", "FORMAT", "FORMAT_VERSION", "MAX_FORMAT_VERSION",
    "MIN_FORMAT_VERSION", "MIN_PATROL_MONTHS", "ROLES", "VAULT_JSON_KEYS", "Clock", "Vault",
    "VaultConfig", "Writer", "act_for", "check_format", "current_actor", "default_vault_path",
    "refuse_foreign", "resolve_vault_path",
]  # fmt: skip

Clock = Callable[[], datetime]


class Vault:
    def __init__(
        self, root: Path, config: VaultConfig, clock: Clock | None = None,
        catalog: str | None = None, station: str | None = None,
    ) -> None:  # fmt: skip
        self.root = root
        # vault.json's `station`: this folder is one station of a bureau's vault (it joined a
        # shared catalog); every journal row it writes says so. None: the vault's own folder.
        self.station = station
        self._key = os.path.realpath(root)  # one queue of writers per vault, however named
        self.config = config
        # Local first; a shipped object not held here is read from the bucket (station_copy).
        self.objects = ReadThroughStore(root, bucket_locator(self))
        self.actor = current_actor()
        self.host = socket.gethostname()
        self._clock = clock
        # vault.json's `catalog`: None for catalog.db beside the objects, else a libpq URL
        # naming the working role (docs/scale.md); its password never in vault.json.
        self.catalog = catalog
        self.backend: CatalogBackend = backend_for(catalog)
        self._conn: Connection | None = None
        self._vault_json: dict[str, Any] | None = None  # as read on open, for migration 3

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def create(
        cls, root: Path, *, bureau: str | None = None, clock: Clock | None = None,
        catalog: str | None = None, catalog_owner: str | None = None, station: str | None = None,
    ) -> Vault:  # fmt: skip
        """A new vault at `root`; its catalog in catalog.db there, or in the PostgreSQL
        database `catalog` names (the working role), whose schema `catalog_owner` (the owner
        role, same database) creates. `station`: this folder is that station of the new
        bureau vault (others join it: `join`)."""
        root = Path(root)
        if (root / "vault.json").exists():
            raise VaultError(f"此处已有保管库：{root}")
        if station is not None and catalog is None:
            raise VaultError("站点名（--station）只用于目录在 PostgreSQL 上的全局保管库（--catalog）")
        _make_folder(root)
        config = VaultConfig(id=str(uuid.uuid4()), created_at="")
        if bureau:
            config.bureau = bureau
        vault = cls(root, config, clock, catalog, station)
        if catalog is not None:
            vault._prepare_catalog(catalog_owner)
        vault.objects.make_all_fanout_dirs()
        config.roles = {vault.actor: ["admin"]}  # whoever makes the vault administers it
        config.created_at = vault.now_iso()
        with vault.writing() as w:
            settings = config.to_json()  # the first settings and roles, journaled
            known = {f for f in events.VaultInit.__dataclass_fields__ if f != "extra"}
            w.append(
                events.VaultInit(
                    **{k: v for k, v in settings.items() if k in known},
                    catalog_version=migrations.SCHEMA_VERSION,
                    extra={k: v for k, v in settings.items() if k not in known},
                ),
                None,
            )
        vault.reload_config()
        vault._write_config()
        return vault  # no signing key: zfjl.vault.setup.init_vault composes one in

    @classmethod
    def join(cls, root: Path, *, catalog: str, station: str, clock: Clock | None = None) -> Vault:
        """This station's own folder (objects, locks, keys) at `root`, joining the bureau's
        vault whose catalog `catalog` (the working role) holds already. Its signing key and the
        journaled `station.join` are zfjl.vault.setup's (join_station)."""
        root = Path(root)
        if (root / "vault.json").exists():
            raise VaultError(f"此处已有保管库：{root}")
        vault = cls(root, VaultConfig(id="", created_at=""), clock, catalog, station)
        try:
            init = _vault_init(vault.conn)
            if init is None:
                raise VaultError("目录数据库中还没有全局保管库：请先建立（zfjl init --bureau 机关全称"
                                 " --catalog … --catalog-owner …），再加入")
            if station in joined_stations(vault.conn):
                raise VaultError(f"站点 {station} 已加入该保管库，不能重复加入（请换一个站点名）")
            vault.reload_config()
            _make_folder(root)
        except BaseException:
            vault.close()
            raise
        vault.objects.make_all_fanout_dirs()
        return vault  # vault.json written by the caller once the station is journaled

    @classmethod
    def open(cls, root: Path, *, clock: Clock | None = None) -> Vault:
        root = Path(root)
        cfg_path = root / "vault.json"
        try:
            present = cfg_path.is_file()
        except PermissionError:  # a station's vault (0700, the service's): not for direct use
            raise NotPermitted(
                f"无权直接打开保管库 {root}：它由保管库服务管理，请不带 --vault 运行 zfjl"
                "（经 zfjl serve）"
            ) from None
        if not present:
            raise VaultNotFound(
                f"未找到保管库：{root}（请先运行 zfjl init，或用 --vault / ZFJL_VAULT 指定位置）"
            )
        try:
            data = json.loads(cfg_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise VaultError(f"保管库配置文件 vault.json 无法读取：{exc}") from exc
        check_format(data)
        refuse_foreign(root)
        vault = cls(root, bootstrap_config(data), clock, _catalog_of(data), _station_of(data))
        vault._vault_json = data
        try:
            vault.conn  # noqa: B018 - migrates an older catalog (and imports vault.json's roles)
            vault.reload_config()
            vault._restore_vault_json()
            witness_dirs(vault)  # the checkpoint witnesses' setting, refused on open like the others
        except BaseException:
            vault.close()
            raise
        return vault

    def reload_config(self) -> None:
        """The effective settings and roles: the journaled ones over the defaults. Called on
        open and after each change; a long-running process calls it to see other processes'."""
        conn = self.conn
        init = _vault_init(conn)
        data: dict[str, Any] = catalog.settings_of(conn)
        data["roles"] = catalog.roles_of(conn)
        source = init if init is not None else (self._vault_json or {})
        data["id"], data["created_at"] = source.get("id", self.config.id), source.get(
            "created_at", self.config.created_at
        )
        self.config = VaultConfig.from_json(data, where="设置")

    def vault_json_changes(self) -> list[dict[str, Any]]:
        """How vault.json differs from what the journal says it holds (this format, and
        vault.init's id and created_at; nothing else): one {key, expected, found} per key.
        Empty when the journal is empty (verify reports that as journal_missing)."""
        if _vault_init(self.conn) is None:
            return []
        expected = self._expected_vault_json()
        try:
            found = json.loads((self.root / "vault.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            found = None
        if not isinstance(found, dict):
            return [{"key": "vault.json", "expected": expected, "found": found}]
        return [
            {"key": k, "expected": expected.get(k), "found": found.get(k)}
            for k in sorted(set(expected) | set(found), key=str)
            if expected.get(k) != found.get(k) or (k in expected) != (k in found)
        ]

    def _expected_vault_json(self) -> dict[str, Any]:
        """vault.json as it must be: the format and identity, and the catalog's URL when the
        catalog is elsewhere (format 3: a zfjl that knows only catalog.db refuses it)."""
        expected = self.config.vault_json()
        if self.catalog is not None:
            expected.update(version=CATALOG_FORMAT_VERSION, catalog=self.catalog)
        if self.station is not None:
            expected["station"] = self.station
        return expected

    def _prepare_catalog(self, owner: str | None) -> None:
        """A new vault's PostgreSQL catalog: its schema made by the owner role."""
        from zfjl.vault.pg_backend import upgrade_as_owner

        if owner is None:
            raise VaultError("目录在 PostgreSQL 上时须给出其所有者角色的地址（--catalog-owner）")
        upgrade_as_owner(owner, str(self.catalog), root=self.root, actor=self.actor,
                         now_iso=self.now_iso)  # fmt: skip
        if _vault_init(self.conn) is not None:
            raise VaultError(f"目录数据库中已有保管库，不能再创建：{self.root}")

    def _restore_vault_json(self) -> None:
        """A hand edit of vault.json (a role, a setting, another id) changes nothing — roles
        and settings are read from the journal — but it is journaled key by key, and undone."""
        changes = self.vault_json_changes()
        if changes:
            self.record(events.VaultJsonRestored(changes=changes), None)
            self._write_config()

    def write_config(self) -> None:
        """vault.json as the journal says it must be (a station that joined: once journaled)."""
        self._write_config()

    def _write_config(self) -> None:
        path = self.root / "vault.json"
        tmp = self.root / "vault.json.tmp"
        tmp.write_text(
            json.dumps(self._expected_vault_json(), ensure_ascii=False, indent=2) + "\n",
            encoding="utf-8",
        )
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(self.root)

    # -- who may do what ------------------------------------------------------------------
    def roles_of(self, user: str) -> set[str]:
        """The user's roles as journaled now (role.add / role.remove), read from the catalog."""
        rows = self.conn.execute('SELECT role FROM roles WHERE "user" = ?', (user,))
        return {r[0] for r in rows}

    def require_role(self, allowed: set[str] | frozenset[str], what: str) -> None:
        """Refuse unless the operating-system user holds one of `allowed`: the journaled roles
        (the catalog's `roles` table), never vault.json."""
        if not self.roles_of(self.actor) & allowed:
            names = "、".join(ROLES[r] for r in sorted(allowed))
            raise NotPermitted(
                f"用户 {self.actor} 无权{what}（须为：{names}；角色由管理员用 zfjl role add 登记）"
            )

    # -- time -----------------------------------------------------------------------------
    def now(self) -> datetime:
        """The trusted host clock, in the bureau's time zone."""
        if self._clock is not None:
            return self._clock().astimezone(self.config.tz)
        return datetime.now(self.config.tz)

    def now_iso(self) -> str:
        return self.now().isoformat(timespec="milliseconds")

    # -- database -------------------------------------------------------------------------
    @property
    def conn(self) -> Connection:
        if self._conn is not None and getattr(self._conn, "broken", False):
            self.close()  # a catalog server dropped it (restart, failover): open anew
        if self._conn is None:
            try:
                self._conn = self._connect()
                self._restore_guards()
            except self.backend.errors as exc:  # a full disk, a damaged catalog.db: say which
                self.close()
                fault = self.backend.fault(exc, self.root)
                if fault is None:
                    raise
                raise fault from exc
        return self._conn

    def _restore_guards(self) -> None:
        """Put back journal triggers someone dropped, and journal that it happened."""
        missing = journal.missing_guards(self.conn)
        if not missing or not self.backend.may_change_schema(self.conn):
            return  # the working role cannot: verify names them (trigger_missing)
        journal.create_schema(self.conn)
        self.record(events.VaultGuardsRestored(missing=missing), None)

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over an SQLite catalog (for a person at a Python prompt; the library
        asks through `query`, which every backend answers)."""
        database: sqlite_utils.Database = sqlite_utils_db().Database(self.conn)
        return database

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Rows of a catalog query as {column: value}, on any backend."""
        return dict_rows(self.conn, sql, params)

    def _connect(self) -> Connection:
        conn = self.backend.connect(self.root)
        version = migrations.catalog_version(conn)
        migrations.refuse_newer(version)
        if version < migrations.SCHEMA_VERSION and not self.backend.may_change_schema(conn):
            conn.close()
            raise VaultError(
                f"目录数据库结构为第 {version} 版，须先由其所有者角色升级到第"
                f" {migrations.SCHEMA_VERSION} 版（本工作角色无权更改结构）"
            )
        if version < migrations.SCHEMA_VERSION:
            imported = migrations.bring_up_to_date(
                conn, now_iso=self.now_iso, actor=self.actor, root=self.root,
                vault_json=self._vault_json,
            )
            if imported:  # vault.json's roles and settings are journaled now: it keeps the rest
                self._write_config()
        return conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _begin_immediate(self, conn: Connection | None = None) -> None:
        self.backend.begin_write(conn if conn is not None else self.conn)

    @contextmanager
    def writing(self) -> Iterator[Writer]:
        """One write transaction: journal events and their derived rows land together."""
        # Connected first: a first connection may itself journal (guards restored), which
        # takes this queue; the queue is not re-entrant.
        conn = self.conn
        queue = self._writers()
        if not queue.acquire(timeout=BUSY_WAIT_SECONDS):
            raise VaultError("保管库长时间被其他写入占用，请稍后重试")
        try:
            self._begin_immediate(conn)
            try:
                yield Writer(self)
                self.backend.commit(conn)
            except BaseException as exc:
                self.backend.rollback(conn)
                if self.backend.is_disk_full(exc):
                    raise DiskFull(
                        "保管库磁盘空间不足，目录未能写入：释放空间后重新运行即可继续"
                    ) from exc
                raise
        finally:
            queue.release()

    def _writers(self) -> threading.Lock:
        """This process's queue of writers to this vault (connection.py)."""
        return writer_queue(self._key)

    def record(self, event: events.EventData, subject: str | None) -> Event:
        with self.writing() as w:
            return w.append(event, subject)

    def rebuild_catalog(self) -> int:
        """Drop, recreate and replay every derived table; refuses to hide a journal row that
        does not fit its declaration (the rest is rebuilt, the row is named). Administrators
        only: a rebuild is how a hand-edited catalog would be made to look consistent."""
        self.require_role({"admin"}, "重建目录")
        self._refuse_unless_signed_journal_intact()
        with self.writing():
            if self.backend.may_change_schema(self.conn):
                count, problems = catalog.rebuild(self.conn)
            else:  # PostgreSQL's working role: the tables emptied and replayed, shapes kept
                count, problems = catalog.refill(self.conn)
        if problems:
            first = problems[0]
            raise VaultError(
                f"目录已由日志重建（{count} 条），但有 {len(problems)} 条日志记录不符合事件声明而未能"
                f"计入，首条：第 {first.seq} 条（{first.kind}）{first.message}；请运行 zfjl verify"
            )
        return count


    def _refuse_unless_signed_journal_intact(self) -> None:
        """A rebuild must never make a shortened or rewritten journal look consistent: the
        journal is checked against the signer's state and the witness copies first."""
        from zfjl.errors import JournalInconsistent
        from zfjl.vault.anchors import outside_findings

        bad = [f for f in outside_findings(self) if f[0] != "witness_missing"]
        if bad:
            code, where, expected, found = bad[0]
            raise JournalInconsistent(
                f"拒绝重建目录：日志与已签名的检查点不符（{code}，{where}：应为 {expected}，"
                f"实为 {found}）；请运行 zfjl verify"
            )


def _make_folder(root: Path) -> None:
    try:
        # 0700: only the vault's owner (the service account on a station) reaches objects,
        # catalog and key; everyone else goes through `zfjl serve`.
        root.parent.mkdir(parents=True, exist_ok=True)
        for sub in ("", "objects", "tmp", "locks"):
            (root / sub).mkdir(mode=0o700, exist_ok=True)
        os.chmod(root, 0o700)  # also when the folder was made beforehand
    except OSError as exc:
        raise VaultError(f"无法创建保管库目录 {root}：{exc.strerror}") from exc


def _station_of(data: dict[str, Any]) -> str | None:
    station = data.get("station")
    if station is not None and (not isinstance(station, str) or not station):
        raise VaultError(f"vault.json：station 应为站点名（文本），收到 {station!r:.60}")
    return station


def _catalog_of(data: dict[str, Any]) -> str | None:
    catalog = data.get("catalog")
    if catalog is not None and not isinstance(catalog, str):
        raise VaultError(f"vault.json：catalog 应为文本（postgresql://…），收到 {catalog!r:.60}")
    return catalog


def _vault_init(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT data FROM journal WHERE kind = ? ORDER BY seq LIMIT 1", (events.VaultInit.kind,)
    ).fetchone()
    if row is None:
        return None
    data = json.loads(row[0])
    return data if isinstance(data, dict) else None


class Writer:
    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def append(self, event: events.EventData, subject: str | None) -> Event:
        """Journal one declared event and fold it into the catalog, in the open transaction."""
        data = event.payload()
        problems = events.check_payload(type(event), data)
        if problems:  # a field typed Any or a dict built wrongly: refuse before it is signed
            raise events.MalformedEvent(f"{event.kind}：{'；'.join(problems)}")
        ev = journal.append(
            self.vault.conn,
            ts=self.vault.now_iso(),
            actor=self.vault.actor,
            kind=event.kind,
            subject=subject,
            data=data,
            station=self.vault.station,
        )
        catalog.apply_typed(self.vault.conn, ev, event)
        return ev



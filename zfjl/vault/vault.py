"""The vault: a folder with vault.json, objects/, tmp/, locks/ and catalog.db.

`Vault` is the library entry point (like sqlite-utils' `Database`): it finds and opens a
vault, hands out the object store, and runs journal writes in short IMMEDIATE transactions
that wait for other writers instead of failing with "database is locked".
"""

from __future__ import annotations

import json
import os
import pwd
import socket
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from zfjl.errors import (
    DiskFull,
    NotPermitted,
    UnsupportedVaultVersion,
    VaultError,
    VaultNotFound,
)
from zfjl.vault import catalog, events, faults, journal, migrations
from zfjl.vault.journal import Event
from zfjl.vault.objects import ObjectStore, fsync_dir
from zfjl.vault.witness import witness_dirs

if TYPE_CHECKING:
    import sqlite_utils

FORMAT = "zfjl-vault"
# vault.json's repository format (like restic's): this program writes FORMAT_VERSION and
# opens MIN_FORMAT_VERSION..MAX_FORMAT_VERSION. A change to the folder layout, object naming
# or the meaning of vault.json bumps it and comes with a numbered migration. Version 2
# (catalog migration 3): vault.json holds only VAULT_JSON_KEYS; roles and settings are
# journaled facts, and version 1's are imported from it by that migration.
FORMAT_VERSION = 2
MIN_FORMAT_VERSION = 1
MAX_FORMAT_VERSION = 2
VAULT_JSON_KEYS = ("format", "version", "id", "created_at")
BUSY_WAIT_SECONDS = 600.0  # a station docking many cameras at once queues, it does not fail
# Writers of one vault within this process queue on a lock before SQLite's: SQLite's busy
# handler polls with sleeps of up to 100 ms, so eight cameras of a station finishing together
# waited for each other's commits tens of milliseconds apart. Other processes still meet the
# busy handler (BUSY_WAIT_SECONDS).
_WRITERS: dict[str, threading.Lock] = {}
_WRITERS_GUARD = threading.Lock()


def _forget_writers() -> None:
    """A forked child (the service answers each request in one) starts with no writer: a lock
    held by another thread of the parent at the fork would stay held in the child for ever."""
    global _WRITERS_GUARD
    _WRITERS_GUARD = threading.Lock()
    _WRITERS.clear()


os.register_at_fork(after_in_child=_forget_writers)

DEFAULT_BUREAU = "株洲市城市管理和综合执法局"
MIN_PATROL_MONTHS = 6  # art. 42
ROLES = {"clerk": "承办人员", "legal": "法规科", "director": "局长", "admin": "保管库管理员"}


@dataclass
class VaultConfig:
    """The vault's effective settings and roles: journaled facts (setting.set, role.add) over
    these defaults, loaded on open (`Vault.reload_config`); unknown keys are kept as they are.
    Until catalog migration 3 they were read from vault.json, whence it imports them."""

    id: str
    created_at: str
    bureau: str = DEFAULT_BUREAU
    timezone: str = "Asia/Shanghai"
    # How to read QuickTime/MP4 dates, which are UTC by spec but local time on most body
    # cameras. "local" or "utc"; overridable per device under devices.<ID>.metadata_clock.
    metadata_clock: str = "local"
    clock_skew_seconds: int = 300
    upload_deadline_working_days: int = 2  # art. 37
    name_patterns: list[str] = field(default_factory=list)  # tried before the built-in ones
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Art. 42: patrol footage kept at least 6 months; a standing approval lets cron sweep it.
    retention: dict[str, Any] = field(default_factory=dict)
    # Operating-system user -> roles (clerk, legal, director, admin); see docs/access.md.
    roles: dict[str, list[str]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    KNOWN: ClassVar[tuple[str, ...]] = (
        "id",
        "created_at",
        "bureau",
        "timezone",
        "metadata_clock",
        "clock_skew_seconds",
        "upload_deadline_working_days",
        "name_patterns",
        "devices",
        "retention",
        "roles",
    )

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = "设置") -> VaultConfig:
        """Settings and roles from one mapping (vault.json before format 2, or the journaled
        ones), validated; `where` names their place in an error ("vault.json", "设置")."""
        known = {k: data[k] for k in cls.KNOWN if k in data}
        extra = {
            k: v for k, v in data.items() if k not in cls.KNOWN and k not in ("format", "version")
        }
        for key in ("id", "created_at"):
            if not isinstance(known.get(key), str) or not known[key]:
                raise VaultError(
                    f"{where}：缺少保管库标识 {key}（或不是文本），收到 {known.get(key)!r:.60}；"
                    "请从备份恢复 vault.json（勿手工编写）"
                )
        config = cls(**known, extra=extra)
        config.validate(where)
        return config

    def validate(self, where: str = "设置") -> None:
        """Refuse settings that would make times, deadlines or documents silently wrong: every
        wrong type is a VaultError naming the key, never a crash later (a TypeError, exit 70)."""
        if not isinstance(self.bureau, str) or not self.bureau.strip():
            raise VaultError(f"{where}：bureau（执法机关全称）应为非空文本，收到 {self.bureau!r:.60}")
        for name, number in (("upload_deadline_working_days", self.upload_deadline_working_days),):
            if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
                raise VaultError(f"{where}：{name} 应为正整数（工作日），收到 {number!r:.60}")
        devices = self.devices
        if not isinstance(devices, dict) or not all(isinstance(v, dict) for v in devices.values()):
            raise VaultError(f"{where}：devices 应为对象（记录仪编号 → 其设置），收到 {devices!r:.60}")
        if not isinstance(self.roles, dict):
            raise VaultError(f"{where}：roles 应为对象（用户名 → 角色列表），收到 {self.roles!r:.60}")
        if not isinstance(self.retention, dict):
            raise VaultError(f"{where}：retention 应为对象，收到 {self.retention!r:.60}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise VaultError(
                f"{where}：时区 {self.timezone!r} 无效（例：Asia/Shanghai）"
            ) from None
        clocks = [("metadata_clock", self.metadata_clock)] + [
            (f"devices.{d}.metadata_clock", v["metadata_clock"])
            for d, v in self.devices.items()
            if "metadata_clock" in v
        ]
        for key, value in clocks:
            if value not in ("local", "utc"):
                raise VaultError(f"{where}：{key} 只能是 local 或 utc，收到 {value!r}")
        skew = self.clock_skew_seconds
        if not isinstance(skew, int) or isinstance(skew, bool) or skew <= 0:
            raise VaultError(f"{where}：clock_skew_seconds 应为正整数（秒），收到 {skew!r:.60}")
        standing = self.retention.get("standing_approval")
        if standing is not None and not isinstance(standing, str):
            raise VaultError(
                f"{where}：retention.standing_approval 应为批准文号（文本），收到 {standing!r:.60}"
            )
        patterns = self.name_patterns
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise VaultError(f"{where}：文件名模式 name_patterns 应为文本的列表，收到 {patterns!r:.60}")
        months = self.retention.get("patrol_months", MIN_PATROL_MONTHS)
        if not isinstance(months, int) or isinstance(months, bool) or months < MIN_PATROL_MONTHS:
            raise VaultError(
                f"{where}：retention.patrol_months 不得少于 6（第四十二条：日常巡查声像资料"
                f"保存期限不少于6个月），收到 {months!r}"
            )
        for user, roles in self.roles.items():
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                raise VaultError(
                    f"{where}：roles.{user} 应为角色名的列表（如 [\"clerk\"]），收到 {roles!r:.60}"
                )
            unknown = set(roles) - set(ROLES)
            if unknown:
                raise VaultError(
                    f"{where}：roles.{user} 含未知角色 {'、'.join(sorted(unknown))}"
                    f"（可用：{'、'.join(ROLES)}）"
                )
        # The checkpoint witnesses (zfjl/vault/witness.py reads them): the same messages.
        section = self.extra.get("checkpoint", {})
        if not isinstance(section, dict):
            raise VaultError(
                f'{where}：checkpoint 应为对象（如 {{"witness_dirs": [...]}}），收到 {section!r}'
            )
        dirs = section.get("witness_dirs", [])
        if not isinstance(dirs, list) or not all(isinstance(d, str) and d.strip() for d in dirs):
            raise VaultError(
                f"{where}：checkpoint.witness_dirs 应为目录路径（字符串）的列表，收到 {dirs!r}"
            )
        # The ingest pipeline's batch sizes (zfjl/ingest/pipeline.py reads them).
        ingest = self.extra.get("ingest", {})
        if not isinstance(ingest, dict):
            raise VaultError(f"{where}：ingest 应为对象，收到 {ingest!r:.60}")
        for name, least in (("batch_files", 1), ("batch_bytes", 1), ("workers", 1),
                            ("inline_bytes", 0)):  # fmt: skip
            value = ingest.get(name, least)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                kind = "正整数" if least else "非负整数"
                raise VaultError(f"{where}：ingest.{name} 应为{kind}，收到 {value!r:.60}")
        # The 较大数额 fines of 行政处罚法第六十三条 (zfjl/checklists/run.py reads them).
        check = self.extra.get("check", {})
        if not isinstance(check, dict):
            raise VaultError(f"{where}：check 应为对象，收到 {check!r:.60}")
        for name in ("hearing_fine_individual", "hearing_fine_organisation"):
            value = check.get(name, 1)
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise VaultError(f"{where}：check.{name} 应为正数（元），收到 {value!r:.60}")

    @property
    def patrol_months(self) -> int:
        return int(self.retention.get("patrol_months", MIN_PATROL_MONTHS))

    def roles_of(self, user: str) -> set[str]:
        return set(self.roles.get(user, []))

    def to_json(self) -> dict[str, Any]:
        """Every setting and role (what vault.init records, and `zfjl config ls` shows)."""
        out: dict[str, Any] = {"format": FORMAT, "version": FORMAT_VERSION}
        out.update({k: getattr(self, k) for k in self.KNOWN})
        out.update(self.extra)
        return out

    def vault_json(self) -> dict[str, Any]:
        """What vault.json holds since format 2: what it takes to open the vault, no more."""
        return {"format": FORMAT, "version": FORMAT_VERSION, "id": self.id,
                "created_at": self.created_at}  # fmt: skip

    def metadata_clock_for(self, device: str | None) -> str:
        if device and device in self.devices:
            return str(self.devices[device].get("metadata_clock", self.metadata_clock))
        return self.metadata_clock

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def check_format(data: Any) -> None:
    """Refuse a vault.json this program cannot read, saying which zfjl can."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UnsupportedVaultVersion(f"vault.json 不是 zfjl 保管库的配置（format 应为 {FORMAT}）")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise UnsupportedVaultVersion(f"vault.json：version 应为整数，收到 {version!r}，不受支持")
    supported = (
        f"第 {MIN_FORMAT_VERSION} 版"
        if MIN_FORMAT_VERSION == MAX_FORMAT_VERSION
        else f"第 {MIN_FORMAT_VERSION}–{MAX_FORMAT_VERSION} 版"
    )
    if version > MAX_FORMAT_VERSION:
        raise UnsupportedVaultVersion(
            f"保管库格式第 {version} 版不受支持：它由更新版本的 zfjl 创建，本程序支持{supported}；"
            "请升级 zfjl（保管库未被改动）"
        )
    if version < MIN_FORMAT_VERSION:
        raise UnsupportedVaultVersion(
            f"保管库格式第 {version} 版不受支持：早于本程序支持的{supported}，"
            "请先用能打开它的 zfjl 版本升级"
        )


def refuse_foreign(root: Path) -> None:
    """Direct mode is for a vault the caller owns; a station's vault is reached through the
    service (root, who can read anything anyway, may open any)."""
    uid = os.getuid()
    owner = root.stat().st_uid
    if uid not in (0, owner):
        try:
            name = pwd.getpwuid(owner).pw_name
        except KeyError:
            name = f"uid:{owner}"
        raise NotPermitted(
            f"保管库 {root} 属于用户 {name}，由保管库服务管理：请不带 --vault 直接运行 zfjl"
            "（经 zfjl serve），不要直接打开它的文件"
        )


def default_vault_path() -> Path:
    return Path(platformdirs.user_data_dir("zfjl")) / "vault"


def resolve_vault_path(explicit: str | os.PathLike[str] | None) -> Path:
    """--vault, else $ZFJL_VAULT, else the per-user default."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("ZFJL_VAULT")
    return Path(env) if env else default_vault_path()


_SERVED_UID: list[int] = []  # set once, in a service child, from the peer's SO_PEERCRED


def act_for(uid: int) -> None:
    """Called only by `zfjl serve`'s per-request child, with the UID the kernel reported for
    the connecting process: that user, not the service account, acts in every event."""
    _SERVED_UID[:] = [uid]


def current_actor() -> str:
    """The acting user: the process's real UID as the kernel says (or the service's peer, see
    `act_for`), named by the password database. Never LOGNAME/USER (getpass.getuser reads
    them): a clerk could set those."""
    uid = _SERVED_UID[0] if _SERVED_UID else os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


Clock = Callable[[], datetime]


class Vault:
    def __init__(self, root: Path, config: VaultConfig, clock: Clock | None = None) -> None:
        self.root = root
        self._key = os.path.realpath(root)  # one queue of writers per vault, however named
        self.config = config
        self.objects = ObjectStore(root)
        self.actor = current_actor()
        self.host = socket.gethostname()
        self._clock = clock
        self._conn: sqlite3.Connection | None = None
        self._vault_json: dict[str, Any] | None = None  # as read on open, for migration 3

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path, *, bureau: str | None = None, clock: Clock | None = None) -> Vault:
        root = Path(root)
        if (root / "vault.json").exists():
            raise VaultError(f"此处已有保管库：{root}")
        try:
            # 0700: only the vault's owner (the service account on a station) reaches objects,
            # catalog and key; everyone else goes through `zfjl serve`.
            root.parent.mkdir(parents=True, exist_ok=True)
            for sub in ("", "objects", "tmp", "locks"):
                (root / sub).mkdir(mode=0o700, exist_ok=True)
            os.chmod(root, 0o700)  # also when the folder was made beforehand
        except OSError as exc:
            raise VaultError(f"无法创建保管库目录 {root}：{exc.strerror}") from exc
        config = VaultConfig(id=str(uuid.uuid4()), created_at="")
        if bureau:
            config.bureau = bureau
        vault = cls(root, config, clock)
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
        vault = cls(root, _bootstrap_config(data), clock)
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
        expected = self.config.vault_json()
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

    def _restore_vault_json(self) -> None:
        """A hand edit of vault.json (a role, a setting, another id) changes nothing — roles
        and settings are read from the journal — but it is journaled key by key, and undone."""
        changes = self.vault_json_changes()
        if changes:
            self.record(events.VaultJsonRestored(changes=changes), None)
            self._write_config()

    def _write_config(self) -> None:
        path = self.root / "vault.json"
        tmp = self.root / "vault.json.tmp"
        tmp.write_text(
            json.dumps(self.config.vault_json(), ensure_ascii=False, indent=2) + "\n",
            encoding="utf-8",
        )
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(self.root)

    # -- who may do what ------------------------------------------------------------------
    def roles_of(self, user: str) -> set[str]:
        """The user's roles as journaled now (role.add / role.remove), read from the catalog."""
        rows = self.conn.execute("SELECT role FROM roles WHERE user = ?", (user,))
        return {r[0] for r in rows}

    def require_role(self, allowed: set[str], what: str) -> None:
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
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self._conn = self._connect()
                self._restore_guards()
            except sqlite3.Error as exc:  # a full disk, a damaged catalog.db: say which
                self.close()
                fault = faults.sqlite_fault(exc, self.root)
                if fault is None:
                    raise
                raise fault from exc
        return self._conn

    def _restore_guards(self) -> None:
        """Put back journal triggers someone dropped, and journal that it happened."""
        missing = journal.missing_guards(self.conn)
        if not missing:
            return
        journal.create_schema(self.conn)
        self.record(events.VaultGuardsRestored(missing=missing), None)

    @property
    def db(self) -> sqlite_utils.Database:
        database: sqlite_utils.Database = _sqlite_utils_db().Database(self.conn)
        return database

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.root / "catalog.db", timeout=BUSY_WAIT_SECONDS, isolation_level=None
        )
        # Switching an older catalog to WAL needs it to itself: SQLite answers "locked" at once,
        # without its busy handler, while another opener (a second camera's thread) reads it.
        _execute_when_free(conn, "PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")  # an acknowledged event survives power loss
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_WAIT_SECONDS * 1000)}")
        version = migrations.catalog_version(conn)
        migrations.refuse_newer(version)
        if version < migrations.SCHEMA_VERSION:
            self._migrate(conn)
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Bring the catalog to SCHEMA_VERSION under the write lock, journaled, in one
        transaction (see migrations.py). A new catalog is made at the current version."""
        self._begin_immediate(conn)
        imported = False
        try:
            version = migrations.catalog_version(conn)  # another process may have done it
            if not journal.has_table(conn):
                journal.create_schema(conn)
                catalog.create_schema(conn)
            elif version < migrations.SCHEMA_VERSION:
                imported = self._run_migrations(conn, migrations.pending(version))
            migrations.set_catalog_version(conn, max(version, migrations.SCHEMA_VERSION))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if imported:  # vault.json's roles and settings are journaled now: it keeps the rest
            self._write_config()

    def _run_migrations(self, conn: sqlite3.Connection, todo: list[migrations.Migration]) -> bool:
        """Returns whether vault.json's roles and settings were imported (migration 3)."""
        catalog.create_schema(conn)  # tables a 0.1 catalog may lack entirely
        rebuilt: set[str] = set()
        for m in todo:
            migrations.apply(conn, m)
            rebuilt.update(m.reshape)
        if rebuilt:
            # Projections: every table is replayed whole (handlers write several tables).
            catalog.rebuild(conn)

        def append(event: events.EventData) -> None:
            ev = journal.append(conn, ts=self.now_iso(), actor=self.actor, kind=event.kind,
                                subject=None, data=event.payload())  # fmt: skip
            catalog.apply_typed(conn, ev, event)

        imported = False
        for m in todo:
            append(events.VaultMigrate(number=m.number, name=m.name, rebuilt=sorted(m.reshape)))
            old = self._vault_json
            if m.imports_vault_json and old is not None and old.get("version") == 1:
                # Refused, untouched, while vault.json's settings are invalid: fix, then reopen.
                try:
                    VaultConfig.from_json(old, where="vault.json")
                except VaultError as exc:
                    raise VaultError(
                        f"{exc.message}（旧版保管库升级前须改正 vault.json 中的这一项，"
                        "然后重新运行；保管库未被改动）"
                    ) from None
                for event in migrations.import_vault_json(conn, m.number, old,
                                                          _owner_name(self.root)):  # fmt: skip
                    append(event)
                imported = True
        return imported

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _begin_immediate(self, conn: sqlite3.Connection | None = None) -> None:
        _execute_when_free(conn if conn is not None else self.conn, "BEGIN IMMEDIATE")

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
                self.conn.execute("COMMIT")
            except BaseException as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError) and "full" in str(exc):
                    raise DiskFull(
                        "保管库磁盘空间不足，目录未能写入：释放空间后重新运行即可继续"
                    ) from exc
                raise
        finally:
            queue.release()

    def _writers(self) -> threading.Lock:
        """This process's queue of writers to this vault (see _WRITERS)."""
        with _WRITERS_GUARD:
            return _WRITERS.setdefault(self._key, threading.Lock())

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
            count, problems = catalog.rebuild(self.conn)
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


def _execute_when_free(conn: sqlite3.Connection, sql: str) -> None:
    """A statement that may meet SQLite's lock without its busy handler, tried again until
    the vault is free (BUSY_WAIT_SECONDS)."""
    deadline = time.monotonic() + BUSY_WAIT_SECONDS
    delay = 0.01
    while True:
        try:
            conn.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise VaultError("保管库长时间被其他进程占用，请稍后重试") from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def _bootstrap_config(data: dict[str, Any]) -> VaultConfig:
    """Enough to open the catalog (and timestamp a migration): identity, and the time zone of
    a format-1 vault.json. The effective settings come from the journal (reload_config)."""
    config = VaultConfig(id=str(data.get("id", "")), created_at=str(data.get("created_at", "")))
    tz = data.get("timezone")
    if isinstance(tz, str):
        try:
            ZoneInfo(tz)
            config.timezone = tz
        except (ZoneInfoNotFoundError, ValueError):
            pass  # refused by the migration's validation, naming the key
    return config


def _vault_init(conn: sqlite3.Connection) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT data FROM journal WHERE kind = ? ORDER BY seq LIMIT 1", (events.VaultInit.kind,)
    ).fetchone()
    if row is None:
        return None
    data = json.loads(row[0])
    return data if isinstance(data, dict) else None


def _owner_name(root: Path) -> str:
    uid = root.stat().st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


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
        )
        catalog.apply_typed(self.vault.conn, ev, event)
        return ev


def _sqlite_utils_db() -> Any:
    """sqlite_utils.db, imported on first use with numpy and pandas hidden.

    sqlite_utils imports them, when installed (matplotlib brings numpy), only to map their
    column types, which no vault stores: a tenth of a second of every command that reads the
    catalog through it, and of `zfjl verify` of a gigabyte. Nothing else changes: numpy stays
    importable afterwards, for the report's figures.
    """
    if "sqlite_utils.db" in sys.modules or "numpy" in sys.modules:
        import sqlite_utils.db

        return sqlite_utils.db
    hidden = {name: sys.modules.get(name) for name in ("numpy", "pandas")}
    sys.modules.update(dict.fromkeys(hidden))  # type: ignore[arg-type]  # None: "not installed"
    try:
        import sqlite_utils.db
    finally:
        for name, module in hidden.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return sqlite_utils.db

"""What vault.json holds and where a vault is: the repository format, the effective settings
and roles (`VaultConfig`, journaled facts over defaults) and the vault's location."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

from zfjl.errors import UnsupportedVaultVersion, VaultError

FORMAT = "zfjl-vault"
# vault.json's repository format (like restic's): this program writes FORMAT_VERSION and
# opens MIN_FORMAT_VERSION..MAX_FORMAT_VERSION. A change to the folder layout, object naming
# or the meaning of vault.json bumps it and comes with a numbered migration. Version 2
# (catalog migration 3): vault.json holds only VAULT_JSON_KEYS; roles and settings are
# journaled facts, and version 1's are imported from it by that migration.
FORMAT_VERSION = 2
MIN_FORMAT_VERSION = 1
MAX_FORMAT_VERSION = 3
VAULT_JSON_KEYS = ("format", "version", "id", "created_at")
# Format 3 (issue 25): vault.json also names its catalog (`catalog`, a libpq URL without a
# password) when it is not catalog.db: a zfjl that knows only catalog.db must refuse such a
# vault rather than open an empty catalog.db beside it. A vault on catalog.db stays format 2.
CATALOG_FORMAT_VERSION = 3

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


def default_vault_path() -> Path:
    return Path(platformdirs.user_data_dir("zfjl")) / "vault"


def resolve_vault_path(explicit: str | os.PathLike[str] | None) -> Path:
    """--vault, else $ZFJL_VAULT, else the per-user default."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("ZFJL_VAULT")
    return Path(env) if env else default_vault_path()



def bootstrap_config(data: dict[str, Any]) -> VaultConfig:
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


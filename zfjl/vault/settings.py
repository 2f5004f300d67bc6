"""Roles and settings as journaled facts (`zfjl role …`, `zfjl config …`).

Whoever could write vault.json used to give themselves `director`: roles and settings now
live in the journal (`role.add`, `role.remove`, `setting.set`), are derived into the catalog's
`roles` and `settings` tables and read from there (`Vault.require_role`, `Vault.config`).
Changing them is for administrators only; where the regulation asks for an approval (审批编号)
— granting an approving role (arts. 44, 47: 局长's approval, 法规科's review) or a retention
setting (art. 42, art. 55: what may be destroyed, and when) — the number is journaled with
the change (docs/access.md). Every setting is validated as it was in vault.json.
"""

from __future__ import annotations

import copy
import json
import re
from typing import TYPE_CHECKING, Any

from zfjl.errors import NotFoundError, UsageError, VaultError
from zfjl.vault import events
from zfjl.vault.name_patterns import compile_pattern
from zfjl.vault.roles import APPROVING_ROLES
from zfjl.vault.vault import MIN_PATROL_MONTHS, ROLES, VaultConfig

if TYPE_CHECKING:
    from zfjl.vault.vault import Vault

# Granting an approving role (vault.roles) needs an approval number: each approves access or
# destruction (legal, director) or can change every rule of the vault (admin).
# Settings under these need one: they decide what is destroyed and when (arts. 42, 55).
APPROVAL_SECTIONS = ("retention",)

# Settable keys: each top-level key, and these leaves of the sections; `devices.<ID>` and
# `devices.<ID>.<field>` (metadata_clock, serial, …) besides.
TOP_KEYS = ("bureau", "timezone", "metadata_clock", "clock_skew_seconds",
            "upload_deadline_working_days", "name_patterns", "devices", "retention",
            "checkpoint", "ingest", "check", "web")  # fmt: skip
LEAF_DEFAULTS: dict[str, Any] = {
    "retention.patrol_months": MIN_PATROL_MONTHS,
    "retention.standing_approval": None,
    "checkpoint.witness_dirs": [],
    "ingest.batch_files": None,  # the ingest pipeline's own batch sizes
    "ingest.batch_bytes": None,
    "ingest.inline_bytes": None,  # files smaller are stored on the ingest's own thread; 0: none
    "ingest.workers": None,  # cameras ingested at once on this vault (others queue); default 4
    # 行政处罚法第六十三条's 较大数额罚款 (元), set by the province: Hunan's (docs/rules.md).
    "check.hearing_fine_individual": 1000,
    "check.hearing_fine_organisation": 20000,
    # The review pages (docs/web.md): where `zfjl serve` answers HTTP (127.0.0.1:PORT), and
    # the names a reverse proxy forwards as Host (anything else is refused: DNS rebinding).
    "web.listen": None,
    "web.hosts": [],
    # The OS account the reverse proxy runs as: its connections are the only ones not bound to
    # the session's UID (they must be HTTPS with a __Host- cookie; docs/web.md).
    "web.proxy_user": None,
}
TEXT_KEYS = frozenset({"bureau", "timezone", "metadata_clock", "retention.standing_approval",
                       "web.listen", "web.proxy_user"})  # fmt: skip
DEVICE_KEY = re.compile(r"^devices\.([^.\s]+)(?:\.([^.\s]+))?$")
# A person's name for their login, shown for it wherever a person reads who did something
# (`zfjl log`, `case history`, `show`); the journal keeps the login (docs/cli.md).
USER_KEY = re.compile(r"^users\.([^.\s]+)\.name$")
READ_ONLY = ("id", "created_at")


def _approval(approval_no: str | None, what: str) -> str:
    chosen = (approval_no or "").strip()
    if not chosen:
        raise UsageError(f"{what}须写明审批编号（--approval 局批〔2024〕8号）")
    return chosen


def _check_admin(vault: Vault, what: str) -> None:
    vault.require_role({"admin"}, what)


# -- roles --------------------------------------------------------------------------------------
def _role_row(vault: Vault, user: str, role: str) -> dict[str, Any] | None:
    row = vault.conn.execute(
        'SELECT "user", role, since, granted_by, approval_no, via, seq FROM roles'
        ' WHERE "user" = ? AND role = ?',
        (user, role),
    ).fetchone()
    if row is None:
        return None
    keys = ("user", "role", "since", "granted_by", "approval_no", "via", "seq")
    return {**dict(zip(keys, row, strict=True)), "label": ROLES.get(row[1], row[1])}


def _check_role_name(role: str) -> None:
    if role not in ROLES:
        raise UsageError(
            f"未知角色 {role!r}（可用：{'、'.join(f'{k} {v}' for k, v in ROLES.items())}）"
        )


def _check_user(user: str) -> None:
    if not user.strip() or any(c.isspace() for c in user):
        raise UsageError(f"用户名应为操作系统用户名（不含空白），收到 {user!r}")


def add_role(
    vault: Vault, user: str, role: str, *, approval_no: str | None = None
) -> dict[str, Any]:
    """`zfjl role add USER ROLE`: journal `role.add`. Administrators only; an approving role
    (法规科, 局长) or another administrator needs the approval number."""
    _check_user(user)
    _check_role_name(role)
    chosen = (
        _approval(approval_no, f"登记 {ROLES[role]}（{role}）角色")
        if role in APPROVING_ROLES
        else (approval_no or "").strip() or None
    )
    with vault.writing() as w:  # checked under the write lock: two admins cannot race
        _check_admin(vault, "登记角色")
        if _role_row(vault, user, role) is not None:
            raise UsageError(f"用户 {user} 已有角色 {role}（{ROLES[role]}）")
        w.append(events.RoleAdd(user=user, role=role, approval_no=chosen), None)
        row = _role_row(vault, user, role)
    vault.reload_config()
    assert row is not None
    return row


def remove_role(vault: Vault, user: str, role: str, *, reason: str | None = None) -> dict[str, Any]:
    """`zfjl role rm USER ROLE`: journal `role.remove`. Administrators only; taking a role
    away only narrows who may act, so it needs no approval, but the last administrator
    stays (nobody could change roles again)."""
    _check_role_name(role)
    with vault.writing() as w:
        _check_admin(vault, "撤销角色")
        row = _role_row(vault, user, role)
        if row is None:
            raise NotFoundError(f"用户 {user} 没有角色 {role}（{ROLES[role]}）")
        if role == "admin":
            admins = vault.conn.execute("SELECT COUNT(*) FROM roles WHERE role = 'admin'")
            if admins.fetchone()[0] <= 1:
                raise UsageError(f"不能撤销最后一名保管库管理员（{user}）：请先登记另一名管理员")
        w.append(events.RoleRemove(user=user, role=role, reason=reason), None)
    vault.reload_config()
    return {**row, "removed": True, "reason": reason}


def list_roles(vault: Vault) -> list[dict[str, Any]]:
    """Every user's roles as journaled: user, role, label, since, granted_by, approval_no, via."""
    rows = vault.conn.execute('SELECT "user", role FROM roles ORDER BY "user", role').fetchall()
    return [r for u, role in rows if (r := _role_row(vault, u, role)) is not None]


# -- settings -----------------------------------------------------------------------------------
def _path(key: str, vault: Vault) -> list[str]:
    """The dotted key's path, refused unless it is a setting."""
    if key in READ_ONLY:
        raise UsageError(f"{key} 是保管库的标识，不可更改")
    if key in TOP_KEYS or key in LEAF_DEFAULTS or DEVICE_KEY.match(key) or USER_KEY.match(key):
        return key.split(".")
    top = key.split(".")[0]
    if top in vault.config.extra and top not in TOP_KEYS:  # a bureau's own key (imported)
        return key.split(".")
    known = "、".join([*TOP_KEYS, *LEAF_DEFAULTS, "devices.<编号>.metadata_clock",
                      "users.<用户名>.name"])  # fmt: skip
    raise UsageError(f"未知设置 {key!r}（可用：{known}）")


def _effective(vault: Vault) -> dict[str, Any]:
    data = vault.config.to_json()
    for k in ("format", "version", "roles"):
        data.pop(k, None)
    return data


def _lookup(data: dict[str, Any], path: list[str]) -> tuple[bool, Any]:
    node: Any = data
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _set_path(data: dict[str, Any], path: list[str], value: Any) -> None:
    node = data
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def parse_value(key: str, text: str) -> Any:
    """A value typed on the command line: text for the text settings, else JSON (12, true,
    ["/mnt/usb"], {"metadata_clock": "utc"}) when it parses, else the text itself."""
    device = DEVICE_KEY.match(key)
    if key in TEXT_KEYS or (device and device.group(2) in ("metadata_clock", "serial")):
        return text
    if USER_KEY.match(key):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _validate(vault: Vault, key: str, candidate: dict[str, Any]) -> None:
    """As vault.json's settings were validated (the same messages), as a usage error."""
    try:
        VaultConfig.from_json(candidate, where="设置")
    except VaultError as exc:
        raise UsageError(exc.message) from None
    if key == "name_patterns":
        for pattern in candidate["name_patterns"]:
            try:
                compile_pattern(pattern)
            except ValueError as exc:
                raise UsageError(f"设置：文件名模式 {pattern!r} 有误：{exc}") from None
    users = candidate.get("users", {})
    if not isinstance(users, dict) or not all(
        isinstance(u, dict) and isinstance(u.get("name", ""), str) for u in users.values()
    ):
        raise UsageError(f"设置：users 应为 用户名 → {{name: 姓名}}，收到 {users!r:.60}")
    if USER_KEY.match(key) and not _lookup(candidate, key.split("."))[1].strip():
        raise UsageError(f"设置：{key} 应为姓名（不能为空）")


def set_setting(
    vault: Vault, key: str, value: Any, *, approval_no: str | None = None
) -> dict[str, Any]:
    """`zfjl config set KEY VALUE`: validate, then journal `setting.set`. Administrators only;
    a retention setting needs the approval number. A str `value` for a setting that is not
    text is read as the command line's (`parse_value`)."""
    path = _path(key, vault)
    if isinstance(value, str):
        value = parse_value(key, value)
    needs = path[0] in APPROVAL_SECTIONS
    chosen = (
        _approval(approval_no, f"更改 {key}（第四十二条：保存期限与销毁）")
        if needs
        else (approval_no or "").strip() or None
    )
    with vault.writing() as w:
        _check_admin(vault, "更改设置")
        vault.reload_config()  # what another process set meanwhile is the base
        before = _effective(vault)
        candidate = copy.deepcopy(before)
        _set_path(candidate, path, value)
        _validate(vault, key, candidate)
        _, previous = _lookup(before, path)
        w.append(events.SettingSet(key=key, value=value, approval_no=chosen), None)
    vault.reload_config()
    return {**get_setting(vault, key), "previous": previous}


def _row_of(vault: Vault, top: str) -> dict[str, Any]:
    row = vault.conn.execute(
        "SELECT changed_at, changed_by, approval_no, seq FROM settings WHERE key = ?", (top,)
    ).fetchone()
    keys = ("changed_at", "changed_by", "approval_no", "seq")
    return dict(zip(keys, row, strict=True)) if row else dict.fromkeys(keys)


def get_setting(vault: Vault, key: str) -> dict[str, Any]:
    """`zfjl config get KEY`: the effective value (journaled, else the default) and who set it."""
    path = key.split(".")
    if key not in READ_ONLY:
        path = _path(key, vault)
    found, value = _lookup(_effective(vault), path)
    if not found and key in LEAF_DEFAULTS:
        found, value = True, LEAF_DEFAULTS[key]
    if not found and not DEVICE_KEY.match(key):
        raise NotFoundError(f"设置 {key} 未登记")
    journaled = _row_of(vault, path[0]) if key not in READ_ONLY else dict.fromkeys(
        ("changed_at", "changed_by", "approval_no", "seq"))  # fmt: skip
    return {"key": key, "value": value, **journaled}


SECTIONS = ("devices", "retention", "checkpoint", "ingest", "users", "check")


def user_names(vault: Vault) -> dict[str, str]:
    """login → the name set with `zfjl config set users.<login>.name 姓名`."""
    users = vault.config.extra.get("users")
    if not isinstance(users, dict):
        return {}
    return {login: str(u["name"]) for login, u in users.items()
            if isinstance(u, dict) and isinstance(u.get("name"), str) and u["name"].strip()}  # fmt: skip


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if (
        isinstance(value, dict)
        and value
        and (prefix in SECTIONS or prefix.startswith(("devices.", "users.")))
    ):
        for k, v in sorted(value.items()):
            _flatten(f"{prefix}.{k}", v, out)
    else:
        out[prefix] = value


def list_settings(vault: Vault) -> list[dict[str, Any]]:
    """`zfjl config ls`: every effective setting, one row per key (sections as their leaves),
    with the journal row that last changed it (changed_at None: the default)."""
    flat: dict[str, Any] = {}
    for key, value in _effective(vault).items():
        if key not in READ_ONLY:
            _flatten(key, value, flat)
    for key, default in LEAF_DEFAULTS.items():
        if default is not None and key not in flat:
            flat[key] = default
            if flat.get(key.split(".")[0]) == {}:
                del flat[key.split(".")[0]]
    rows = []
    for key, value in sorted(flat.items()):
        row = _row_of(vault, key.split(".")[0])
        rows.append({"key": key, "value": value, **row})
    return rows

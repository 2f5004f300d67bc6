"""The `checkpoint.witness_dirs` setting (journaled, `zfjl config`): folders outside the vault (a USB disk,
a share of the supervising office) that receive a copy of every signed checkpoint.

Kept free of heavy imports: it is validated each time the command line opens a vault."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from zfjl.errors import VaultError

if TYPE_CHECKING:
    from zfjl.vault.vault import Vault

SETTING = "checkpoint"


def witness_dirs(vault: Vault) -> list[Path]:
    """The witness folders, validated: `{"checkpoint": {"witness_dirs": ["/mnt/usb/zfjl"]}}`.
    A relative path is taken from the vault's folder."""
    section = vault.config.extra.get(SETTING, {})
    if not isinstance(section, dict):
        raise VaultError(
            f'设置 {SETTING} 应为对象（如 {{"witness_dirs": [...]}}），收到 {section!r}'
        )
    dirs = section.get("witness_dirs", [])
    if not isinstance(dirs, list) or not all(isinstance(d, str) and d.strip() for d in dirs):
        raise VaultError(
            f"设置 {SETTING}.witness_dirs 应为目录路径（字符串）的列表，收到 {dirs!r}"
        )
    return [Path(d) if Path(d).is_absolute() else vault.root / d for d in dirs]


def former_witness_dirs(vault: Vault) -> list[Path]:
    """Folders the journal named as witnesses once but no longer does. Their copies still
    count: dropping a folder from the setting must not blind `verify` to what it holds."""
    import json

    from zfjl.vault.events import SettingSet, VaultInit

    current = set(witness_dirs(vault))
    named: list[Path] = []
    rows = vault.conn.execute(
        "SELECT kind, data FROM journal WHERE kind IN (?, ?) ORDER BY seq",
        (SettingSet.kind, VaultInit.kind),
    )
    for kind, data in rows:
        try:
            payload = json.loads(data)
        except ValueError:
            continue  # verify's event_malformed names it
        for d in _dirs_in(kind == VaultInit.kind, payload):
            path = Path(d) if Path(d).is_absolute() else vault.root / d
            if path not in current and path not in named:
                named.append(path)
    return named


def _dirs_in(at_init: bool, payload: object) -> list[str]:
    """The witness folders a vault.init or setting.set payload names (none if malformed)."""
    if not isinstance(payload, dict):
        return []
    section = payload.get(SETTING)
    if at_init:
        value = section.get("witness_dirs") if isinstance(section, dict) else None
    elif payload.get("key") == f"{SETTING}.witness_dirs":
        value = payload.get("value")
    elif payload.get("key") == SETTING and isinstance(payload.get("value"), dict):
        value = payload["value"].get("witness_dirs")
    else:
        return []
    return [d for d in value if isinstance(d, str) and d.strip()] if isinstance(value, list) else []

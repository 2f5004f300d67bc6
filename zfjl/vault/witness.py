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

"""The evidence vault: content-addressed objects, a hash-chained journal, derived catalog."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zfjl.vault.vault import Vault, VaultConfig, resolve_vault_path

__all__ = ["Vault", "VaultConfig", "resolve_vault_path"]


def __getattr__(name: str) -> Any:
    # Re-exported on first use (PEP 562): the service's client reads a camera card through
    # zfjl.vault.objects alone, and importing the vault (catalog, events) for it cost each
    # ingest through the service ~50 ms before its first file.
    if name in __all__:
        from zfjl.vault import vault

        return getattr(vault, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

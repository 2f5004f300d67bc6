"""The evidence vault: content-addressed objects, a hash-chained journal, derived catalog."""

from zfjl.vault.vault import Vault, VaultConfig, resolve_vault_path

__all__ = ["Vault", "VaultConfig", "resolve_vault_path"]

"""A new vault ready for use: the vault itself, then its checkpoint signing key.

`Vault.create` knows nothing of keys (checkpoints build on the vault, not the reverse); this
composes the two, and takes the signer as a parameter so a caller may hand in another.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from zfjl.vault.checkpoint import create_key
from zfjl.vault.vault import Clock, Vault

Signer = Callable[[Vault], object]  # makes and journals the vault's first signing key


def init_vault(
    root: Path, *, bureau: str | None = None, clock: Clock | None = None,
    signer: Signer = create_key,
) -> Vault:  # fmt: skip
    """`zfjl init`: create the vault at `root` and give it a signing key."""
    vault = Vault.create(root, bureau=bureau, clock=clock)
    signer(vault)
    return vault


def grant_admins(vault: Vault, users: list[str]) -> None:
    """Give the station's administrators (people, not the service account) the admin role."""
    # Roles are still vault.json settings here; issue 11 makes them journaled facts.
    for user in users:
        roles = vault.config.roles.setdefault(user, [])
        if "admin" not in roles:
            roles.append("admin")
    vault._write_config()

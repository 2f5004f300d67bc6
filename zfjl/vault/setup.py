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


def grant_admins(vault: Vault, users: list[str], approval_no: str | None) -> None:
    """Give the station's administrators (people, not the service account) the admin role,
    journaled as `role.add` under the approval that named them."""
    from zfjl.vault.settings import add_role

    for user in users:
        add_role(vault, user, "admin", approval_no=approval_no)

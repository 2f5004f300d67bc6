"""A new vault ready for use: the vault itself, then its checkpoint signing key.

`Vault.create` knows nothing of keys (checkpoints build on the vault, not the reverse); this
composes the two, and takes the signer as a parameter so a caller may hand in another.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from zfjl.errors import UsageError, VaultError
from zfjl.vault.signer import create_key
from zfjl.vault.vault import Clock, Vault

Signer = Callable[[Vault], object]  # makes and journals the vault's first signing key


def init_vault(
    root: Path, *, bureau: str, clock: Clock | None = None, signer: Signer = create_key,
    catalog: str | None = None, catalog_owner: str | None = None, store: str | None = None,
) -> Vault:  # fmt: skip
    """`zfjl init`: create the vault at `root` and give it a signing key; with `store`
    (s3://BUCKET[/PREFIX]) `root` is the station's folder of a bureau vault (bureau.py). `bureau`, the
    enforcement body's full name, is printed on every document: there is no default (a
    vault once silently named 株洲's bureau on every document of another). `catalog` and
    `catalog_owner`: a PostgreSQL catalog's working and owner roles (Vault.create)."""
    if not isinstance(bureau, str) or not bureau.strip():
        raise UsageError("须用 --bureau 给出执法机关全称（印在每份文书上），如 --bureau 某某市城市管理和综合执法局")
    url = None
    if store is not None:  # a bureau vault (issue 25): the bucket checked before anything is made
        from zfjl.vault.bureau import StoreUrl, open_store

        url = StoreUrl.parse(store)
        if (Path(root) / "vault.json").exists():
            raise VaultError(f"此处已有保管库：{root}")
        open_store(Path(root), url, create=True)
    vault = Vault.create(root, bureau=bureau.strip(), clock=clock, catalog=catalog,
                         catalog_owner=catalog_owner)  # fmt: skip
    signer(vault)
    if url is not None:
        from zfjl.vault.bureau import bind_store

        bind_store(vault, str(url))
    return vault


def grant_admins(vault: Vault, users: list[str], approval_no: str | None) -> None:
    """Give the station's administrators (people, not the service account) the admin role,
    journaled as `role.add` under the approval that named them."""
    from zfjl.vault.settings import add_role

    for user in users:
        add_role(vault, user, "admin", approval_no=approval_no)

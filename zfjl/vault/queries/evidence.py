"""The catalog's facts about one stored object that access, bundles and retention all ask:
its sealed SHA-256, the camera's file name, whether and when it was destroyed."""

from __future__ import annotations

from dataclasses import dataclass

from zfjl.vault.vault import Vault


@dataclass(frozen=True)
class Catalogued:
    """A catalogued object's SHA-256: None until it is sealed (or if it cannot be)."""

    sha256: str | None


def catalogued(vault: Vault, oid: str) -> Catalogued | None:
    """The object's catalog row (its SHA-256); None if the vault has no such object."""
    row = vault.conn.execute("SELECT sha256 FROM objects WHERE id = ?", (oid,)).fetchone()
    return None if row is None else Catalogued(row[0])


def original_name(vault: Vault, oid: str) -> str | None:
    """The file name the recording had on the camera; None if not a recording or none kept."""
    row = vault.conn.execute("SELECT original_name FROM recordings WHERE id = ?", (oid,)).fetchone()
    return row[0] if row else None


def tombstoned_at(vault: Vault, oid: str) -> str | None:
    """When the object was destroyed (its tombstone); None while it is live."""
    row = vault.conn.execute("SELECT at FROM tombstones WHERE id = ?", (oid,)).fetchone()
    return row[0] if row else None


def tombstoned_ids(vault: Vault) -> list[str]:
    """Every object with a tombstone, by id."""
    return [r[0] for r in vault.conn.execute("SELECT id FROM tombstones ORDER BY id")]

"""The doors tests use to reach a vault's objects (issue 24): every test that reads, spoils or
removes an object's bytes goes through these, never through a path under objects/, so the
suite runs against another object store (S3) by changing these functions and the store
fixture, not twenty files."""

from __future__ import annotations

import os

from zfjl.vault.vault import Vault


def object_bytes(vault: Vault, oid: str) -> bytes:
    """The stored bytes of an object, whole."""
    with vault.objects.open(oid) as f:
        return f.read()


def object_version(vault: Vault, oid: str) -> tuple[str, bytes]:
    """What must not change when a command only reads or links an object: the version the
    store holds (its tombstone token: inode and mtime locally) and its bytes."""
    return vault.objects.stat(oid).token, object_bytes(vault, oid)


def stored_objects(vault: Vault) -> dict[str, bytes]:
    """Every stored object's bytes, by oid."""
    return {oid: object_bytes(vault, oid) for oid in vault.objects.list_oids()}


def corrupt_object(vault: Vault, oid: str, *, keep_read_only: bool = True) -> None:
    """Flip one bit in the middle of a stored object, as a failing disk would (behind the
    store's back). `keep_read_only=False` leaves the file writable, as a careless hand would."""
    with vault.objects.local_path(oid) as path:
        os.chmod(path, 0o644)
        with open(path, "r+b") as f:
            middle = os.fstat(f.fileno()).st_size // 2
            f.seek(middle)
            b = f.read(1)
            f.seek(middle)
            f.write(bytes([b[0] ^ 1]))
        if keep_read_only:
            os.chmod(path, 0o444)


def remove_object(vault: Vault, oid: str) -> None:
    """Lose an object behind the vault's back (no tombstone, no token)."""
    with vault.objects.local_path(oid) as path:
        path.unlink()


def store_again(vault: Vault, oid: str, data: bytes) -> None:
    """Remove an object and put the same bytes back as a new version (a restore in
    progress) behind the vault's back."""
    with vault.objects.local_path(oid) as path:
        path.unlink()
        path.write_bytes(data)


def object_files(vault: Vault) -> list[tuple[str | None, bytes]]:
    """Everything the store holds, stray files included (oid None): what a test asserting
    "nothing half-stored, nothing else" must see, beyond `list_oids`."""
    return [(oid, path.read_bytes()) for oid, path in vault.objects.iter_oids()]


def all_read_only(vault: Vault) -> bool:
    """Whether every stored object is read-only, as the store reports it (0444 locally)."""
    return all(vault.objects.protection(oid).read_only for oid in vault.objects.list_oids())

"""The object-store seam: what the vault asks of wherever its evidence bytes live (issue 24).

Every module outside zfjl/vault/ reaches objects only through `ObjectStorage`; none builds a
path under objects/. The local folder (`zfjl.vault.objects.ObjectStore`) is the first
implementation; an S3 bucket with Object Lock (`zfjl.vault.s3store.S3ObjectStore`) is the
second. Both pass tests/test_store_conformance.py. Shaped after restic's internal/backend (one interface, one
suite run against every backend) and tessera's objStore (write-once is `link(2)` locally,
`If-None-Match: *` on S3).

Writing is two steps so that a batch pays one durability barrier: `stage` copies one source
(a descriptor, or `stage_stream` a stream) to a private, invisible place and returns its
digests; `put` makes a batch of staged copies durable and visible, never over an existing
object, and `discard`s what it did not place. Nothing staged is ever visible, so a writer
killed at any point leaves no object (at worst a stray staged copy, removed by
`clean_stale_temps`).

Deletion names the object by its *tombstone token* (`ObjectStat.token`): the inode and mtime
of the file on the local store, the version ID on S3. `delete(oid, token)` removes only that
very version, so bytes stored again since (a restore) survive a late delete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

if TYPE_CHECKING:  # objects.py implements this seam and imports ObjectStat/Protection from here
    from zfjl.vault.objects import CancelFlag, FileIdentity, Pending, StoreResult


@dataclass(frozen=True)
class ObjectStat:
    oid: str
    size: int
    token: str  # the tombstone token: names this very version of the object for `delete`


@dataclass(frozen=True)
class Protection:
    """What the store itself enforces for one object, for `verify` to report honestly."""

    read_only: bool  # the stored bytes cannot be written in place by the vault's own user
    worm: bool  # the store refuses to overwrite or delete, whoever asks (S3 Object Lock)
    retain_until: dt.datetime | None  # enforced by the store (None: not enforced here)
    legal_hold: bool  # a hold enforced by the store
    notes: tuple[str, ...] = ()  # what the store cannot promise, in plain words
    shown: str = ""  # what the store shows of it, for a finding (locally the mode: 0o444)
    mode: str | None = None  # the S3 Object Lock mode ("COMPLIANCE"); None where there is none


@runtime_checkable
class ObjectStorage(Protocol):
    """A content-addressed, write-once object store (oid = BLAKE3 hex digest)."""

    name: str  # "local", "s3": which kind of tombstone token the store hands out

    # -- writing: stage one at a time, put a batch durably --------------------------------
    def stage(self, src_fd: int, before: FileIdentity, cancel: CancelFlag | None = None
              ) -> Pending: ...  # fmt: skip
    def stage_stream(self, stream: BinaryIO, *, size: int | None = None,
                     expect: str | None = None) -> Pending: ...  # fmt: skip
    def put(self, pendings: list[Pending]) -> list[StoreResult]: ...
    def discard(self, pendings: list[Pending]) -> None: ...

    # -- reading ---------------------------------------------------------------------------
    def exists(self, oid: str) -> bool: ...
    def stat(self, oid: str) -> ObjectStat: ...
    def open(self, oid: str) -> BinaryIO: ...
    def read(self, oid: str, offset: int, length: int) -> bytes: ...
    def local_path(self, oid: str) -> AbstractContextManager[Path]: ...
    def digest_uncached(self, oid: str) -> str: ...
    def list_oids(self) -> Iterator[str]: ...
    def location(self, oid: str) -> str: ...  # where it lives, for a person (path, s3://…)
    def strays(self) -> Iterator[str]: ...  # what the store holds that is no object's name

    # -- deleting, retention --------------------------------------------------------------
    def delete(self, oid: str, token: str) -> bool: ...
    def delete_many(self, items: Iterable[tuple[str, str]]) -> list[str]: ...
    def retain(self, oid: str, until: dt.datetime) -> None: ...
    def hold(self, oid: str, on: bool) -> None: ...
    def protection(self, oid: str) -> Protection: ...

    # -- housekeeping ---------------------------------------------------------------------
    def clean_stale_temps(self) -> int: ...
    def remove_own_temps(self) -> None: ...


__all__ = ["ObjectStat", "ObjectStorage", "Protection"]

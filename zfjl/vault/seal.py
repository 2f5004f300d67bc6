"""The seal: SHA-256, SHA-512 and SM3 of stored objects, journaled behind the ingest.

Ingest makes an object *stored*: copied, durable, and named by its BLAKE3 digest, which pins
the content. The digests courts (SHA-256, BagIt's SHA-512) and national systems (SM3,
GB/T 32905) speak are computed here, from the stored object, in one read that also computes
BLAKE3 again: a digest is journaled only for bytes whose BLAKE3 is still the object's name,
so every sealed digest is a digest of exactly the content identified at ingest. A recording is
*sealed* when SHA-256, SHA-512 and SM3 are all journaled (`objects.sealed_at`).

Sealing runs at the end of an ingest when the caller waits, in the service in the background,
by `zfjl seal`, and first thing in every operation that hands bytes out (bundle, export, view,
the custody log). It is idempotent: a kill -9 at any point loses nothing — what was not
journaled is simply computed again by the next seal.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import blake3

from zfjl.vault import events
from zfjl.vault.stations import held_elsewhere
from zfjl.vault.vault import Vault

ALGORITHMS = ("blake3", "sha256", "sha512", "sm3")
STEP = 16 << 20  # bytes fed to a hasher per call: each call releases the GIL
COMMIT_EVERY = 64  # seal events per write transaction


@dataclass(frozen=True)
class SealProblem:
    id: str
    code: str  # object_missing | digest_mismatch | sha256_mismatch
    expected: str
    found: str


@dataclass
class SealReport:
    sealed: int = 0
    bytes: int = 0
    seconds: float = 0.0
    problems: list[SealProblem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sealed": self.sealed,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "problems": [p.__dict__ for p in self.problems],
        }


SealProgress = Callable[[int, int], None]  # (objects sealed, objects to seal)


def digests_of(path: os.PathLike[str] | str) -> dict[str, str]:
    """BLAKE3, SHA-256, SHA-512 and SM3 of a file in one mapped read, each digest on its own
    thread (hashlib and blake3 release the GIL): as long as the slowest (SM3), not the sum."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        size = os.fstat(fd).st_size
        hashers: dict[str, Any] = {a: blake3.blake3() if a == "blake3" else hashlib.new(a)
                                   for a in ALGORITHMS}  # fmt: skip
        if size:
            with mmap.mmap(fd, size, prot=mmap.PROT_READ) as mapped, memoryview(mapped) as view:

                def feed(h: Any) -> None:
                    for start in range(0, size, STEP):
                        with view[start : start + STEP] as chunk:
                            h.update(chunk)

                threads = [threading.Thread(target=feed, args=(h,)) for h in hashers.values()]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
        return {a: h.hexdigest() for a, h in hashers.items()}
    finally:
        os.close(fd)


def unsealed(vault: Vault, oids: Iterable[str] | None = None) -> list[tuple[str, int]]:
    """(object id, size) of catalogued objects not yet sealed and not destroyed; of `oids`
    only, when given. Smallest first: a card's photos are sealed before its long videos."""
    query = ("SELECT o.id, o.size FROM objects o WHERE o.sealed_at IS NULL"
             " AND o.id NOT IN (SELECT id FROM tombstones)")  # fmt: skip
    if oids is None:
        rows = vault.conn.execute(query).fetchall()
    else:
        wanted = sorted(set(oids))
        rows = []
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            rows += vault.conn.execute(
                query + f" AND o.id IN ({','.join('?' for _ in part)})", part
            ).fetchall()
    elsewhere = held_elsewhere(vault)  # another station's folder holds them: it seals them
    return sorted(((r[0], r[1]) for r in rows if r[0] not in elsewhere), key=lambda r: (r[1], r[0]))


def seal(
    vault: Vault,
    oids: Iterable[str] | None = None,
    *,
    progress: SealProgress | None = None,
    stop: threading.Event | None = None,
) -> SealReport:
    """Seal the unsealed objects (all, or those of `oids`) and journal each as
    `object.digests`. An object whose file is gone or whose BLAKE3 no longer matches its name
    is not sealed: it is reported (and `verify` names it), never given digests of other bytes."""
    import time

    started = time.perf_counter()
    todo = unsealed(vault, oids)
    report = SealReport()
    # Nothing to seal (a view of a sealed recording): no scan of every unsealed object.
    recorded = {r[0]: r[1] for r in vault.conn.execute(
        "SELECT id, sha256 FROM objects WHERE sealed_at IS NULL AND sha256 IS NOT NULL")
    } if todo else {}  # fmt: skip
    batch: list[events.ObjectDigests] = []

    def flush() -> None:
        if batch:
            with vault.writing() as w:
                # Asked again under the write lock: another process may have sealed meanwhile.
                done = {r[0] for r in vault.conn.execute(
                    "SELECT id FROM objects WHERE sealed_at IS NOT NULL AND id IN ("
                    + ",".join("?" for _ in batch) + ")", [e.id for e in batch])}  # fmt: skip
                for ev in batch:
                    if ev.id not in done:
                        w.append(ev, ev.id)
            batch.clear()

    # Two objects at a time: a small file's four digests do not fill both cores alone.
    with ThreadPoolExecutor(2, thread_name_prefix="zfjl-seal") as pool:
        futures = [(oid, size, pool.submit(_digests_or_none, vault, oid)) for oid, size in todo]
        try:
            for n, (oid, size, fut) in enumerate(futures, 1):
                if stop is not None and stop.is_set():
                    break
                found = fut.result()
                if found is None:
                    report.problems.append(SealProblem(oid, "object_missing", "对象文件", "不存在"))
                elif found["blake3"] != oid:
                    report.problems.append(SealProblem(oid, "digest_mismatch", oid, found["blake3"]))
                elif oid in recorded and recorded[oid] != found["sha256"]:
                    report.problems.append(
                        SealProblem(oid, "sha256_mismatch", recorded[oid], found["sha256"])
                    )
                else:
                    batch.append(events.ObjectDigests(id=oid, sha256=found["sha256"],
                                                      sha512=found["sha512"], sm3=found["sm3"]))  # fmt: skip
                    report.sealed += 1
                    report.bytes += size
                    if len(batch) >= COMMIT_EVERY:
                        flush()
                if progress is not None:
                    progress(n, len(futures))
        finally:
            for _, _, fut in futures:
                fut.cancel()
            flush()
    report.seconds = time.perf_counter() - started
    return report


def _digests_or_none(vault: Vault, oid: str) -> dict[str, str] | None:
    try:
        with vault.objects.local_path(oid) as path:  # free locally: the object's own file
            return digests_of(path)
    except FileNotFoundError:
        return None


def require_sealed(vault: Vault, oids: Iterable[str]) -> SealReport:
    """Seal first what is about to be handed out (bundle, export, view, custody log)."""
    return seal(vault, list(oids))


__all__ = ["SealProblem", "SealReport", "digests_of", "require_sealed", "seal", "unsealed"]

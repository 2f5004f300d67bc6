"""Many cameras at once: a bounded number of ingests run on a vault, the rest queue.

A station docks up to 25 cameras. Each ingest of one source holds one of N *slots*: an
exclusive `flock` on `locks/ingest-slot-<k>.lock` (N = the journaled setting `ingest.workers`,
default 4). The lock is the kernel's, so the cap holds across threads of one `zfjl ingest SRC1
SRC2 …`, across separate `zfjl ingest` processes and across the service's request children
alike, and a killed ingest's slot is free the moment it dies. A source waiting for a slot is
reported as queued (stage "queued"). Cameras are independent: one unplugged mid-copy fails
its files (reported, nothing half-stored: copies live in tmp/ until complete), the others go on.

Each camera is reported stored as soon as it is. What follows it — reading the metadata
(describe) and the digests (seal) — waits until every camera of the run is stored: on a
station's two cores exiftool would otherwise take the CPU the other cameras' copies need.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from zfjl.errors import Interrupted, ZfjlError
from zfjl.ingest.describe import describe, interrupted_behind_store
from zfjl.ingest.pipeline import IngestOptions, IngestReport, Progress, add_descriptions, ingest
from zfjl.ingest.probe import Prober
from zfjl.vault.queries import ingest as queries
from zfjl.vault.seal import SealReport, seal
from zfjl.vault.vault import Vault

DEFAULT_WORKERS = 4
POLL = 0.2  # seconds between tries for a free slot


def workers_of(vault: Vault) -> int:
    value = vault.config.extra.get("ingest", {}).get("workers", DEFAULT_WORKERS)
    return max(1, int(value))


@contextlib.contextmanager
def ingest_slot(
    vault: Vault, slots: int, waiting: Callable[[], None] | None = None
) -> Iterator[int]:
    """Hold one of `slots` ingest slots of this vault for the block (wait for one if all are
    taken; `waiting` is called once when the caller has to queue)."""
    told = False
    while True:
        for k in range(slots):
            fd = _lock_slot(locks_dir(vault) / f"ingest-slot-{k}.lock", create=True)
            if fd is None:
                continue
            try:
                yield k
            finally:
                os.close(fd)  # releases the lock
            return
        if not told and waiting is not None:
            waiting()
            told = True
        time.sleep(POLL)


def locks_dir(vault: Vault) -> Path:
    """The vault's locks/ folder (made at init; made here for a vault older than that). Slot
    locks are the vault's, not the object store's: a remote store has no tmp/ folder."""
    path = vault.root / "locks"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _lock_slot(path: Path, *, create: bool) -> int | None:
    """The slot file's descriptor, exclusively locked; None when another ingest holds it."""
    flags = os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW | (os.O_CREAT if create else 0)
    fd = os.open(path, flags, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def ingest_running(vault: Vault) -> bool:
    """Whether an ingest holds a slot of this vault now (any process). Slot files are never
    removed: those listed exist. tmp/ too: where an ingest of an older release holds its slot
    (a service upgraded while a station still copies)."""
    legacy = (vault.root / "tmp").glob("ingest-slot-*.lock")
    for path in [*locks_dir(vault).glob("ingest-slot-*.lock"), *legacy]:
        fd = _lock_slot(path, create=False)
        if fd is None:
            return True
        os.close(fd)
    return False


@dataclass
class SourceOutcome:
    source: str
    report: IngestReport | None = None
    error: ZfjlError | None = None


StationProgress = Callable[[int, Progress], None]  # (index of the source, its progress)


def ingest_sources(
    vault: Vault,
    sources: list[str],
    options: IngestOptions | None = None,
    progress: StationProgress | None = None,
    *,
    workers: int | None = None,
) -> tuple[list[SourceOutcome], SealReport | None]:
    """Ingest several sources at once, each under a slot (at most `workers`, default the
    vault's `ingest.workers`, at a time across every process); then describe what they
    stored and, when `options.seal`, seal it. One source's error (missing folder, card
    pulled) is its outcome, never the others'. Each source runs on its own thread with its
    own vault connection."""
    options = options or IngestOptions()
    slots = workers or workers_of(vault)
    # One camera describes in its own run (exiftool warmed up while it copies); several wait
    # until every one is stored.
    alone = len(sources) == 1
    store_only = IngestOptions(**{**options.__dict__, "seal": False, "describe": alone})
    outcomes = [SourceOutcome(str(s)) for s in sources]
    stop = threading.Event()
    stored_at: dict[int, float] = {}  # when each camera's files were stored

    def one(i: int, own: Vault | None) -> None:
        def tell(p: Progress) -> None:
            if progress is not None:
                progress(i, p)

        with ingest_slot(vault, slots, lambda: tell(Progress(0, 0, 0, 0, "", "queued"))):
            if stop.is_set():
                return
            with contextlib.ExitStack() as stack:
                if own is None:  # a thread of its own: a connection of its own
                    own = stack.enter_context(Vault.open(vault.root, clock=vault._clock))
                try:
                    outcomes[i].report = ingest(own, sources[i], store_only, progress=tell,
                                                cancel=stop, prober=prober)  # fmt: skip
                    stored_at[i] = time.perf_counter()
                except ZfjlError as exc:
                    if len(sources) == 1:
                        raise
                    outcomes[i].error = exc

    # One set of exiftool processes for every camera (a process per core, not per camera).
    stored = False
    try:
        with Prober() as prober:
            if len(sources) == 1:  # in this thread: Ctrl-C lands in the ingest itself
                one(0, vault)
            else:
                with ThreadPoolExecutor(len(sources), thread_name_prefix="zfjl-camera") as pool:
                    futures = [pool.submit(one, i, None) for i in range(len(sources))]
                    try:
                        for f in futures:
                            f.result()
                    except BaseException:
                        stop.set()  # every camera's workers stop within one block, temps removed
                        raise
            stored = True
            if not alone:
                _describe_all(vault, prober, outcomes, stored_at, progress)
    except KeyboardInterrupt:
        # Every camera stored (its report made), then Ctrl-C while describing or stopping
        # exiftool: say what is kept (typer would make it a silent exit 130).
        if not (stored or all(o.report is not None or o.error is not None for o in outcomes)):
            raise
        raise Interrupted(interrupted_behind_store("读取元数据", _unstored(outcomes))) from None
    sealed = None
    if options.seal:
        try:
            oids = {f.id for o in outcomes if o.report for f in o.report.files if f.id}
            oids |= queries.never_digested(vault)
            sealed = seal(vault, oids)
        except KeyboardInterrupt:  # typer would make it a silent exit 130
            raise Interrupted(interrupted_behind_store("封存摘要", _unstored(outcomes))) from None
    return outcomes, sealed


def _unstored(outcomes: list[SourceOutcome]) -> int:
    """Entries not stored, a camera that could not be read at all counting as one."""
    return sum(o.report.unstored if o.report is not None else 1 for o in outcomes)


def _describe_all(vault: Vault, prober: Prober, outcomes: list[SourceOutcome],
                  stored_at: dict[int, float], progress: StationProgress | None) -> None:  # fmt: skip
    """Every camera stored: describe what they brought (and what a killed run left)."""
    try:
        describe(vault, prober)
    except KeyboardInterrupt:
        raise Interrupted(interrupted_behind_store("读取元数据", _unstored(outcomes))) from None
    for i, o in enumerate(outcomes):
        if o.report is None:
            continue
        add_descriptions(vault, o.report)
        o.report.described_seconds = o.report.stored_seconds + time.perf_counter() - stored_at[i]
        if progress is not None:
            n = len(o.report.files)
            progress(i, Progress(n, n, o.report.bytes_total, o.report.bytes_total, "", "described"))


__all__ = ["SourceOutcome", "ingest_running", "ingest_slot", "ingest_sources", "workers_of"]

"""`ingest`: discover → store → catalog → (clear source) → *stored* → describe → seal.

A file is *stored* when its copy is durable, named by its BLAKE3 digest and catalogued with
its sighting (card path, name, size, mtime): then the camera may be unplugged. Behind it, the
describe stage (`zfjl.ingest.describe`) reads each new object's metadata with exiftool and
journals its recording, and the seal (`zfjl.vault.seal`) computes SHA-256, SHA-512 and SM3 —
in the same run when the caller waits (`IngestOptions.describe`, `.seal`), else after every
camera of a station, by the service or by `zfjl seal`. docs/ingest.md says why the identity
at ingest suffices.

Files are stored by a small thread pool (hashing and I/O release the GIL) while the main
thread catalogs finished files in batches. A batch is committed only after its objects and
their directory entries are durable, so a crash at any point leaves objects at worst
uncatalogued, and the next run adopts them (link finds the object, the catalog row is
written). Nothing is ever half-stored: a copy lives in tmp/ until it is complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zfjl.errors import Interrupted, StorageError, UsageError, VaultError
from zfjl.ingest.describe import describe, interrupted_behind_store, unregistered_devices
from zfjl.ingest.discover import Dump, SourceFile, check_source
from zfjl.ingest.interpret import DEVICE_WARNINGS, iso
from zfjl.ingest.names import compile_pattern, parse_name
from zfjl.ingest.probe import Prober
from zfjl.vault import events
from zfjl.vault.objects import (
    Cancelled,
    Digests,
    Pending,
    SourceChanged,
    SourceRefused,
    hash_source,
)
from zfjl.vault.queries import ingest as queries
from zfjl.vault.seal import SealReport, seal
from zfjl.vault.vault import Vault

WORKERS = 3
CHANGE_RETRIES = 3
# A batch is one syncfs and one catalog transaction. Bounded by bytes first: a syncfs flushes
# every dirty page of the file system, including the videos the workers are copying ahead, so
# small batches of small files made the big copies wait on writeback again and again
# (measured: 64-file batches 3.7-4.0 s for the bench dump, byte-bounded batches 2.6-2.9 s).
# vault.json "ingest": {"batch_files": …, "batch_bytes": …} overrides them (tests use it to
# get many batches from a small card).
BATCH_FILES = 2048
BATCH_BYTES = 1 << 30
WINDOW_FILES = 256  # how far the store workers run ahead of cataloguing
# Files smaller than this are stored on the calling thread, until the first larger one goes to
# the workers: a photo copies in less time than a hand-over to a worker takes, and four
# threads trading the GIL over 500 photos made 34,000 futex calls (one thread: 3,400) — on a
# virtual machine each wake-up of another core is costly. 500 photos, until described: CPU
# 2.21 s against 2.51 s, time 0.98 of the workers' (median of 10 paired rounds).
# `zfjl config set ingest.inline_bytes 0` hands every file to the workers.
INLINE_BYTES = 1 << 20
# exiftool processes warmed up at the first new file, one per this many files of the dump, so
# that the describe stage behind "stored" finds them started. Probing the copies while the
# workers still copy (as before the describe stage) was slower, on the main thread or on one
# of its own: on two cores exiftool's 0.8 s of CPU for 500 photos then slows the copies by as
# much (0.97-1.22 s to described, against 0.97-1.06 s after "stored").
FILES_PER_EXIFTOOL = 128


@dataclass(frozen=True)
class IngestOptions:
    device: str | None = None
    officer: str | None = None
    clear_source: bool = False
    workers: int = WORKERS
    # Describe (read metadata, journal the recordings) right after "stored", in this call.
    # False: the caller describes later (a station, once every camera is stored).
    describe: bool = True
    # Seal (SHA-256, SHA-512, SM3) this run's objects right after they are stored, in this
    # call. False: return once stored; the service or `zfjl seal` seals them.
    seal: bool = True


@dataclass(frozen=True)
class Progress:
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    current: str
    # store: copying; stored: every file durable and catalogued (the camera may be unplugged);
    # described: metadata read and recordings journaled; seal: digests being computed
    # (files_done/files_total count objects); sealed: done.
    stage: str = "store"
    unstored: int = 0  # from "stored" on: entries of the card that could not be stored


@dataclass
class Stored:
    source: SourceFile
    digests: Digests
    created: bool
    pending: Pending | None = None  # a staged copy, put in the store when its batch commits


@dataclass
class Failed:
    source_rel: str
    code: str  # unreadable | vanished | changing | swapped_symlink | not_regular | replaced
    reason: str
    status: str = "failed"  # "skipped": the entry listed was swapped for something not stored


@dataclass
class FileResult:
    path: str
    status: str  # new | already_stored | failed | skipped
    id: str | None = None
    kind: str | None = None
    late: bool | None = None
    important: bool = False
    warnings: list[dict[str, str]] = field(default_factory=list)
    reason: str | None = None


@dataclass
class IngestReport:
    run: str
    source: str
    files: list[FileResult] = field(default_factory=list)
    bytes_total: int = 0
    bytes_copied: int = 0
    seconds: float = 0.0
    cleared: int = 0
    interrupted: bool = False
    unregistered_devices: list[str] = field(default_factory=list)
    probed: int = 0  # this run's new files described (metadata read, recording journaled)
    stored_seconds: float = 0.0  # until every file was durable and catalogued
    sealed_seconds: float | None = None  # until this run's objects were sealed (None: not yet)
    seal: SealReport | None = None
    described_seconds: float | None = None  # until described (None: left to the caller)
    stage_seconds: dict[str, float] = field(
        default_factory=lambda: {"catalog": 0.0, "sync": 0.0, "clear": 0.0, "describe": 0.0}
    )

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def unstored(self) -> int:
        """Entries of the card not stored, each journaled (ingest.file_failed): failed
        (unreadable, vanished, changing) or skipped (FIFO, socket, device, symlink, an entry
        swapped). Any of them makes the ingest exit 1: the card is not safe to unplug."""
        return self.failed + self.count("skipped")

    def summary(self) -> dict[str, Any]:
        stored = [f for f in self.files if f.status in ("new", "already_stored")]
        return {
            "files": len(self.files),
            "new": self.count("new"),
            "already_stored": self.count("already_stored"),
            "failed": self.failed,
            "skipped": self.count("skipped"),
            "late": sum(1 for f in stored if f.late),
            "late_unknown": sum(1 for f in stored if f.status == "new" and f.late is None),
            "clock_skew": sum(
                1
                for f in stored
                if any(w["code"] in ("clock_skew", "future_time") for w in f.warnings)
            ),
            "warnings": sum(len(f.warnings) for f in stored),
            "device_fault": sum(
                1 for f in stored if any(w["code"] in DEVICE_WARNINGS for w in f.warnings)
            ),
            "unregistered_devices": self.unregistered_devices,
            "cleared": self.cleared,
            "bytes": self.bytes_total,
            "bytes_copied": self.bytes_copied,
            "seconds": round(self.seconds, 3),
            "mb_per_s": round(self.bytes_total / 1e6 / self.seconds, 1) if self.seconds else None,
            "probed": self.probed,
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "stored_seconds": round(self.stored_seconds, 3),
            "described_seconds": _rounded(self.described_seconds),
            "sealed_seconds": _rounded(self.sealed_seconds),
            "sealed": self.seal.sealed if self.seal else 0,
            "seal_problems": len(self.seal.problems) if self.seal else 0,
        }

    def store_summary(self) -> dict[str, Any]:
        """What `ingest.end` journals: the store stage's outcome (what the files are is
        journaled by each `recording.describe`)."""
        keys = ("files", "new", "already_stored", "failed", "skipped", "cleared", "bytes",
                "bytes_copied", "stored_seconds")  # fmt: skip
        summary = self.summary()
        return {k: summary[k] for k in keys}

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "source": self.source,
            "interrupted": self.interrupted,
            "summary": self.summary(),
            "files": [f.__dict__ for f in self.files],
        }


ProgressFn = Callable[[Progress], None]


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def ingest(
    vault: Vault,
    source: str | os.PathLike[str],
    options: IngestOptions | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    prober: Prober | None = None,
) -> IngestReport:
    """Store every file under `source` in the vault; never changes the source unless
    `clear_source` is set, and then only after the stored copy was re-read and matched.

    An empty source is a usage error (never "the current folder"), and so is a source that
    is, holds or lies inside the vault. Stages: `discover(source)`, then `ingest_dump`.
    `prober`: exiftool processes shared with other ingests of this process (a station run)."""
    from zfjl import userfs

    if not str(source).strip():  # never "the current folder", here or in the client
        check_source(source)
    with userfs.current().discover(source) as dump:
        return ingest_dump(vault, dump, options, progress, cancel, prober)


def ingest_dump(
    vault: Vault,
    dump: Dump,
    options: IngestOptions | None = None,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    prober: Prober | None = None,
) -> IngestReport:
    """Store what `discover` listed (its descriptors must still be open)."""
    options = options or IngestOptions()
    refuse_vault_overlap(vault, dump.root, dump.dir_ids)
    # Small files first: a card's photos and audio are in its first batch, committed while the
    # workers go on with the long videos (the report is sorted back to the dump's order).
    files = sorted(dump.files, key=lambda f: f.size)
    dump.plan(files)
    with contextlib.ExitStack() as stack:
        if prober is None:
            prober = stack.enter_context(Prober())
        return _Run(vault, dump, files, options, prober, progress, cancel).run()


def refuse_vault_overlap(
    vault: Vault, root: Path, dir_ids: set[tuple[int, int]] | None = None
) -> None:
    """Never ingest the vault into itself (its private key, its objects, its journal): by
    resolved path, and by (st_dev, st_ino) of every folder discovery walked (a bind mount)."""
    vault_root = vault.root.resolve()
    root = root.resolve()
    if root == vault_root or vault_root in root.parents:
        raise UsageError(
            f"错误：{root} 是保管库本身或其中的文件夹，不能入库（会把保管库的密钥与对象当作证据存入）"
        )
    st = os.stat(vault_root)
    if root in vault_root.parents or (dir_ids and (st.st_dev, st.st_ino) in dir_ids):
        raise UsageError(
            f"错误：{root} 包含保管库 {vault_root}，不能入库（请只给出记录仪存储卡的目录）"
        )


class _Run:
    def __init__(
        self,
        vault: Vault,
        dump: Dump,
        files: list[SourceFile],
        options: IngestOptions,
        prober: Prober,
        progress: ProgressFn | None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.vault = vault
        self.dump = dump
        self.files = files
        self.skipped = dump.skipped
        self.options = options
        tuning = vault.config.extra.get("ingest", {})
        self.batch_files = int(tuning.get("batch_files", BATCH_FILES))
        self.batch_bytes = int(tuning.get("batch_bytes", BATCH_BYTES))
        self.inline_bytes = int(tuning.get("inline_bytes", INLINE_BYTES))
        self.prober = prober
        self.progress = progress
        self.cancel = threading.Event()  # this run's workers: set on Ctrl-C or any error
        self.stop = cancel  # a station run's stop (another camera's Ctrl-C)
        self.report = IngestReport(run=uuid.uuid4().hex[:12], source=str(dump.root))
        self.report.bytes_total = sum(f.size for f in files)
        self.patterns = _checked_patterns(vault.config.name_patterns)
        self.known_sizes = queries.object_sizes(vault)
        self.done_files = 0
        self.done_bytes = 0

    # -- orchestration --------------------------------------------------------------------
    def run(self) -> IngestReport:
        started = time.perf_counter()
        self.vault.objects.clean_stale_temps()
        self.vault.record(self._begin_event(), f"run:{self.report.run}")
        self._record_skipped()
        status = "failed"
        batch: list[Stored | Failed] = []
        batch_size = 0  # counted as results arrive: summing the batch each time was quadratic
        warmed = False  # exiftool: started (not awaited) at the first new file, for describe
        try:
            # closing(): on Ctrl-C the store workers are told to stop and joined right here.
            with contextlib.closing(self._store_all()) as results:
                for result in results:
                    if self.stop is not None and self.stop.is_set():
                        raise KeyboardInterrupt
                    batch.append(result)
                    if isinstance(result, Stored):
                        batch_size += result.digests.size
                        # Not in a station (describe later): its cores copy the other cameras.
                        if result.pending is not None and not warmed and self.options.describe:
                            self.prober.warm_up(-(-len(self.files) // FILES_PER_EXIFTOOL))
                            warmed = True
                    if len(batch) >= self.batch_files or batch_size >= self.batch_bytes:
                        self._flush(batch)
                        batch, batch_size = [], 0
            self._flush(batch)
            status = "completed" if not self.report.failed else "completed_with_failures"
        except StorageError:
            # Disk full or I/O error in the vault: catalog what is complete if we still can.
            with contextlib.suppress(Exception):
                self._flush([r for r in batch if isinstance(r, Stored)])
            raise
        except KeyboardInterrupt:
            status = "interrupted"
            self.report.interrupted = True
            raise Interrupted(
                f"入库已中断：已完成 {self._done_count()} 个文件，其余未入库；重新运行同一命令即可继续"
            ) from None
        finally:
            self.vault.objects.remove_own_temps()  # copies of a batch that never committed
            self.report.files.sort(key=lambda f: f.path)  # the dump's order, not the work's
            self.report.seconds = self.report.stored_seconds = time.perf_counter() - started
            with contextlib.suppress(Exception):  # the disk may be full: never mask the cause
                self.vault.record(
                    events.IngestEnd(
                        run=self.report.run, status=status, summary=self.report.store_summary()
                    ),
                    f"run:{self.report.run}",
                )
        self._tell("stored", self.done_files, len(self.files))
        if self.options.describe:
            self._describe(started)
        if self.options.seal:
            self._seal(started)
        return self.report

    def _tell(self, stage: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(Progress(done, total, self.done_bytes, self.report.bytes_total, "",
                                   stage, self.report.unstored))  # fmt: skip

    def _describe(self, started: float) -> None:
        """Describe this run's new objects, and any an earlier run stored but could not
        describe (killed between stored and described)."""
        try:
            with self._timed("describe"):
                describe(self.vault, self.prober, stop=self.stop)
        except KeyboardInterrupt:
            raise Interrupted(interrupted_behind_store("读取元数据", self.report.unstored)) from None
        add_descriptions(self.vault, self.report)
        self.report.described_seconds = time.perf_counter() - started
        self._tell("described", self.done_files, len(self.files))

    def _seal(self, started: float) -> None:
        """Seal this run's objects, and any an earlier run stored but could not seal (killed
        between stored and sealed). Older vaults' backlog (objects with SHA-256 from ingest
        but no SHA-512/SM3) is left to `zfjl seal` and the service: an ingest stays a dock."""
        oids = {f.id for f in self.report.files if f.id}
        oids |= queries.never_digested(self.vault)
        try:
            self.report.seal = seal(
                self.vault, oids, progress=lambda n, t: self._tell("seal", n, t)
            )
        except KeyboardInterrupt:
            raise Interrupted(interrupted_behind_store("封存摘要", self.report.unstored)) from None
        self.report.sealed_seconds = time.perf_counter() - started
        self._tell("sealed", self.report.seal.sealed, self.report.seal.sealed)

    def _begin_event(self) -> events.IngestBegin:
        return events.IngestBegin(
            run=self.report.run,
            source=self.report.source,
            host=self.vault.host,
            options={
                "device": self.options.device,
                "officer": self.options.officer,
                "clear_source": self.options.clear_source,
            },
            files=len(self.files),
            bytes=self.report.bytes_total,
        )

    def _done_count(self) -> int:
        return self.report.count("new") + self.report.count("already_stored")

    # -- store stage ----------------------------------------------------------------------
    def _store_all(self) -> Generator[Stored | Failed, None, None]:
        """Store files (small ones here, the rest on worker threads); yield results in dump
        order."""
        # Workers run ahead, so storing goes on while the main thread syncs and catalogs what
        # they stored.
        window = WINDOW_FILES
        pending: deque[Future[Stored | Failed]] = deque()
        queue = iter(self.files)
        with ThreadPoolExecutor(self.options.workers, thread_name_prefix="zfjl-store") as pool:
            try:
                for sf in queue:
                    if not pending and sf.size < self.inline_bytes:  # sorted: small ones first
                        yield self._finish(self._store_one(sf))
                        continue
                    pending.append(pool.submit(self._store_one, sf))
                    if len(pending) >= window:
                        yield self._finish(pending.popleft().result())
                while pending:
                    yield self._finish(pending.popleft().result())
            except BaseException:
                self.cancel.set()
                for fut in pending:
                    fut.cancel()
                raise

    def _finish(self, result: Stored | Failed) -> Stored | Failed:
        self.done_files += 1
        if isinstance(result, Stored):
            self.done_bytes += result.digests.size
            name = result.source.rel
        else:
            name = result.source_rel
        if self.progress:
            self.progress(
                Progress(
                    self.done_files, len(self.files), self.done_bytes, self.report.bytes_total, name
                )
            )
        return result

    def _store_one(self, sf: SourceFile) -> Stored | Failed:
        objects = self.vault.objects
        for attempt in range(CHANGE_RETRIES):
            try:
                # Relative to the folder's descriptor, O_NOFOLLOW: see open_source. From here on
                # only the descriptor is trusted: its fstat gives the size and mtime (a camera
                # may have written on since discovery), its (dev, ino) must be discovery's.
                fd, now = self.dump.open_file(sf)
                try:
                    sf = dataclasses.replace(sf, identity=now)
                    if sf.size in self.known_sizes:
                        # Probably seen before: hash without copying; copy only if it is new.
                        digests = hash_source(fd, sf.identity)
                        if objects.exists(digests.blake3):
                            return Stored(sf, digests, False)
                    pending = objects.stage(fd, sf.identity, self.cancel)
                finally:
                    os.close(fd)
                return Stored(sf, pending.digests, False, pending)
            except SourceRefused as exc:
                return Failed(sf.rel, exc.code, exc.reason, "skipped")
            except SourceChanged:
                time.sleep(0.2 * (attempt + 1))
            except Cancelled:
                return Failed(sf.rel, "cancelled", "已取消")
            except FileNotFoundError:
                return Failed(sf.rel, "vanished", "文件在入库前消失（存储卡被拔出？）")
            except OSError as exc:  # the source, not the vault: vault errors are StorageError
                return Failed(sf.rel, "unreadable", f"文件无法读取：{exc.strerror or exc}")
        return Failed(
            sf.rel, "changing", "文件在读取过程中一直在变化，未入库（请待记录仪停止写入后重试）"
        )

    # -- catalog, clear --------------------------------------------------------------------
    def _flush(self, batch: list[Stored | Failed]) -> None:
        if not batch:
            return
        stored = [r for r in batch if isinstance(r, Stored)]
        oids = {r.digests.blake3 for r in stored}
        with self._timed("sync"):
            self._put_copies(stored)
        results: list[FileResult] = []
        with self._timed("catalog"), self.vault.writing() as w:
            # Asked again inside the write lock: another ingest may have catalogued it meanwhile.
            known = queries.catalogued(self.vault, oids)
            for r in batch:
                if isinstance(r, Failed):
                    w.append(
                        events.IngestFileFailed(
                            run=self.report.run,
                            source_path=r.source_rel,
                            code=r.code,
                            reason=r.reason,
                        ),
                        f"run:{self.report.run}",
                    )
                    results.append(FileResult(r.source_rel, r.status, reason=r.reason))
                else:
                    results.append(self._catalog_one(w, r, known))
        self.report.files.extend(results)
        if self.options.clear_source:
            with self._timed("clear"):
                self._clear_sources(stored)

    @contextlib.contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.report.stage_seconds[stage] += time.perf_counter() - start

    def _put_copies(self, stored: list[Stored]) -> None:
        """Put the batch's staged copies in the store, durably (one call: the store flushes
        them together), before the catalog names them."""
        copies = [r for r in stored if r.pending is not None]
        results = self.vault.objects.put([r.pending for r in copies if r.pending is not None])
        for r, result in zip(copies, results, strict=True):
            r.created, r.pending = result.created, None
            self.report.bytes_copied += result.digests.size if result.created else 0

    def _catalog_one(self, w: Any, r: Stored, known: dict[str, str | None]) -> FileResult:
        sf = r.source
        oid = r.digests.blake3
        info = parse_name(sf.name, self.patterns)
        is_new = oid not in known
        if is_new:
            w.append(
                events.ObjectAdd(
                    # The recording comes with recording.describe and SHA-256 with the seal
                    # (object.digests), both right behind the store.
                    object={"id": oid, "sha256": None, "size": r.digests.size},
                    run=self.report.run,
                ),
                oid,
            )
            known[oid] = None
        elif r.created:
            # The catalog had it but the file was gone: the source put it back.
            w.append(events.ObjectRestored(run=self.report.run, source_path=sf.rel), oid)
        w.append(
            events.ObjectSeen(
                id=oid,
                run=self.report.run,
                source_path=sf.rel,
                original_name=sf.name,
                name_hex=sf.name_hex,
                size=sf.size,
                mtime=_mtime_iso(sf, self.vault),
                device=info.device or self.options.device,
                officer=info.officer or self.options.officer,
                important=info.important,
            ),
            oid,
        )
        # What the file is (kind, lateness, warnings) is filled in once it is described.
        return FileResult(sf.rel, "new" if is_new else "already_stored", oid,
                          important=info.important)  # fmt: skip

    def _clear_sources(self, stored: list[Stored]) -> None:
        """--clear-source: delete a source file only once its stored copy, re-read from the
        disk (not the page cache), matches."""
        cleared: list[Stored] = []
        for r in stored:
            oid = r.digests.blake3
            try:
                if self.vault.objects.digest_uncached(oid) != oid:
                    self._fail_clear(r, "copy_mismatch", "入库副本回读校验不一致，源文件保留")
                    continue
                if not self.dump.unlink_file(r.source):
                    self._fail_clear(r, "clear_replaced",
                                     "源文件在入库后被替换，未删除（删除的只能是已入库的那个文件）")  # fmt: skip
                    continue
                cleared.append(r)
            except OSError as exc:
                self._fail_clear(r, "clear_failed", f"源文件未能删除（已入库）：{exc.strerror}")
        if cleared:
            with self.vault.writing() as w:
                for r in cleared:
                    w.append(
                        events.SourceCleared(
                            id=r.digests.blake3, run=self.report.run, source_path=r.source.rel
                        ),
                        r.digests.blake3,
                    )
            self.report.cleared += len(cleared)

    def _fail_clear(self, r: Stored, code: str, reason: str) -> None:
        for f in self.report.files:
            if f.path == r.source.rel:
                f.warnings = [*f.warnings, {"code": code, "message": reason}]
        self.vault.record(
            events.IngestFileWarning(
                run=self.report.run, source_path=r.source.rel, code=code, reason=reason
            ),
            r.digests.blake3,
        )

    def _record_skipped(self) -> None:
        if not self.skipped:
            return
        with self.vault.writing() as w:
            for s in self.skipped:
                w.append(
                    events.IngestFileFailed(
                        run=self.report.run, source_path=s.rel, code=s.code, reason=s.reason
                    ),
                    f"run:{self.report.run}",
                )
                status = "failed" if s.code.startswith("unreadable") else "skipped"
                self.report.files.append(FileResult(s.rel, status, reason=s.reason))


def add_descriptions(vault: Vault, report: IngestReport) -> None:
    """Each stored file's kind and lateness, and a new file's warnings, from its recording
    (once described); the run's unregistered cameras (journaled, art. 48)."""
    rows = queries.descriptions(vault, {f.id for f in report.files if f.id})
    report.probed = 0
    for f in report.files:
        if f.id not in rows:
            continue
        kind, late, warnings = rows[f.id]
        report.probed += f.status == "new"
        f.kind, f.late = kind, None if late is None else bool(late)
        if f.status == "new":  # the file's own warnings first, then its clearing's (if any)
            f.warnings = [*json.loads(warnings or "[]"), *f.warnings]
    report.unregistered_devices = unregistered_devices(vault, report.run)


def _checked_patterns(patterns: list[str]) -> tuple[str, ...]:
    for pattern in patterns:
        try:
            compile_pattern(pattern)
        except ValueError as exc:
            raise VaultError(f"vault.json 中的文件名模式 {pattern!r} 有误：{exc}") from None
    return tuple(patterns)


def _mtime_iso(sf: SourceFile, vault: Vault) -> str | None:
    return iso(dt.datetime.fromtimestamp(sf.identity.mtime_ns / 1e9, vault.config.tz))


__all__ = [
    "IngestOptions",
    "IngestReport",
    "Progress",
    "add_descriptions",
    "ingest",
    "ingest_dump",
    "refuse_vault_overlap",
]

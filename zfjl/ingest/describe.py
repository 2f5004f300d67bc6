"""Stage 5, behind "stored": read each new object's metadata and journal what it is.

A camera may be unplugged once its files are *stored* — durable, named by BLAKE3, their
sightings (card path, name, size, mtime) journaled. What the files *are* as recordings (kind,
recording time, device, duration, clock skew, art. 37 lateness, the raw exiftool metadata) is
read from the stored copies right behind, by exiftool on the vault's own bytes, and journaled
once per object as `recording.describe`. Until then an object has no recordings row: no list,
case or sweep sees it (the sweep keeps what it cannot classify).

Everything a description needs is in the journal: the first sighting gives the name, size and
mtime, its run's `ingest.begin` the options (--device, --officer) and the time of ingest. So
the same function describes in the ingest that stored the files, after every camera of a
station is stored, in `zfjl seal`, in the service's background pass — and after a kill -9
between "stored" and "described": whichever runs next describes what is left, identically.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from zfjl.devices import DeviceBook, register_unknown
from zfjl.ingest.interpret import Context, Seen, build_recording
from zfjl.ingest.names import parse_name
from zfjl.ingest.probe import Probe, Prober
from zfjl.vault import events
from zfjl.vault.queries import ingest as queries
from zfjl.vault.seal import SealReport, seal
from zfjl.vault.stations import held_elsewhere
from zfjl.vault.vault import Vault
from zfjl.workdays import load_calendar

# Objects probed and journaled per write transaction. exiftool is nearly all of the time (500
# photos: probing 0.44 s on two processes, interpreting 0.02 s, journaling 0.05 s), so the
# batches are not pipelined.
BATCH = 512
def interrupted_behind_store(stage: str, unstored: int) -> str:
    """What Ctrl-C while describing or sealing (`stage`) tells: what is stored stays stored;
    the camera may be unplugged only when every entry of its card was stored."""
    if not unstored:
        return (f"入库已完成（已安全存储，可拔下记录仪），{stage}时被中断：已完成的已记入日志，"
                "其余由重新运行同一命令、zfjl seal 或保管服务完成")  # fmt: skip
    return (f"{stage}时被中断：已安全存储的文件完好，已完成的已记入日志；但有 {unstored} 个条目"
            "未能入库，请先不要拔下记录仪，排除原因后重新运行同一命令")  # fmt: skip


@dataclass(frozen=True)
class Undescribed:
    id: str
    seen: Seen
    run: str | None
    started_at: str | None  # the run's ingest.begin: the time of ingest
    options: dict[str, Any]


@dataclass
class DescribeReport:
    described: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"described": self.described, "seconds": round(self.seconds, 3)}


@dataclass
class FinishReport:
    """`zfjl seal`: what was described, then what was sealed."""

    describe: DescribeReport
    seal: SealReport

    def as_dict(self) -> dict[str, Any]:
        return {**self.seal.as_dict(), "described": self.describe.described}


def undescribed(vault: Vault, oids: Iterable[str] | None = None) -> list[Undescribed]:
    """Catalogued, live objects with no recording yet (of `oids` only, when given), smallest
    first. An object never sighted (none is, but a hand-made journal could) cannot be."""
    elsewhere = held_elsewhere(vault)
    found = [
        Undescribed(r.id, Seen(r.original_name, r.size, _parse(r.mtime)), r.run, r.started_at,
                    json.loads(r.options or "{}"))
        for r in queries.undescribed(vault, oids)
        if r.id not in elsewhere  # another station's folder holds it: that station describes it
    ]  # fmt: skip
    return sorted(found, key=lambda u: (u.seen.size, u.id))


def describe(
    vault: Vault,
    prober: Prober | None = None,
    oids: Iterable[str] | None = None,
    *,
    stop: threading.Event | None = None,
) -> DescribeReport:
    """Describe the undescribed objects (all, or those of `oids`): exiftool (and ffprobe where
    it cannot tell) on the stored copy, then one `recording.describe` each. Idempotent; safe
    beside another describer (asked again under the write lock). `prober`: exiftool processes
    to share; without one, they are started only if something is left to describe."""
    started = time.perf_counter()
    todo = undescribed(vault, oids)
    report = DescribeReport()
    if todo:
        with contextlib.ExitStack() as stack:
            prober = prober or stack.enter_context(Prober())
            for i in range(0, len(todo), BATCH):
                if stop is not None and stop.is_set():
                    raise KeyboardInterrupt
                part = todo[i : i + BATCH]
                report.described += _journal(vault, _interpret(vault, part, _probe(vault, prober, part)))
    report.seconds = time.perf_counter() - started
    return report


def _probe(vault: Vault, prober: Prober, part: list[Undescribed]) -> list[Probe]:
    """exiftool reads local files: the store's own on the local store (no copy)."""
    with contextlib.ExitStack() as stack:
        paths = [stack.enter_context(vault.objects.local_path(u.id)) for u in part]
        return prober.probe([(p, u.seen.name, u.seen.size) for p, u in zip(paths, part, strict=True)])


def _interpret(vault: Vault, part: list[Undescribed], probes: list[Probe]
               ) -> list[tuple[str, dict[str, Any], str | None]]:  # fmt: skip
    contexts: dict[str | None, Context] = {}
    patterns = tuple(vault.config.name_patterns)
    recordings = []
    for u, probe in zip(part, probes, strict=True):
        ctx = contexts.get(u.run) or contexts.setdefault(u.run, _context(vault, u))
        info = parse_name(u.seen.name, patterns)
        recordings.append((u.id, build_recording(u.seen, info, probe, ctx), u.run))
    return recordings


def _journal(vault: Vault, recordings: Sequence[tuple[str, dict[str, Any], str | None]]) -> int:
    with vault.writing() as w:
        still = {u.id for u in undescribed(vault, [oid for oid, _, _ in recordings])}
        for oid, recording, run in recordings:
            if oid in still:
                w.append(events.RecordingDescribe(id=oid, recording=recording, run=run), oid)
    return len(still)


def _context(vault: Vault, u: Undescribed) -> Context:
    """The describing context of a sighting's run: its options and its time of ingest."""
    return Context(
        config=vault.config,
        calendar=load_calendar(vault),
        ingested_at=_parse(u.started_at) or vault.now(),
        run=u.run or "",
        device=u.options.get("device"),
        officer=u.options.get("officer"),
        devices=DeviceBook.load(vault),
    )


def _parse(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def unregistered_devices(vault: Vault, run: str) -> list[str]:
    """Cameras a run's described recordings name that the registry lacks: journaled once as
    unregistered (art. 48), and returned."""
    seen = queries.devices_of_run(vault, run)
    register_unknown(vault, seen, run)
    return sorted(seen - DeviceBook.load(vault).registered)


def finish(vault: Vault, oids: Iterable[str] | None = None, *,
           stop: threading.Event | None = None) -> FinishReport:  # fmt: skip
    """Describe, then seal, what is stored but not yet described or sealed (all, or `oids`):
    `zfjl seal`, the service's background pass, the end of a station's ingest."""
    described = describe(vault, None, oids, stop=stop)
    return FinishReport(described, seal(vault, oids, stop=stop))


__all__ = [
    "DescribeReport",
    "FinishReport",
    "Undescribed",
    "describe",
    "finish",
    "interrupted_behind_store",
    "undescribed",
    "unregistered_devices",
]

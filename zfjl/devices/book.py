"""A snapshot of the registry for one ingest run: a device's status and officer at any time."""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field
from typing import TypeVar

from zfjl.vault.catalog import DEVICE_STATUS_AFTER
from zfjl.vault.queries import devices as q
from zfjl.vault.vault import Vault

T = TypeVar("T")

@dataclass
class DeviceBook:
    """A snapshot of the registry for one ingest run: status and officer at any time."""

    registered: set[str] = field(default_factory=set)
    # Per device, times as UTC ISO strings (sortable), with what holds from each on.
    _status: dict[str, tuple[list[str], list[tuple[str, str]]]] = field(default_factory=dict)
    _officers: dict[str, tuple[list[str], list[tuple[str | None, str]]]] = field(
        default_factory=dict
    )

    @classmethod
    def load(cls, vault: Vault) -> DeviceBook:
        book = cls()
        book.registered |= q.registered_device_ids(vault)
        for dev, at, event in q.device_events(vault):
            if event in DEVICE_STATUS_AFTER:
                times, states = book._status.setdefault(dev, ([], []))
                times.append(_utc(at))
                states.append((DEVICE_STATUS_AFTER[event], at))
        for dev, officer, since, until in q.all_assignments(vault):
            starts, spans = book._officers.setdefault(dev, ([], []))
            starts.append(_utc(since))
            spans.append((_utc(until) if until else None, officer))
        book._status = {dev: _in_time_order(*kv) for dev, kv in book._status.items()}
        book._officers = {dev: _in_time_order(*kv) for dev, kv in book._officers.items()}
        return book

    def status_at(self, device: str, when: dt.datetime) -> tuple[str, str | None]:
        """(status, since) of the device at `when`; 'active' before any fault."""
        times, states = self._status.get(device, ([], []))
        i = bisect.bisect_right(times, when.astimezone(dt.UTC).isoformat()) - 1
        return states[i] if i >= 0 else ("active", None)

    def officer_at(self, device: str, when: dt.datetime) -> str | None:
        starts, spans = self._officers.get(device, ([], []))
        key = when.astimezone(dt.UTC).isoformat()
        i = bisect.bisect_right(starts, key) - 1
        if i < 0:
            return None
        until, officer = spans[i]
        return officer if until is None or key < until else None


def _in_time_order(keys: list[str], values: list[T]) -> tuple[list[str], list[T]]:
    """Parallel lists sorted by key: bisect needs the times in UTC order."""
    pairs = sorted(zip(keys, values, strict=True), key=lambda kv: kv[0])
    return [k for k, _ in pairs], [v for _, v in pairs]


def _utc(stamp: str) -> str:
    return dt.datetime.fromisoformat(stamp).astimezone(dt.UTC).isoformat()

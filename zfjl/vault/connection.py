"""This process's queue of writers per vault: writer threads of one vault queue here before
the backend's own lock (see `Vault.writing`)."""

from __future__ import annotations

import os
import threading

# Writers of one vault within this process queue on a lock before SQLite's: SQLite's busy
# handler polls with sleeps of up to 100 ms, so eight cameras of a station finishing together
# waited for each other's commits tens of milliseconds apart. Other processes still meet the
# busy handler (BUSY_WAIT_SECONDS).
_WRITERS: dict[str, threading.Lock] = {}
_WRITERS_GUARD = threading.Lock()


def _forget_writers() -> None:
    """A forked child (the service answers each request in one) starts with no writer: a lock
    held by another thread of the parent at the fork would stay held in the child for ever."""
    global _WRITERS_GUARD
    _WRITERS_GUARD = threading.Lock()
    _WRITERS.clear()


os.register_at_fork(after_in_child=_forget_writers)


def writer_queue(key: str) -> threading.Lock:
    """This process's queue of writers to the vault whose real path is `key`."""
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(key, threading.Lock())

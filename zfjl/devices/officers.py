"""Who carried the camera: the officer of a recording, everywhere it is shown (ls, show, the
report, the sweep register, spot checks). The derivation is a catalog question and lives in
`zfjl.vault.queries.devices` (its docstring says how the officer is found); the names here are
kept for the callers that still import them from the registry's package."""

from __future__ import annotations

from zfjl.vault.queries.devices import OFFICER_SOURCES as SOURCES
from zfjl.vault.queries.devices import UNKNOWN_OFFICER as UNKNOWN
from zfjl.vault.queries.devices import officer_columns

__all__ = ["SOURCES", "UNKNOWN", "officer_columns"]

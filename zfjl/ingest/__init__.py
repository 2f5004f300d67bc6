"""Ingest: copy a camera dump into the vault as a list of small stages (like beets' importer)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zfjl.ingest.pipeline import IngestOptions, IngestReport, Progress, ingest, ingest_dump

__all__ = ["IngestOptions", "IngestReport", "Progress", "ingest", "ingest_dump"]


def __getattr__(name: str) -> Any:
    # Re-exported on first use (PEP 562): the service's client lists and opens a card with
    # zfjl.ingest.discover alone; the pipeline (describe, exiftool, the vault) is the service's.
    if name in __all__:
        from zfjl.ingest import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

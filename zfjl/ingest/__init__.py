"""Ingest: copy a camera dump into the vault as a list of small stages (like beets' importer)."""

from zfjl.ingest.pipeline import IngestOptions, IngestReport, Progress, ingest, ingest_dump

__all__ = ["IngestOptions", "IngestReport", "Progress", "ingest", "ingest_dump"]

"""The catalog's answers for the documents a case renders."""

from __future__ import annotations

from typing import NamedTuple

from zfjl.vault.vault import Vault


class ListedRecording(NamedTuple):
    """A recording's catalog facts for the extraction list (提取清单)."""

    size: int
    file_type: str | None
    original_name: str | None
    device: str | None
    duration: float | None
    recorded_at: str | None
    officer: str | None


def listed_recording(vault: Vault, oid: str) -> ListedRecording | None:
    """The recording's facts for the extraction list; None if it is not catalogued."""
    row = vault.conn.execute(
        "SELECT size, file_type, original_name, device, duration, recorded_at, officer"
        " FROM recordings WHERE id = ?", (oid,)
    ).fetchone()  # fmt: skip
    return None if row is None else ListedRecording(*row)

"""Ingest's questions to the catalog (zfjl.ingest.pipeline, .describe, .station)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from zfjl.vault.vault import Vault

PART = 500  # ids per IN (…) list: well under SQLite's 32766 host parameters


class UndescribedRow(NamedTuple):
    """A catalogued, live object with no recording yet, with its first sighting and run."""

    id: str
    original_name: str
    size: int
    mtime: str | None
    run: str | None
    started_at: str | None  # the run's ingest.begin
    options: str | None  # the run's options, as journaled (JSON)


class Description(NamedTuple):
    kind: str | None
    late: int | None
    warnings: str | None  # JSON list


_UNDESCRIBED = (
    "SELECT o.id, s.original_name, s.size, s.mtime, s.run, r.started_at, r.options"
    " FROM objects o JOIN sightings s ON s.seq = (SELECT MIN(seq) FROM sightings"
    " WHERE object_id = o.id) LEFT JOIN runs r ON r.id = s.run"
    " WHERE NOT EXISTS (SELECT 1 FROM recordings WHERE id = o.id)"
    " AND o.id NOT IN (SELECT id FROM tombstones)"
)


def _parts(ids: Iterable[str]) -> list[list[str]]:
    wanted = sorted(set(ids))
    return [wanted[i : i + PART] for i in range(0, len(wanted), PART)]


def _marks(part: list[str]) -> str:
    return ",".join("?" for _ in part)


def undescribed(vault: Vault, oids: Iterable[str] | None = None) -> list[UndescribedRow]:
    """Live objects without a recording (of `oids` only, when given)."""
    if oids is None:
        return [UndescribedRow(*r) for r in vault.conn.execute(_UNDESCRIBED)]
    rows: list[UndescribedRow] = []
    for part in _parts(oids):
        sql = f"{_UNDESCRIBED} AND o.id IN ({_marks(part)})"
        rows += [UndescribedRow(*r) for r in vault.conn.execute(sql, part)]
    return rows


def object_sizes(vault: Vault) -> set[int]:
    """Every catalogued object's size: a source file of another size is new for certain."""
    return {r[0] for r in vault.conn.execute("SELECT DISTINCT size FROM objects")}


def catalogued(vault: Vault, oids: Iterable[str]) -> dict[str, str | None]:
    """oid → sha256 (None until sealed) for those of `oids` the catalog has."""
    found: dict[str, str | None] = {}
    for part in _parts(oids):
        sql = f"SELECT id, sha256 FROM objects WHERE id IN ({_marks(part)})"
        found.update((r[0], r[1]) for r in vault.conn.execute(sql, part))
    return found


def never_digested(vault: Vault) -> set[str]:
    """Objects neither sealed nor given a SHA-256 at ingest (a run killed before its seal)."""
    sql = "SELECT id FROM objects WHERE sealed_at IS NULL AND sha256 IS NULL"
    return {r[0] for r in vault.conn.execute(sql)}


def descriptions(vault: Vault, oids: Iterable[str]) -> dict[str, Description]:
    """oid → its recording's kind, lateness and warnings, for the described ones."""
    found: dict[str, Description] = {}
    for part in _parts(oids):
        sql = f"SELECT id, kind, late, warnings FROM recordings WHERE id IN ({_marks(part)})"
        found.update((r[0], Description(*r[1:])) for r in vault.conn.execute(sql, part))
    return found


def devices_of_run(vault: Vault, run: str) -> set[str]:
    """The cameras named by the described recordings a run sighted."""
    sql = ("SELECT DISTINCT r.device FROM sightings s JOIN recordings r ON r.id = s.object_id"
           " WHERE s.run = ? AND r.device IS NOT NULL")  # fmt: skip
    return {r[0] for r in vault.conn.execute(sql, (run,))}

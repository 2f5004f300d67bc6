"""The catalog's answers for retention (art. 42, 43): holds, the recordings they keep, and
the live objects a sweep classifies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple, TypedDict, cast

from zfjl.vault.queries.devices import officer_columns
from zfjl.vault.vault import Vault


class HoldRow(TypedDict):
    id: str
    target: str
    target_kind: str
    reason: str
    note: str | None
    placed_at: str
    placed_by: str
    released_at: str | None
    released_by: str | None
    release_approval: str | None
    seq: int


class LiveObject(NamedTuple):
    """A live (not tombstoned) object with its recording's facts, as a sweep classifies it."""

    id: str
    size: int
    stored_at: str
    kind: str | None
    device: str | None
    officer: str | None
    officer_source: str
    original_name: str | None
    recorded_at: str | None
    ingested_at: str | None
    important: int | None


def hold_row(vault: Vault, hold_id: str) -> HoldRow | None:
    """The hold `H-…` (as entered, upper case); None if there is none."""
    rows = list(vault.query("SELECT * FROM holds WHERE id = ?", [hold_id]))
    return cast(HoldRow, rows[0]) if rows else None


def hold_rows(vault: Vault, *, include_released: bool = False) -> list[HoldRow]:
    """The holds in force (with `include_released`, every hold), in the order placed."""
    sql = "SELECT * FROM holds" + ("" if include_released else " WHERE released_at IS NULL")
    return [cast(HoldRow, r) for r in vault.query(sql + " ORDER BY seq")]


def held_recordings(vault: Vault) -> dict[str, str]:
    """Every recording under an active hold -> the hold's id (direct, or through its case)."""
    out: dict[str, str] = {}
    rows = vault.conn.execute(
        "SELECT h.id, h.target FROM holds h WHERE h.released_at IS NULL"
        " AND h.target_kind = 'recording'"
        " UNION ALL SELECT h.id, m.recording_id FROM holds h JOIN case_media m"
        " ON m.case_id = h.target WHERE h.released_at IS NULL AND h.target_kind = 'case'"
    )
    for hold_id, oid in rows:
        out.setdefault(oid, hold_id)
    return out


def live_objects(vault: Vault, only: list[str] | None = None) -> Iterator[LiveObject]:
    """Every live object (or only those among `only`), by recording time then id."""
    sql = (
        f"SELECT o.id, o.size, o.stored_at, r.kind, r.device, {officer_columns('r')},"
        " r.original_name, r.recorded_at, r.ingested_at, r.important FROM objects o"
        " LEFT JOIN recordings r ON r.id = o.id"
        " WHERE o.id NOT IN (SELECT id FROM tombstones)"
    )
    params: list[str] = []
    if only is not None:
        sql += f" AND o.id IN ({', '.join('?' for _ in only)})"
        params = only
    for row in vault.conn.execute(sql + " ORDER BY r.recorded_at, o.id", params):
        yield LiveObject(*row)


# -- the bureau's bucket (issue 25 item 3: the sweep deletes lapsed versions) ------------------
def shipped_version(vault: Vault, oid: str) -> str | None:
    """The bucket's version of the object (`object.shipped`); None when never shipped."""
    row = vault.conn.execute("SELECT version FROM shipments WHERE id = ?", (oid,)).fetchone()
    return str(row[0]) if row else None


def tombstoned_shipments(vault: Vault) -> list[tuple[str, str]]:
    """(object, version) of each tombstoned object still shipped in the bucket as of its
    tombstone (shipped before it), in the tombstones' order."""
    rows = vault.conn.execute(
        "SELECT s.id, s.version FROM shipments s JOIN tombstones t ON t.id = s.id"
        " WHERE s.seq < t.seq ORDER BY t.seq"
    ).fetchall()
    return [(str(oid), str(version)) for oid, version in rows]


def tombstoned_names(vault: Vault) -> dict[str, str | None]:
    """Each tombstoned recording's original file name, for a person to recognise it."""
    rows = vault.conn.execute(
        "SELECT r.id, r.original_name FROM recordings r JOIN tombstones t ON t.id = r.id"
    ).fetchall()
    return {str(oid): name for oid, name in rows}

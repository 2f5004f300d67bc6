"""The catalog's answers about derivatives (issue 26): the objects made from an original (a
playable proxy, redacted copies) and what a derivative was made from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from zfjl.vault.vault import Vault


@dataclass(frozen=True)
class DerivativeRow:
    id: str  # the derivative's object id
    source: str  # the original's
    kind: str  # proxy | redaction
    size: int
    sha256: str
    source_sha256: str
    params: dict[str, Any]
    tools: dict[str, Any]
    made_at: str
    made_by: str
    seq: int  # the journal row of its derivative.make

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_COLUMNS = "id, source, kind, size, sha256, source_sha256, params, tools, made_at, made_by, seq"


def _row(r: tuple[Any, ...]) -> DerivativeRow:
    return DerivativeRow(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), json.loads(r[7]),
                         r[8], r[9], r[10])  # fmt: skip


def derivatives_of(vault: Vault, source: str, kind: str | None = None) -> list[DerivativeRow]:
    """The live derivatives made from `source` (of one kind, when given), oldest first (a
    derivative is destroyed with its original: zfjl/retention/sweep.py)."""
    sql = (f"SELECT {_COLUMNS} FROM derivatives WHERE source = ?"
           " AND id NOT IN (SELECT id FROM tombstones)")  # fmt: skip
    params = [source]
    if kind is not None:
        sql += " AND kind = ?"
        params.append(kind)
    return [_row(r) for r in vault.conn.execute(sql + " ORDER BY seq", params)]


def derivative(vault: Vault, oid: str) -> DerivativeRow | None:
    """The derivative `oid` (what it was made from, how); None if it is not one."""
    r = vault.conn.execute(f"SELECT {_COLUMNS} FROM derivatives WHERE id = ?", (oid,)).fetchone()
    return None if r is None else _row(r)


def recording_kind(vault: Vault, oid: str) -> str | None:
    """video / audio / photo / … as catalogued; None before it is described (or not a recording)."""
    row = vault.conn.execute("SELECT kind FROM recordings WHERE id = ?", (oid,)).fetchone()
    return None if row is None else str(row[0])


def recorded_at(vault: Vault, oid: str) -> str | None:
    """When the recording was made, as catalogued (None: not described, or no time)."""
    row = vault.conn.execute("SELECT recorded_at FROM recordings WHERE id = ?", (oid,)).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def derivative_sources(vault: Vault) -> dict[str, str]:
    """Every derivative's id -> its original's id (retention: a derivative follows it)."""
    return {str(r[0]): str(r[1]) for r in vault.conn.execute("SELECT id, source FROM derivatives")}


def destroyed_class(vault: Vault, oid: str) -> tuple[str, str] | None:
    """(retention class, when) of a destroyed object's tombstone; None while it is live."""
    row = vault.conn.execute("SELECT class, at FROM tombstones WHERE id = ?", (oid,)).fetchone()
    return None if row is None else (str(row[0]), str(row[1]))

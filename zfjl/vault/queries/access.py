"""The catalog's answers about grants (art. 47): one by id, a user's, and whether a case
relied on an object before a grant was entered."""

from __future__ import annotations

from typing import TypedDict, cast

from zfjl.vault.vault import Vault


class GrantRow(TypedDict):
    id: str
    seq: int
    user: str
    target: str
    target_kind: str
    scope: str
    approved_by: str
    approval_no: str
    until: str
    purpose: str | None
    granted_at: str
    granted_by: str
    revoked_at: str | None
    revoked_by: str | None
    revoke_reason: str | None


def grant_row(vault: Vault, grant_id: str) -> GrantRow | None:
    """The grant `G-…` (as entered, upper case); None if there is none."""
    rows = list(vault.query("SELECT * FROM grants WHERE id = ?", [grant_id]))
    return cast(GrantRow, rows[0]) if rows else None


def grant_rows(
    vault: Vault, user: str | None = None, *, active_on: str | None = None
) -> list[GrantRow]:
    """Grants in the order entered: a user's (or everyone's), only those in force on the ISO
    day `active_on` (not revoked, not expired) when given."""
    sql, params = "SELECT * FROM grants WHERE 1 = 1", []
    if user:
        sql += ' AND "user" = ?'
        params.append(user)
    if active_on is not None:
        sql += " AND revoked_at IS NULL AND until >= ?"
        params.append(active_on)
    return [cast(GrantRow, r) for r in vault.query(sql + " ORDER BY seq", params)]


def case_relied_on_before(vault: Vault, case_id: str, oid: str, seq: int) -> bool:
    """Whether a journal row on the case before `seq` names `oid` as a linked recording or a
    document's scan."""
    row = vault.conn.execute(
        "SELECT 1 FROM journal_refs WHERE subject = ? AND seq < ?"
        " AND key IN ('recording', 'scan') AND value = ? LIMIT 1",
        (f"case:{case_id}", seq, oid),
    ).fetchone()
    return row is not None

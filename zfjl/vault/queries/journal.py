"""What the journal recorded, asked by domain code (custody logs, case histories, bundles,
the destruction register) without a connection: events of a subject, of a kind, the latest
one, the hash at a sequence number."""

from __future__ import annotations

import json
from collections.abc import Iterator

from zfjl.vault import events, journal
from zfjl.vault.journal import Event
from zfjl.vault.vault import Vault

_COLUMNS = "seq, ts, actor, kind, subject, data, prev_hash, hash"


def events_of(vault: Vault, subject: str) -> Iterator[Event]:
    """Every event journaled on `subject` (a recording id, `case:…`), oldest first."""
    return journal.read_events(vault.conn, subject)


def events_of_kind(vault: Vault, kind: str) -> list[Event]:
    """Every event of one kind, oldest first."""
    rows = vault.conn.execute(
        f"SELECT {_COLUMNS} FROM journal WHERE kind = ? ORDER BY seq", (kind,)
    )
    return [_event(row) for row in rows]


def latest_event_data(vault: Vault, subject: str, kind: str) -> dict[str, object] | None:
    """The payload of the newest event of `kind` on `subject`; None if there is none."""
    row = vault.conn.execute(
        "SELECT data FROM journal WHERE subject = ? AND kind = ? ORDER BY seq DESC LIMIT 1",
        (subject, kind),
    ).fetchone()
    return json.loads(row[0]) if row else None


def latest_time_by_subject(vault: Vault, kind: str) -> dict[str, str]:
    """Each subject with an event of `kind` -> the time of its newest one."""
    rows = vault.conn.execute(
        "SELECT subject, MAX(ts) FROM journal WHERE kind = ? GROUP BY subject", (kind,)
    )
    return {subject: ts for subject, ts in rows}


def hash_at(vault: Vault, seq: int) -> str | None:
    """The chain hash of journal row `seq`; None if the journal has no such row."""
    row = vault.conn.execute("SELECT hash FROM journal WHERE seq = ?", (seq,)).fetchone()
    return str(row[0]) if row else None


def event_at(vault: Vault, seq: int) -> Event | None:
    """The journal row `seq` as an event; None if the journal has no such row."""
    row = vault.conn.execute(f"SELECT {_COLUMNS} FROM journal WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else _event(row)


def grant_revoked_on_record(vault: Vault, grant_id: str) -> bool:
    """Whether the journal holds a `grant.revoke` of this grant (whatever the grants table says)."""
    return any(
        json.loads(str(data)).get("grant") == grant_id
        for (data,) in vault.conn.execute(
            "SELECT data FROM journal WHERE kind = ?", (events.GrantRevoke.kind,)
        )
    )


def _event(row: tuple[object, ...]) -> Event:
    seq, ts, actor, kind, subject, data, prev, digest = row
    return Event(int(str(seq)), str(ts), str(actor), str(kind),
                 None if subject is None else str(subject), json.loads(str(data)),
                 str(prev), str(digest))  # fmt: skip

"""Stations of a bureau's vault (issue 25, docs/scale.md): several station folders, each with
its own objects, locks and signing key, write one shared catalog on PostgreSQL. Every journal
row names the station that wrote it (`journal.station`, NULL for the vault's own folder)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from zfjl.vault import events
from zfjl.vault.backend import Connection

if TYPE_CHECKING:
    from zfjl.vault.vault import Vault


def joined_stations(conn: Connection) -> dict[str, dict[str, Any]]:
    """The stations that joined the vault (`station.join` rows): name -> payload."""
    rows = conn.execute("SELECT data FROM journal WHERE kind = ? ORDER BY seq",
                        (events.StationJoin.kind,))  # fmt: skip
    out: dict[str, dict[str, Any]] = {}
    for (data,) in rows:
        payload = json.loads(data)
        if isinstance(payload, dict) and isinstance(payload.get("station"), str):
            out[payload["station"]] = payload
    return out


def held_elsewhere(vault: Vault) -> set[str]:
    """The objects another station stored: its own folder holds them (it describes, seals and
    verifies them; the bucket does once shipped). The last `object.add`/`object.restored` row
    of each names the station holding it. Empty for a vault no station joined."""
    return set(holders_elsewhere(vault))


def holders_elsewhere(vault: Vault) -> dict[str, str | None]:
    """`held_elsewhere` with the station holding each (None: the vault's own folder, the
    station that made it). Empty for a vault no station joined."""
    if not joined_stations(vault.conn):
        return {}
    rows = vault.conn.execute(
        "SELECT subject, station FROM journal WHERE kind IN (?, ?) ORDER BY seq",
        (events.ObjectAdd.kind, events.ObjectRestored.kind),
    )
    holder = {oid: station for oid, station in rows if oid is not None}
    return {oid: station for oid, station in holder.items() if station != vault.station}

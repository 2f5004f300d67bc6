"""Read-side queries over the catalog: `ls` and `show`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from zfjl.errors import AmbiguousIdError, NotFoundError, UsageError
from zfjl.vault.journal import read_events
from zfjl.vault.vault import Vault

LS_FIELDS = [
    "id",
    "sha256",
    "size",
    "kind",
    "device",
    "officer",
    "recorded_at",
    "duration",
    "original_name",
    "ingested_at",
    "late",
    "important",
    "clock_skew",
]
KINDS = ("video", "photo", "audio", "other")


@dataclass(frozen=True)
class RecordingFilter:
    device: str | None = None
    officer: str | None = None
    since: str | None = None  # ISO date or datetime, compared on recorded_at
    until: str | None = None
    kind: str | None = None
    late: bool | None = None
    important: bool | None = None
    limit: int | None = None
    include_destroyed: bool = False  # swept recordings keep their rows; ls hides them


def _ls_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in LS_FIELDS}
    out["late"] = None if row["late"] is None else bool(row["late"])
    out["important"] = bool(row["important"])
    out["clock_skew"] = bool(row["clock_skew"])
    return out


def list_recordings(vault: Vault, flt: RecordingFilter) -> list[dict[str, Any]]:
    where: list[str] = []
    params: list[Any] = []
    if flt.kind is not None:
        if flt.kind not in KINDS:
            raise UsageError(f"未知的类型 {flt.kind!r}，可选：{'、'.join(KINDS)}")
        where.append("kind = ?")
        params.append(flt.kind)
    for col, value in (("device", flt.device), ("officer", flt.officer)):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    if flt.since:
        where.append("recorded_at >= ?")
        params.append(flt.since)
    if flt.until:
        # A bare date means "through that whole day".
        where.append("recorded_at < ?" if "T" in flt.until else "substr(recorded_at, 1, 10) <= ?")
        params.append(flt.until)
    if flt.late is not None:
        where.append("late = ?")
        params.append(int(flt.late))
    if flt.important is not None:
        where.append("important = ?")
        params.append(int(flt.important))
    if not flt.include_destroyed:
        where.append("id NOT IN (SELECT id FROM tombstones)")
    sql = "SELECT * FROM recordings"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY recorded_at IS NULL, recorded_at, id"
    if flt.limit:
        sql += f" LIMIT {int(flt.limit)}"
    return [_ls_row(r) for r in vault.db.query(sql, params)]


def resolve_id(vault: Vault, prefix: str) -> str:
    prefix = prefix.strip().lower()
    if len(prefix) < 4 or any(c not in "0123456789abcdef" for c in prefix):
        raise UsageError("编号至少 4 位十六进制字符（BLAKE3 摘要或其唯一前缀）")
    rows = vault.conn.execute(
        "SELECT id FROM objects WHERE id >= ? AND id < ? LIMIT 2", (prefix, prefix + "g")
    ).fetchall()
    if not rows:
        raise NotFoundError(f"保管库中没有编号为 {prefix} 的文件")
    if len(rows) > 1:
        raise AmbiguousIdError(f"编号前缀 {prefix} 对应多个文件，请多写几位")
    return str(rows[0][0])


def show_recording(vault: Vault, prefix: str) -> dict[str, Any]:
    oid = resolve_id(vault, prefix)
    rows = list(vault.db.query("SELECT * FROM recordings WHERE id = ?", [oid]))
    rec = dict(rows[0]) if rows else {"id": oid}
    for key in ("warnings", "metadata"):
        if isinstance(rec.get(key), str):
            rec[key] = json.loads(rec[key])
    for key in ("late",):
        if key in rec and rec[key] is not None:
            rec[key] = bool(rec[key])
    rec["important"] = bool(rec.get("important"))
    rec["clock_skew"] = bool(rec.get("clock_skew"))
    rec["path"] = str(vault.objects.path_for(oid))
    gone = list(vault.db.query("SELECT * FROM tombstones WHERE id = ?", [oid]))
    rec["destroyed"] = gone[0] if gone else None
    rec["holds"] = list(vault.db.query("SELECT * FROM holds WHERE target = ? ORDER BY seq", [oid]))
    rec["sightings"] = list(
        vault.db.query("SELECT * FROM sightings WHERE object_id = ? ORDER BY seq", [oid])
    )
    rec["events"] = [e.as_dict() for e in read_events(vault.conn, oid)]
    rec["cases"] = list(
        vault.db.query(
            "SELECT case_id, activity, document FROM case_media WHERE recording_id = ?"
            " ORDER BY case_id",
            [oid],
        )
    )
    return rec


def object_digests(vault: Vault, oid: str) -> dict[str, str]:
    """All four digests of an object (SHA-512 and SM3 computed and journaled if missing)."""
    ensure_digests(vault, [oid])
    row = vault.conn.execute(
        "SELECT o.sha256, d.sha512, d.sm3 FROM objects o LEFT JOIN object_digests d ON d.id = o.id"
        " WHERE o.id = ?",
        (oid,),
    ).fetchone()
    if row is None or row[1] is None:
        raise NotFoundError(
            f"保管库中没有编号为 {oid} 的文件（或其对象文件缺失，请运行 zfjl verify）"
        )
    sha256, sha512, sm3 = row
    return {"blake3": oid, "sha256": sha256, "sha512": sha512, "sm3": sm3}


def ensure_digests(vault: Vault, oids: list[str]) -> int:
    """Seal (SHA-256, SHA-512, SM3, journaled) the objects that are not sealed yet: called when
    recordings become a case's evidence and before anything hands bytes out, so bundles and
    extraction lists only copy and print. An object whose file is gone is verify's finding to
    report; linking it is still a record. Returns how many were sealed."""
    from zfjl.vault.seal import seal

    return seal(vault, oids).sealed

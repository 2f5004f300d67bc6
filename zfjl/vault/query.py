"""Read-side queries over the catalog: `ls` and `show`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from zfjl.dates import parse_moment
from zfjl.errors import AmbiguousIdError, NotFoundError, UsageError
from zfjl.vault.journal import read_events
from zfjl.vault.queries.devices import OFFICER_SOURCES, officer_columns
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
KIND_NAMES = {"视频": "video", "照片": "photo", "录音": "audio", "其他": "other"}  # as ls shows them


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
    out = {k: row[k] for k in LS_FIELDS if k != "officer"}
    out["officer"] = row["rec_officer"]
    out["officer_source"] = row["officer_source"]
    out["late"] = None if row["late"] is None else bool(row["late"])
    out["important"] = bool(row["important"])
    out["clock_skew"] = bool(row["clock_skew"])
    return out


def list_recordings(vault: Vault, flt: RecordingFilter) -> list[dict[str, Any]]:
    where: list[str] = []
    params: list[Any] = []
    if flt.kind is not None:
        kind = KIND_NAMES.get(flt.kind, flt.kind)
        if kind not in KINDS:
            choices = "、".join(f"{k}（{c}）" for c, k in KIND_NAMES.items())
            raise UsageError(f"未知的类型 {flt.kind!r}，可选：{choices}")
        where.append("kind = ?")
        params.append(kind)
    if flt.device is not None:
        where.append("device = ?")
        params.append(flt.device)
    if flt.officer is not None:
        # The officer as derived (file name, else the registry's assignment at that time).
        where.append("rec_officer = ?")
        params.append(flt.officer)
    # Bounds as the catalog writes recorded_at (ISO 8601 in the bureau's zone), whatever form
    # was typed (zfjl.dates); a bare --to day means "through that whole day".
    tz = vault.config.tz
    if flt.since is not None:
        where.append("recorded_at >= ?")
        params.append(parse_moment(flt.since, "--from", tz).at.astimezone(tz).isoformat())
    if flt.until is not None:
        where.append("recorded_at < ?")
        params.append(parse_moment(flt.until, "--to", tz).end.astimezone(tz).isoformat())
    if flt.late is not None:
        where.append("late = ?")
        params.append(int(flt.late))
    if flt.important is not None:
        where.append("important = ?")
        params.append(int(flt.important))
    if not flt.include_destroyed:
        where.append("id NOT IN (SELECT id FROM tombstones)")
    sql = f"SELECT * FROM (SELECT r.*, {officer_columns('r')} FROM recordings r) AS listed"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY recorded_at IS NULL, recorded_at, id"
    if flt.limit:
        sql += f" LIMIT {int(flt.limit)}"
    return _with_where(vault, [_ls_row(r) for r in vault.query(sql, params)])


def _with_where(vault: Vault, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A bureau vault (issue 25): where each recording is (`where`: station | bureau | both |
    elsewhere | none, `where_station`: the other station holding it when elsewhere, else
    null, `where_text`: 站内 / 局端 / 两处 / 其他站点（站名） / 无). A station vault's rows are as
    they were."""
    from zfjl.vault.bureau import binding, placed

    if binding(vault) is None:
        return rows
    places = placed(vault, [r["id"] for r in rows])
    for r in rows:
        r["where"], r["where_station"], r["where_text"] = places[r["id"]]
    return rows


MIN_PREFIX = 4  # hex digits a typed prefix needs; listings show at least 12 (cli/display.py)


def resolve_id(vault: Vault, prefix: str) -> str:
    """A recording's BLAKE3 id from the id or a unique prefix of it. A prefix copied from an
    older listing with its ellipsis ("0ad1e9…", "0ad1e9...") is taken without it."""
    typed = prefix
    prefix = prefix.strip().lower().removesuffix("…").removesuffix("...").strip()
    if any(c not in "0123456789abcdef" for c in prefix):
        raise UsageError(
            f"编号 {typed!r} 不是十六进制数字：应为 BLAKE3 摘要或其唯一前缀（如 zfjl ls 所列）"
        )
    if len(prefix) < MIN_PREFIX:
        raise UsageError(
            f"编号前缀 {prefix!r} 太短：至少 {MIN_PREFIX} 位十六进制数字（zfjl ls 所列的 12 位即可）"
        )
    rows = vault.conn.execute(
        "SELECT id FROM objects WHERE id >= ? AND id < ? ORDER BY id LIMIT 4",
        (prefix, prefix + "g"),
    ).fetchall()
    if not rows:
        raise NotFoundError(f"保管库中没有编号为 {prefix} 的文件")
    if len(rows) > 1:
        shown = "、".join(str(r[0])[: max(len(prefix) + 4, 12)] for r in rows[:3])
        more = "等" if len(rows) > 3 else ""
        raise AmbiguousIdError(f"编号前缀 {prefix} 对应多个文件（{shown}{more}），请多写几位")
    return str(rows[0][0])


def unique_prefixes(vault: Vault, ids: list[str], minimum: int = 12) -> dict[str, str]:
    """For a listing: each id's shortest prefix, of at least `minimum` digits, that no other
    object of the vault shares — so a prefix copied from the listing is accepted by
    `resolve_id`. Two indexed look-ups per id (its neighbours in id order)."""
    result: dict[str, str] = {}
    for oid in dict.fromkeys(ids):
        need = minimum
        for sql in ("SELECT id FROM objects WHERE id < ? ORDER BY id DESC LIMIT 1",
                    "SELECT id FROM objects WHERE id > ? ORDER BY id LIMIT 1"):  # fmt: skip
            row = vault.conn.execute(sql, (oid,)).fetchone()
            if row is not None:
                other = str(row[0])
                common = next(
                    (i for i, (a, b) in enumerate(zip(oid, other, strict=False)) if a != b),
                    min(len(oid), len(other)),
                )
                need = max(need, common + 1)
        result[oid] = oid[:need]
    return result


def show_recording(vault: Vault, prefix: str) -> dict[str, Any]:
    oid = resolve_id(vault, prefix)
    rows = list(vault.query(
        f"SELECT r.*, {officer_columns('r')} FROM recordings r WHERE r.id = ?", [oid]))  # fmt: skip
    rec: dict[str, Any] = dict(rows[0]) if rows else {"id": oid}
    rec.pop("at_utc", None)  # the catalog's sort key, not a fact of the recording
    if rows:
        rec["officer"] = rec.pop("rec_officer")
        rec["officer_source_text"] = OFFICER_SOURCES[rec["officer_source"]]
    for key in ("warnings", "metadata"):
        if isinstance(rec.get(key), str):
            rec[key] = json.loads(rec[key])
    for key in ("late",):
        if key in rec and rec[key] is not None:
            rec[key] = bool(rec[key])
    rec["important"] = bool(rec.get("important"))
    rec["clock_skew"] = bool(rec.get("clock_skew"))
    rec["path"] = vault.objects.location(oid)
    gone = list(vault.query("SELECT * FROM tombstones WHERE id = ?", [oid]))
    rec["destroyed"] = gone[0] if gone else None
    rec["holds"] = list(vault.query("SELECT * FROM holds WHERE target = ? ORDER BY seq", [oid]))
    rec["sightings"] = list(
        vault.query("SELECT * FROM sightings WHERE object_id = ? ORDER BY seq", [oid])
    )
    rec["events"] = [e.as_dict() for e in read_events(vault.conn, oid)]
    rec["cases"] = list(
        vault.query(
            "SELECT case_id, activity, document FROM case_media WHERE recording_id = ?"
            " ORDER BY case_id",
            [oid],
        )
    )
    # Issue 26: the playable proxies and redacted copies made from it, or what it was made from.
    from zfjl.vault.queries.derivatives import derivative, derivatives_of

    rec["derivatives"] = [d.as_dict() for d in derivatives_of(vault, oid)]
    made_from = derivative(vault, oid)
    rec["derived_from"] = made_from.as_dict() if made_from else None
    return _with_where(vault, [rec])[0]


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

"""A station's own vault merged into a bureau's catalog that already holds one (issue 25 item 6,
docs/scale.md "Moving a station's vault into the bureau").

Two hash chains cannot be spliced without rewriting one, so the station's journal is replayed:
the station joins (its `checkpoint.key` — the key it already has — and `station.join`), then
`station.merged` names the source (the old journal's last row, tree head and last signed
checkpoint, and every row not replayed, whole), then each of its rows in order as a new row
written by the station, with its original's `merged_from` {seq, hash}. Kept as they were: the
time and the person of each row (lateness and custody are counted from them). Rewritten:
the ids the catalog derives from a row's seq (`H-n` holds, `G-n` grants, `SC-n` draws) where a
later row names them, to the new seq of that row.

Not replayed (recorded in `station.merged` only): the vault's settings and roles (`vault.init`,
`setting.set`, `role.*`: the bureau's stand), its own templates (`custom.*`), its checkpoints
and keys' history (signed over the old log) and its schema history. Refused: a vault bound to
a store, a station or a moved catalog. Case numbers the bureau holds already are refused
before anything is written; objects both hold are one object (content-addressed).

All in one PostgreSQL transaction, under catalog.db's write lock, the derived rows compared
with the station's before COMMIT; then the station's folder is pointed at the bureau (vault.json
format 3, its signer state begun anew). A merge committed but not finished locally (a crash
before vault.json) is finished by running it again. catalog.db is kept and read by nothing.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zfjl.errors import JournalInconsistent, UsageError, VaultError
from zfjl.vault import catalog, events, journal, merkle
from zfjl.vault.backend import Connection
from zfjl.vault.config import VaultConfig
from zfjl.vault.vault import Clock, Vault

# Rows of the station's journal recorded in station.merged and applied nowhere.
NOT_APPLIED = frozenset(k.kind for k in (
    events.VaultInit, events.VaultMigrate, events.VaultJsonRestored, events.VaultGuardsRestored,
    events.RoleAdd, events.RoleRemove, events.SettingSet, events.CustomInstall,
    events.CustomRemove, events.JournalCheckpoint, events.CheckpointKey,
    events.CheckpointStateRestored,
))  # fmt: skip
# Rows that say the vault is not a station's own: not merged.
REFUSED = {
    events.StoreBind.kind: "已绑定局端对象存储",
    events.StationJoin.kind: "本身是全局保管库的站点",
    events.VaultCatalogMoved.kind: "目录曾迁往其他数据库",
}
# Ids the catalog makes of a row's seq, and the payload keys that name them in later rows.
_SEQ_ID = re.compile(r"^(H|G|SC)-(\d+)$")
_SEQ_ID_KEYS = ("hold", "grant", "draw")
# Derived tables whose rows come from the station's rows alone: after the merge, what they
# gained is exactly what the station had (seqs and seq-made ids mapped).
COMPARED = (
    "cases", "case_media", "case_corrections", "case_links_ever", "case_scans", "journal_refs",
    "holds", "grants", "derivatives", "spotcheck_items", "sightings", "failures",
    "cleared_sources", "runs", "device_assignments", "device_log",
)  # fmt: skip
# Content-addressed: the station's ids must all be there (one object when both hold it).
CONTENT = ("objects", "recordings", "object_digests")


@dataclass(frozen=True)
class Merged:
    station: str
    source_vault: str
    rows: int  # the station's journal rows
    replayed: int
    not_applied: int
    objects: int  # the station's objects
    first_seq: int  # the bureau's seq of station.merged

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def merge_station(root: Path, *, catalog_url: str, station: str,
                  clock: Clock | None = None) -> Merged:  # fmt: skip
    """`zfjl migrate-to-bureau --catalog URL --station NAME`: the vault at `root` (its own
    catalog.db) merged into the bureau vault the catalog holds, as its station NAME."""
    from zfjl.vault.setup import check_station_name
    from zfjl.vault.verify import verify

    name = check_station_name(station)
    with Vault.open(root, clock=clock) as local:
        local.require_role({"admin"}, "把本站保管库并入全局保管库")
        if local.catalog is not None:
            raise UsageError(f"此保管库的目录已在 PostgreSQL 上，无需合并：{root}")
        if _preflight(local, catalog_url, name, clock):  # refused before verify journals a row
            return _finish_merged(local, catalog_url, name, clock)
        report = verify(local, read_data=False)
        if not report.ok:
            first = next(f for f in report.findings if f.severity == "error")
            raise JournalInconsistent(
                f"校验未通过，不合并（{first.code}：{first.subject}）：请先运行 zfjl verify 处理"
            )
        with local.writing():  # catalog.db's write lock: nothing is appended there meanwhile
            return _merge_locked(local, catalog_url, name, clock)


def _merge_locked(local: Vault, catalog_url: str, name: str, clock: Clock | None) -> Merged:
    from zfjl.vault.signer import load_signing_key, origin_of

    rows = local.conn.execute(
        f"SELECT {journal.JOURNAL_COLUMNS} FROM journal ORDER BY seq").fetchall()  # fmt: skip
    _refuse_foreign_rows(rows)
    private = load_signing_key(local)
    expected = {t: _table(local.conn, t) for t in (*COMPARED, *CONTENT)}
    bureau = Vault(local.root, VaultConfig(id="", created_at=""), clock, catalog_url, name)
    try:
        done = _already_merged(bureau.conn, local.config.id, name)
        if done is None:
            done = _replay_into(bureau, local, rows, expected, private, origin_of)
        _finish_locally(bureau, local.config.id)
    finally:
        bureau.close()
    return done


def _preflight(local: Vault, catalog_url: str, name: str, clock: Clock | None) -> bool:
    """What refuses the merge, asked before anything is written anywhere (asked again under
    the bureau's lock): a vault not a station's own, no bureau vault, the name taken, a case
    number the bureau holds. True: this vault's merge was committed already."""
    from zfjl.vault.stations import joined_stations

    _refuse_foreign_rows(local.conn.execute(
        f"SELECT {journal.JOURNAL_COLUMNS} FROM journal ORDER BY seq").fetchall())  # fmt: skip
    bureau = Vault(local.root, VaultConfig(id="", created_at=""), clock, catalog_url, name)
    try:
        if _already_merged(bureau.conn, local.config.id, name) is not None:
            return True
        if not _holds_vault(bureau.conn):
            raise VaultError(_NO_BUREAU)
        if name in joined_stations(bureau.conn):
            raise VaultError(f"站点 {name} 已加入该保管库，不能重复加入（请换一个站点名）")
        _refuse_clashing_cases(bureau.conn, [str(r[0]) for r in local.conn.execute(
            "SELECT id FROM cases")])  # fmt: skip
    finally:
        bureau.close()
    return False


def _finish_merged(local: Vault, catalog_url: str, name: str, clock: Clock | None) -> Merged:
    """A merge committed whose local steps were interrupted: finish them (no second replay)."""
    bureau = Vault(local.root, VaultConfig(id="", created_at=""), clock, catalog_url, name)
    try:
        done = _already_merged(bureau.conn, local.config.id, name)
        assert done is not None
        _finish_locally(bureau, local.config.id)
    finally:
        bureau.close()
    return done


_NO_BUREAU = "目录数据库中还没有全局保管库：请用不带 --station 的 migrate-to-bureau 迁入空库"


def _refuse_foreign_rows(rows: list[tuple[Any, ...]]) -> None:
    kinds = {r[3] for r in rows}
    why = [text for kind, text in REFUSED.items() if kind in kinds]
    if why or any(r[8] is not None for r in rows):
        raise UsageError(f"此保管库不是单站自有的保管库（{'、'.join(why) or '日志写有站点名'}），不能合并")


def _already_merged(conn: Connection, source_vault: str, name: str) -> Merged | None:
    """A merge of this vault committed before (its local steps interrupted): its summary."""
    if not journal.has_table(conn):
        raise VaultError(_NO_BUREAU)
    for seq, data in conn.execute("SELECT seq, data FROM journal WHERE kind = ? ORDER BY seq",
                                  (events.StationMerged.kind,)):  # fmt: skip
        d = events.StationMerged.from_payload(json.loads(data))
        if d.source_vault == source_vault:
            if d.station != name:
                raise UsageError(f"此保管库已作为站点 {d.station} 并入全局保管库")
            return Merged(name, source_vault, d.source_rows, d.replayed, len(d.not_applied),
                          0, int(seq))  # fmt: skip
    return None


def _replay_into(bureau: Vault, local: Vault, rows: list[tuple[Any, ...]],
                 expected: dict[str, list[dict[str, Any]]], private: Any,
                 origin_of: Callable[[Vault], str]) -> Merged:  # fmt: skip
    from zfjl.vault.checkpoint import PublicKey, row_leaf
    from zfjl.vault.stations import joined_stations

    conn, name = bureau.conn, str(bureau.station)
    bureau.reload_config()  # the bureau's id: the key's origin
    public = PublicKey(origin_of(bureau), private.public_key().public_bytes_raw())
    bureau.backend.begin_write(conn)
    try:
        if journal.last_link(conn)[0] == 0 or not _holds_vault(conn):
            raise VaultError(_NO_BUREAU)
        if name in joined_stations(conn):
            raise VaultError(f"站点 {name} 已加入该保管库，不能重复加入（请换一个站点名）")
        _refuse_clashing_cases(conn, [str(r["id"]) for r in expected["cases"]])
        before = {t: _table(conn, t) for t in COMPARED}
        ts, actor = bureau.now_iso(), bureau.actor

        def add(event: events.EventData, when: str = ts, who: str = actor) -> journal.Event:
            ev = journal.append(conn, ts=when, actor=who, kind=event.kind, subject=None,
                                data=event.payload(), station=name)  # fmt: skip
            catalog.apply_typed(conn, ev, event)
            return ev

        add(events.CheckpointKey(name=public.name, vkey=public.vkey))
        add(events.StationJoin(station=name, vkey=public.vkey, host=bureau.host))
        recorded = [r for r in rows if r[3] in NOT_APPLIED]
        last_cp = next((r for r in reversed(recorded) if r[3] == events.JournalCheckpoint.kind), None)
        merged = add(events.StationMerged(
            station=name, source_vault=local.config.id, source_rows=len(rows),
            source_head=str(rows[-1][7]),
            source_tree_head=merkle.root_from_leaves(row_leaf(_leaf_cols(r)) for r in rows).hex(),
            source_keys=[json.loads(r[5])["vkey"] for r in recorded
                         if r[3] == events.CheckpointKey.kind],
            last_checkpoint=None if last_cp is None else {
                "seq": last_cp[0], "hash": last_cp[7], **json.loads(last_cp[5])},
            replayed=len(rows) - len(recorded),
            not_applied=[{"seq": r[0], "hash": r[7], "kind": r[3], "data": json.loads(r[5])}
                         for r in recorded],
            kept="catalog.db",
        ))  # fmt: skip
        seqs = _replay_rows(conn, name, [r for r in rows if r[3] not in NOT_APPLIED])
        _compare(conn, expected, before, seqs)
        bureau.backend.commit(conn)
    except BaseException:
        bureau.backend.rollback(conn)
        raise
    objects = len(expected["objects"])
    return Merged(name, local.config.id, len(rows), len(rows) - len(recorded), len(recorded),
                  objects, merged.seq)  # fmt: skip


def _leaf_cols(row: tuple[Any, ...]) -> tuple[Any, ...]:
    seq, ts, actor, kind, subject, data, prev, _hash, station = row
    return (seq, ts, actor, kind, subject, data, prev, station)


def _holds_vault(conn: Connection) -> bool:
    return conn.execute("SELECT 1 FROM journal WHERE kind = ? LIMIT 1",
                        (events.VaultInit.kind,)).fetchone() is not None  # fmt: skip


def _refuse_clashing_cases(conn: Connection, case_ids: list[str]) -> None:
    held = {str(r[0]) for r in conn.execute("SELECT id FROM cases")}
    clash = sorted(set(case_ids) & held)
    if clash:
        shown = "、".join(clash[:20]) + (f" 等 {len(clash)} 件" if len(clash) > 20 else "")
        raise VaultError(f"以下案件编号在全局保管库中已存在，未合并（未写入任何内容）：{shown}")


def _replay_rows(conn: Connection, name: str, rows: list[tuple[Any, ...]]) -> dict[int, int]:
    """Each row appended anew as the station's, its seq-made ids renamed; old seq -> new."""
    seqs: dict[int, int] = {}
    for seq, ts, actor, kind, subject, data, _prev, digest, _station in rows:
        payload = json.loads(data)
        for key in _SEQ_ID_KEYS:
            if isinstance(payload.get(key), str):
                payload[key] = _renamed(payload[key], seqs)
        payload[events.MERGED_FROM] = {"seq": int(seq), "hash": str(digest)}
        ev = journal.append(conn, ts=ts, actor=actor, kind=kind,
                            subject=_renamed_subject(subject, seqs), data=payload,
                            station=name)  # fmt: skip
        catalog.apply(conn, ev)
        seqs[int(seq)] = ev.seq
    return seqs


def _renamed(value: str, seqs: dict[int, int]) -> str:
    m = _SEQ_ID.match(value)
    if m is None:
        return value
    new = seqs.get(int(m.group(2)))
    return value if new is None else f"{m.group(1)}-{new}"


def _renamed_subject(subject: str | None, seqs: dict[int, int]) -> str | None:
    """A spot check's rows are about `spotcheck:SC-n` (holds and grants name their target)."""
    prefix = "spotcheck:"
    if subject is None or not subject.startswith(prefix):
        return subject
    return prefix + _renamed(subject[len(prefix):], seqs)


def _table(conn: Connection, table: str) -> list[dict[str, Any]]:
    cur = conn.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


# The derived columns holding a seq-made id.
_SEQ_ID_COLUMNS = {"holds": "id", "grants": "id", "spotcheck_items": "draw"}


def _mapped(table: str, row: dict[str, Any], seqs: dict[int, int]) -> dict[str, Any]:
    """A station's derived row as the replay must make it: seqs and seq-made ids renumbered."""
    out = {}
    for col, value in row.items():
        if (col == "seq" or col.endswith("_seq")) and isinstance(value, int):
            value = seqs.get(value, -value)  # an unmapped seq can match nothing
        elif isinstance(value, str) and col == _SEQ_ID_COLUMNS.get(table):
            value = _renamed(value, seqs)
        out[col] = value
    return out


def _key(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)


def _compare(conn: Connection, expected: dict[str, list[dict[str, Any]]],
             before: dict[str, list[dict[str, Any]]], seqs: dict[int, int]) -> None:  # fmt: skip
    """What the merge added to each derived table is what the station had; every object of
    the station's is there. Otherwise the transaction is rolled back."""
    for table in COMPARED:
        gained = Counter(map(_key, _table(conn, table)))
        gained.subtract(Counter(map(_key, before[table])))
        want = Counter(_key(_mapped(table, r, seqs)) for r in expected[table])
        if +gained != want or -gained:
            raise VaultError(f"合并后目录表 {table} 与本站原目录不一致，未合并（未写入任何内容）")
    for table in CONTENT:
        have = {str(r[0]) for r in conn.execute(f"SELECT id FROM {table}")}
        if {str(r["id"]) for r in expected[table]} - have:
            raise VaultError(f"合并后目录表 {table} 缺少本站的对象，未合并（未写入任何内容）")


def _finish_locally(bureau: Vault, source_vault: str) -> None:
    """The station's folder as a station of the bureau: its old signer state set aside (it
    signed the old log), begun anew over the bureau's journal; vault.json names the bureau's
    catalog and the station (its old one kept beside it)."""
    from zfjl.vault import anchors

    state = bureau.root / anchors.STATE_FILE
    old = anchors.read_state(bureau)
    if old is not None and old.first != anchors.first_row_hash(bureau):  # the old log's
        os.replace(state, state.with_name(f"{state.name}.before-merge-{source_vault}"))
    bureau.reload_config()
    anchors.start_state(bureau)
    old_json = bureau.root / "vault.json"
    kept = bureau.root / f"vault.json.before-merge-{source_vault}"
    if old_json.exists() and not kept.exists():
        os.link(old_json, kept)
    bureau.write_config()

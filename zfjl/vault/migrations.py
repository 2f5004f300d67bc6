"""Numbered, named catalog migrations (like llm's migrations.py), run on open.

The catalog records its schema version in the `schema_version` table (since migration 9;
before it, in SQLite's `user_version`, which the SQLite backend still reads for an older
catalog and keeps equal for older releases), through the backend (backend.py). A vault of
0.1 has none: version 0. Opening a vault whose version is
lower takes the write lock, applies every pending migration in order, journals each as
`vault.migrate` and sets the new version, all in one transaction: a crash leaves the old
version and the next open starts again.

Two kinds of change, because two kinds of table:
- `reshape`: derived tables (projections of the journal) whose shape changed. They are
  dropped, recreated from the current `catalog.DERIVED_SCHEMA` and the whole journal is
  replayed into them. A new column in a derived table needs this one line and nothing else.
- `sql`: a change to the journal's own table (an index; never its rows or hashes).

A catalog of a newer version than this program knows is refused: an older zfjl must not
write into tables whose meaning it does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zfjl.errors import UnsupportedVaultVersion, VaultError
from zfjl.vault import catalog, events, journal
from zfjl.vault.actor import owner_name
from zfjl.vault.backend import Connection, backend_of
from zfjl.vault.config import VaultConfig
from zfjl.vault.journal import run_script


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    reshape: tuple[str, ...] = ()  # derived tables to drop, recreate and replay
    sql: str = ""  # statements on the journal itself
    # Columns added to the journal, (name, type), each only when missing: a catalog faked
    # older by its version number alone (tests) or made by a newer create_schema has them.
    journal_columns: tuple[tuple[str, str], ...] = ()
    # Journal vault.json's roles and settings as facts (role.add / setting.set, `via` this
    # migration), after which vault.json keeps only format, version, id and created_at.
    imports_vault_json: bool = False


MIGRATIONS: tuple[Migration, ...] = (
    # 0.1's tables, unchanged, now with a recorded version; replayed once so that every
    # derived row is what this program's handlers make of the journal.
    Migration(1, "versioned_catalog", reshape=catalog.DERIVED_TABLES),
    # `log`, `sweep`, checkpoints and spot checks look rows up by kind.
    Migration(2, "journal_kind_index", sql="CREATE INDEX IF NOT EXISTS journal_kind ON journal(kind)"),
    # Roles and settings become journaled facts (issue 11): whoever could write vault.json
    # could make themselves director. vault.json's values are imported, then ignored.
    Migration(
        3, "journaled_roles_and_settings", reshape=("roles", "settings"), imports_vault_json=True
    ),
    # Undo by correction (issue 13): a case's withdrawal mark, its corrections, and every
    # recording it ever linked (custody log, sweep), replayed from the journal.
    Migration(
        4, "case_corrections",
        reshape=("cases", "case_media", "case_corrections", "case_links_ever"),
    ),
    # Issue 14: an object is stored (BLAKE3) before it is sealed (SHA-256, SHA-512, SM3), so
    # objects.sha256 and recordings.sha256 may be null until the seal, and objects.sealed_at
    # says which are sealed.
    Migration(5, "stored_then_sealed", reshape=("objects", "recordings")),
    # Issue 14: a recording is described (metadata read, `recording.describe`) behind
    # "stored", so an object may have no recordings row for a while. No table changes shape;
    # the version says that an older zfjl, which knows no such event, must not write here.
    Migration(6, "described_after_stored"),
    # Issue 23: a bureau's templates, rule packs and document types are installed by an
    # administrator (`custom.install`, journaled with their SHA-256). The new table starts as
    # the journal says: empty for an older vault, so files already in those folders are not
    # trusted until an administrator installs them (`verify` names them).
    Migration(7, "journaled_custom_files", reshape=("custom_files",)),
    # Issue 24: the schema version moves from SQLite's PRAGMA user_version into the
    # `schema_version` table, which every backend has (the backend's set_schema_version
    # makes it). SQLite keeps user_version equal, so a release before this one, which reads
    # only that, still refuses a catalog newer than it knows.
    Migration(9, "schema_version_table"),
    # Issue 24: no JSON lookups or date functions in the catalog's SQL, so a second backend
    # runs it as it is. A case's unit becomes a column, its documents' scans a table, the
    # objects each journal row names a table (journal_refs), and recording and assignment
    # times UTC keys compared as text; all replayed from the journal.
    Migration(
        10, "portable_projections",
        reshape=("cases", "case_scans", "journal_refs", "recordings", "device_assignments"),
    ),
    # Issue 26: objects made from an original (playable proxies, redacted copies) and what
    # they were made from, replayed from `derivative.make` (none in an older vault).
    Migration(11, "derivatives", reshape=("derivatives",)),
    # Issue 25: the bureau's S3 store a vault is bound to (`store.bind`) and the objects
    # shipped there with their lock (`object.shipped`, `object.store_lock`): none in an older
    # vault, whose objects stay on its own folder.
    Migration(12, "bureau_store", reshape=("store_binding", "shipments")),
    # Issue 25: several stations write one bureau's catalog; each journal row says which
    # (NULL: the vault's own folder), hashed with the row when present (journal.row_hash).
    Migration(13, "journal_station", journal_columns=(("station", "TEXT"),)),
    # Issue 25 item 3: the sweep deletes a tombstoned object's lapsed version from the bucket
    # (`object.store_delete`, which removes its `shipments` row; a tombstone names the
    # version, `bucket_version`). No table changes shape and an older vault has no such
    # event; the version says an older zfjl, which knows neither, must not write here.
    Migration(14, "bucket_deletions"),
)

SCHEMA_VERSION = MIGRATIONS[-1].number


def catalog_version(conn: Connection) -> int:
    return backend_of(conn).schema_version(conn)


def set_catalog_version(conn: Connection, version: int) -> None:
    backend_of(conn).set_schema_version(conn, version)


def refuse_newer(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise UnsupportedVaultVersion(
            f"保管库目录结构为第 {version} 版，由更新版本的 zfjl 写入；本程序只支持到第"
            f" {SCHEMA_VERSION} 版，请升级 zfjl 后再打开（保管库未被改动）"
        )


def pending(version: int) -> list[Migration]:
    return [m for m in MIGRATIONS if m.number > version]


def apply(conn: Connection, migration: Migration) -> None:
    """One migration's change of shape; the caller holds the write transaction and replays
    the journal afterwards if any reshape asked for it."""
    if migration.sql:
        run_script(conn, migration.sql)
    have = journal_column_names(conn) if migration.journal_columns else set()
    for name, kind in migration.journal_columns:
        if name not in have:
            run_script(conn, f"ALTER TABLE journal ADD COLUMN {name} {kind}")
    if migration.reshape:
        catalog.drop_derived(conn, migration.reshape)
    catalog.create_schema(conn)


def journal_column_names(conn: Connection) -> set[str]:
    cur = conn.execute("SELECT * FROM journal LIMIT 0")
    return {d[0] for d in cur.description or ()}


def import_vault_json(
    conn: Connection, number: int, data: dict[str, Any], owner: str
) -> list[events.EventData]:
    """The facts that make the journal say what vault.json says (its settings and roles), for
    migration `number`; the derived tables hold the journal's replay already. Every event is
    marked as done by the migration. A vault without an administrator gets the owner of its
    folder as one (who else could have been administering it), so nobody is locked out."""
    via = f"第 {number} 号迁移（自 vault.json 导入）"
    out: list[events.EventData] = []
    journaled = catalog.settings_of(conn)
    wanted = {k: v for k, v in data.items() if k not in catalog.NOT_SETTINGS}
    for key in sorted(set(journaled) | set(wanted)):
        if wanted.get(key) != journaled.get(key):
            out.append(events.SettingSet(key=key, value=wanted.get(key), via=via))
    have = catalog.roles_of(conn)
    want = {u: set(r) for u, r in (data.get("roles") or {}).items()}
    for user in sorted(want):
        for role in sorted(want[user] - set(have.get(user, []))):
            out.append(events.RoleAdd(user=user, role=role, via=via))
    for user in sorted(have):
        for role in sorted(set(have[user]) - want.get(user, set())):
            out.append(events.RoleRemove(user=user, role=role, reason="vault.json 未登记", via=via))
    if not any("admin" in roles for roles in want.values()):
        out.append(events.RoleAdd(user=owner, role="admin",
                                  via=f"{via}：vault.json 未登记管理员，由保管库目录的所有者担任"))  # fmt: skip
    return out


def bring_up_to_date(conn: Connection, *, now_iso: Callable[[], str], actor: str, root: Path,
                     vault_json: dict[str, Any] | None) -> bool:  # fmt: skip
    """Bring the catalog to SCHEMA_VERSION under the write lock, journaled, in one
    transaction. A new catalog is made at the current version. Returns whether vault.json's
    roles and settings were imported (migration 3): then the caller rewrites vault.json."""
    backend = backend_of(conn)
    backend.begin_write(conn)
    imported = False
    try:
        version = catalog_version(conn)  # another process may have done it
        if not journal.has_table(conn):
            journal.create_schema(conn)
            catalog.create_schema(conn)
        elif version < SCHEMA_VERSION:
            imported = _run(conn, pending(version), now_iso, actor, root, vault_json)
        set_catalog_version(conn, max(version, SCHEMA_VERSION))
        backend.commit(conn)
    except BaseException:
        backend.rollback(conn)
        raise
    return imported


def _run(conn: Connection, todo: list[Migration], now_iso: Callable[[], str], actor: str,
         root: Path, old: dict[str, Any] | None) -> bool:  # fmt: skip
    catalog.create_schema(conn)  # tables a 0.1 catalog may lack entirely
    rebuilt: set[str] = set()
    for m in todo:
        apply(conn, m)
        rebuilt.update(m.reshape)
    if rebuilt:
        # Projections: every table is replayed whole (handlers write several tables).
        catalog.rebuild(conn)

    def append(event: events.EventData) -> None:
        ev = journal.append(conn, ts=now_iso(), actor=actor, kind=event.kind, subject=None,
                            data=event.payload())  # fmt: skip
        catalog.apply_typed(conn, ev, event)

    imported = False
    for m in todo:
        append(events.VaultMigrate(number=m.number, name=m.name, rebuilt=sorted(m.reshape)))
        if m.imports_vault_json and old is not None and old.get("version") == 1:
            # Refused, untouched, while vault.json's settings are invalid: fix, then reopen.
            try:
                VaultConfig.from_json(old, where="vault.json")
            except VaultError as exc:
                raise VaultError(
                    f"{exc.message}（旧版保管库升级前须改正 vault.json 中的这一项，"
                    "然后重新运行；保管库未被改动）"
                ) from None
            for event in import_vault_json(conn, m.number, old, owner_name(root)):
                append(event)
            imported = True
    return imported

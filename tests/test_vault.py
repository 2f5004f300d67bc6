"""The vault: layout, objects, the append-only journal, the derived catalog, verify."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest

from zfjl.errors import UnsupportedVaultVersion, VaultError, VaultNotFound
from zfjl.vault import Vault, events, resolve_vault_path
from zfjl.vault import catalog as catalog_mod
from zfjl.vault.objects import FileIdentity, ObjectStore
from zfjl.vault.verify import verify

from .conftest import edit_vault_json, write_random_files
from .doors import (
    catalog_column,
    catalog_count,
    catalog_rows,
    catalog_snapshot,
    corrupt_object,
    delete_journal_rows,
    drop_guards,
    edit_journal_row,
    forge_catalog,
    insider_sql,
    journal_count,
    journal_events,
    journal_kinds,
    object_bytes,
    object_files,
    remove_object,
)


def test_vault_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = resolve_vault_path(None)
    assert str(default).startswith(str(tmp_path / "home"))
    monkeypatch.setenv("ZFJL_VAULT", str(tmp_path / "env"))
    assert resolve_vault_path(None) == tmp_path / "env"
    assert resolve_vault_path(str(tmp_path / "opt")) == tmp_path / "opt"


def test_init_writes_versioned_layout(vault: Vault) -> None:
    cfg = json.loads((vault.root / "vault.json").read_text(encoding="utf-8"))
    assert cfg == {"format": "zfjl-vault", "version": 2, "id": vault.config.id,
                   "created_at": vault.config.created_at}  # roles and settings are journaled
    assert (vault.root / "objects").is_dir() and (vault.root / "tmp").is_dir()
    # Every objects/xx/ exists from the start: an ingest allocates an inode per file, not more.
    assert sorted(d.name for d in (vault.root / "objects").iterdir()) == [f"{i:02x}" for i in range(256)]
    assert journal_kinds(vault) == ["vault.init", "checkpoint.key"]
    key = vault.root / "keys" / "checkpoint.key"
    assert key.stat().st_mode & 0o777 == 0o400 and key.parent.stat().st_mode & 0o777 == 0o700
    with pytest.raises(VaultError, match="已有保管库"):
        Vault.create(vault.root)


def test_unknown_version_and_missing_vault_are_refused(vault: Vault, tmp_path: Path) -> None:
    edit_vault_json(vault.root, version=99)
    with pytest.raises(UnsupportedVaultVersion, match="99"):
        Vault.open(vault.root)
    with pytest.raises(VaultNotFound, match="zfjl init"):
        Vault.open(tmp_path / "nowhere")


def _store(store: ObjectStore, path: Path):  # type: ignore[no-untyped-def]
    return store.store_from_source(path, FileIdentity.of(path.stat()))


def test_objects_are_fanned_out_read_only_and_never_overwritten(
    vault: Vault, tmp_path: Path
) -> None:
    (src,) = write_random_files(tmp_path / "src", 1, 300_000)
    first = _store(vault.objects, src)
    oid = first.digests.blake3
    with vault.objects.local_path(oid) as path:  # the local store's layout
        assert path == vault.root / "objects" / oid[:2] / oid[2:]
    assert first.created and stat.S_IMODE(path.stat().st_mode) == 0o444
    assert first.digests.size == 300_000 and first.digests.sha256 == ""  # the seal adds it
    inode = path.stat().st_ino
    again = _store(vault.objects, src)
    assert not again.created and path.stat().st_ino == inode
    assert list((vault.root / "tmp").iterdir()) == []  # no temp file left behind


def test_a_vault_made_before_init_made_every_fanout_folder_still_stores(
    vault: Vault, tmp_path: Path
) -> None:
    for d in (vault.root / "objects").iterdir():
        d.rmdir()  # as `zfjl init` left a vault before it made objects/00 … objects/ff
    (src,) = write_random_files(tmp_path / "src", 1, 5_000)
    result = _store(ObjectStore(vault.root), src)
    assert result.created and vault.objects.exists(result.digests.blake3)
    assert [d.name for d in (vault.root / "objects").iterdir()] == [result.digests.blake3[:2]]


def test_store_refuses_a_file_that_changed_since_it_was_listed(
    vault: Vault, tmp_path: Path
) -> None:
    from zfjl.vault.objects import SourceChanged

    (src,) = write_random_files(tmp_path / "src", 1, 10_000)
    listed = FileIdentity.of(src.stat())
    with open(src, "ab") as f:
        f.write(b"more")
    with pytest.raises(SourceChanged):
        vault.objects.store_from_source(src, listed)
    assert list((vault.root / "tmp").iterdir()) == []
    assert not object_files(vault)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE journal SET actor = 'x' WHERE seq = 1;",
        "DELETE FROM journal WHERE seq = 1;",
        "INSERT OR REPLACE INTO journal SELECT * FROM journal WHERE seq = 1;",
        "INSERT INTO journal (seq, ts, actor, kind, data, prev_hash, hash)"
        " VALUES (99, 't', 'a', 'k', '{}', 'p', 'h');",
    ],
)
def test_journal_refuses_changes_from_a_raw_connection(vault: Vault, sql: str) -> None:
    vault.close()
    proc = insider_sql(vault.root, sql, check=False)
    assert "append-only" in proc.stderr or "in sequence" in proc.stderr
    with Vault.open(vault.root) as v:
        assert [(e.seq, e.actor) for e in journal_events(v)] == [(1, vault.actor), (2, vault.actor)]


def _two_events(vault: Vault) -> None:
    vault.record(events.IngestFileWarning(run="t", source_path="a", code="t", reason="1"), "a")
    vault.record(events.IngestFileWarning(run="t", source_path="b", code="t", reason="2"), "b")


def test_verify_names_an_edited_journal_row(vault: Vault) -> None:
    _two_events(vault)
    vault.close()
    drop_guards(vault.root, "journal_no_update")
    edit_journal_row(vault.root, 3, data='{"n":7}')
    report = verify(Vault.open(vault.root))
    codes = {(f.code, f.subject) for f in report.findings}
    assert ("row_changed", "日志 #3") in codes
    # Opening the vault put the trigger back and journaled that it had been removed.
    assert ("guards_were_removed", "日志 #5") in codes
    assert report.ok is False


def test_verify_names_a_rehashed_row_by_the_broken_link_after_it(vault: Vault) -> None:
    from zfjl.vault.journal import row_hash

    _two_events(vault)
    row = journal_events(vault)[1]
    forged = row_hash(row.prev_hash, row.seq, row.ts, row.actor, row.kind, row.subject, '{"n":9}')
    vault.close()
    drop_guards(vault.root, "journal_no_update")
    edit_journal_row(vault.root, 2, data='{"n":9}', hash=forged)
    report = verify(Vault.open(vault.root))
    assert ("chain_broken", "日志 #3") in {(f.code, f.subject) for f in report.findings}


def test_verify_names_a_deleted_journal_row(vault: Vault) -> None:
    _two_events(vault)
    vault.close()
    drop_guards(vault.root, "journal_no_delete")
    delete_journal_rows(vault.root, 2)
    report = verify(Vault.open(vault.root))
    codes = {f.code for f in report.findings}
    assert {"row_missing", "chain_broken"} <= codes


def test_catalog_is_derived_and_rebuilds_identically(vault: Vault, dump: Path, run_ingest) -> None:  # type: ignore[no-untyped-def]
    run_ingest(dump)
    run_ingest(dump)
    before = catalog_snapshot(vault)
    assert before["recordings"] and before["sightings"]
    replayed = vault.rebuild_catalog()
    assert replayed == journal_count(vault)
    assert catalog_snapshot(vault) == before


def test_verify_reports_an_edited_catalog_row(vault: Vault, dump: Path, run_ingest) -> None:  # type: ignore[no-untyped-def]
    run_ingest(dump)
    forge_catalog(vault.root, "UPDATE recordings SET device = 'FORGED' WHERE device = 'DSJ02'")
    assert "FORGED" in catalog_column(vault, "recordings", "device")
    report = verify(vault)
    assert any(
        f.code == "catalog_drift" and f.subject.startswith("recordings:") for f in report.findings
    )
    assert not report.ok


def test_verify_passes_then_names_a_damaged_object_and_keeps_it(
    vault: Vault, dump: Path, run_ingest
) -> None:  # type: ignore[no-untyped-def]
    run_ingest(dump)
    assert verify(vault).ok
    oid = catalog_column(vault, "recordings", "id", kind="video")[0]
    corrupt_object(vault, oid)
    data = object_bytes(vault, oid)
    report = verify(vault)
    damaged = [f for f in report.findings if f.code == "digest_mismatch"]
    assert [f.subject for f in damaged] == [oid]
    assert object_bytes(vault, oid) == data  # reported, never moved or deleted
    sha_report = verify(vault, sha256=True)
    assert {f.code for f in sha_report.findings} >= {"digest_mismatch", "sha256_mismatch"}


def test_verify_reports_a_missing_object(vault: Vault, dump: Path, run_ingest) -> None:  # type: ignore[no-untyped-def]
    run_ingest(dump)
    oid = catalog_column(vault, "objects", "id")[0]
    remove_object(vault, oid)
    report = verify(vault, read_data=False)
    assert [(f.code, f.subject) for f in report.findings] == [("object_missing", oid)]
    assert report.bytes_read == 0


def test_verify_subset_reads_a_slice_and_the_slices_cover_everything(
    vault: Vault, dump: Path, run_ingest
) -> None:  # type: ignore[no-untyped-def]
    run_ingest(dump)
    total = catalog_count(vault, "objects")
    counts = [verify(vault, subset=f"{n}/3").objects_checked for n in (1, 2, 3)]
    assert sum(counts) == total and max(counts) < total
    from zfjl.errors import UsageError

    with pytest.raises(UsageError):
        verify(vault, subset="4/3")


def test_verify_is_journaled(vault: Vault) -> None:
    verify(vault)
    assert journal_kinds(vault)[-1] == "vault.verify"


def _failed_file(n: int) -> events.IngestFileFailed:
    return events.IngestFileFailed(run="r", source_path=f"f{n}", code="vanished", reason="x")


def test_writers_in_one_process_queue_before_sqlite(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second writer of the same vault (another camera's thread, its own connection) waits
    for the first on the process's queue, never in SQLite's polling busy handler."""
    order: list[str] = []
    begin = Vault._begin_immediate

    def noted(self: Vault, conn: sqlite3.Connection | None = None) -> None:
        order.append(f"begin {threading.current_thread().name}")
        begin(self, conn)

    monkeypatch.setattr(Vault, "_begin_immediate", noted)
    inside = threading.Event()

    def second() -> None:
        inside.wait(10)
        with Vault.open(vault.root) as other, other.writing() as w:
            w.append(_failed_file(2), "run:r")

    thread = threading.Thread(target=second, name="B")
    thread.start()
    with vault.writing() as w:
        w.append(_failed_file(1), "run:r")
        inside.set()
        time.sleep(0.3)  # B is now waiting: on the queue, not inside BEGIN IMMEDIATE
        order.append("commit A")
    thread.join(10)
    assert order == [f"begin {threading.current_thread().name}", "commit A", "begin B"]
    assert journal_count(vault, events.IngestFileFailed) == 2


def test_a_forked_child_writes_though_a_parent_thread_held_the_queue(vault: Vault) -> None:
    """The service forks a child per request: a writer lock another thread held at the fork
    must not stay held in the child."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with Vault.open(vault.root) as other, other.writing() as w:
            w.append(_failed_file(1), "run:r")
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(10)
    pid = os.fork()
    if pid == 0:  # the child: the parent's writer is not running here
        code = 1
        try:
            signal.alarm(20)
            with Vault.open(vault.root) as child:  # SQLite's lock stays the parent's: ours only
                code = 0 if child._writers().acquire(timeout=5) else 2
        finally:
            os._exit(code)
    release.set()
    thread.join(10)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_a_first_write_that_restores_dropped_guards_does_not_wait_on_itself(
    vault: Vault,
) -> None:
    """The first connection puts back journal triggers someone dropped and journals that:
    a write of its own, made before the writing() that opened the connection queues."""
    root = vault.root
    vault.close()
    drop_guards(root, "journal_no_update")
    started = time.monotonic()
    with vault.writing() as w:
        w.append(_failed_file(1), "run:r")
    assert time.monotonic() - started < 5
    assert journal_kinds(vault)[-2:] == [events.VaultGuardsRestored.kind, events.IngestFileFailed.kind]


def test_appenders_in_several_processes_take_each_seq_once(vault: Vault) -> None:
    """The journal's single append takes the next seq (last + 1) under the ordering the
    backend provides (SQLite: the write lock): writers in two processes, each with its own
    queue, interleave without a gap, a duplicate or a broken link."""
    root = vault.root
    vault.close()
    pids = []
    for n in range(2):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            code = 0
            try:
                with Vault.open(root) as v:
                    for i in range(40):
                        v.record(_failed_file(n * 100 + i), "run:r")
            except BaseException:
                code = 1
            os._exit(code)
        pids.append(pid)
    for pid in pids:
        assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    with Vault.open(root) as v:
        seqs = [e.seq for e in journal_events(v)]
        assert seqs == list(range(1, len(seqs) + 1))
        paths = {r["source_path"] for r in catalog_rows(v, "failures")}
        assert len(paths) == 80
        assert verify(v, read_data=False).ok


def test_a_journal_append_outside_a_write_transaction_is_refused(vault: Vault) -> None:
    """Outside `writing()` nothing orders appenders: the last row read could be another
    writer's next one. The backend refuses rather than risk a seq taken twice."""
    from zfjl.vault.journal import append

    before = journal_count(vault)
    with pytest.raises(RuntimeError, match="outside a write transaction"):
        append(vault.conn, ts=vault.now_iso(), actor="x", kind="ingest.file_failed", subject=None,
               data={})  # fmt: skip
    assert journal_count(vault) == before


def test_the_catalog_sql_outside_the_backend_is_portable() -> None:
    """SQLite-only SQL lives in the backend (sqlite_backend.py) alone: journal, catalog,
    migrations and the catalog's questions (queries/*.py) are what a second backend runs as
    they are: no JSON functions, no date functions (catalog migration 10 made them columns)."""
    import ast
    import re

    from zfjl.vault import journal, migrations, queries

    sqlite_only = re.compile(
        r"INSERT OR|PRAGMA|sqlite_master|BEGIN IMMEDIATE|RAISE\(|WHERE 1\b(?!\s*=)|json_extract"
        r"|julianday|json_each|json_tree|\bjson\w*\(|\bdate\(|datetime\(|strftime\("
        r"|\bMAX\([^()]*,", re.IGNORECASE,
    )  # fmt: skip
    files = [Path(str(m.__file__)) for m in (journal, catalog_mod, migrations)]
    files += sorted(Path(str(queries.__file__)).parent.glob("*.py"))
    assert len(files) > 10
    every: list[str] = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef)
                and n.body and isinstance(n.body[0], ast.Expr)}  # fmt: skip
        strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                   and isinstance(n.value, str) and id(n) not in docs]  # fmt: skip
        found = [s for s in strings if sqlite_only.search(s)]
        assert found == [], (path.name, found)
        every += strings
    assert sum("INSERT INTO" in s for s in every) >= 5  # the SQL is in these literals


def test_a_replacing_insert_replaces_and_an_ignoring_one_keeps_the_first(vault: Vault) -> None:
    """`ON CONFLICT … DO UPDATE` replaces the row (every column given), `DO NOTHING` keeps the
    first, and a plain insert of a present key still fails."""
    conn = vault.conn
    with vault.writing():
        catalog_mod._insert(conn, "calendar_years", {"year": 2031, "notice": "a", "seq": 1})
        catalog_mod._insert(conn, "calendar_years", {"year": 2031, "notice": "b", "seq": 2},
                            "replace")  # fmt: skip
        catalog_mod._insert(conn, "calendar_years", {"year": 2031, "notice": "c", "seq": 3},
                            "ignore")  # fmt: skip
        with pytest.raises(sqlite3.IntegrityError):
            catalog_mod._insert(conn, "calendar_years", {"year": 2031, "notice": "d", "seq": 4})
        rows = conn.execute("SELECT year, notice, seq FROM calendar_years WHERE year = 2031")
        assert rows.fetchall() == [(2031, "b", 2)]
        catalog_mod._insert(conn, "custom_files", {"kind": "rules", "name": "x", "sha256": "1",
            "size": 1, "approval": "A", "installed_at": "t", "installed_by": "u", "seq": 5})  # fmt: skip
        catalog_mod._insert(conn, "custom_files", {"kind": "rules", "name": "x", "sha256": "2",
            "size": 2, "approval": "B", "installed_at": "t2", "installed_by": "v", "seq": 6},
            "replace")  # fmt: skip
        assert conn.execute("SELECT sha256, size, approval, seq FROM custom_files").fetchall() == [
            ("2", 2, "B", 6)]  # fmt: skip

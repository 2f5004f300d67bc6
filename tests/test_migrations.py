"""Catalog versions and migrations: a vault of the previous format opens, upgrades under the
write lock, journaled, with nothing lost; a newer one is refused; a new column in a derived
table is one migration."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from zfjl.access import add_grant, list_grants
from zfjl.cases.store import get_case, list_cases
from zfjl.devices import add_device, assign, get_device
from zfjl.errors import UnsupportedVaultVersion, VaultError
from zfjl.retention import sweep
from zfjl.vault import Vault, catalog, events, migrations
from zfjl.vault.verify import verify

from .conftest import (
    CASE_CLOCK,
    copy_vault,
    edit_vault_json,
    fixed_clock,
    set_roles,
    zfjl_cli,
    zfjl_run,
)

LEGACY_SCHEMA = Path(__file__).parent / "legacy" / "catalog-0.1.sql"


def _facts(v: Vault) -> dict[str, list[object]]:
    """What a clerk finds: every recording, case, grant and device."""
    q = v.conn.execute
    return {
        "recordings": q("SELECT id, sha256, device, recorded_at FROM recordings ORDER BY id").fetchall(),
        "cases": sorted((c["id"], c["status"]) for c in list_cases(v)),
        "grants": [(g["id"], g["user"], g["scope"]) for g in list_grants(v, include_inactive=True)],
        "devices": q("SELECT id, status FROM devices ORDER BY id").fetchall(),
        "journal": q("SELECT seq, hash FROM journal ORDER BY seq").fetchall(),
    }


def _downgrade_to_0_1(root: Path) -> None:
    """Rewrite catalog.db as zfjl 0.1 wrote it: its frozen schema, the same journal rows and
    derived rows, and no schema version."""
    db = root / "catalog.db"
    old = root / "catalog-0.1.db"
    conn = sqlite3.connect(old)
    conn.executescript(LEGACY_SCHEMA.read_text(encoding="utf-8"))
    conn.execute("ATTACH DATABASE ? AS cur", (str(db),))
    tables = [r[0] for r in conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")]
    for table in tables:
        cols = ", ".join(r[1] for r in conn.execute(f"PRAGMA main.table_info({table})"))
        conn.execute(f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM cur.{table}")
    conn.commit()
    conn.execute("DETACH DATABASE cur")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    old.rename(db)


@pytest.fixture
def legacy_vault(sample_cases_vault: Vault) -> tuple[Path, dict[str, list[object]]]:
    """A vault with footage, the three sample cases, a grant and a device, in 0.1's format."""
    v = sample_cases_vault
    add_grant(v, "clerk1", "CASE-2024-045", scope="copy", approved_by="局长", approval_no="批-1",
              until="2099-12-31")  # fmt: skip
    add_device(v, "DSJ09", model="X1", serial="S9", unit="天元大队", assigned_to="012345",
               since="2024-01-01")  # fmt: skip
    facts = _facts(v)
    v.close()
    _downgrade_to_0_1(v.root)
    return v.root, facts


def test_a_0_1_vault_opens_upgrades_journaled_and_loses_nothing(
    legacy_vault: tuple[Path, dict[str, list[object]]],
) -> None:
    root, before = legacy_vault
    with Vault.open(root) as v:
        after = _facts(v)
        migrated = v.conn.execute(
            "SELECT seq, actor, data FROM journal WHERE kind = 'vault.migrate' ORDER BY seq"
        ).fetchall()
        version = v.conn.execute("PRAGMA user_version").fetchone()[0]
        indexes = {r[0] for r in v.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        report = verify(v, read_data=False)
    assert version == migrations.SCHEMA_VERSION
    numbers = [m.number for m in migrations.MIGRATIONS]
    # Strictly increasing (wt-seal's migration is 5 while 4 is another branch's; the lead
    # renumbers at merge, and then this is range(1, n + 1) again).
    assert numbers == sorted(set(numbers)) and numbers[0] == 1
    assert len(migrated) == len(migrations.MIGRATIONS)
    assert all(actor == v.actor for _, actor, _ in migrated)
    assert "journal_kind" in indexes
    # The journal is only appended to: every earlier row is there unchanged.
    assert after["journal"][: len(before["journal"])] == before["journal"]
    for key in ("recordings", "cases", "grants", "devices"):
        assert after[key] == before[key] and after[key], key
    assert report.ok, [f.as_dict() for f in report.findings]


def test_the_upgraded_catalog_has_exactly_the_current_shape(
    legacy_vault: tuple[Path, dict[str, list[object]]], tmp_path: Path
) -> None:
    """A schema change without its migration fails here, not on a bureau's vault."""
    root, _ = legacy_vault
    Vault.open(root).conn.close()
    fresh = Vault.create(tmp_path / "fresh")

    def shape(db: Path) -> set[tuple[str, str]]:
        conn = sqlite3.connect(db)
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
        conn.close()
        return {(n, " ".join(s.split())) for n, s in rows}

    fresh.close()
    assert shape(root / "catalog.db") == shape(fresh.root / "catalog.db")


def test_a_second_open_does_not_migrate_again(legacy_vault: tuple[Path, dict[str, list[object]]]) -> None:
    root, _ = legacy_vault
    for _ in range(2):
        Vault.open(root).close()
        with Vault.open(root) as v:
            count = v.conn.execute("SELECT COUNT(*) FROM journal WHERE kind = 'vault.migrate'").fetchone()[0]
    assert count == len(migrations.MIGRATIONS)


def test_two_processes_opening_an_old_vault_migrate_it_once(
    legacy_vault: tuple[Path, dict[str, list[object]]],
) -> None:
    root, _ = legacy_vault
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            with Vault.open(root) as v:
                v.conn.execute("SELECT 1")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with Vault.open(root) as v:
        count = v.conn.execute("SELECT COUNT(*) FROM journal WHERE kind = 'vault.migrate'").fetchone()[0]
    assert count == len(migrations.MIGRATIONS)


def test_a_failing_migration_leaves_the_old_version_and_no_trace(
    legacy_vault: tuple[Path, dict[str, list[object]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, before = legacy_vault
    broken = (*migrations.MIGRATIONS, migrations.Migration(99, "broken", sql="CREATE TABLE journal (x)"))
    monkeypatch.setattr(migrations, "MIGRATIONS", broken)
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", 99)
    with pytest.raises(sqlite3.OperationalError):
        Vault.open(root).conn  # noqa: B018
    monkeypatch.undo()
    conn = sqlite3.connect(root / "catalog.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert conn.execute("SELECT seq, hash FROM journal ORDER BY seq").fetchall() == before["journal"]
    conn.close()
    with Vault.open(root) as v:  # the next open by a good program finishes the job
        assert _facts(v)["recordings"] == before["recordings"]


def test_a_new_column_in_a_derived_table_is_one_migration(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_device(vault, "DSJ01", model="X1", serial="S1", unit="天元大队", assigned_to=None,
               since="2024-01-01")  # fmt: skip
    vault.close()
    # What a maintainer writes: the column in DERIVED_SCHEMA, and one Migration line.
    schema = catalog.DERIVED_SCHEMA.replace(
        "CREATE TABLE IF NOT EXISTS devices (\n    id TEXT PRIMARY KEY,",
        "CREATE TABLE IF NOT EXISTS devices (\n    id TEXT PRIMARY KEY,\n    vendor TEXT,",
    )
    assert schema != catalog.DERIVED_SCHEMA
    number = migrations.SCHEMA_VERSION + 1
    monkeypatch.setattr(catalog, "DERIVED_SCHEMA", schema)
    monkeypatch.setattr(
        migrations,
        "MIGRATIONS",
        (*migrations.MIGRATIONS, migrations.Migration(number, "devices_vendor", reshape=("devices",))),
    )
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", number)
    with Vault.open(vault.root) as v:
        cols = [r[1] for r in v.conn.execute("PRAGMA table_info(devices)")]
        assert "vendor" in cols
        assert get_device(v, "DSJ01")["model"] == "X1"  # replayed from the journal
        add_device(v, "DSJ02", model=None, serial=None, unit=None, assigned_to=None)  # the command that failed in the issue
        last = v.conn.execute(
            "SELECT data FROM journal WHERE kind = 'vault.migrate' ORDER BY seq DESC LIMIT 1"
        ).fetchone()[0]
    assert '"devices_vendor"' in last and '"rebuilt":["devices"]' in last


def _as_previous_format(root: Path, version: int) -> None:
    """catalog.db as releases before migration 9 recorded their version: user_version only."""
    conn = sqlite3.connect(root / "catalog.db")
    conn.executescript(f"DROP TABLE schema_version; PRAGMA user_version = {int(version)};")
    conn.close()


@pytest.mark.parametrize("where", ["table", "user_version"])
def test_a_catalog_of_a_newer_version_is_refused_untouched(vault: Vault, where: str) -> None:
    vault.close()
    conn = sqlite3.connect(vault.root / "catalog.db")
    newer = migrations.SCHEMA_VERSION + 1
    if where == "table":
        conn.execute("UPDATE schema_version SET version = ?", (newer,))
        conn.commit()
    else:  # a catalog written before the table, by a newer program of that time
        conn.executescript(f"DROP TABLE schema_version; PRAGMA user_version = {newer};")
    rows = conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
    conn.close()
    with pytest.raises(UnsupportedVaultVersion, match="升级 zfjl"):
        Vault.open(vault.root).conn  # noqa: B018
    proc = zfjl_cli("--vault", str(vault.root), "ls")
    assert proc.returncode == 3 and "更新版本的 zfjl" in proc.stderr and "Traceback" not in proc.stderr
    conn = sqlite3.connect(vault.root / "catalog.db")
    assert conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == rows
    conn.close()


@pytest.mark.parametrize(
    ("version", "says"),
    [(4, "更新版本的 zfjl"), (0, "早于本程序支持"), ("1", "应为整数"), (None, "应为整数")],
)
def test_vault_json_format_versions_outside_the_supported_range(
    vault: Vault, version: object, says: str
) -> None:
    vault.close()
    edit_vault_json(vault.root, version=version)
    with pytest.raises(UnsupportedVaultVersion, match=says):
        Vault.open(vault.root)


def test_rebuild_restores_the_declared_shape_of_a_tampered_table(vault: Vault) -> None:
    add_device(vault, "DSJ01", model=None, serial=None, unit=None, assigned_to=None)
    vault.conn.execute("ALTER TABLE devices ADD COLUMN junk TEXT")
    vault.conn.execute("DROP TABLE holds")
    vault.rebuild_catalog()
    assert "junk" not in [r[1] for r in vault.conn.execute("PRAGMA table_info(devices)")]
    assert vault.conn.execute("SELECT COUNT(*) FROM holds").fetchone()[0] == 0
    assert get_device(vault, "DSJ01")["status"] == "active"


def test_rebuild_names_a_journal_row_that_does_not_fit_its_declaration(vault: Vault) -> None:
    from zfjl.vault.journal import append

    with vault.writing():  # what a forger with the sqlite3 shell can do: a well-chained row
        append(vault.conn, ts=vault.now_iso(), actor="x", kind="hold.plac", subject=None, data={})
    with pytest.raises(VaultError, match=r"第 3 条（hold\.plac）"):
        vault.rebuild_catalog()


def test_a_copy_of_a_vault_is_a_folder(vault: Vault, tmp_path: Path) -> None:
    """The migration state lives in catalog.db: a copied vault opens at the same version."""
    vault.close()
    copy = tmp_path / "copy"
    shutil.copytree(vault.root, copy)
    with Vault.open(copy) as v:
        assert migrations.catalog_version(v.conn) == migrations.SCHEMA_VERSION
        assert v.conn.execute("SELECT version FROM schema_version").fetchall() == [
            (migrations.SCHEMA_VERSION,)]  # fmt: skip


# -- migration 9 (issue 24): the schema version in a table -------------------------------------
def test_a_vault_of_the_previous_format_moves_its_version_into_a_table(vault: Vault) -> None:
    """A catalog of version 7 (user_version, no table) opens, journals migration 9 and keeps
    its rows; the version is then the table's, and user_version stays equal so that a
    release before migration 9 (which reads only user_version) refuses it."""
    journal = vault.conn.execute("SELECT seq, hash FROM journal ORDER BY seq").fetchall()
    vault.close()
    _as_previous_format(vault.root, 7)
    with Vault.open(vault.root) as v:
        assert v.conn.execute("SELECT version FROM schema_version").fetchall() == [
            (migrations.SCHEMA_VERSION,)]  # fmt: skip
        assert migrations.SCHEMA_VERSION >= 9
        assert v.conn.execute("PRAGMA user_version").fetchone()[0] == migrations.SCHEMA_VERSION
        rows = v.conn.execute("SELECT seq, hash FROM journal ORDER BY seq").fetchall()
        assert rows[: len(journal)] == journal
        applied = [json.loads(r[0])["name"] for r in v.conn.execute(
            "SELECT data FROM journal WHERE kind = 'vault.migrate' AND seq > ?", (journal[-1][0],))]  # fmt: skip
        assert applied[0] == "schema_version_table"
        assert verify(v, read_data=False).ok
        count = v.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
    with Vault.open(vault.root) as v:  # once
        assert v.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == count


def test_rebuild_is_for_administrators_only(vault: Vault) -> None:
    from zfjl.errors import NotPermitted

    set_roles(vault, "clerk")
    with pytest.raises(NotPermitted, match="重建目录"):
        vault.rebuild_catalog()


# -- migration 4 (issue 13): a vault of catalog version 3 ---------------------------------------
def _downgrade_to_3(root: Path) -> None:
    """catalog.db as catalog version 3 left it: no withdrawal column, no corrections, no
    record of links ever made."""
    conn = sqlite3.connect(root / "catalog.db")
    conn.executescript(
        "ALTER TABLE cases DROP COLUMN withdrawn_seq; DROP TABLE case_corrections;"
        " DROP TABLE case_links_ever; DROP TABLE schema_version; PRAGMA user_version = 3;"
    )
    conn.close()


def test_a_version_3_vault_migrates_to_4_with_links_of_earlier_imports(
    tmp_path: Path, sample_cases_template: Path
) -> None:
    root = copy_vault(sample_cases_template, tmp_path / "vault")
    with Vault.open(root, clock=fixed_clock(CASE_CLOCK)) as v:
        case = get_case(v, "CASE-2024-052")
        dropped = case["media"][0]["recording"]
        # What version 3 journaled: a re-import that silently dropped a link.
        thinner = {**case, "media": case["media"][1:]}
        v.record(events.CaseImport(case=thinner), "case:CASE-2024-052")
        facts = {c["id"]: c["status"] for c in list_cases(v)}
        journal = v.conn.execute("SELECT seq, hash FROM journal ORDER BY seq").fetchall()
    _downgrade_to_3(root)
    with Vault.open(root, clock=fixed_clock(CASE_CLOCK)) as v:
        assert migrations.catalog_version(v.conn) == migrations.SCHEMA_VERSION >= 4
        applied = [(m["number"], m["name"]) for m in (json.loads(r[0]) for r in v.conn.execute(
            "SELECT data FROM journal WHERE kind = 'vault.migrate' AND seq > ? ORDER BY seq",
            (journal[-1][0],)))]  # fmt: skip
        assert applied[0] == (4, "case_corrections")
        assert v.conn.execute("SELECT seq, hash FROM journal ORDER BY seq").fetchall()[
            : len(journal)] == journal  # fmt: skip
        assert {c["id"]: c["status"] for c in list_cases(v)} == facts
        ever = {r[0] for r in v.conn.execute(
            "SELECT recording_id FROM case_links_ever WHERE case_id = 'CASE-2024-052'")}  # fmt: skip
        assert dropped in ever
        assert {i.id: i.cls for i in sweep.classify(v, v.now(), [dropped])}[dropped] == "case"
        assert verify(v, read_data=False).ok
    proc = zfjl_run("--vault", str(root), "log", dropped, "--json")
    assert proc.returncode == 0, proc.stderr
    log = json.loads(proc.stdout)
    assert "case:CASE-2024-052" in {e["subject"] for e in log["entries"]}


# -- migration 7 (issue 23): a vault of catalog version 6 ---------------------------------------
def test_a_version_6_vault_trusts_none_of_its_templates_rules_or_doctypes_files(
    vault: Vault, tmp_path: Path
) -> None:
    """Files a bureau put in templates/, rules/ and doctypes/ before installs were journaled:
    after migration 7 none is loaded (nothing vouches for its bytes), verify names each, and
    the administrator's install of one (same bytes, in place) makes it loaded again."""
    from zfjl.checklists import vault_rules
    from zfjl.vault.custom import UntrustedFileWarning, install

    journal = vault.conn.execute("SELECT seq, hash FROM journal ORDER BY seq").fetchall()
    vault.close()
    conn = sqlite3.connect(vault.root / "catalog.db")
    conn.executescript(
        "DROP TABLE custom_files; DROP TABLE schema_version; PRAGMA user_version = 6;"
    )
    conn.close()
    files = {"templates/询问笔录.typ.j2": "{{ case }}", "doctypes/local.yaml": "调查取证:\n  - 现场勘验图\n",
             "rules/local.yaml": "pack: 本局\nrules:\n  - {id: R37-stored-in-time, disabled: true}\n"}  # fmt: skip
    for name, text in files.items():
        (vault.root / name).parent.mkdir(exist_ok=True)
        (vault.root / name).write_text(text, encoding="utf-8")
    with Vault.open(vault.root) as v:
        assert migrations.catalog_version(v.conn) == migrations.SCHEMA_VERSION >= 7
        assert v.conn.execute("SELECT seq, hash FROM journal ORDER BY seq").fetchall()[
            : len(journal)] == journal  # fmt: skip
        applied = [json.loads(r[0])["name"] for r in v.conn.execute(
            "SELECT data FROM journal WHERE kind = 'vault.migrate' AND seq > ?", (journal[-1][0],))]  # fmt: skip
        assert applied[0] == "journaled_custom_files"
        report = verify(v, read_data=False)
        assert {f.subject: f.code for f in report.findings} == dict.fromkeys(
            files, "custom_unapproved")  # fmt: skip
        with pytest.warns(UntrustedFileWarning, match="rules/local.yaml"):
            assert "R37-stored-in-time" in {r.id for r in vault_rules(v)}
        install(v, "rules", v.root / "rules" / "local.yaml", approval="局批〔2024〕9号")
        assert "R37-stored-in-time" not in {r.id for r in vault_rules(v)}


# -- migration 10 (issue 24): JSON lookups and date math become projections ---------------------
_OLD_SCANS = (
    "SELECT c.id, json_extract(d.value, '$.scan') FROM cases c, json_each(c.data, '$.documents') d"
    " WHERE json_extract(d.value, '$.scan') IS NOT NULL ORDER BY 1, 2"
)
_OLD_REFS = (
    "SELECT j.seq, j.subject, j.kind, t.key, t.value FROM journal j, json_tree(j.data) t"
    " WHERE t.key IN ('recording', 'scan') AND t.type = 'text' AND (j.subject LIKE 'case:%'"
    " OR j.kind IN ('case.open', 'case.import', 'case.document', 'case.document_replace',"
    " 'case.document_withdraw')) ORDER BY 1, 2, 3, 4, 5"
)
# For each recording and assignment of its device: (julianday) since <= at, at < until.
_OLD_SPANS = (
    "SELECT r.id, a.seq, julianday(a.since) <= julianday(COALESCE(r.recorded_at, r.ingested_at)),"
    " a.until IS NULL OR julianday(COALESCE(r.recorded_at, r.ingested_at)) < julianday(a.until)"
    " FROM recordings r, device_assignments a ORDER BY 1, 2"
)
_NEW_SPANS = (
    "SELECT r.id, a.seq, a.since_utc <= r.at_utc, a.until IS NULL OR r.at_utc < a.until_utc"
    " FROM recordings r, device_assignments a ORDER BY 1, 2"
)


def _as_version_9(root: Path) -> None:
    """catalog.db as migration 9 left it: no unit, scan, ref or UTC-key projections."""
    conn = sqlite3.connect(root / "catalog.db")
    conn.executescript(
        "DROP TABLE case_scans; DROP TABLE journal_refs; ALTER TABLE cases DROP COLUMN unit;"
        " ALTER TABLE recordings DROP COLUMN at_utc;"
        " ALTER TABLE device_assignments DROP COLUMN since_utc;"
        " ALTER TABLE device_assignments DROP COLUMN until_utc;"
        " UPDATE schema_version SET version = 9; PRAGMA user_version = 9;"
    )
    conn.close()


def test_a_version_9_vault_gets_its_portable_projections_with_the_same_answers(
    sample_cases_vault: Vault,
) -> None:
    """Migration 10 replays the case units, document scans, the objects journal rows name and
    the UTC keys of recording and assignment times; every one answers what SQLite's
    json_extract/json_each/json_tree/julianday answered, and the catalog's questions built on
    them (sweep's evidence, a case's reliance, units, officers) answer as before."""
    from zfjl.vault.queries import access, cases, reports
    from zfjl.vault.query import RecordingFilter, list_recordings

    v = sample_cases_vault
    # A recording one case links and another names as a document's scan.
    oid, linking = v.conn.execute(
        "SELECT recording_id, MIN(case_id) FROM case_links_ever GROUP BY recording_id"
        " HAVING COUNT(*) = 1 ORDER BY 1").fetchone()  # fmt: skip
    target = next(c["id"] for c in sorted(list_cases(v), key=lambda c: c["id"])
                  if c["id"] != linking and get_case(v, c["id"])["documents"])  # fmt: skip
    doc = {**get_case(v, target)["documents"][0], "id": "D-SCAN", "scan": oid}
    v.record(events.CaseDocument(case=target, document=doc), f"case:{target}")
    device = v.conn.execute("SELECT device FROM recordings WHERE device IS NOT NULL").fetchone()[0]
    add_device(v, device, model="X1", serial="S9", unit="天元大队", assigned_to="000001",
               since="2024-01-01T00:00:00+08:00")  # fmt: skip

    middle = v.conn.execute(  # reassigned at the very moment of one of its recordings
        "SELECT recorded_at FROM recordings WHERE device = ? AND recorded_at IS NOT NULL"
        " ORDER BY recorded_at", (device,)).fetchall()  # fmt: skip
    assign(v, device, "000002", since=middle[len(middle) // 2][0])

    def answers(x: Vault) -> dict[str, object]:
        last = x.conn.execute("SELECT MAX(seq) FROM journal").fetchone()[0]
        return {
            "evidence": cases.evidence_objects(x),
            "relying": [c["case"] for c in cases.cases_relying_on(x, oid)],
            "before": access.case_relied_on_before(x, target, oid, last + 1),
            "units": reports.unit_names(x),
            "opened": [(c["id"], c["unit"]) for c in reports.cases_opened(x, "2000-01-01", "2100-01-01")],
            "officers": [(r["id"], r["officer"], r["officer_source"])
                         for r in list_recordings(x, RecordingFilter(include_destroyed=True))],
        }  # fmt: skip

    before = answers(v)
    assert oid in before["evidence"] and before["relying"] == sorted([linking, target])
    assert before["before"]
    assert {"天元大队", "审批科", "芦淞大队一中队"} <= before["units"]  # type: ignore[operator]
    journal = v.conn.execute("SELECT seq, hash FROM journal ORDER BY seq").fetchall()
    v.close()
    _as_version_9(v.root)
    with Vault.open(v.root, clock=fixed_clock(CASE_CLOCK)) as w:
        assert migrations.catalog_version(w.conn) == migrations.SCHEMA_VERSION >= 10
        assert w.conn.execute("SELECT seq, hash FROM journal ORDER BY seq").fetchall()[
            : len(journal)] == journal  # fmt: skip
        applied = [json.loads(r[0])["name"] for r in w.conn.execute(
            "SELECT data FROM journal WHERE kind = 'vault.migrate' AND seq > ?", (journal[-1][0],))]  # fmt: skip
        assert applied[0] == "portable_projections"
        q = w.conn.execute
        assert q("SELECT id, unit FROM cases ORDER BY id").fetchall() == q(
            "SELECT id, json_extract(data, '$.unit') FROM cases ORDER BY id").fetchall()
        assert q("SELECT case_id, object_id FROM case_scans ORDER BY 1, 2").fetchall() == q(
            _OLD_SCANS).fetchall() == [(target, oid)]
        assert q("SELECT * FROM journal_refs ORDER BY 1, 2, 3, 4, 5").fetchall() == q(
            _OLD_REFS).fetchall()
        spans = q(_NEW_SPANS).fetchall()
        assert spans == q(_OLD_SPANS).fetchall() and {s[3] for s in spans} == {0, 1}
        assert answers(w) == before
        assert "assignment" in {s for *_, s in before["officers"]}  # type: ignore[attr-defined]
        assert verify(w, read_data=False).ok

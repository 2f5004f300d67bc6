"""Roles and settings are journaled facts (issue 11, point 3): changed by `zfjl role` and
`zfjl config` (administrators only, with an approval number where the regulation asks for
one), read from the catalog; vault.json keeps only what opens the vault, and a hand edit of it
changes nothing, is journaled and undone, and `verify` names the key. `rebuild` never makes a
shortened journal pass. A vault of the previous format imports its vault.json once."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from zfjl.access import list_grants
from zfjl.errors import JournalInconsistent, NotPermitted, UsageError, VaultError
from zfjl.vault import Vault, events, migrations
from zfjl.vault.settings import add_role, get_setting, list_roles, remove_role, set_setting
from zfjl.vault.verify import verify

from .conftest import edit_vault_json, set_roles, zfjl_run
from .doors import (
    catalog_count,
    forge_event,
    journal_count,
    journal_events,
    journal_links,
    rechain,
    schema_version,
)
from .test_proof import _signed_vault

LEGACY = Path(__file__).parent / "legacy" / "vault-format-1"
APPROVAL = "局批〔2024〕8号"


def _kinds(v: Vault, kind: str) -> list[dict[str, object]]:
    return [e.data for e in journal_events(v, kind)]


def _vault_json(root: Path) -> dict[str, object]:
    return json.loads((root / "vault.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# -- a new vault --------------------------------------------------------------------------------
def test_a_new_vault_journals_its_creator_as_admin_and_vault_json_keeps_only_its_identity(
    vault: Vault,
) -> None:
    assert set(_vault_json(vault.root)) == {"format", "version", "id", "created_at"}
    (init,) = _kinds(vault, "vault.init")
    assert init["roles"] == {vault.actor: ["admin"]}
    assert [(r["user"], r["role"], r["via"]) for r in list_roles(vault)] == [
        (vault.actor, "admin", "zfjl init")
    ]
    assert vault.roles_of(vault.actor) == {"admin"} and vault.config.roles_of(vault.actor) == {
        "admin"
    }


# -- roles --------------------------------------------------------------------------------------
def test_role_commands_journal_each_change_and_ask_for_an_approval_where_due(vault: Vault) -> None:
    root = str(vault.root)
    vault.close()
    refused = zfjl_run("--vault", root, "role", "add", "lisi", "legal")
    assert refused.returncode == 2 and "审批编号" in refused.stderr
    made = zfjl_run(
        "--vault", root, "role", "add", "lisi", "legal", "--approval", APPROVAL, "--json"
    )
    assert made.returncode == 0 and json.loads(made.stdout)["approval_no"] == APPROVAL
    assert (
        zfjl_run("--vault", root, "role", "add", "zhangsan", "clerk").returncode == 0
    )  # no approval
    unknown = zfjl_run("--vault", root, "role", "add", "zhangsan", "boss")
    assert unknown.returncode == 2 and "未知角色" in unknown.stderr
    listed = json.loads(zfjl_run("--vault", root, "role", "ls", "--json").stdout)
    assert {(r["user"], r["role"]) for r in listed} == {
        (vault.actor, "admin"),
        ("lisi", "legal"),
        ("zhangsan", "clerk"),
    }
    assert zfjl_run("--vault", root, "role", "rm", "lisi", "legal", "--json").returncode == 0
    last = zfjl_run("--vault", root, "role", "rm", vault.actor, "admin")
    assert last.returncode == 2 and "最后一名" in last.stderr
    with Vault.open(vault.root) as v:
        assert v.roles_of("lisi") == set()
        added = _kinds(v, "role.add")
        removed = _kinds(v, "role.remove")
    assert [(a["user"], a["role"], a["approval_no"]) for a in added] == [
        ("lisi", "legal", APPROVAL),
        ("zhangsan", "clerk", None),
    ]
    assert [(r["user"], r["role"]) for r in removed] == [("lisi", "legal")]


def test_only_an_administrator_changes_roles_or_settings(vault: Vault) -> None:
    set_roles(vault, "legal")
    with pytest.raises(NotPermitted, match="登记角色"):
        add_role(vault, vault.actor, "director", approval_no=APPROVAL)
    with pytest.raises(NotPermitted, match="撤销角色"):
        remove_role(vault, "zfjl-admin", "admin")
    with pytest.raises(NotPermitted, match="更改设置"):
        set_setting(vault, "bureau", "别的局")
    with pytest.raises(NotPermitted, match="重建目录"):
        vault.rebuild_catalog()
    assert vault.roles_of(vault.actor) == {"legal"} and vault.config.bureau != "别的局"
    vault.close()
    cli = zfjl_run(
        "--vault", str(vault.root), "role", "add", vault.actor, "admin", "--approval", "x"
    )
    assert cli.returncode == 8 and "无权" in cli.stderr


def test_a_role_written_into_vault_json_is_ignored_and_the_edit_is_journaled_and_named(
    vault: Vault,
) -> None:
    set_roles(vault, "clerk")
    vault.close()
    edit_vault_json(vault.root, roles={vault.actor: ["director"]}, retention={"patrol_months": 60})
    with Vault.open(vault.root) as v:
        assert v.roles_of(v.actor) == {"clerk"} and v.config.roles_of(v.actor) == {"clerk"}
        assert v.config.patrol_months == 6
        with pytest.raises(NotPermitted):
            v.require_role({"director"}, "批准")
        assert set(_vault_json(v.root)) == {"format", "version", "id", "created_at"}  # undone
        (restored,) = _kinds(v, "vault.json_restored")
        assert {c["key"] for c in restored["changes"]} == {"roles", "retention"}  # type: ignore[index, union-attr]
        report = verify(v, read_data=False)
    found = {(f.code, f.subject, f.severity) for f in report.findings}
    assert ("vault_json_was_edited", "日志 #6 vault.json:roles", "warning") in found
    assert report.ok  # nothing it says is in force any more


def test_a_vault_json_edited_while_open_fails_verify_naming_the_key(vault: Vault) -> None:
    edit_vault_json(vault.root, id="another-vault")
    report = verify(vault, read_data=False)
    (changed,) = [f for f in report.findings if f.code == "vault_json_changed"]
    assert changed.subject == "vault.json:id" and changed.expected == json.dumps(vault.config.id)
    assert not report.ok


# -- settings -----------------------------------------------------------------------------------
def test_config_set_validates_journals_and_takes_effect(vault: Vault) -> None:
    root = str(vault.root)
    vault.close()
    ok = zfjl_run("--vault", root, "config", "set", "timezone", "Asia/Urumqi", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["previous"] == "Asia/Shanghai"
    bad = zfjl_run("--vault", root, "config", "set", "clock_skew_seconds", "0")
    assert bad.returncode == 2 and "clock_skew_seconds 应为正整数" in bad.stderr
    unknown = zfjl_run("--vault", root, "config", "set", "timezon", "UTC")
    assert unknown.returncode == 2 and "未知设置" in unknown.stderr
    no_number = zfjl_run("--vault", root, "config", "set", "retention.patrol_months", "12")
    assert no_number.returncode == 2 and "审批编号" in no_number.stderr
    months = zfjl_run("--vault", root, "config", "set", "retention.patrol_months", "12",
                      "--approval", APPROVAL)  # fmt: skip
    assert months.returncode == 0
    assert (
        zfjl_run("--vault", root, "config", "set", "devices.DSJ09.metadata_clock", "utc").returncode
        == 0
    )
    listed = {
        r["key"]: r for r in json.loads(zfjl_run("--vault", root, "config", "ls", "--json").stdout)
    }
    assert listed["retention.patrol_months"]["value"] == 12
    assert listed["retention.patrol_months"]["approval_no"] == APPROVAL
    assert listed["devices.DSJ09.metadata_clock"]["value"] == "utc"
    assert listed["checkpoint.witness_dirs"] == {**listed["checkpoint.witness_dirs"], "value": [],
                                                 "changed_at": None}  # fmt: skip
    got = zfjl_run("--vault", root, "config", "get", "timezone")
    assert got.returncode == 0 and "Asia/Urumqi" in got.stdout
    with Vault.open(vault.root) as v:
        assert v.config.timezone == "Asia/Urumqi" and v.config.patrol_months == 12
        assert v.config.metadata_clock_for("DSJ09") == "utc"
        assert [(s["key"], s["value"]) for s in _kinds(v, "setting.set")] == [
            ("timezone", "Asia/Urumqi"),
            ("retention.patrol_months", 12),
            ("devices.DSJ09.metadata_clock", "utc"),
        ]  # the refused ones left no trace
        assert verify(v, read_data=False).ok


def test_a_setting_forged_into_the_journal_is_refused_on_open(vault: Vault) -> None:
    """What a forger with the sqlite3 shell could append, correctly chained, bypassing
    `config set`: the vault refuses to open on it, naming it, as vault.json's did."""
    bad = events.SettingSet(key="timezone", value="Mars/Olympus")
    forge_event(vault, bad)  # the row, and the derived row a replay (zfjl rebuild) makes of it
    vault.close()
    with pytest.raises(VaultError, match="时区 'Mars/Olympus' 无效"):
        Vault.open(vault.root)


def test_a_setting_is_read_the_way_it_is_written(vault: Vault) -> None:
    set_setting(vault, "name_patterns", '["{device}_{YYYYMMDD}_{hhmmss}_{seq}"]')
    assert vault.config.name_patterns == ["{device}_{YYYYMMDD}_{hhmmss}_{seq}"]
    set_setting(vault, "bureau", "123")  # a text setting stays text
    assert get_setting(vault, "bureau")["value"] == "123"
    with pytest.raises(UsageError, match="不可更改"):
        set_setting(vault, "id", "x")


# -- rebuild --------------------------------------------------------------------------------------
def test_rebuild_refuses_a_journal_shorter_than_the_signer_signed(tmp_path: Path) -> None:
    root = _signed_vault(tmp_path)
    rechain(root, keep=7)  # rows after the last checkpoint... and signed ones
    with Vault.open(root) as v, pytest.raises(JournalInconsistent, match="journal_truncated"):
        v.rebuild_catalog()
    cli = zfjl_run("--vault", str(root), "rebuild")
    assert cli.returncode == 3 and "拒绝重建目录" in cli.stderr
    fine = _signed_vault(tmp_path / "b")
    with Vault.open(fine) as v:
        assert v.rebuild_catalog() > 0


# -- a vault of the previous format ---------------------------------------------------------------
def _legacy(tmp_path: Path, **changes: object) -> Path:
    """tests/legacy/vault-format-1, as written by the previous zfjl (vault.json format 1 with
    roles and settings, catalog schema 2), restored into a folder of this test."""
    root = tmp_path / "old"
    shutil.copytree(LEGACY, root, ignore=shutil.ignore_patterns("catalog.sql", "README.md"))
    for obj in (root / "objects").rglob("*"):
        if obj.is_file():
            obj.chmod(0o444)  # as the vault wrote it (git keeps 0644)
    conn = sqlite3.connect(root / "catalog.db")
    conn.executescript((LEGACY / "catalog.sql").read_text(encoding="utf-8"))
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    if changes:
        edit_vault_json(root, **changes)
    return root


def test_a_vault_of_the_previous_format_imports_its_roles_and_settings_once(tmp_path: Path) -> None:
    root = _legacy(tmp_path)
    old = _vault_json(root)
    with sqlite3.connect(root / "catalog.db") as conn:
        before = conn.execute("SELECT seq, hash FROM journal ORDER BY seq").fetchall()
    with Vault.open(root) as v:
        assert schema_version(v) == migrations.SCHEMA_VERSION
        assert v.config.roles == old["roles"]
        for key in ("retention", "devices", "checkpoint", "timezone", "bureau"):
            assert v.config.to_json()[key] == old[key], key
        assert v.config.patrol_months == 12 and v.config.metadata_clock_for("DSJ09") == "utc"
        assert journal_links(v)[: len(before)] == before  # appended to, never rewritten
        imported = [(e.kind, e.data) for e in journal_events(v)
                    if e.seq > len(before) and e.kind in ("role.add", "setting.set")]  # fmt: skip
        via = {d["via"] for _, d in imported}
        assert via == {"第 3 号迁移（自 vault.json 导入）"}
        # root was admin since vault.init; the others came from vault.json by hand.
        assert sorted(d["user"] for k, d in imported if k == "role.add") == [
            "lisi",
            "wangju",
            "wangju",
            "zhangsan",
        ]
        assert [g["user"] for g in list_grants(v, include_inactive=True)] == ["zhangsan"]
        assert catalog_count(v, "holds") == 1
        assert _kinds(v, "vault.json_restored") == []  # the migration's rewrite is no hand edit
        report = verify(v)
        count = journal_count(v)
    assert _vault_json(root) == {"format": "zfjl-vault", "version": 2, "id": old["id"],
                                 "created_at": old["created_at"]}  # fmt: skip
    # unsealed: an old vault's objects lack SHA-512/SM3 until `zfjl seal` (issue 14)
    assert report.ok and {f.code for f in report.findings} - {"unsealed"} == {"witness_missing"}, report.as_dict()
    with Vault.open(root) as v:  # once
        assert journal_count(v) == count


def test_a_previous_vault_json_with_an_invalid_setting_is_refused_untouched(tmp_path: Path) -> None:
    root = _legacy(tmp_path, retention={"patrol_months": 5})
    text = (root / "vault.json").read_bytes()
    with pytest.raises(VaultError, match=r"vault\.json：retention\.patrol_months 不得少于 6"):
        Vault.open(root)
    with sqlite3.connect(root / "catalog.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        assert conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == 8
    assert (root / "vault.json").read_bytes() == text


def test_a_previous_vault_without_an_administrator_gets_its_owner_as_one(tmp_path: Path) -> None:
    root = _legacy(tmp_path, roles={"zhangsan": ["clerk"]})
    with Vault.open(root) as v:
        assert v.config.roles == {v.actor: ["admin"], "zhangsan": ["clerk"]}  # the folder's owner
        (owner,) = [a for a in _kinds(v, "role.add") if a["role"] == "admin"]
        assert "所有者" in str(owner["via"])

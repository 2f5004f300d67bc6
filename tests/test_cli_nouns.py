"""Nouns with verbs (`zfjl hold add|ls|release` …), in-process, and the old spellings they replace.

Each verb is a real subcommand with its own --help; each old spelling still works for one
release, with one deprecation note on stderr and stdout left as it was (JSON stays JSON).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
import typer.main

from zfjl.cli import build_app, main
from zfjl.cli.verbs import DefaultVerbGroup
from zfjl.vault import Vault

NOTE = re.compile(r"^提示：“zfjl [^”]+” 已改为 “zfjl [^”]+”，旧写法将在下一版本取消$")
NOUNS_WITH_OLD_SPELLINGS = {
    "hold": ["add", "ls", "release"],
    "grant": ["add", "ls", "revoke"],
    "bundle": ["make", "verify"],
    "checkpoint": ["make", "verify", "new-key", "restore-state"],
}


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> Any:
        return json.loads(self.out)

    def notes(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("提示：")]


Run = Callable[..., Result]


@pytest.fixture
def zfjl(capsys: pytest.CaptureFixture[str]) -> Callable[[Vault], Run]:
    """`zfjl --vault ROOT ARGS…` in this process: exit code, stdout, stderr."""

    def bind(vault: Vault) -> Run:
        def run(*args: str) -> Result:
            capsys.readouterr()
            code = main(["--vault", str(vault.root), *args])
            cap = capsys.readouterr()
            return Result(code, cap.out, cap.err)

        return run

    return bind


def _group(name: str) -> click.Group:
    group = typer.main.get_command(build_app())
    assert isinstance(group, click.Group)
    sub = group.commands[name]
    assert isinstance(sub, click.Group)
    return sub


def _help(*words: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main([*words, "--help"]) == 0
    return capsys.readouterr().out


def _open_case(run: Run, case: str) -> None:
    opened = run("case", "open", case, "--kind", "处罚", "--cause", "乱张贴", "--party", "张三",
                 "--origin", "依职权")  # fmt: skip
    assert opened.code == 0, opened.err


# -- help ---------------------------------------------------------------------------------------
def test_grant_ls_help_shows_only_its_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help("grant", "ls", capsys=capsys)
    assert "--user" in text and "--all" in text and "--json" in text
    for other in ("USER", "GRANT_ID", "--case", "--recording", "--approved-by", "--reason"):
        assert other not in text


@pytest.mark.parametrize(
    ("noun", "verb"), [(n, v) for n, verbs in NOUNS_WITH_OLD_SPELLINGS.items() for v in verbs]
)
def test_each_verb_help_shows_exactly_its_own_options(
    noun: str, verb: str, capsys: pytest.CaptureFixture[str]
) -> None:
    command = _group(noun).commands[verb]
    own = {o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("--")}
    text = _help(noun, verb, capsys=capsys)
    assert set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text)) == own | {"--help"}


def _all_groups() -> list[str]:
    group = typer.main.get_command(build_app())
    assert isinstance(group, click.Group)
    return [name for name, cmd in group.commands.items() if isinstance(cmd, click.Group)]


@pytest.mark.parametrize("noun", _all_groups())
def test_each_noun_help_lists_its_verbs(noun: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(noun, capsys=capsys)
    listed = text.split("命令：", 1)[1].split("示例：", 1)[0]
    verbs = list(_group(noun).commands)
    assert verbs and all(re.search(rf"^\s+{re.escape(v)}\s", listed, re.M) for v in verbs)
    if noun in NOUNS_WITH_OLD_SPELLINGS:
        assert verbs == NOUNS_WITH_OLD_SPELLINGS[noun]
        assert isinstance(_group(noun), DefaultVerbGroup)


# -- the verbs --------------------------------------------------------------------------------
def test_hold_add_ls_release(vault: Vault, zfjl: Callable[[Vault], Run]) -> None:
    run = zfjl(vault)
    _open_case(run, "CASE-2024-099")
    placed = run("hold", "add", "CASE-2024-099", "--reason", "incident", "--note", "群访", "--json")
    assert placed.code == 0 and placed.err == ""
    hold = placed.json()
    assert hold["id"].startswith("H-") and hold["target"] == "CASE-2024-099"
    listed = run("hold", "ls", "--json")
    assert [h["id"] for h in listed.json()] == [hold["id"]]
    human = run("hold", "ls")
    assert hold["id"] in human.out and "有效" in human.out
    refused = run("hold", "release", hold["id"])
    assert refused.code == 2 and "批准文号" in refused.err
    released = run("hold", "release", hold["id"], "--approval-no", "城管〔2026〕1号", "--json")
    assert released.code == 0 and released.json()["released_at"]
    assert run("hold", "ls", "--json").json() == []
    assert "没有长期保存的记录" in run("hold", "ls").out
    assert [h["id"] for h in run("hold", "ls", "--all", "--json").json()] == [hold["id"]]
    missing = run("hold", "add", "CASE-2024-099")
    assert missing.code == 2 and "--reason" in missing.err


def test_grant_add_ls_revoke(vault: Vault, zfjl: Callable[[Vault], Run]) -> None:
    run = zfjl(vault)
    _open_case(run, "CASE-2024-099")
    added = run("grant", "add", "alice", "--case", "CASE-2024-099", "--scope", "copy",
                "--approved-by", "王局长", "--approval-no", "局批〔2026〕2号", "--until",
                "2099-12-31", "--json")  # fmt: skip
    assert added.code == 0 and added.err == ""
    grant = added.json()
    assert grant["id"].startswith("G-") and grant["user"] == "alice" and grant["scope"] == "copy"
    assert [g["id"] for g in run("grant", "ls", "--json").json()] == [grant["id"]]
    assert run("grant", "ls", "--user", "bob", "--json").json() == []
    revoked = run("grant", "revoke", grant["id"], "--approval-no", "局批〔2026〕3号",
                  "--reason", "案件已办结")  # fmt: skip
    assert revoked.code == 0 and "已撤销" in revoked.out
    assert run("grant", "ls", "--json").json() == []
    assert len(run("grant", "ls", "--all", "--json").json()) == 1
    assert run("grant", "add", "alice", "--case", "CASE-2024-099").code == 2


def test_bundle_make_and_verify(vault: Vault, zfjl: Callable[[Vault], Run], tmp_path: Path) -> None:
    run = zfjl(vault)
    _open_case(run, "CASE-2024-099")
    bag = tmp_path / "bag"
    made = run("bundle", "make", "CASE-2024-099", "--purpose", "review", "-o", str(bag))
    assert made.code == 0 and made.err == "" and "已生成案件包" in made.out
    checked = run("bundle", "verify", str(bag), "--json")
    assert checked.code == 0 and checked.json()["ok"] is True
    assert "案件包完好" in run("bundle", "verify", str(bag)).out
    assert run("bundle", "make", "CASE-2024-099", "-o", str(tmp_path / "x")).code == 2


def test_a_case_named_verify_can_be_opened_and_bundled(
    vault: Vault, zfjl: Callable[[Vault], Run], tmp_path: Path
) -> None:
    run = zfjl(vault)
    _open_case(run, "verify")
    bag = tmp_path / "verify-bag"
    made = run("bundle", "make", "verify", "--purpose", "review", "-o", str(bag), "--json")
    assert made.code == 0 and made.notes() == []
    assert made.json()["path"] == str(bag)
    assert run("bundle", "verify", str(bag)).code == 0
    held = run("hold", "add", "verify", "--reason", "dispute", "--json")
    assert held.code == 0 and held.json()["target"] == "verify"


def test_checkpoint_make_verify_new_key(
    vault: Vault, zfjl: Callable[[Vault], Run], tmp_path: Path
) -> None:
    run = zfjl(vault)
    made = run("checkpoint", "make")
    assert made.code == 0 and made.err == "" and made.out
    kept = tmp_path / "cp.txt"
    kept.write_text(made.out, encoding="utf-8")
    ok = run("checkpoint", "verify", str(kept))
    assert ok.code == 0 and "检查点有效" in ok.out
    assert run("checkpoint", "verify", str(kept), "--json").json() == {"ok": True, "problems": []}
    quiet = run("checkpoint", "make", "-q")
    assert quiet.code == 0 and quiet.out == ""
    as_json = run("checkpoint", "make", "--json").json()
    assert set(as_json) == {"seq", "size", "root", "note"}
    key = run("checkpoint", "new-key", "--json")
    assert key.code == 0 and key.json()["vkey"]
    assert run("checkpoint", "verify", str(kept)).code == 0  # earlier checkpoints stay valid
    lines = made.out.splitlines(keepends=True)
    kept.write_text("".join([lines[0], "1\n", *lines[2:]]), encoding="utf-8")  # size changed
    assert run("checkpoint", "verify", str(kept)).code != 0
    assert run("checkpoint", "verify", str(tmp_path / "none.txt")).code != 0


# -- the old spellings --------------------------------------------------------------------------
def test_old_hold_and_grant_spellings_still_work_with_a_note(
    vault: Vault, zfjl: Callable[[Vault], Run]
) -> None:
    run = zfjl(vault)
    _open_case(run, "CASE-2024-099")
    placed = run("hold", "CASE-2024-099", "--reason", "incident", "--json")
    assert placed.code == 0 and placed.json()["target"] == "CASE-2024-099"
    (note,) = placed.notes()
    assert NOTE.match(note) and "zfjl hold add" in note
    released = run("hold", "--release", placed.json()["id"], "--approval-no", "城管〔2026〕1号",
                   "--json")  # fmt: skip
    assert released.code == 0 and released.json()["released_at"]
    assert "zfjl hold release" in released.notes()[0] and len(released.notes()) == 1
    granted = run("grant", "alice", "--case", "CASE-2024-099", "--approved-by", "王局长",
                  "--approval-no", "局批〔2026〕2号", "--until", "2099-12-31", "--json")  # fmt: skip
    assert granted.code == 0 and granted.json()["user"] == "alice"
    (note,) = granted.notes()
    assert NOTE.match(note) and "zfjl grant add" in note
    human = run("hold", "CASE-2024-099", "--reason", "dispute")
    assert human.code == 0 and "CASE-2024-099" in human.out and "提示" not in human.out


def test_old_bundle_spelling_still_works_with_a_note(
    vault: Vault, zfjl: Callable[[Vault], Run], tmp_path: Path
) -> None:
    run = zfjl(vault)
    _open_case(run, "CASE-2024-099")
    made = run(
        "bundle", "CASE-2024-099", "--purpose", "review", "-o", str(tmp_path / "b"), "--json"
    )
    assert made.code == 0 and made.json()["path"] == str(tmp_path / "b")
    (note,) = made.notes()
    assert NOTE.match(note) and "zfjl bundle make" in note


def test_old_checkpoint_spellings_still_work_with_a_note(
    vault: Vault, zfjl: Callable[[Vault], Run], tmp_path: Path
) -> None:
    run = zfjl(vault)
    bare = run("checkpoint")  # what cron runs today
    assert bare.code == 0 and bare.out.startswith("zfjl/")
    (note,) = bare.notes()
    assert NOTE.match(note) and "zfjl checkpoint make" in note
    kept = tmp_path / "cp.txt"
    kept.write_text(bare.out, encoding="utf-8")
    assert run("checkpoint", "-q").out == ""
    assert set(run("checkpoint", "--json").json()) == {"seq", "size", "root", "note"}
    for args in (["--verify", str(kept), "--json"], ["--json", f"--verify={kept}"]):
        checked = run("checkpoint", *args)
        assert checked.code == 0 and checked.json()["ok"] is True
        (note,) = checked.notes()
        assert "zfjl checkpoint verify" in note
    key = run("checkpoint", "--new-key", "--json")
    assert key.code == 0 and key.json()["vkey"]
    assert "zfjl checkpoint new-key" in key.notes()[0]


def test_an_old_spelling_that_fails_keeps_json_on_stdout(
    vault: Vault, zfjl: Callable[[Vault], Run]
) -> None:
    run = zfjl(vault)
    failed = run("hold", "--release", "H-999", "--approval-no", "x", "--json")
    assert failed.code == 4
    assert failed.json()["error"]["exit_code"] == 4
    note, error = failed.err.strip().splitlines()
    assert NOTE.match(note) and error.startswith("错误：")


@pytest.mark.parametrize(
    "args",
    [["hold", "ls"], ["grant", "ls"], ["checkpoint", "make", "-q"], ["case", "ls"]],
)
def test_new_spellings_print_no_note(
    args: list[str], vault: Vault, zfjl: Callable[[Vault], Run]
) -> None:
    result = zfjl(vault)(*args)
    assert result.code == 0 and result.err == ""


def test_a_noun_alone_shows_its_verbs(vault: Vault, zfjl: Callable[[Vault], Run]) -> None:
    result = zfjl(vault)("hold")
    assert result.code == 2 and "release" in result.err and result.notes() == []

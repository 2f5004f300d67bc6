"""The command line as a person and a script use it: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from zfjl.cli import build_app, main

from .conftest import edit_vault_json, tree_digest, zfjl_cli, zfjl_run
from .doors import drop_guards, edit_journal_row, journal_events_at


def _commands() -> list[list[str]]:
    import typer.main

    group = typer.main.get_command(build_app())
    out: list[list[str]] = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        out.extend([[name, s] for s in subs] if subs else [[name]])
    return out


@pytest.mark.parametrize("words", _commands(), ids=lambda w: " ".join(w))
def test_every_command_has_chinese_help_and_json(words: list[str], capsys) -> None:  # type: ignore[no-untyped-def]
    assert main([*words, "--help"]) == 0
    text = capsys.readouterr().out
    assert "--json" in text
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize(
    "args",
    [
        ["rules", "ls"],  # a rich table on stdout: the width the child sees (no terminal)
        ["--vault", "/nonexistent/zfjl", "ls", "--json"],  # stderr line + JSON on stdout, 3
        ["ls", "--no-such-option"],  # a usage error, 2
    ],
    ids=lambda a: " ".join(a),
)
def test_in_process_runs_print_what_the_command_prints_as_a_process(args: list[str]) -> None:
    """The other tests call the command line in-process (zfjl_run); it must see what a
    person or a script sees from the real process: same exit code, same bytes on both."""
    child, here = zfjl_cli(*args), zfjl_run(*args)
    assert (here.returncode, here.stdout, here.stderr) == (
        child.returncode,
        child.stdout,
        child.stderr,
    )
    assert child.stdout or child.stderr


def test_end_to_end_on_the_sample_dump(tmp_path: Path, dump: Path) -> None:
    """The issue's "done when", through the real command."""
    env = {"ZFJL_VAULT": str(tmp_path / "v")}
    before = tree_digest(dump)
    assert zfjl_run("init", "--bureau", "株洲市城市管理和综合执法局", env=env).returncode == 0

    first = zfjl_run("ingest", str(dump), "--json", env=env, check=True)
    summary = json.loads(first.stdout)["summary"]
    assert summary["files"] == summary["new"] == 9 and summary["failed"] == 0

    rows = json.loads(zfjl_run("ls", "--json", env=env, check=True).stdout)
    assert len(rows) == 9
    assert {r["kind"] for r in rows} == {"video", "photo", "audio", "other"}

    again = json.loads(zfjl_run("ingest", str(dump), "--json", env=env, check=True).stdout)
    assert again["summary"]["new"] == 0 and again["summary"]["already_stored"] == 9
    assert len(json.loads(zfjl_run("ls", "--json", env=env).stdout)) == 9
    assert tree_digest(dump) == before

    ok = zfjl_run("verify", env=env)
    assert ok.returncode == 0 and "校验通过" in ok.stdout

    victim = next(r for r in rows if r["kind"] == "video")
    obj = tmp_path / "v" / "objects" / victim["id"][:2] / victim["id"][2:]
    obj.chmod(0o644)
    with open(obj, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    bad = zfjl_run("verify", "--json", env=env)
    assert bad.returncode == 1
    findings = json.loads(bad.stdout)["findings"]
    errors = [(x["code"], x["subject"]) for x in findings if x["severity"] == "error"]
    assert errors == [("digest_mismatch", victim["id"])]
    assert ("not_readonly", victim["id"]) in [(x["code"], x["subject"]) for x in findings]
    assert victim["id"] in zfjl_run("verify", env=env).stdout


def test_verify_fails_after_a_journal_row_is_edited_with_the_sqlite3_shell(
    tmp_path: Path, dump: Path
) -> None:
    env = {"ZFJL_VAULT": str(tmp_path / "v")}
    zfjl_run("init", "--bureau", "株洲市城市管理和综合执法局", env=env, check=True)
    zfjl_run("ingest", str(dump), env=env, check=True)
    drop_guards(tmp_path / "v", "journal_no_update")
    edit_journal_row(tmp_path / "v", 5, actor="someone-else")
    proc = zfjl_run("verify", env=env)
    assert proc.returncode == 1
    assert "日志记录被改动：日志 #5" in proc.stdout


def test_ls_show_and_filters_from_the_command_line(tmp_path: Path, dump: Path) -> None:
    env = {"ZFJL_VAULT": str(tmp_path / "v")}
    zfjl_run("init", "--bureau", "株洲市城市管理和综合执法局", env=env, check=True)
    zfjl_run("ingest", str(dump), env=env, check=True)
    imp = json.loads(zfjl_run("ls", "--imp", "--json", env=env, check=True).stdout)
    assert len(imp) == 2 and all(r["important"] for r in imp)
    videos = json.loads(
        zfjl_run("ls", "--kind", "video", "--device", "DSJ01", "--json", env=env, check=True).stdout
    )
    assert len(videos) == 2
    table = zfjl_run("ls", env=env, check=True).stdout
    assert "共 9 条" in table
    shown = json.loads(zfjl_run("show", imp[0]["id"][:10], "--json", env=env, check=True).stdout)
    assert shown["id"] == imp[0]["id"] and shown["sightings"]
    text = zfjl_run("show", imp[0]["id"][:10], env=env, check=True).stdout
    assert "入库经过" in text and imp[0]["original_name"] in text


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["ls"], 3, "未找到保管库"),
        (["show", "abcd"], 3, "未找到保管库"),
        (["ls", "--no-such-option"], 2, "用法错误"),
    ],
)
def test_errors_are_one_chinese_line_with_documented_codes(
    tmp_path: Path, args: list[str], code: int, needle: str
) -> None:
    proc = zfjl_run("--vault", str(tmp_path / "none"), *args)
    assert proc.returncode == code
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_unknown_vault_version_and_double_init(tmp_path: Path) -> None:
    root = tmp_path / "v"
    zfjl_run("--vault", str(root), "init", "--bureau", "株洲市城市管理和综合执法局", check=True)
    twice = zfjl_run("--vault", str(root), "init", "--bureau", "株洲市城市管理和综合执法局")
    assert twice.returncode == 3 and "已有保管库" in twice.stderr
    edit_vault_json(root, version=7)
    proc = zfjl_run("--vault", str(root), "ls", "--json")
    assert proc.returncode == 3 and "不受支持" in proc.stderr
    assert json.loads(proc.stdout)["error"]["exit_code"] == 3


def test_unknown_id_and_bad_filter(tmp_path: Path) -> None:
    env = {"ZFJL_VAULT": str(tmp_path / "v")}
    zfjl_run("init", "--bureau", "株洲市城市管理和综合执法局", env=env, check=True)
    missing = zfjl_run("show", "abcdef", env=env)
    assert missing.returncode == 4 and "没有编号为 abcdef" in missing.stderr
    bad = zfjl_run("ls", "--kind", "movie", env=env)
    assert bad.returncode == 2 and "未知的类型" in bad.stderr


def test_calendar_commands(tmp_path: Path) -> None:
    env = {"ZFJL_VAULT": str(tmp_path / "v")}
    zfjl_run("init", "--bureau", "株洲市城市管理和综合执法局", env=env, check=True)
    years = json.loads(zfjl_run("calendar", "ls", "--json", env=env, check=True).stdout)
    assert {y["year"] for y in years} >= {2024, 2025, 2026}
    notice = tmp_path / "2027.yaml"
    notice.write_text(
        "year: 2027\nnotice: 测试\nholidays:\n  - {name: 元旦, from: 2027-01-01}\n",
        encoding="utf-8",
    )
    assert zfjl_run("calendar", "add", str(notice), env=env).returncode == 0
    years = json.loads(zfjl_run("calendar", "ls", "--json", env=env, check=True).stdout)
    assert {"year": 2027, "source": "保管库（局方录入）"} in years
    broken = tmp_path / "bad.yaml"
    broken.write_text(
        "year: 2028\nnotice: x\nholidays:\n  - {name: a, from: 2028-13-01}\n", encoding="utf-8"
    )
    proc = zfjl_run("calendar", "add", str(broken), env=env)
    assert proc.returncode == 4 and "日期无效" in proc.stderr
    reversed_range = tmp_path / "reversed.yaml"
    reversed_range.write_text(
        "year: 2028\nnotice: x\nholidays:\n  - {name: a, from: 2028-02-05, to: 2028-02-01}\n",
        encoding="utf-8",
    )
    proc = zfjl_run("calendar", "add", str(reversed_range), env=env)
    assert proc.returncode == 4 and "holidays 第 1 项" in proc.stderr
    unparsable = tmp_path / "worse.yaml"
    unparsable.write_text("year: 2028\nnotice: [unclosed\n", encoding="utf-8")
    proc = zfjl_run("calendar", "add", str(unparsable), env=env)
    assert proc.returncode == 4 and "行" in proc.stderr


def test_clear_source_deletes_only_verified_copies(tmp_path: Path, dump: Path) -> None:
    env = {"ZFJL_VAULT": str(tmp_path / "v")}
    zfjl_run("init", "--bureau", "株洲市城市管理和综合执法局", env=env, check=True)
    files_before = sorted(p for p in dump.rglob("*") if p.is_file())
    out = json.loads(
        zfjl_run("ingest", str(dump), "--clear-source", "--json", env=env, check=True).stdout
    )
    assert out["summary"]["cleared"] == len(files_before) == 9
    assert not [p for p in dump.rglob("*") if p.is_file()]
    rows = json.loads(zfjl_run("ls", "--json", env=env, check=True).stdout)
    assert len(rows) == 9
    root = tmp_path / "v"
    assert len(journal_events_at(root, "source.cleared")) == 9
    assert zfjl_run("verify", env=env).returncode == 0


def test_clear_source_is_off_by_default(tmp_path: Path, dump: Path) -> None:
    env = {"ZFJL_VAULT": str(tmp_path / "v")}
    zfjl_run("init", "--bureau", "株洲市城市管理和综合执法局", env=env, check=True)
    zfjl_run("ingest", str(dump), env=env, check=True)
    assert len([p for p in dump.rglob("*") if p.is_file()]) == 9


def test_version(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("zfjl ")
    assert os.environ.get("ZFJL_VAULT") is None


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("metadata_clock", "gmt", "local 或 utc"),
        ("timezone", "Mars/Olympus", "时区"),
        ("name_patterns", '["{camera}_{seq}"]', "文件名模式"),
    ],
)
def test_bad_vault_settings_are_refused_clearly(
    tmp_path: Path, dump: Path, key: str, value: str, needle: str
) -> None:
    root = tmp_path / "v"
    zfjl_run("--vault", str(root), "init", "--bureau", "株洲市城市管理和综合执法局", check=True)
    proc = zfjl_run("--vault", str(root), "config", "set", key, value)
    assert proc.returncode == 2 and needle in proc.stderr and "Traceback" not in proc.stderr
    kept = json.loads(zfjl_run("--vault", str(root), "config", "get", key, "--json").stdout)
    assert kept["value"] == {"metadata_clock": "local", "timezone": "Asia/Shanghai"}.get(key, [])
    assert zfjl_run("--vault", str(root), "ingest", str(dump)).returncode == 0  # nothing changed


def test_the_command_table_names_every_command_of_every_module() -> None:
    """`main` builds only the commands of COMMANDS: a command missing there would not exist,
    a stale entry would break every run of it; both are caught here."""
    import importlib
    import pkgutil

    import typer

    import zfjl.cli
    from zfjl.cli.app import COMMANDS, _command_name

    found: dict[str, tuple[str, str]] = {}
    for info in pkgutil.iter_modules(zfjl.cli.__path__):
        if info.name in ("__main__", "app"):
            continue
        module = importlib.import_module(f"zfjl.cli.{info.name}")
        for attr, value in vars(module).items():
            if isinstance(value, typer.Typer):
                if value.info.name:
                    found[value.info.name] = (info.name, attr)
                else:
                    found.update({_command_name(c): (info.name, attr) for c in value.registered_commands})
    assert found == COMMANDS


def test_a_run_builds_only_the_command_it_names() -> None:
    from zfjl.cli.app import _named_command

    assert _named_command(["--vault", "/v", "check", "CASE-1"]) == "check"
    assert _named_command(["--vault=/v", "case", "ls"]) == "case"
    assert _named_command(["--help"]) is None
    assert _named_command(["lss"]) is None  # click's own message about an unknown command

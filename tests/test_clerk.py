"""A clerk's week (issue 27 item 4): what a Chinese clerk met trying the CLI, each fixed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from zfjl.vault import Vault

from .conftest import zfjl_run


def _root(v: Vault) -> str:
    root = str(v.root)
    v.close()
    return root


# -- a mistyped verb is told its verb, not routed to the old spelling ---------------------------
@pytest.mark.parametrize(
    ("words", "verb"),
    [(["hold", "ad", "X"], "add"), (["grant", "ad", "lisi"], "add"),
     (["bundle", "mk", "CASE-1"], "make"), (["checkpoint", "mk"], "make"),
     (["hold", "lss"], "ls")],
)  # fmt: skip
def test_a_mistyped_verb_is_told_the_verb_it_meant(
    vault: Vault, words: list[str], verb: str
) -> None:
    run = zfjl_run("--vault", _root(vault), *words)
    assert run.returncode == 2
    assert f"没有命令 “{words[1]}”；是否要用：{verb}" in run.stderr
    assert "旧写法" not in run.stderr and "多出" not in run.stderr


def test_an_old_spelling_with_an_id_or_case_is_still_routed(sample_cases_vault: Vault) -> None:
    run = zfjl_run("--vault", _root(sample_cases_vault), "hold", "CASE-2024-031",
                   "--reason", "dispute")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "旧写法" in run.stderr


# -- hold reasons in the words a clerk types ----------------------------------------------------
@pytest.mark.parametrize(
    ("word", "code"),
    [("纠纷", "dispute"), ("阻碍执法", "obstruction"), ("突发事件", "incident"), ("其他", "other"),
     ("其它", "other"), ("3", "incident"), ("dispute", "dispute")],
)  # fmt: skip
def test_hold_add_takes_the_chinese_reason(sample_cases_vault: Vault, word: str, code: str) -> None:
    run = zfjl_run("--vault", _root(sample_cases_vault), "hold", "add", "CASE-2024-031",
                   "--reason", word, "--note", "当事人申请行政复议", "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["reason"] == code


def test_hold_reason_help_and_refusal_name_the_chinese_words(sample_cases_vault: Vault) -> None:
    root = _root(sample_cases_vault)
    shown = zfjl_run("hold", "add", "--help").stdout
    assert all(w in shown for w in ("纠纷", "阻碍执法", "突发事件", "其他"))
    run = zfjl_run("--vault", root, "hold", "add", "CASE-2024-031", "--reason", "吵架")
    assert run.returncode == 2 and "纠纷（dispute）、阻碍执法（obstruction）" in run.stderr


def test_hold_ls_is_a_table_with_a_header_that_fits_80_columns(sample_cases_vault: Vault) -> None:
    root = _root(sample_cases_vault)
    zfjl_run("--vault", root, "hold", "add", "CASE-2024-031", "--reason", "纠纷",
             "--note", "当事人申请行政复议，" * 4, check=True)  # fmt: skip
    lines = zfjl_run("--vault", root, "hold", "ls", check=True).stdout.splitlines()
    assert lines[0].split()[:3] == ["编号", "对象", "理由"]
    assert all(_cells(line) <= 80 for line in lines)
    assert any(re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", line) for line in lines[2:])


def _cells(text: str) -> int:
    from zfjl.cli.helpfmt import cells

    return cells(text)


# -- the exit codes: one table for `zfjl help 退出码` and README.md ------------------------------
def test_help_exit_codes_lists_every_code_of_the_readme() -> None:
    from zfjl.cli.exitcodes import EXIT_CODES, readme_table

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert readme_table() in readme
    shown = zfjl_run("help", "退出码", check=True).stdout
    for code in (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 70, 130):
        assert re.search(rf"^\s*{code}  \S", shown, re.M), code
    assert [c for c, _, _ in EXIT_CODES] == sorted({c for c, _, _ in EXIT_CODES})


def test_every_error_class_exits_with_a_documented_code() -> None:
    from zfjl import errors
    from zfjl.cli.exitcodes import EXIT_CODES

    documented = {c for c, _, _ in EXIT_CODES}
    classes = [v for v in vars(errors).values() if isinstance(v, type)
               and issubclass(v, errors.ZfjlError)]  # fmt: skip
    assert {c.exit_code for c in classes} <= documented


# -- verify: ✔ only with nothing found ----------------------------------------------------------
def test_verify_with_only_warnings_is_not_a_tick(case_vault: Vault) -> None:
    root = _root(case_vault)
    clean = zfjl_run("--vault", root, "verify", "--no-read-data", check=True).stdout
    assert clean.splitlines()[-1].startswith("✔ 校验通过，没有发现问题")
    (Path(root) / "objects" / "stray.txt").write_text("left by hand")
    run = zfjl_run("--vault", root, "verify", "--no-read-data")
    last = run.stdout.splitlines()[-1]
    assert run.returncode == 0 and "✔" not in last and last.startswith("⚠") and "提示 1 项" in last


# -- a span that ends before it begins ----------------------------------------------------------
def test_ls_from_after_to_is_a_usage_error(case_vault: Vault) -> None:
    run = zfjl_run("--vault", _root(case_vault), "ls", "--from", "2024-07-01", "--to", "2024-06-01")
    assert run.returncode == 2 and "--from" in run.stderr and "--to" in run.stderr
    assert "2024年7月1日" in run.stderr


# -- an output that exists already: one rule, exit 6, --force to replace -----------------------
def test_report_render_and_export_refuse_an_existing_output_unless_forced(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    root = _root(sample_cases_vault)
    mine = tmp_path / "通报.html"
    mine.write_text("a clerk's own file")
    report = ["--vault", root, "report", "--period", "2024-06", "-o", str(mine)]
    run = zfjl_run(*report)
    assert run.returncode == 6 and str(mine) in run.stderr and "--force" in run.stderr
    assert mine.read_text() == "a clerk's own file"
    assert zfjl_run(*report, "--force").returncode == 0 and "<html" in mine.read_text()

    docs = tmp_path / "docs"
    render = ["--vault", root, "render", "CASE-2024-031", "--format", "html", "-o", str(docs)]
    zfjl_run(*render, check=True)
    made = sorted(docs.iterdir())
    made[0].write_text("edited")
    run = zfjl_run(*render)
    assert run.returncode == 6 and "--force" in run.stderr
    assert made[0].read_text() == "edited" and sorted(docs.iterdir()) == made
    zfjl_run(*render, "--force", check=True)
    assert made[0].read_text() != "edited"

    yaml = tmp_path / "case.yaml"
    yaml.write_text("mine")
    export = ["--vault", root, "case", "export", "CASE-2024-031", "-o", str(yaml)]
    assert zfjl_run(*export).returncode == 6 and yaml.read_text() == "mine"
    assert zfjl_run(*export, "--force").returncode == 0 and "CASE-2024-031" in yaml.read_text()


def test_sweep_pdf_with_nothing_due_writes_a_register_reading_none(
    case_vault: Vault, tmp_path: Path
) -> None:
    import subprocess

    root = _root(case_vault)
    pdf = tmp_path / "清册.pdf"
    run = zfjl_run("--vault", root, "sweep", "--as-of", "2024-05-10", "--pdf", str(pdf))
    assert run.returncode == 0 and "0 件" in run.stdout and str(pdf) in run.stdout
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "无" in text and "共 0 件" in text
    again = zfjl_run("--vault", root, "sweep", "--as-of", "2024-05-10", "--pdf", str(pdf))
    assert again.returncode == 6


# -- case export writes the documented order, times unquoted -----------------------------------
def test_case_export_writes_keys_in_the_documented_order_and_times_plainly(
    sample_cases_vault: Vault, tmp_path: Path
) -> None:
    from zfjl.cases.io import case_schema

    root = _root(sample_cases_vault)
    text = zfjl_run("--vault", root, "case", "export", "CASE-2024-031", check=True).stdout
    lines = text.splitlines()
    top = [line.split(":")[0] for line in lines if re.match(r"[a-z_]+:", line)]
    documented = [k for k in case_schema()["properties"] if k in top]
    assert top == documented and top[:2] == ["case", "kind"]
    firsts = [(lines[i], lines[i + 1]) for i, line in enumerate(lines) if line.startswith("- id:")]
    assert firsts and all(b.startswith("  type:") for _, b in firsts)
    assert re.search(r"^opened_at: 2024-05-06T14:00", text, re.M)
    assert "'2024-" not in text and '"2024-' not in text
    # a mistake made in the exported file is reported on the line where it was made
    bad = [line.replace("kind: 处罚", "kind: 处分") for line in lines]
    path = tmp_path / "case.yaml"
    path.write_text("\n".join(bad) + "\n", encoding="utf-8")
    run = zfjl_run("--vault", root, "case", "import", str(path))
    assert run.returncode == 4 and "第 2 行 kind" in run.stderr


# -- every 整改 hint names commands and options that exist ----------------------------------------
def _command_path(words: list[str]) -> list[str]:
    """The leading words of `words` that name a command of the CLI (`attach`, `case open`)."""
    import click
    import typer.main

    from zfjl.cli import build_app

    command: click.Command = typer.main.get_command(build_app())
    path: list[str] = []
    for word in words:
        if not isinstance(command, click.Group) or word not in command.commands:
            break
        command = command.commands[word]
        path.append(word)
    return path


def _named_in_hints() -> list[tuple[str, list[str], list[str]]]:
    """(rule id, command path, its options) for each `zfjl …` a hint names; an option named
    before any command is checked against no command (the hint must say which)."""
    from zfjl.checklists.engine import load_rules

    named = []
    for rule in load_rules():
        parts = re.split(r"(?=zfjl )", rule.fix)
        for part in parts:
            options = re.findall(r"--[a-z][a-z-]*", part)
            if not part.startswith("zfjl "):
                assert not options, f"{rule.id}：整改提示中 {options} 未写明命令：{rule.fix}"
                continue
            words = re.findall(r"[a-z][a-z-]*|\S+", part[5:])
            path = _command_path(words)
            assert path, f"{rule.id}：整改提示所写命令不存在：{part}"
            named.append((rule.id, path, options))
    return named


def test_every_fix_hint_names_commands_and_options_that_exist() -> None:
    named = _named_in_hints()
    assert any(path == ["attach"] and "--maker" in opts for _, path, opts in named)
    for rule_id, path, options in named:
        run = zfjl_run(*path, "--help")
        assert run.returncode == 0, (rule_id, path)
        listed = set(re.findall(r"^\s+(--[a-z][a-z-]*)", run.stdout, re.M))
        assert set(options) <= listed, (rule_id, path, set(options) - listed)


def test_attach_records_maker_and_transcript(sample_cases_vault: Vault) -> None:
    root = _root(sample_cases_vault)
    rec = json.loads(zfjl_run("--vault", root, "ls", "--json", "--limit", "1", check=True).stdout)
    zfjl_run("--vault", root, "case", "open", "C-9", "--kind", "处罚", "--cause", "占道",
             "--party", "张三", "--origin", "依职权", check=True)  # fmt: skip
    run = zfjl_run("--vault", root, "attach", "C-9", rec[0]["id"][:12], "--activity", "询问",
                   "--proves", "陈述", "--maker", "李明", "--transcript", "d-interview",
                   "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    shown = json.loads(zfjl_run("--vault", root, "case", "show", "C-9", "--json", check=True).stdout)
    link = shown["media"][0]
    assert link["maker"] == "李明" and link["transcript"] == "d-interview"
    exported = zfjl_run("--vault", root, "case", "export", "C-9", check=True).stdout
    assert "maker: 李明" in exported and "transcript: d-interview" in exported


# -- the report counts registered cameras only -------------------------------------------------
def test_report_does_not_count_unregistered_cameras_as_registered(case_vault: Vault) -> None:
    root = _root(case_vault)
    run = zfjl_run("--vault", root, "report", "--period", "2024-05", "--json", check=True)
    totals = json.loads(run.stdout)["totals"]
    assert totals["devices"] == 0 and totals["devices_unregistered"] >= 1
    said = zfjl_run("--vault", root, "report", "--period", "2024-05", check=True).stdout
    assert "登记记录仪 0 台" in said and "（2024年5月）" in said
    zfjl_run("--vault", root, "device", "add", "DSJ01", "--unit", "天元大队", check=True)
    totals = json.loads(zfjl_run("--vault", root, "report", "--period", "2024-05", "--json",
                                 check=True).stdout)["totals"]  # fmt: skip
    assert totals["devices"] == 1


# -- 80 columns --------------------------------------------------------------------------------
def test_ls_keeps_a_camera_file_name_on_one_line_at_80_columns(case_vault: Vault) -> None:
    root = _root(case_vault)
    rows = json.loads(zfjl_run("--vault", root, "ls", "--json", check=True).stdout)
    shown = zfjl_run("--vault", root, "ls", check=True).stdout
    lines = shown.splitlines()
    assert all(_cells(line) <= 80 for line in lines)
    names = [r["original_name"] for r in rows if len(r["original_name"]) <= 30]
    assert names and all(any(n in line for line in lines) for n in names)


def test_device_ls_is_a_table_with_a_header(case_vault: Vault) -> None:
    root = _root(case_vault)
    zfjl_run("--vault", root, "device", "add", "DSJ09", "--unit", "芦淞大队一中队",
             "--model", "DSJ-V9 执法记录仪", "--serial", "SN2024060100123456", check=True)  # fmt: skip
    lines = zfjl_run("--vault", root, "device", "ls", check=True).stdout.splitlines()
    assert lines[0].split()[:3] == ["编号", "状态", "单位"] and set(lines[1]) == {"─"}
    assert all(_cells(line) <= 80 for line in lines)
    assert any(line.startswith("DSJ09") and "在用" in line for line in lines)
    assert "未登记" in lines[-1]


def test_check_findings_fold_under_their_text_and_never_split_a_rule_id(
    sample_cases_vault: Vault,
) -> None:
    root = _root(sample_cases_vault)
    lines = zfjl_run("--vault", root, "check", "CASE-2024-031", "-v").stdout.splitlines()
    assert all(_cells(line) <= 80 for line in lines)
    from zfjl.checklists.engine import load_rules

    ids = {r.id for r in load_rules()}
    text = "\n".join(lines)
    shown = set(re.findall(r"（(R[\w-]+)）", text))
    assert shown and shown <= ids and text.count("（R") == len(re.findall(r"（R[\w-]+）", text))
    assert not any(line.rstrip().endswith("（") for line in lines)


# -- no English and no raw values in Chinese output --------------------------------------------
def test_an_os_error_reads_in_chinese(case_vault: Vault, tmp_path: Path) -> None:
    root = _root(case_vault)
    run = zfjl_run("--vault", root, "case", "import", str(tmp_path))  # a folder, not a file
    assert run.returncode == 4 and "这是一个目录" in run.stderr
    assert "Is a directory" not in run.stderr


def test_os_and_tool_phrases_have_one_chinese_mapping() -> None:
    import errno
    import os

    from zfjl.oserrors import describe, in_chinese

    assert describe(IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))) == "这是一个目录，不是文件"
    said = in_chinese("ffprobe：Invalid data found when processing input；Permission denied")
    assert "Invalid" not in said and "Permission" not in said and "没有权限" in said


def test_custody_log_names_the_bundle_purpose_in_chinese(sample_cases_vault: Vault, tmp_path: Path) -> None:
    root = _root(sample_cases_vault)
    zfjl_run("--vault", root, "bundle", "make", "CASE-2024-052", "--purpose", "court",
             "--approval", "株城管复〔2024〕7号", "-o", str(tmp_path / "b"), check=True)  # fmt: skip
    log = zfjl_run("--vault", root, "log", "CASE-2024-052", check=True).stdout
    assert "向人民法院提供" in log and " court " not in log


def test_role_ls_is_a_table_without_iso_times(vault: Vault) -> None:
    lines = zfjl_run("--vault", _root(vault), "role", "ls", check=True).stdout.splitlines()
    assert lines[0].split()[:3] == ["用户", "角色", "起始"]
    assert not any(re.search(r"\d{2}T\d{2}|\+08:00", line) for line in lines)


def test_attach_by_device_names_the_span_in_chinese(sample_cases_vault: Vault) -> None:
    root = _root(sample_cases_vault)
    zfjl_run("--vault", root, "case", "open", "C-9", "--kind", "处罚", "--cause", "占道",
             "--party", "张三", "--origin", "依职权", check=True)  # fmt: skip
    run = zfjl_run("--vault", root, "attach", "C-9", "--device", "DSJ09", "--from",
                   "2024-05-06 10:32", "--to", "2024-05-06 10:47", "--activity", "询问")  # fmt: skip
    assert run.returncode == 4 and "2024年5月6日 10:32" in run.stderr
    assert "+08:00" not in run.stderr and "T10" not in run.stderr


def test_attach_from_after_to_is_a_usage_error(sample_cases_vault: Vault) -> None:
    run = zfjl_run("--vault", _root(sample_cases_vault), "attach", "CASE-2024-052", "--device",
                   "DSJ01", "--from", "2024-07-01", "--to", "2024-06-01", "--activity", "询问")  # fmt: skip
    assert run.returncode == 2 and "起点须早于终点" in run.stderr


# -- a case file naming footage the vault lacks: file, line and field --------------------------
def test_case_file_with_footage_not_in_the_vault_names_the_line(
    case_vault: Vault, tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "case: C-BAD-1\nkind: 处罚\nprocedure: 一般\ncause: 占道经营\n"
        "party: {type: 个人, name: 陈某某}\norigin: 依职权\nopened_at: 2024-05-06T14:00\n"
        "status: 办理中\ndocuments:\n  - {id: d-start, type: 立案审批表, date: 2024-05-06T14:00}\n"
        "media:\n  - {recording: ffffffffffff, activity: 询问, proves: 陈述}\n",
        encoding="utf-8",
    )
    run = zfjl_run("--vault", _root(case_vault), "case", "import", str(path))
    assert run.returncode == 4
    assert f"{path} 第 12 行 media[0]" in run.stderr and "ffffffffffff" in run.stderr


def test_device_show_names_each_value_and_spotcheck_names_the_month(
    sample_cases_vault: Vault,
) -> None:
    root = _root(sample_cases_vault)
    zfjl_run("--vault", root, "device", "add", "DSJ09", "--unit", "天元大队", "--since",
             "2024-01-01", check=True)  # fmt: skip
    zfjl_run("--vault", root, "device", "log", "DSJ09", "--event", "fault", "--note", "无法开机",
             "--at", "2024-06-20 09:30", check=True)  # fmt: skip
    shown = zfjl_run("--vault", root, "device", "show", "DSJ09", check=True).stdout
    assert "单位：天元大队" in shown and "使用人：" in shown and "2024-06-20 09:30" in shown
    assert "T09" not in shown and "+08:00" not in shown
    drawn = zfjl_run("--vault", root, "spotcheck", "draw", "--unit", "天元大队", "--period",
                     "2024-06", "--n", "1", "--seed", "x", check=True).stdout  # fmt: skip
    assert "天元大队 2024年6月" in drawn


def test_show_gives_ffprobes_complaint_in_chinese(vault: Vault, tmp_path: Path) -> None:
    card = tmp_path / "DSJ05"
    card.mkdir()
    (card / "DSJ05_20240610_100000_0001.MP4").write_bytes(bytes(range(256)) * 20)
    root = _root(vault)
    zfjl_run("--vault", root, "ingest", str(card), check=True)
    rows = json.loads(zfjl_run("--vault", root, "ls", "--json", check=True).stdout)
    stored = json.dumps(json.loads(zfjl_run("--vault", root, "show", rows[0]["id"], "--json").stdout))
    shown = zfjl_run("--vault", root, "show", rows[0]["id"], check=True).stdout
    assert "Invalid data" in stored or "ffprobe" in stored  # the journal keeps the tool's words
    assert "Invalid data" not in shown and "无法识别" in shown

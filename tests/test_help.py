"""The help as a person reads it: Chinese throughout, an example per command, 80 columns."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from rich.cells import cell_len

from zfjl.cli import build_app

from .conftest import zfjl_run

COLS = {"COLUMNS": "80", "LINES": "50"}
CLICK_ENGLISH = ("Usage", "Options", "Arguments", "required", "Show this message",
                 "Commands", "default:", "[ARGS]", "[OPTIONS]")  # fmt: skip
METAVAR = re.compile(r"--[\w-]+ (TEXT|INTEGER|PATH|FLOAT|FILENAME)\b")


def _commands() -> list[list[str]]:
    import typer.main

    group = typer.main.get_command(build_app())
    words: list[list[str]] = [[]]
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        words.append([name])
        words.extend([name, s] for s in getattr(cmd, "commands", {}))
    return words


@pytest.mark.parametrize("words", _commands(), ids=lambda w: " ".join(w) or "zfjl")
def test_help_is_chinese_fits_80_columns_and_has_an_example(words: list[str]) -> None:
    result = zfjl_run(*words, "--help", env=COLS)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith(f"用法：zfjl {' '.join(words)}".rstrip())
    for english in CLICK_ENGLISH:
        assert english not in text, english
    assert not METAVAR.search(text)  # the option's value: 文本, 整数, 路径
    assert "..." not in text  # descriptions are not cut
    assert "示例：" in text and "  zfjl " in text.split("示例：")[1]
    wide = [line for line in text.splitlines() if cell_len(line) > 80]
    assert not wide, wide
    broken = [line for line in text.splitlines()
              if line.strip()[:1] in set("）］》」，。、；：") or line.endswith(("（", "［"))]  # fmt: skip
    assert not broken, broken  # a line neither starts with a closing mark nor ends opening one
    usage = text.split("\n\n")[0]  # the argument names are their metavar=, in Chinese
    assert not re.search(r"[A-Za-z]", usage.split("[选项]", 1)[1]), usage
    arguments = [p for p in _command(words).params if isinstance(p, click.Argument)]
    assert len(_described_arguments(text)) == len(arguments), text


@functools.cache
def _app_command() -> click.Command:
    """The click tree of the app, built once (building it takes longer than a help page)."""
    import typer.main

    return typer.main.get_command(build_app())


def _command(words: list[str]) -> click.Command:
    command = _app_command()
    for word in words:
        command = command.commands[word]  # type: ignore[attr-defined]
    return command


def _described_arguments(text: str) -> list[str]:
    """The names under 参数： that have a description (typer 0.25 drops it unless
    helpfmt.restore_argument_help gives it back)."""
    if "参数：\n" not in text:
        return []
    rows = re.findall(r"^  (\S+) +(.*)$", text.split("参数：\n")[1].split("\n\n")[0], re.M)
    return [name for name, said in rows if said.replace("［必填］", "").strip()]


def test_arguments_have_descriptions() -> None:
    text = zfjl_run("show", "--help", env=COLS).stdout
    assert "参数：" in text and "编号（BLAKE3 摘要或其唯一前缀）" in text
    assert text.count("参数：") == 1
    assert _described_arguments(zfjl_run("attach", "--help", env=COLS).stdout) == [
        "案件编号", "[记录编号]…"]  # fmt: skip


def test_a_mistyped_command_is_answered_in_chinese_once() -> None:
    result = zfjl_run("lss", env=COLS)
    assert result.returncode == 2
    assert result.stderr.count("是否要用") == 1 and "Did you mean" not in result.stderr
    assert "没有命令 “lss”" in result.stderr and "ls" in result.stderr
    verb = zfjl_run("case", "lss", env=COLS)
    assert verb.returncode == 2 and "没有命令" in verb.stderr and "ls" in verb.stderr


def test_click_usage_errors_are_chinese() -> None:
    missing = zfjl_run("show", env=COLS)
    assert missing.returncode == 2 and "缺少参数" in missing.stderr
    unknown = zfjl_run("ls", "--no-such", env=COLS)
    assert unknown.returncode == 2 and "没有选项" in unknown.stderr
    bad_int = zfjl_run("ls", "--limit", "x", env=COLS)
    assert bad_int.returncode == 2 and "不是有效的整数" in bad_int.stderr


# Every kind of usage error click raises: extra arguments, no such option (with "did you
# mean"), no such command or verb, missing argument, a bad value, an option without its value.
USAGE_ERRORS = [["ls", "a", "b"], ["ls", "--nope"], ["ls", "--fro", "x"], ["lss"],
                ["case", "improt"], ["grant", "ad"], ["show"], ["export"], ["hold", "add"],
                ["ls", "--limit", "x"], ["ls", "--from"], ["check", "--bogus"]]  # fmt: skip


@pytest.mark.parametrize("words", USAGE_ERRORS, ids=" ".join)
def test_usage_errors_have_no_english_word(words: list[str]) -> None:
    """An upgrade of click or typer that adds or rewords a message, or stops reading zfjl's
    catalog, turns one of these English: click's words start with a capital (Missing, Got,
    No such, Did you mean, Invalid value, Usage, Error)."""
    result = zfjl_run(*words, env={**COLS, "LANGUAGE": "en_US", "LANG": "en_US.UTF-8"})
    assert result.returncode == 2 and result.stderr.startswith("错误：用法错误："), result.stderr
    assert not re.search(r"\b[A-Z][a-z]+", result.stderr), result.stderr


def test_a_command_runs_with_the_callers_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """click speaks Chinese (LANGUAGE=zh_CN for gettext) only while it parses and prints: a
    command's own code, and whatever it starts (ffmpeg, exiftool, sha256sum), sees the
    caller's environment, and zfjl leaves it as it found it."""
    from zfjl.cli import topics

    seen: list[str | None] = []
    monkeypatch.setattr(topics, "_print_topic", lambda t: seen.append(os.environ.get("LANGUAGE")))
    for language in ("en_US", None):
        if language is None:
            monkeypatch.delenv("LANGUAGE", raising=False)
        else:
            monkeypatch.setenv("LANGUAGE", language)
        assert zfjl_run("help", "编号", env=COLS).returncode == 0
        assert seen[-1] == language and os.environ.get("LANGUAGE") == language
    assert "用法：" in zfjl_run("help", "ls", env=COLS).stdout  # help asked inside a command


@pytest.mark.parametrize("topic", ["编号", "日期", "退出码", "姓名", "json", "补全"])
def test_help_topics(topic: str) -> None:
    result = zfjl_run("help", topic, env=COLS)
    assert result.returncode == 0 and result.stdout.strip()
    assert all(cell_len(line) <= 80 for line in result.stdout.splitlines())


def test_help_of_a_command_and_an_unknown_topic() -> None:
    assert zfjl_run("help", "case", "open", env=COLS).stdout == zfjl_run(
        "case", "open", "--help", env=COLS).stdout  # fmt: skip
    assert zfjl_run("help", "nothing", env=COLS).returncode == 2


def _shell_asks(**env: str) -> subprocess.CompletedProcess[str]:
    """A shell runs zfjl anew with _ZFJL_COMPLETE set (helpfmt.install reads it at start-up)."""
    return subprocess.run([sys.executable, "-m", "zfjl"], capture_output=True, text=True,
                          env={**os.environ, **COLS, **env}, check=False)  # fmt: skip


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_script(shell: str) -> None:
    """The script asks back in typer's order (complete_bash), which typer's parser reads."""
    result = _shell_asks(_ZFJL_COMPLETE=f"source_{shell}")
    assert result.returncode == 0 and f"_ZFJL_COMPLETE=complete_{shell}" in result.stdout
    assert f"={shell}_complete" not in result.stdout  # click's template changed: fix replace()


def test_shell_completion_completes_words_in_bash() -> None:
    """What `zfjl help 补全` says to put in ~/.bashrc, then Tab after `zfjl ca`, `zfjl hold a`
    and `zfjl ls --fr`: bash runs zfjl and fills COMPREPLY."""
    script = '''eval "$(_ZFJL_COMPLETE=source_bash zfjl)"
        for words in "zfjl ca" "zfjl hold a" "zfjl ls --fr"; do
            COMP_WORDS=($words); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=()
            _zfjl_completion zfjl; echo "${COMPREPLY[*]}"
        done'''
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                            env={**os.environ, "PATH": path}, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["case calendar", "add", "--from"], result.stdout


def test_typer_still_drops_argument_help() -> None:
    """helpfmt.restore_argument_help reads an argument's help= back from its declaration
    because typer 0.25.1 with click 8.3+ loses it. When a typer upgrade keeps it, this fails:
    delete restore_argument_help, typer_drops_argument_help and this test."""
    from zfjl.cli import helpfmt

    assert helpfmt.typer_drops_argument_help(), (
        "typer now keeps an argument's help by itself: remove helpfmt.restore_argument_help"
    )


def test_wrap_breaks_by_display_cells() -> None:
    from zfjl.cli.helpfmt import summary, wrap

    lines = wrap("把记录仪存储卡（或导出目录）中的全部文件存入保管库，" * 4, 30)
    assert all(cell_len(line) <= 30 for line in lines)
    assert not any(line.startswith(("，", "）")) for line in lines)
    # "）。" go down together with the character before them; ［ never ends a line
    assert wrap("录音录像编号（或在本案中唯一的前缀）。［必填］", 36) == [
        "录音录像编号（或在本案中唯一的前", "缀）。［必填］"]  # fmt: skip
    for width in range(20, 50):
        for text in ("执法机关全称（印在文书上）。［必填］", "是否重读对象内容。［默认：read-data］"):
            lines = wrap(text, width)
            assert not any(line[:1] in "）］。" or line.endswith("［") for line in lines), lines
    assert summary("长期保存（第四十三条）：zfjl hold add …") == "长期保存（第四十三条）"

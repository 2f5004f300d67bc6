"""The help as a person reads it: Chinese throughout, an example per command, 80 columns."""

from __future__ import annotations

import os
import re
import subprocess
import sys

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


def test_arguments_have_descriptions() -> None:
    text = zfjl_run("show", "--help", env=COLS).stdout
    assert "参数：" in text and "编号（BLAKE3 摘要或其唯一前缀）" in text
    assert text.count("参数：") == 1


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


def test_shell_completion_script() -> None:
    result = _shell_asks(_ZFJL_COMPLETE="source_bash")
    assert result.returncode == 0 and "_ZFJL_COMPLETE=complete_bash" in result.stdout


def test_shell_completion_completes_words() -> None:
    """Fails if typer moves its private completion_init (helpfmt.register_typer_completion)."""
    result = _shell_asks(_ZFJL_COMPLETE="complete_bash", COMP_WORDS="zfjl ca", COMP_CWORD="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["case", "calendar"]


def test_typer_still_drops_argument_help() -> None:
    """helpfmt.keep_argument_help patches typer's TyperArgument.__init__ because typer 0.25.1
    with click 8.3+ loses every argument's help. When a typer upgrade keeps it, this fails:
    delete keep_argument_help, typer_drops_argument_help and this test."""
    from zfjl.cli import helpfmt

    assert helpfmt.typer_drops_argument_help(), (
        "typer now keeps an argument's help by itself: remove helpfmt.keep_argument_help"
    )


def test_wrap_breaks_by_display_cells() -> None:
    from zfjl.cli.helpfmt import summary, wrap

    lines = wrap("把记录仪存储卡（或导出目录）中的全部文件存入保管库，" * 4, 30)
    assert all(cell_len(line) <= 30 for line in lines)
    assert not any(line.startswith(("，", "）")) for line in lines)
    assert summary("长期保存（第四十三条）：zfjl hold add …") == "长期保存（第四十三条）"

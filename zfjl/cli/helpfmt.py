"""The help and the usage errors in Chinese, wrapped to the terminal by display cells.

click writes its frame (Usage:, Options, Arguments, [required], Show this message and exit.)
and its usage errors in English through gettext, wraps by characters (a CJK character is two
cells wide, so Chinese lines overflow), and cuts command descriptions with "...". Here:

- click's and typer's messages are marked for the standard gettext: zfjl's catalog answers
  them (locale/zh_CN/LC_MESSAGES/messages.po, compiled to .mo by scripts/compile_messages.py
  and shipped in the wheel) — nothing of theirs is replaced; a message a new click version
  adds is named by tests/test_help_catalog.py until translated. gettext picks the language
  from the environment only (`gettext.find` reads LANGUAGE on every call), so `chinese()`
  sets LANGUAGE while click parses and prints, and `ZhContext.invoke` puts the caller's value
  back while a command's own code runs: what a command starts never inherits it;
- every click context is a `ZhContext` whose `ZhHelpFormatter` wraps by display cells,
  translates the type metavars (TEXT → 文本), summarises a command in a group's list by its
  first clause, and lays out each command's `epilog=` (its examples, under 示例：) as shell
  lines. An argument's name in the usage line and the errors is its `metavar=`.

`usage_message(exc)` is the one Chinese line `main()` prints for a click usage error (an
unknown command with its nearest names, once).
"""

from __future__ import annotations

import difflib
import gettext
import inspect
import os
import re
import shutil
import typing
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

# click's and typer's messages in Chinese: a gettext catalog (domain "messages", the one
# click and typer translate through), compiled from its .po by scripts/compile_messages.py.
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN, LANGUAGE = "messages", "zh_CN"

# Type metavars in the usage line and the option list (an argument's is its metavar=).
METAVARS = {
    "[OPTIONS]": "[选项]", "COMMAND [ARGS]...": "命令 [参数]…", "[ARGS]...": "[参数]…",
    "TEXT": "文本", "INTEGER": "整数", "FLOAT": "数字", "PATH": "路径", "FILENAME": "文件",
    "BOOLEAN": "是否", "...": "…",
}  # fmt: skip
_METAVAR = re.compile("|".join(re.escape(k) for k in sorted(METAVARS, key=len, reverse=True)))

MIN_WIDTH, MAX_WIDTH = 40, 100
# A command's examples are its `epilog=`: this heading, then one shell command a line.
EXAMPLES_HEADING = "示例："


def _zh(message: str) -> str:
    return gettext.gettext(message)


def install() -> None:
    """Chinese help and usage errors for click and typer (idempotent)."""
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    click.Command.context_class = ZhContext
    if os.environ.get("_ZFJL_COMPLETE"):  # a shell asks for the completion script or words
        register_completion()


# -- the language: Chinese while click speaks, the caller's while a command runs -------------
_callers: list[str | None] = []  # LANGUAGE as it was outside each chinese() block


def _set_language(value: str | None) -> None:
    if value is None:
        os.environ.pop("LANGUAGE", None)
    else:
        os.environ["LANGUAGE"] = value


@contextmanager
def chinese() -> Iterator[None]:
    """click's and typer's messages in Chinese in this block, whatever the station's locale."""
    _callers.append(os.environ.get("LANGUAGE"))
    _set_language(LANGUAGE)
    try:
        yield
    finally:
        _set_language(_callers.pop())


@contextmanager
def as_the_caller() -> Iterator[None]:
    """The environment as zfjl was given it (inside chinese()): for a command's own code."""
    if not _callers:
        yield
        return
    _set_language(_callers[-1])
    try:
        yield
    finally:
        _set_language(LANGUAGE)


# -- what typer 0.25 offers no public way to do (tests/test_help.py fails when it changes) ----
def typer_drops_argument_help() -> bool:
    """Whether typer still loses an argument's `help=`: `TyperArgument.__init__` (typer 0.25)
    sets it, then calls click's `Argument.__init__` without it, which (click 8.3 and later)
    sets it back to None. test_typer_still_drops_argument_help fails when typer keeps it:
    delete restore_argument_help then."""
    import typer.core

    return typer.core.TyperArgument(param_decls=["probe"], help="说明").help != "说明"


def restore_argument_help(command: click.Command) -> None:
    """Give each argument typer built without its help the `help=` of its declaration
    (`Annotated[str, typer.Argument(help=…)]` in the command's function)."""
    lost = [p for p in command.params if isinstance(p, click.Argument) and p.help is None]
    if not lost or command.callback is None:
        return
    from typer.models import ArgumentInfo

    function = inspect.unwrap(command.callback)  # typer's wrapper names the function
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except (NameError, TypeError):  # a name only for type checkers: the command still runs,
        return  # and test_help_is_chinese_fits_80_columns… names the undescribed argument
    defaults = inspect.signature(function).parameters
    for param in lost:
        declared = [*getattr(hints.get(param.name or ""), "__metadata__", ())]
        if param.name in defaults:
            declared.append(defaults[param.name].default)
        param.help = next((d.help for d in declared if isinstance(d, ArgumentInfo)), None)


def register_completion() -> None:
    """typer asks for `_ZFJL_COMPLETE=source_bash|complete_bash` (its order: click's is
    bash_source) and finds the shell's class in click's registry. click's own classes, whose
    scripts ask back in typer's order, registered through click's public add_completion_class
    (typer registers its own only with add_completion=True, which adds --install-completion
    and --show-completion to `zfjl --help`)."""
    from click import shell_completion as sc

    for cls in (sc.BashComplete, sc.ZshComplete, sc.FishComplete):
        template = cls.source_template.replace(f"={cls.name}_complete", f"=complete_{cls.name}")
        sc.add_completion_class(type(cls.__name__, (cls,), {"source_template": template}))


# -- wrapping by display cells --------------------------------------------------------------
def cells(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


_NO_LINE_START = set("，。、；：？！）］》」』】〕,.;:!?)]}…％%")
# A token is one CJK character or one run of other non-spaces (a word, an ID, a path), with
# the opening brackets before it: a line never ends in （ or “.
_OPEN = "（［《「『【〔“‘"
_TOKEN = re.compile(rf"[{_OPEN}]*(?:[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]|[^\s"
                    r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+)|\s+")  # fmt: skip


def wrap(text: str, width: int) -> list[str]:
    """Break `text` into lines of at most `width` display cells: between CJK characters or at
    spaces, never before a closing punctuation mark; a word longer than a line is cut."""
    lines: list[str] = []
    for para in text.splitlines() or [""]:
        line, last = "", 0  # `last`: where the line's last token starts
        for token in _TOKEN.findall(para):
            if token.isspace():  # runs of spaces become one; a full-width space is kept
                if line:
                    line += "\u3000" if "\u3000" in token else " "
                continue
            while cells(token) > width:  # a path or a long ID: cut it by cells
                room = width - cells(line)
                if room <= 0:
                    lines.append(line.rstrip())
                    line, room = "", width
                head = ""
                for ch in token:
                    if cells(head + ch) > room:
                        break
                    head += ch
                lines.append(line + head)
                line, token = "", token[len(head) :]
            if cells(line + token) <= width:  # a closing mark stays with the token before it
                last = last if set(token) <= _NO_LINE_START else len(line)
                line += token
            elif token[0] in _NO_LINE_START and line and last > 0 and cells(line) > 2:
                # keep the punctuation with its character or word: move that down with it
                lines.append(line[:last].rstrip())
                line, last = line[last:] + token, 0
            else:
                lines.append(line.rstrip())
                line, last = token, 0
        lines.append(line.rstrip())
    return lines


def summary(help_text: str) -> str:
    """A command's line in its group's list: its help up to the first top-level ：。；
    (the part after is the how-to, shown by the command's own --help)."""
    depth = 0
    for i, ch in enumerate(help_text):
        if ch in "（(《“":
            depth += 1
        elif ch in "）)》”":
            depth = max(0, depth - 1)
        elif ch in "：。；" and depth == 0 and i > 0:
            return help_text[:i]
    return help_text.rstrip("。")


class ZhHelpFormatter(click.HelpFormatter):
    """click's help layout, in Chinese and wrapped by display cells."""

    def __init__(self, **_: Any) -> None:  # click's width: the terminal's, by cells, here
        cols = shutil.get_terminal_size((80, 24)).columns
        super().__init__(width=10_000)  # click cuts short help to this: it is `cols` here
        self.cols = max(MIN_WIDTH, min(MAX_WIDTH, cols))
        self._section: str | None = None
        self._headings: set[str] = set()

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        head = f"{' ' * self.current_indent}{_zh('Usage:')}{prog} "
        body = _METAVAR.sub(lambda m: METAVARS[m.group()], args)
        lines = wrap(body, self.cols - cells(head))
        self.write(head + lines[0] + "\n")
        for line in lines[1:]:
            self.write(" " * cells(head) + line + "\n")

    def write_heading(self, heading: str) -> None:
        self.write(f"{' ' * self.current_indent}{_zh(heading)}：\n")

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        # click lists the arguments under "Positional arguments" once typer has listed them
        # under "Arguments": both are 参数, and the second is dropped.
        heading = _zh(name)
        start = len(self.buffer)
        self._section = heading
        with super().section(heading):
            yield
        self._section = None
        if heading in self._headings:
            del self.buffer[start:]
        self._headings.add(heading)

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30,
                 col_spacing: int = 2) -> None:  # fmt: skip
        rows = [(self._term(a), self._definition(b)) for a, b in rows]
        if not rows:
            return
        indent = self.current_indent
        first = min(max(cells(a) for a, _ in rows), col_max)
        room = max(20, self.cols - indent - first - col_spacing)
        for term, definition in rows:
            self.write(" " * indent + term)
            lines = wrap(definition, room) if definition else [""]
            if cells(term) > first:  # a long option: its text starts on the next line
                self.write("\n")
                pad = " " * (indent + first + col_spacing)
                for line in lines:
                    if line:
                        self.write(pad + line + "\n")
                continue
            self.write(" " * (first - cells(term) + col_spacing) + lines[0] + "\n")
            for line in lines[1:]:
                self.write(" " * (indent + first + col_spacing) + line + "\n")

    def _term(self, term: str) -> str:
        return _METAVAR.sub(lambda m: METAVARS[m.group()], term)

    def _definition(self, text: str) -> str:
        if self._section == _zh("Commands"):
            text = summary(text)
        # typer's "[default: x]" / "[required]" brackets, as 【默认：x】 / 【必填】
        return re.sub(r"\s*\[(必填|默认：[^\]]*|环境变量：[^\]]*)\]", r"［\1］", text)

    def write_text(self, text: str) -> None:
        if text.startswith(EXAMPLES_HEADING + "\n"):  # a command's epilog: its examples
            self.write(EXAMPLES_HEADING + "\n")
            commands = text.splitlines()[1:]
            self.write("".join(example_lines(c.strip(), self.cols) for c in commands if c.strip()))
            return
        indent = " " * self.current_indent
        for line in wrap(text, self.cols - self.current_indent):
            self.write(f"{indent}{line}\n" if line else "\n")


class ZhContext(click.Context):
    """click's context with zfjl's help formatter; a command's code runs as_the_caller()."""

    formatter_class = ZhHelpFormatter

    def __init__(self, command: click.Command, *args: Any, **kw: Any) -> None:
        restore_argument_help(command)
        super().__init__(command, *args, **kw)

    def invoke(self, callback: Any, /, *args: Any, **kw: Any) -> Any:
        with as_the_caller():
            return super().invoke(callback, *args, **kw)


def example_lines(example: str, cols: int) -> str:
    """A shell command indented by two, broken only at spaces; its continuation lines are
    indented by six and the lines before them end in " \\" (copied, still one command)."""
    lines: list[str] = []
    for word in example.split(" "):
        if lines and cells(lines[-1] + " " + word) <= cols - 8:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "".join(
        ("  " if i == 0 else "      ") + line + (" \\" if i < len(lines) - 1 else "") + "\n"
        for i, line in enumerate(lines)
    )


def usage_message(exc: click.ClickException) -> str:
    """One Chinese line for a usage error (an unknown command: with its nearest names, once)."""
    ctx = getattr(exc, "ctx", None)
    where = (
        f"（用 {ctx.command_path} --help 查看用法）"
        if ctx is not None
        else "（用 --help 查看用法）"
    )
    if isinstance(exc, click.exceptions.NoSuchCommand):
        names: list[str] = []
        if ctx is not None and isinstance(ctx.command, click.Group):
            names = [n for n in ctx.command.list_commands(ctx)
                     if not getattr(ctx.command.get_command(ctx, n), "hidden", False)]  # fmt: skip
        near = difflib.get_close_matches(exc.command_name, names, n=3, cutoff=0.5)
        hint = f"；是否要用：{'、'.join(near)}" if near else ""
        return f"没有命令 “{exc.command_name}”{hint}{where}"
    if isinstance(exc, click.NoSuchOption):
        options = "、".join(exc.possibilities or [])
        hint = f"；是否要用：{options}" if options else ""
        return f"没有选项 “{exc.option_name}”{hint}{where}"
    with chinese():  # click words some messages only now (BadParameter, MissingParameter)
        message = exc.format_message()
    if isinstance(exc, click.MissingParameter):  # the argument's metavar, in Chinese quotes
        message = re.sub(r"'([^'\s]+)'", r"“\1”", message)
    for english, zh in (("integer", "整数"), ("float", "数字"), ("boolean", "是/否值")):
        message = message.replace(f"有效的{english}", f"有效的{zh}")
    return f"{message.rstrip('。.')}{where}"

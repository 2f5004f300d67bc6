"""The help and the usage errors in Chinese, wrapped to the terminal by display cells.

click writes its frame (Usage:, Options, Arguments, [required], Show this message and exit.)
and its usage errors in English through gettext, wraps by characters (a CJK character is two
cells wide, so Chinese lines overflow), and cuts command descriptions with "...". `install()`
fixes all three once, at start-up:

- click's and typer's messages are marked for the standard gettext: `install()` binds their
  domain to zfjl's Chinese catalog (locale/zh_CN/LC_MESSAGES/messages.po, compiled to .mo by
  scripts/compile_messages.py and shipped in the wheel) — nothing of theirs is replaced; a
  message a new click version adds is named by tests/test_help_catalog.py until translated;
- every click context makes a `ZhHelpFormatter`, which wraps by display cells, translates the
  metavars (TEXT → 文本), summarises a command in a group's list by its first clause, and ends
  each help with the command's examples (`EXAMPLES`, by command path).

`usage_message(exc)` is the one Chinese line `main()` prints for a click usage error (an
unknown command with its nearest names, once).
"""

from __future__ import annotations

import difflib
import gettext
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

# click's and typer's messages in Chinese: a gettext catalog (domain "messages", the one
# click and typer translate through), compiled from its .po by scripts/compile_messages.py.
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN, LANGUAGE = "messages", "zh_CN"

# Metavars in the usage line and the option list.
METAVARS = {
    "[OPTIONS]": "[选项]", "COMMAND [ARGS]...": "命令 [参数]…", "[ARGS]...": "[参数]…",
    "TEXT": "文本", "INTEGER": "整数", "FLOAT": "数字", "PATH": "路径", "FILENAME": "文件",
    "BOOLEAN": "是否", "...": "…",
}  # fmt: skip
# Argument names (click shows the parameter's name in capitals) in the usage line, the 参数
# list and the usage errors. A name not listed stays as it is.
ARG_NAMES = {
    "CASE": "案件编号", "DEST": "目录", "DEVICE": "设备编号", "DOCUMENT": "文书代号", "DOCTYPE": "文书类型", "FILE": "文件",
    "GRANT_ID": "批准编号", "HOLD_ID": "长期保存编号", "ID": "编号", "ITEM": "抽查项",
    "KEY": "键", "OFFICER": "执法人员", "PATH": "路径", "RECORDING": "记录编号",
    "RECORDINGS": "记录编号", "ROLE": "角色", "RULE_ID": "规则编号", "SOURCE": "来源目录",
    "STATUS": "状态", "TARGET": "记录或案件", "USER": "用户", "VALUE": "值",
}  # fmt: skip
_ARG = re.compile(r"(?<![\w-])(" + "|".join(sorted(ARG_NAMES, key=len, reverse=True)) + r")(?![\w-])")


def _arg_names(text: str) -> str:
    return _ARG.sub(lambda m: ARG_NAMES[m.group(1)], text)


_METAVAR = re.compile("|".join(re.escape(k) for k in sorted(METAVARS, key=len, reverse=True)))

# Examples shown at the end of each command's help, by command path (without "zfjl").
EXAMPLES: dict[str, list[str]] = {
    "": ["zfjl ingest /media/DSJ01", "zfjl ls --device DSJ01 --from 2024-05-01",
         "zfjl check CASE-2024-031", "zfjl help 编号"],
    "init": ["zfjl --vault /srv/zfjl init --bureau 株洲市城市管理和综合执法局"],
    "verify": ["zfjl verify", "zfjl verify --subset 3/7 --sha256"],
    "rebuild": ["zfjl rebuild"],
    "ingest": ["zfjl ingest /media/DSJ01", "zfjl ingest /media/U盘 --device DSJ05 --officer 010002"],
    "ls": ["zfjl ls --device DSJ01 --from 2024-05-01 --to 2024-05-31",
           "zfjl ls --kind video --late", "zfjl ls --json --limit 10"],
    "show": ["zfjl show 0ad1e9f62b22"],
    "detach": ["zfjl detach CASE-2024-031 0ad1e9f62b22 --reason 误关联：非本案现场"],
    "seal": ["zfjl seal"],
    "attach": ["zfjl attach CASE-2024-031 0ad1e9f62b22 --activity 询问 --proves 当事人陈述",
               "zfjl attach CASE-2024-031 --device DSJ01 --from 2024-05-06T10:00 "
               "--to 2024-05-06T11:00 --activity 现场检查"],
    "check": ["zfjl check CASE-2024-031", "zfjl check --all --as-of 2024-09-02"],
    "render": ["zfjl render CASE-2024-031 -o 文书/", "zfjl render CASE-2024-031 送达回证 --format html"],
    "sweep": ["zfjl sweep --as-of 2025-12-31 --pdf 拟销毁清册.pdf",
              "zfjl sweep --execute --approval-no 城管〔2024〕12号"],
    "view": ["zfjl view 0ad1e9f62b22 --purpose 复核 --open"],
    "export": ["zfjl export 0ad1e9f62b22 175955ac0e5a -o /media/U盘/复制件"],
    "log": ["zfjl log CASE-2024-031", "zfjl log 0ad1e9f62b22 --pdf 保管日志.pdf"],
    "report": ["zfjl report --period 2024-05 -o 通报-2024-05.pdf"],
    "sample": ["zfjl sample /tmp/DSJ01", "zfjl sample --cases /tmp/样例"],
    "serve": ["zfjl serve --socket /run/zfjl/zfjl.sock"],
    "help": ["zfjl help", "zfjl help 编号", "zfjl help ls"],
    "case": ["zfjl case ls", "zfjl case show CASE-2024-031"],
    "case open": ["zfjl case open CASE-2024-060 --kind 处罚 --cause 占道经营 --party 张某 "
                  "--origin 依职权"],
    "case import": ["zfjl case import CASE-2024-031.yaml"],
    "case export": ["zfjl case export CASE-2024-031 -o CASE-2024-031.yaml"],
    "case doc": ["zfjl case doc CASE-2024-031 询问笔录.yaml",
                 "zfjl case doc CASE-2024-031 询问笔录.yaml --reason 笔录时间写错"],
    "case withdraw-doc": ["zfjl case withdraw-doc CASE-2024-031 d-inquiry-2 --reason 重复录入"],
    "case withdraw": ["zfjl case withdraw CASE-2024-099 --reason 误导入他局案件"],
    "case reopen": ["zfjl case reopen CASE-2024-031 --reason 补录送达回证"],
    "case ls": ["zfjl case ls --status 办理中"],
    "case show": ["zfjl case show CASE-2024-031"],
    "case status": ["zfjl case status CASE-2024-031 已结案"],
    "case history": ["zfjl case history CASE-2024-031"],
    "bundle": ["zfjl bundle make CASE-2024-031 --purpose court -o 案件包/"],
    "bundle make": ["zfjl bundle make CASE-2024-031 --purpose court -o 案件包.tar"],
    "bundle verify": ["zfjl bundle verify 案件包.tar --checkpoint 纸面留存.txt"],
    "hold": ["zfjl hold ls"],
    "hold add": ["zfjl hold add CASE-2024-031 --reason 纠纷 --note 当事人申请行政复议"],
    "hold ls": ["zfjl hold ls --all"],
    "hold release": ["zfjl hold release H-12 --approval-no 城管〔2024〕9号"],
    "grant": ["zfjl grant ls"],
    "grant add": ["zfjl grant add lisi --case CASE-2024-031 --scope copy --approved-by 王局长 "
                  "--approval-no 局批〔2024〕8号 --until 2024-09-30"],
    "grant ls": ["zfjl grant ls --user lisi --all"],
    "grant revoke": ["zfjl grant revoke G-12 --approval-no 局批〔2024〕11号 --reason 案件已办结"],
    "checkpoint": ["zfjl checkpoint make -q"],
    "checkpoint make": ["zfjl checkpoint make > 纸面留存.txt"],
    "checkpoint verify": ["zfjl checkpoint verify 纸面留存.txt"],
    "checkpoint new-key": ["zfjl checkpoint new-key"],
    "checkpoint restore-state": ["zfjl checkpoint restore-state --approval-no 株城管〔2026〕15号"],
    "calendar": ["zfjl calendar ls"],
    "calendar add": ["zfjl calendar add 2025年节假日.yaml"],
    "calendar ls": ["zfjl calendar ls"],
    "rules": ["zfjl rules ls"],
    "rules ls": ["zfjl rules ls"],
    "rules show": ["zfjl rules show R31-lodged-service"],
    "rules doctypes": ["zfjl rules doctypes"],
    "device": ["zfjl device ls"],
    "device add": ["zfjl device add DSJ01 --model X6 --serial SN0001 --unit 天元大队 "
                   "--assigned-to 010002"],
    "device assign": ["zfjl device assign DSJ01 010003 --since 2024-06-01"],
    "device log": ["zfjl device log DSJ01 --event fault --note 无法开机"],
    "device ls": ["zfjl device ls"],
    "device show": ["zfjl device show DSJ01"],
    "spotcheck": ["zfjl spotcheck ledger"],
    "spotcheck draw": ["zfjl spotcheck draw --unit 天元大队 --period 2024-05 --n 10"],
    "spotcheck record": ["zfjl spotcheck record 0ad1e9f62b22 --result minor --fail notice"],
    "spotcheck ledger": ["zfjl spotcheck ledger --period 2024-05 --pdf 检查台帐.pdf"],
    "role": ["zfjl role ls"],
    "role add": ["zfjl role add wangju director --approval 局批〔2024〕1号"],
    "role rm": ["zfjl role rm zhangsan clerk --reason 调离"],
    "role ls": ["zfjl role ls"],
    "custom": ["zfjl custom ls"],
    "custom add": ["zfjl custom add templates 询问笔录.typ.j2 --approval 局批〔2024〕9号",
                   "zfjl custom add rules 本局.yaml --approval 局批〔2024〕10号"],
    "custom ls": ["zfjl custom ls", "zfjl custom ls templates --json"],
    "custom rm": ["zfjl custom rm templates 询问笔录.typ.j2 --approval 局批〔2024〕11号"],
    "config": ["zfjl config ls"],
    "config ls": ["zfjl config ls"],
    "config get": ["zfjl config get retention.patrol_months"],
    "config set": ["zfjl config set users.zhangsan.name 张三",
                   "zfjl config set retention.patrol_months 12 --approval 局批〔2024〕3号"],
    "station": ["zfjl station setup --bureau 株洲市城市管理和综合执法局 --admin root "
                "--approval 局批〔2024〕1号"],
    "station setup": ["zfjl station setup --bureau 株洲市城市管理和综合执法局 --admin root "
                      "--approval 局批〔2024〕1号"],
}  # fmt: skip

MIN_WIDTH, MAX_WIDTH = 40, 100


def _zh(message: str) -> str:
    return gettext.gettext(message)


def install() -> None:
    """Chinese messages and help for click and typer (idempotent)."""
    import typer.core

    # click and typer mark their messages for the standard gettext: our catalog answers them,
    # in Chinese whatever the machine's locale (zfjl speaks to a clerk in Chinese only).
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    os.environ["LANGUAGE"] = LANGUAGE
    if os.environ.get("_ZFJL_COMPLETE"):  # a shell asks for the completion script or words
        from typer._completion_classes import completion_init

        completion_init()
    click.Context.formatter_class = ZhHelpFormatter
    click.Context.make_formatter = _make_formatter  # type: ignore[method-assign,assignment]
    _keep_argument_help(typer.core.TyperArgument)


def _keep_argument_help(cls: Any) -> None:
    """typer sets an argument's help before calling click's `Argument.__init__`, which (click
    8.3 and later) sets it back to None: every argument lost its description. Set it after."""
    if getattr(cls, "_zfjl_keeps_help", False):
        return
    init = cls.__init__

    def __init__(self: Any, *args: Any, help: str | None = None, **kw: Any) -> None:
        init(self, *args, help=help, **kw)
        self.help = help

    cls.__init__ = __init__
    cls._zfjl_keeps_help = True


def _make_formatter(ctx: click.Context) -> click.HelpFormatter:
    return ZhHelpFormatter(ctx)


# -- wrapping by display cells --------------------------------------------------------------
def cells(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


_NO_LINE_START = set("，。、；：？！）》」』】〕,.;:!?)]}…％%")
# A token is one CJK character or one run of other non-spaces (a word, an ID, a path), with
# the opening brackets before it: a line never ends in （ or “.
_OPEN = "（《「『【〔“‘"
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
            if cells(line + token) <= width:
                last, line = len(line), line + token
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

    def __init__(self, ctx: click.Context | None = None, **_: Any) -> None:
        cols = shutil.get_terminal_size((80, 24)).columns
        super().__init__(width=10_000)  # click cuts short help to this: it is `cols` here
        self.cols = max(MIN_WIDTH, min(MAX_WIDTH, cols))
        self.ctx = ctx
        self._section: str | None = None
        self._headings: set[str] = set()

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        head = f"{' ' * self.current_indent}{_zh('Usage:')}{prog} "
        body = _arg_names(_METAVAR.sub(lambda m: METAVARS[m.group()], args))
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

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        for line in wrap(text, self.cols - self.current_indent):
            self.write(f"{indent}{line}\n" if line else "\n")

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
        term = _METAVAR.sub(lambda m: METAVARS[m.group()], term)
        return _arg_names(term) if self._section == _zh("Arguments") else term

    def _definition(self, text: str) -> str:
        if self._section == _zh("Commands"):
            text = summary(text)
        # typer's "[default: x]" / "[required]" brackets, as 【默认：x】 / 【必填】
        return re.sub(r"\s*\[(必填|默认：[^\]]*|环境变量：[^\]]*)\]", r"［\1］", text)

    def getvalue(self) -> str:
        value = super().getvalue()
        if self.ctx is not None and not self.ctx.resilient_parsing and value.strip():
            path = " ".join(self.ctx.command_path.split()[1:])
            examples = EXAMPLES.get(path) or []
            if examples and "示例：" not in value:
                value += "\n示例：\n" + "".join(example_lines(e, self.cols) for e in examples)
        return value


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
    message = exc.format_message()
    if isinstance(exc, click.MissingParameter):
        message = re.sub(r"'([A-Z_]+)'", lambda m: f"“{ARG_NAMES.get(m.group(1), m.group(1))}”",
                         message)  # fmt: skip
    for english, chinese in (("integer", "整数"), ("float", "数字"), ("boolean", "是/否值")):
        message = message.replace(f"有效的{english}", f"有效的{chinese}")
    return f"{message.rstrip('。.')}{where}"

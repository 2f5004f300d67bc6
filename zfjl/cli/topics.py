"""zfjl help [主题|命令…]: the help of a command, or a topic the commands share (IDs, dates,
exit codes, names in the log, JSON, shell completion). The topics are the manual page."""

from __future__ import annotations

import re
from typing import Annotated, Any

import click
import typer

from zfjl.cli.common import JsonOpt
from zfjl.cli.exitcodes import topic_text as exit_codes_text
from zfjl.cli.output import emit, out

app = typer.Typer()

TOPICS: dict[str, tuple[str, str]] = {
    "编号": ("记录编号（BLAKE3 摘要）怎样写", (
        "每条记录以其内容的 BLAKE3 摘要（64 位十六进制数字）为编号。"
        "zfjl ls、case show、抽查台帐等列表显示编号的唯一前缀，至少 12 位，"
        "可直接复制给 zfjl show、view、export、log、attach、hold add；"
        "手写时至少 4 位，且须唯一。前缀对应多条记录时，zfjl 列出几条并请多写几位；"
        "从旧版列表复制的“0ad1e9…”（带省略号）也照样接受。"
        "--json 输出始终给出完整的 64 位编号。"
    )),
    "日期": ("日期与时间怎样写", (
        "日期写作 YYYY-MM-DD（如 2024-05-06），时间写作 YYYY-MM-DDTHH:MM"
        "（如 2024-05-06T10:00），均为保管库所在时区（zfjl config get timezone）。"
        "--to 只写日期时包含当日全天。列表中的时间显示为 2024-05-06 10:00；"
        "--json 输出为带时区的 ISO 8601 时间。"
    )),
    "退出码": ("命令的退出码", exit_codes_text()),
    "姓名": ("保管日志中操作人的姓名", (
        "日志记下的是操作系统用户名（如 zhangsan）。给用户登记姓名后，zfjl log、"
        "case history 和 zfjl show 的“操作人”显示为“张三（zhangsan）”：\n"
        "    zfjl config set users.zhangsan.name 张三\n"
        "姓名是记入日志的设置（仅保管库管理员可改）；改名不改动任何日志记录，"
        "--json 输出仍为用户名。"
    )),
    "json": ("给程序读取的 JSON 输出", (
        "每个命令都有 --json：结果以 JSON 写到标准输出（UTF-8，中文不转义），格式固定、"
        "供脚本读取，与终端宽度和显示格式无关（秒、字节、完整编号、英文类型名）。"
        '出错时标准输出为 {"error": {"type": …, "message": …, "exit_code": …}}，'
        "提示与错误写到标准错误。"
    )),
    "补全": ("命令补全（bash、zsh、fish）", (
        "bash：把下面一行加入 ~/.bashrc（zsh 用 source_zsh 加入 ~/.zshrc，"
        "fish 用 source_fish）：\n"
        '    eval "$(_ZFJL_COMPLETE=source_bash zfjl)"\n'
        "之后输入 zfjl 与命令的开头按 Tab 键即可补全命令、动词和选项。"
    )),
}  # fmt: skip


@app.command(
    "help",
    help="显示帮助：zfjl help 主题（编号、日期、退出码、姓名、json、补全），或 zfjl help 命令。",
    epilog="示例：\n  zfjl help\n  zfjl help 编号\n  zfjl help ls",
)
def help_cmd(
    words: Annotated[
        list[str] | None,
        typer.Argument(help="主题，或命令（如 ls、case open）。", metavar="[主题|命令]…"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    import typer.main

    from zfjl.cli.app import build_app
    from zfjl.cli.helpfmt import ZhContext, chinese
    from zfjl.errors import UsageError

    # A run builds only the command it names (app.COMMANDS): here, all of them.
    root = ZhContext(typer.main.get_command(build_app()), info_name="zfjl")
    words = words or []
    if not words:
        topics = {name: {"title": title, "text": text} for name, (title, text) in TOPICS.items()}
        with chinese():
            text = root.get_help()
        emit({"help": text, "topics": topics}, as_json, _print_index)
        return
    topic = TOPICS.get(words[0]) or TOPICS.get(words[0].lower())
    if topic and len(words) == 1:
        emit({"topic": words[0], "title": topic[0], "text": topic[1]}, as_json, _print_topic)
        return
    command: click.Command = root.command
    sub = root
    for word in words:
        group = command if isinstance(command, click.Group) else None
        found = group.get_command(sub, word) if group is not None else None
        if found is None:
            raise UsageError(f"没有帮助主题或命令 “{' '.join(words)}”（zfjl help 列出全部）")
        command = found
        sub = ZhContext(command, info_name=word, parent=sub)
    with chinese():
        text = command.get_help(sub)
    emit({"command": " ".join(words), "help": text}, as_json,
         lambda h: out.print(h["help"], markup=False, highlight=False))  # fmt: skip


def _print_index(index: dict[str, Any]) -> None:
    out.print(index["help"], markup=False, highlight=False)
    out.print("\n主题（zfjl help 主题）：", markup=False)
    for name, topic in index["topics"].items():
        out.print(f"  {name}　{topic['title']}", markup=False)


def _print_topic(topic: dict[str, str]) -> None:
    from zfjl.cli.helpfmt import wrap

    width = max(40, min(100, out.width))
    lines = [line if line.startswith("    ") else _hanging(line, width, wrap)
             for line in topic["text"].splitlines()]  # fmt: skip
    out.print(f"{topic['title']}\n\n" + "\n".join(lines), markup=False, highlight=False)


def _hanging(line: str, width: int, wrap: Any) -> str:
    """A paragraph wrapped to `width`; an item of a list (`  0  成功…`) keeps its later lines
    under its text."""
    m = re.match(r"\s*\d+  ", line)
    if m is None:
        return "\n".join(wrap(line, width))
    head, pad = line[: m.end()], " " * m.end()
    parts = wrap(line[m.end() :], width - m.end())
    return "\n".join((head if i == 0 else pad) + part for i, part in enumerate(parts))

"""Write what a person sees of the CLI's help into a folder, to compare two versions byte by byte.

Every command's and verb's `--help` at COLUMNS=80 and 50, and the usage errors click raises
(missing argument, no such option or command, "did you mean", extra arguments, bad value),
under an English locale. Before changing help or helpfmt.py:

    .venv/bin/python scripts/help_snapshot.py /tmp/help-before
    … change …
    .venv/bin/python scripts/help_snapshot.py /tmp/help-after && diff -r /tmp/help-before /tmp/help-after
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import typer.main

from zfjl.cli import build_app

ERRORS = [["ls", "a", "b"], ["ls", "--nope"], ["ls", "--fro", "x"], ["lss"], ["case", "improt"],
          ["show"], ["hold", "add"], ["attach"], ["ls", "--limit", "x"], ["hold"], ["case"],
          ["grant", "ad"], ["check", "--bogus"], [], ["render"], ["export"], ["ls", "--from"],
          ["help", "case", "open"], ["help"], ["help", "退出码"]]  # fmt: skip
ENV = {**os.environ, "LANGUAGE": "en_US", "LANG": "en_US.UTF-8", "LC_ALL": "C.UTF-8",
       "ZFJL_VAULT": "/nonexistent-vault"}  # fmt: skip


def command_words(command: click.Command, words: list[str]) -> list[list[str]]:
    found = [words]
    if isinstance(command, click.Group):
        for name in command.list_commands(click.Context(command)):
            found += command_words(command.commands[name], [*words, name])
    return found


def main(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    runs = [[*w, "--help"] for w in command_words(typer.main.get_command(build_app()), [])]
    for args in runs + ERRORS:
        for cols in (80, 50):
            run = subprocess.run([sys.executable, "-m", "zfjl", *args], capture_output=True,
                                 text=True, env={**ENV, "COLUMNS": str(cols)})  # fmt: skip
            name = "_".join(args).replace("/", "%") or "zfjl"
            (folder / f"{name}.{cols}").write_text(
                f"rc={run.returncode}\n--stdout--\n{run.stdout}--stderr--\n{run.stderr}"
            )
    print(f"{folder}：{2 * len(runs + ERRORS)} 份")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))

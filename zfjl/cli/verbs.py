"""Nouns with verbs (`zfjl hold add|ls|release`), and the old spellings they replace.

A noun is a click group whose verbs are real subcommands, each with its own --help. Before
verbs existed some nouns chose what to do from their first word or from a mode option
(`zfjl hold 记录 --reason …`, `zfjl hold --release H-1 …`, bare `zfjl checkpoint` from cron).
`DefaultVerbGroup` keeps those spellings working for one release: when the first word is
not a verb, it routes to the verb the old spelling meant and prints one deprecation note on
stderr (never stdout, so `--json` output stays parseable). Nothing in a command body looks
for magic words.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import ClassVar

import click
from typer.core import TyperGroup

from zfjl.cli.output import note

_VERB_LIKE = re.compile(r"[A-Za-z][A-Za-z-]*")


@dataclass(frozen=True)
class OldSpelling:
    """An old spelling: the verb it now means, and both forms for the deprecation note."""

    verb: str
    old: str
    new: str
    takes_value: bool = False  # a mode option's value becomes the verb's first argument

    def note(self) -> str:
        return f"提示：“{self.old}” 已改为 “{self.new}”，旧写法将在下一版本取消"


class DefaultVerbGroup(TyperGroup):
    """A noun group that routes old spellings to a verb (subclass and set the class vars).

    - `mode_options`: an option that used to switch the command's mode (`--release H-1`,
      `--verify FILE`, `--new-key`) anywhere before `--` routes to its verb; with
      `takes_value`, its value becomes the verb's first argument.
    - `default_verb`: otherwise, a first word that is not a verb (nor --help) routes here.
    - `bare_runs_default`: the noun alone runs `default_verb` too (else: help, exit 2).
    """

    default_verb: ClassVar[OldSpelling | None] = None
    mode_options: ClassVar[dict[str, OldSpelling]] = {}
    bare_runs_default: ClassVar[bool] = False

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        routed = self.route(ctx, list(args))
        if routed is not None:
            spelling, args = routed
            if not ctx.resilient_parsing:
                note(spelling.note())
        return super().parse_args(ctx, args)

    def route(self, ctx: click.Context, args: list[str]) -> tuple[OldSpelling, list[str]] | None:
        """The old spelling `args` use and the args of its verb; None for the new spelling."""
        if args and (args[0] in self.commands or args[0] in ctx.help_option_names):
            return None
        for i, token in enumerate(args):
            if token == "--":
                break
            name, eq, value = token.partition("=")
            spelling = self.mode_options.get(name)
            if spelling is None:
                continue
            rest = args[:i] + args[i + 1 :]
            first: list[str] = []
            if spelling.takes_value:
                if eq:
                    first = [value]
                elif i + 1 < len(args):
                    first, rest = [args[i + 1]], args[:i] + args[i + 2 :]
            elif eq:
                continue  # `--new-key=…` is no flag of the old command: let click say so
            return spelling, [spelling.verb, *first, *rest]
        if self.default_verb is None or not (args or self.bare_runs_default):
            return None
        if args and self.mistyped_verb(args[0]):
            raise click.exceptions.NoSuchCommand(args[0], ctx=ctx)  # "是否要用：add"
        return self.default_verb, [self.default_verb.verb, *args]

    def mistyped_verb(self, word: str) -> bool:
        """Whether `word` reads as a misspelt verb (`ad`, `mk`, `lss`) rather than the first
        argument of the old spelling: a clerk who mistypes a verb is told the verb, not
        routed to the deprecated spelling and told of an extra argument. A case or user that
        happens to be so named is reached by the new spelling (`hold add ad`)."""
        if not _VERB_LIKE.fullmatch(word):  # options, IDs, case numbers have digits or a dash first
            return False
        verbs = [v for v in self.commands if not self.commands[v].hidden]
        lowered = word.lower()
        if lowered in verbs or any(v.startswith(lowered) for v in verbs if len(lowered) >= 2):
            return True
        return bool(difflib.get_close_matches(lowered, verbs, n=1, cutoff=0.6))

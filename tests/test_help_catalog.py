"""An upgrade of click or typer must not silently turn zfjl's help or usage errors English.

click and typer mark every message a person may read with gettext (`_("…")`); zfjl shows
them in Chinese through `helpfmt.MESSAGES`. This test reads every marked message of the
installed click and typer and requires each to be translated, or listed below as never
reaching a zfjl user (with why). A new version that adds or rewords a message fails here,
naming it, instead of printing English to a clerk.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

import click
import typer

from zfjl.cli.helpfmt import MESSAGES

# Marked messages zfjl never shows, and why.
NOT_SHOWN = {
    # programmer errors: raised while building commands, never by a user's input
    "Value must be an iterable.",
    "Could not determine name for option with declarations {decls!r}",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument"
    " instead? Did you mean to pass '--{name}'?",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.",
    "Name '{name}' defined twice",
    "Boolean option {decl!r} cannot use the same flag for true/false.",
    "Invalid start character for option ({option})",
    "Unknown color {colour!r}",
    "Unknown standard stream '{name}'",
    "Choice({choices})",  # a metavar zfjl replaces (helpfmt.METAVARS); no Choice type is used
    # features zfjl does not use: deprecation flags, editors, pagers, prompts with confirmation
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}",
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}",
    "d", "{editor}: Editing failed", "{editor}: Editing failed: {e}",
    "Windows error: {error}", "Do you want to continue?", "Confirm the action without prompting.",
    "%(prog)s, version %(version)s", "Press any key to continue...", "Repeat for confirmation",
    "Error: The two entered values do not match.", "Error: invalid input", "unknown error",
    # bash completion on a bash older than 4.4 (completion is opt-in, docs/cli.md)
    "Couldn't detect Bash version, shell completion is not supported.",
    "Shell completion is not supported for Bash versions older than 4.4.",
    # typer's rich help and errors: off (rich_markup_mode=None, errors printed by zfjl's main)
    "(deprecated) ", "[default: {}]", "[env var: {}]", "[required]", "Error", "Aborted.",
    "Try [blue]'{command_path} {help_option}'[/] for help.",
}


def _marked(package: ModuleType) -> dict[str, str]:
    """Every string literal passed to `_` or `ngettext` in the package: message -> file."""
    found: dict[str, str] = {}
    assert package.__file__ is not None
    for path in sorted(Path(package.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("_", "ngettext")):  # fmt: skip
                continue
            for arg in node.args[:2]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found[arg.value] = path.name
    return found


def test_every_message_click_and_typer_mark_is_chinese_or_never_shown() -> None:
    marked = {**_marked(click), **_marked(typer)}
    assert len(marked) > 60  # the scan found click's messages (it would pass on nothing)
    english = {m: f for m, f in marked.items() if m not in MESSAGES and m not in NOT_SHOWN}
    assert not english, f"click/typer messages without a Chinese translation: {english}"


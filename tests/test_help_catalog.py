"""An upgrade of click or typer must not silently turn zfjl's help or usage errors English.

click and typer mark every message a person may read for the standard gettext (`_("…")`,
`ngettext`); zfjl answers them from its catalog (zfjl/cli/locale/zh_CN/LC_MESSAGES/messages.po,
compiled to messages.mo). This test reads every marked message of the installed click and
typer and requires the catalog to translate each, or the message to be listed below as never
reaching a zfjl user (with why). A new version that adds or rewords a message fails here,
naming it, instead of printing English to a clerk.
"""

from __future__ import annotations

import ast
import gettext
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import click
import typer

from zfjl.cli.helpfmt import DOMAIN, LANGUAGE, LOCALE_DIR

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


def _marked(package: ModuleType) -> dict[tuple[str, ...], str]:
    """Every message marked in the package: (msgid,) for `_`, (singular, plural) for
    `ngettext` -> the file it is in."""
    found: dict[tuple[str, ...], str] = {}
    assert package.__file__ is not None
    for path in sorted(Path(package.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("_", "ngettext")):  # fmt: skip
                continue
            texts = tuple(a.value for a in node.args[:2]
                          if isinstance(a, ast.Constant) and isinstance(a.value, str))  # fmt: skip
            if texts:
                found[texts[:1] if node.func.id == "_" else texts] = path.name
    return found


def _catalog() -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[LANGUAGE])


def test_every_message_click_and_typer_mark_is_chinese_or_never_shown() -> None:
    marked = {**_marked(click), **_marked(typer)}
    assert len(marked) > 60  # the scan found click's messages (it would pass on nothing)
    zh = _catalog()
    english = {}
    for texts, where in marked.items():
        if all(t in NOT_SHOWN for t in texts):
            continue
        said = [zh.gettext(texts[0])] if len(texts) == 1 else [
            zh.ngettext(texts[0], texts[1], n) for n in (1, 2)]  # fmt: skip
        if any(s in texts for s in said):
            english[texts] = where
    assert not english, f"click/typer messages without a Chinese translation: {english}"


def test_the_shipped_catalog_is_the_compiled_po() -> None:
    """messages.mo is what scripts/compile_messages.py (Babel) makes of messages.po (edit the
    .po, then compile), and GNU msgfmt accepts the .po."""
    script = Path(__file__).resolve().parent.parent / "scripts" / "compile_messages.py"
    spec = importlib.util.spec_from_file_location("compile_messages", script)
    assert spec is not None and spec.loader is not None
    compiler = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compiler)
    shipped, compiled = compiler.MO.read_bytes(), compiler.compiled()
    assert compiler.messages(shipped) == compiler.messages(compiled)
    assert len(compiler.messages(shipped)) > 60
    check = subprocess.run(["msgfmt", "-c", "-o", os.devnull, str(compiler.PO)],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stderr


def test_help_is_chinese_whatever_the_locale() -> None:
    """A station whose locale is English (or C) still gets Chinese help and usage errors."""
    env = {**os.environ, "LANGUAGE": "en_US", "LANG": "en_US.UTF-8", "LC_ALL": "C.UTF-8"}
    run = subprocess.run([sys.executable, "-m", "zfjl", "ls", "--help"], capture_output=True,
                         text=True, env=env)  # fmt: skip
    assert run.stdout.startswith("用法：zfjl ls [选项]") and "Show this message" not in run.stdout
    run = subprocess.run([sys.executable, "-m", "zfjl", "ls", "a", "b"], capture_output=True,
                         text=True, env=env)  # fmt: skip
    assert run.returncode == 2 and "多出了参数（a b）" in run.stderr

"""One way to print a result: as text or tables for a person, or with --json for a program.

Commands hand their result to `emit` (one value) or `emit_rows` (a list) together with the
function that prints it for a person; neither they nor their printers test `as_json`.
The JSON written here is the documented output format: scripts and tests parse it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from rich.console import Console

T = TypeVar("T")

OUT_SETTINGS: dict[str, Any] = {"highlight": False, "soft_wrap": True}  # prose wraps on a terminal
ERR_SETTINGS: dict[str, Any] = {"stderr": True, "highlight": False}
out = Console(**OUT_SETTINGS)
err = Console(**ERR_SETTINGS)


def detect_terminal() -> None:
    """Look at the streams again: `zfjl serve`'s child is handed the client's terminal after
    these consoles were made (colours and width are decided when a console is made)."""
    out.__init__(**OUT_SETTINGS)  # type: ignore[misc]
    err.__init__(**ERR_SETTINGS)  # type: ignore[misc]


def write_json(value: Any) -> None:
    """Write one JSON document on stdout (reports are written through their `as_dict`)."""
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    # Plain write, not rich: a console would wrap long lines and break the JSON.
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def emit(value: T, as_json: bool, render: Callable[[T], object] | str) -> None:
    """Print a command's result: JSON with --json, else `render(value)` (or a line of text)."""
    if as_json:
        write_json(value)
    elif isinstance(render, str):
        out.print(render)
    else:
        render(value)


def emit_rows(
    rows: list[dict[str, Any]], as_json: bool, print_row: Callable[[dict[str, Any]], object],
    empty: str,
) -> None:  # fmt: skip
    """Print a listing: a JSON array with --json, else one `print_row` per row (or `empty`)."""
    if as_json:
        write_json(rows)
        return
    for row in rows:
        print_row(row)
    if not rows:
        out.print(empty)


def emit_lines(
    items: list[T], as_json: bool, render: Callable[[list[T]], object],
    row: Callable[[T], Any],
) -> None:  # fmt: skip
    """Like `emit`, for long listings: the JSON array holds one compact `row(item)` per line,
    so that 10,000 cases stay a few MB and stream to jq line by line."""
    if as_json:
        lines: Iterable[str] = (json.dumps(row(i), ensure_ascii=False) for i in items)
        sys.stdout.write("[\n" + ",\n".join(lines) + "\n]\n")
    else:
        render(items)


def note(text: str) -> None:
    """A remark for the person at the terminal: stderr only, so stdout stays parseable."""
    from zfjl.oserrors import in_chinese

    err.print(in_chinese(text), markup=False, soft_wrap=True)

"""Tables that fit the terminal (80 columns and up) without cutting what a person copies.

Key columns (IDs, case numbers, rule IDs, times) never wrap and are never cut; text columns
(causes, parties, file names, notes) fold onto more lines. Borders are light (a rule under the
header, one space between columns), so an 80-column terminal holds seven or eight columns.
A key column is `key(...)`, a text column `text(...)` (with a `ratio`, the table fills the
terminal and the text columns share what the key columns leave); `table(...)` builds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.table import Column, Table


def key(header: str, **kw: Any) -> Column:
    """A column whose cells are copied or compared whole: never wrapped, never cut."""
    from rich.table import Column

    return Column(header, no_wrap=True, overflow="ignore", **kw)


def text(header: str, ratio: int | None = None, **kw: Any) -> Column:
    """A column of prose: folds onto more lines (CJK text breaks between characters)."""
    from rich.table import Column

    return Column(header, overflow="fold", ratio=ratio, **kw)


def table(*columns: Column | str, **kw: Any) -> Table:
    from rich import box
    from rich.table import Table

    cols = [text(c) if isinstance(c, str) else c for c in columns]
    # Ratios share out the width only when the table fills the terminal (rich's rule).
    kw.setdefault("expand", any(c.ratio for c in cols))
    return Table(*cols, box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False,
                 show_edge=False, collapse_padding=True, **kw)  # fmt: skip


def para(first: str, text: str, indent: int = 6) -> None:
    """`first` + `text`, broken by display cells to the console's width, the later lines under
    the text (a hanging indent): a finding's 应为/实为/整改, a checklist."""
    from zfjl.cli.helpfmt import cells, wrap
    from zfjl.cli.output import out

    lead = " " * indent + first
    lines = wrap(text, max(20, out.width - cells(lead)))
    pad = " " * cells(lead)
    out.print("\n".join([lead + lines[0], *(pad + line for line in lines[1:])]), markup=False,
              highlight=False)  # fmt: skip


def footer(line: str) -> None:
    """A listing's closing line (counts, a legend), broken by display cells to the console's
    width, like the table above it (prose elsewhere is left to the terminal to wrap)."""
    from zfjl.cli.helpfmt import wrap
    from zfjl.cli.output import out

    out.print("\n".join(wrap(line, max(40, out.width))), markup=False, highlight=False)

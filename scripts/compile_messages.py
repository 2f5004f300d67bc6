"""Compile zfjl's Chinese catalog of click's and typer's messages: .po → .mo, with Babel.

The catalog (zfjl/cli/locale/zh_CN/LC_MESSAGES/messages.po) is the source; the .mo beside it is
what gettext reads at run time and what the wheel ships (committed: 6 kB, so the wheel needs
no build step; the same bytes on every run of one Babel version). Run after editing the .po:

    .venv/bin/python scripts/compile_messages.py

(the same as `pybabel compile -d zfjl/cli/locale -D messages -l zh_CN`).
tests/test_help_catalog.py fails when the .mo is not the compilation of the .po.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

CATALOG = Path(__file__).resolve().parent.parent / "zfjl" / "cli" / "locale" / "zh_CN" / "LC_MESSAGES"
PO, MO = CATALOG / "messages.po", CATALOG / "messages.mo"


def compiled() -> bytes:
    """The .mo that messages.po compiles to."""
    with PO.open("rb") as po:
        catalog = read_po(po)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    return mo.getvalue()


def messages(mo: bytes) -> dict[object, object]:
    """What a .mo translates (msgid → msgstr), without its header (Babel's version)."""
    def key(text: object) -> object:  # a plural entry is a list of forms
        return tuple(text) if isinstance(text, list | tuple) else text

    return {key(m.id): key(m.string) for m in read_mo(io.BytesIO(mo)) if m.id}


def main() -> int:
    MO.write_bytes(compiled())
    print(f"{MO}：已编译")
    return 0


if __name__ == "__main__":
    sys.exit(main())

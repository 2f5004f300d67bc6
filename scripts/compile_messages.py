"""Compile zfjl's Chinese catalog of click's and typer's messages: .po → .mo.

The catalog (zfjl/cli/locale/zh_CN/LC_MESSAGES/messages.po) is the source; the .mo beside it is
what gettext reads at run time and what the wheel ships. Run after editing the .po:

    .venv/bin/python scripts/compile_messages.py

tests/test_help_catalog.py fails when the .mo is not the compilation of the .po. The writer is
GNU msgfmt's format (the one `pybabel compile` writes too), in a few lines of the standard
library so that no tool is needed to build.
"""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

CATALOG = Path(__file__).resolve().parent.parent / "zfjl" / "cli" / "locale" / "zh_CN" / "LC_MESSAGES"
PO, MO = CATALOG / "messages.po", CATALOG / "messages.mo"


def parse_po(text: str) -> dict[str, str]:
    """msgid → msgstr; a plural entry as "singular\\0plural" → "form0\\0form1" (gettext's
    own layout); the header under the empty msgid."""
    entries: dict[str, str] = {}
    fields: dict[str, str] = {}
    last = ""

    def flush() -> None:
        if "msgid" in fields:
            key = fields["msgid"]
            if "msgid_plural" in fields:
                key += "\0" + fields["msgid_plural"]
                forms = sorted(k for k in fields if k.startswith("msgstr["))
                entries[key] = "\0".join(fields[k] for k in forms)
            else:
                entries[key] = fields.get("msgstr", "")
        fields.clear()

    for raw in [*text.splitlines(), ""]:
        line = raw.strip()
        if not line or line.startswith("#"):
            if not line:
                flush()
            continue
        if line.startswith('"'):
            fields[last] += ast.literal_eval(line)
            continue
        name, _, value = line.partition(" ")
        if name == "msgid" and "msgid" in fields:
            flush()
        fields[name], last = ast.literal_eval(value), name
    return entries


def write_mo(entries: dict[str, str]) -> bytes:
    """The GNU .mo file of `entries` (keys sorted, no hash table), as msgfmt writes it."""
    keys = sorted(entries)
    ids = [k.encode("utf-8") for k in keys]
    strs = [entries[k].encode("utf-8") for k in keys]
    start = 7 * 4 + 16 * len(keys)
    offsets, blob = [], b""
    for data in ids + strs:
        offsets.append((len(data), start + len(blob)))
        blob += data + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, len(keys), 7 * 4, 7 * 4 + 8 * len(keys), 0, 0)
    table = b"".join(struct.pack("<2I", n, off) for n, off in offsets)
    return header + table + blob


def main() -> int:
    MO.write_bytes(write_mo(parse_po(PO.read_text(encoding="utf-8"))))
    print(f"{MO}：{len(parse_po(PO.read_text(encoding='utf-8'))) - 1} 条")
    return 0


if __name__ == "__main__":
    sys.exit(main())

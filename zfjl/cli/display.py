"""How values look to a person: durations, sizes, clock skew, kinds, IDs, times, file names.

Used by the printers of the commands only; `--json` output never goes through here (it keeps
seconds, bytes, full digests and English kinds: it is the documented format). rich is
imported only by `markup_safe`, when a printer calls it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# The digits of a digest a person is shown: enough that a copied prefix is refused only by
# an improbable collision, and `show`/`view`/`log` accept it (zfjl.vault.query.resolve_id).
ID_DIGITS = 12

KINDS = {"video": "视频", "photo": "照片", "audio": "录音", "other": "其他"}


TIME_SOURCES = {"name": "文件名", "metadata": "元数据", "mtime": "文件修改时间"}


def kind(value: str | None) -> str:
    """video/photo/audio/other as 视频/照片/录音/其他."""
    if not value:
        return "—"
    return KINDS.get(value, value)


def duration(seconds: float | None) -> str:
    """A duration as 时:分:秒 (0:45:00, 3:04:00), to the second, as a player shows it."""
    if seconds is None:
        return "—"
    total = round(float(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


def size(n: int | float | None) -> str:
    """Bytes in decimal units, like the camera and the file manager: 812 字节, 3.4 MB, 1.20 GB."""
    if n is None:
        return "—"
    n = float(n)
    if n < 1000:
        return f"{int(n)} 字节"
    if n < 1e6:
        return f"{n / 1e3:.1f} KB"
    if n < 1e9:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e9:.2f} GB"


def skew(seconds: float | None) -> str:
    """How far a camera's clock is off, in the unit a person thinks in: 约 596 天, 约 3 小时,
    12 分钟, 40 秒."""
    if seconds is None:
        return "—"
    from zfjl.units import approx_seconds

    return approx_seconds(seconds)


def when(iso: str | None, seconds: bool = False) -> str:
    """An ISO time as 2024-06-03 09:00 (the zone and fractions dropped: all times of a vault
    are in its own zone)."""
    if not iso:
        return "—"
    text = str(iso).replace("T", " ")
    return text[:19] if seconds else text[:16]


def day(iso: str | None) -> str:
    return str(iso)[:10] if iso else "—"


def short_id(oid: str, prefixes: Mapping[str, str] | None = None) -> str:
    """A digest as its unique prefix (at least ID_DIGITS hex digits): what `show` accepts."""
    if prefixes and oid in prefixes:
        return prefixes[oid]
    return oid[:ID_DIGITS]


def actor(login: str | None, names: Mapping[str, str] | None = None, cell: bool = False) -> str:
    """Who did something: 张三（zhangsan） when a name is set for the login
    (`zfjl config set users.zhangsan.name 张三`), else the login; `cell`: on two lines."""
    if not login:
        return "—"
    name = (names or {}).get(login)
    if not name:
        return safe(login)
    return safe(name) + ("\n" if cell else "") + f"（{safe(login)}）"


# C0 and C1 control characters (ESC, BEL, CR, …) and DEL: a file name on a camera card or a
# USB stick may hold any of them, and printed raw they move the cursor, ring or recolour the
# terminal. Shown as \x1b, \x07, \n instead; the JSON keeps the name as it is.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def safe(text: Any) -> str:
    """Text from outside (file names, paths, notes) with control characters escaped."""
    s = "" if text is None else str(text)
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}"), s)


def message(text: Any) -> str:
    """A stored message (an ingest warning, a failure's reason) as a person reads it: OS and
    media-tool phrases in Chinese (zfjl.oserrors), control characters escaped."""
    from zfjl.oserrors import in_chinese

    return safe(in_chinese("" if text is None else str(text)))


def markup_safe(text: Any) -> str:
    """`safe`, and rich markup brackets escaped, for a line printed with markup on."""
    from rich.markup import escape  # the printers import rich anyway; this module does not

    return escape(safe(text))

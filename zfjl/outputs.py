"""The one rule for what a command writes for a person outside the vault (a document, a
report, a register, a bundle, an export): a file or folder that exists already is never
replaced silently. It is refused with exit 6 (`OutputExists`, README's table) naming it; a
command whose output is remade at will (documents, reports, registers) offers `--force` to
replace it. Evidence copies and bundles offer no `--force`: a second copy gets a new name.

The check goes through `userfs.current()`, so under `zfjl serve` it is the station user's
own view of their folder. Checking before writing leaves a window in which another process
may create the file; the write that follows is atomic (a whole file or none), and copies of
evidence are created with O_EXCL besides (`userfs.LocalFiles.copy_out`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from zfjl.errors import OutputExists


def claim(paths: Iterable[Path], force: bool = False, *, forceable: bool = True) -> None:
    """Refuse when any of `paths` exists, unless `force`; `forceable` says whether the
    message may suggest --force (the command offers it)."""
    if force:
        return
    from zfjl import userfs

    files = userfs.current()
    existing = [Path(p) for p in paths if files.exists(Path(p))]
    if not existing:
        return
    more = f"等 {len(existing)} 个文件" if len(existing) > 1 else ""
    fix = "加 --force 覆盖，或换一个位置" if forceable else "请换一个名称或位置，或先移走它"
    raise OutputExists(f"输出已存在：{existing[0]}{more}（{fix}）；未写入任何文件")

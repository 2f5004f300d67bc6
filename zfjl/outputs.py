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
from typing import TYPE_CHECKING

from zfjl.errors import OutputExists

if TYPE_CHECKING:
    from zfjl.userfs import LocalFiles


def claim(
    paths: Iterable[Path],
    force: bool = False,
    *,
    forceable: bool = True,
    files: LocalFiles | None = None,
) -> None:
    """Refuse when any of `paths` exists, unless `force`; `forceable` says whether the
    message may suggest --force (the command offers it). `files`: whose view of the paths
    (default `userfs.current()`; `userfs` itself passes its own)."""
    if force:
        return
    if files is None:
        from zfjl import userfs

        files = userfs.current()
    existing = [Path(p) for p in paths if files.exists(Path(p))]
    if existing:
        raise exists_error(existing, forceable)


def exists_error(
    existing: list[Path], forceable: bool = False, nothing_written: bool = True
) -> OutputExists:
    """The refusal for outputs found to exist: by `claim` before anything is written, or by
    a create that will not replace (O_EXCL, link) finding a file made since (`nothing_written`
    False: files of the same command made before it stay)."""
    more = f"等 {len(existing)} 个文件" if len(existing) > 1 else ""
    fix = "加 --force 覆盖，或换一个位置" if forceable else "请换一个名称或位置，或先移走它"
    done = "未写入任何文件" if nothing_written else "此文件未写入，已有文件未被改动"
    return OutputExists(f"输出已存在：{existing[0]}{more}（{fix}）；{done}")

"""Stage 1: walk the dump and list every entry, so that nothing is skipped silently."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from zfjl.errors import SourceError
from zfjl.vault.objects import FileIdentity


@dataclass(frozen=True)
class SourceFile:
    path: Path  # as the OS names it (may hold undecodable bytes as surrogates)
    rel: str  # display form of the path inside the dump
    name: str  # display form of the file name
    name_hex: str | None  # raw bytes of the name when it is not UTF-8 (e.g. GBK)
    identity: FileIdentity

    @property
    def size(self) -> int:
        return self.identity.size


@dataclass(frozen=True)
class Skipped:
    rel: str
    code: str  # symlink | special | unreadable_dir
    reason: str


def display(raw: str) -> tuple[str, str | None]:
    """A readable form of an OS name, plus its raw bytes when it is not valid UTF-8.

    Chinese cameras and Windows PCs often write GBK names; those decode as GB18030 here,
    and the exact bytes are kept (hex) so the original name is never lost.
    """
    data = os.fsencode(raw)
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), data.hex()
    except UnicodeDecodeError:
        return data.decode("utf-8", "backslashreplace"), data.hex()


def check_source(root: Path) -> Path:
    if not root.exists():
        raise SourceError(f"找不到要入库的文件夹：{display(str(root))[0]}")
    if not root.is_dir():
        raise SourceError(f"{display(str(root))[0]} 不是文件夹（请给出记录仪存储卡的挂载目录）")
    return root.resolve()


def discover(root: Path) -> tuple[list[SourceFile], list[Skipped]]:
    """Every regular file under root, in a stable order; everything else is reported."""
    root = check_source(root)
    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            rel = display(os.path.relpath(folder, root))[0]
            skipped.append(Skipped(rel, "unreadable_dir", f"文件夹无法读取：{exc.strerror}"))
            continue
        subdirs = []
        for entry in entries:
            rel, _ = display(os.path.relpath(entry.path, root))
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                skipped.append(Skipped(rel, "unreadable", f"无法读取文件信息：{exc.strerror}"))
                continue
            if stat.S_ISLNK(st.st_mode):
                skipped.append(Skipped(rel, "symlink", "符号链接，未跟随（记录仪不产生链接）"))
            elif stat.S_ISDIR(st.st_mode):
                subdirs.append(Path(entry.path))
            elif stat.S_ISREG(st.st_mode):
                name, name_hex = display(entry.name)
                files.append(SourceFile(Path(entry.path), rel, name, name_hex, FileIdentity.of(st)))
            else:
                skipped.append(Skipped(rel, "special", "不是普通文件（设备、管道或套接字）"))
        stack.extend(reversed(subdirs))
    return files, skipped

"""Stage 1: walk the dump and list every entry, so that nothing is skipped silently."""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import stat
from dataclasses import dataclass, field
from pathlib import Path

from zfjl.errors import SourceError, UsageError
from zfjl.vault.objects import FileIdentity, open_source


@dataclass(frozen=True)
class SourceFile:
    path: Path  # as the OS names it (may hold undecodable bytes as surrogates)
    rel: str  # display form of the path inside the dump
    name: str  # display form of the file name
    name_hex: str | None  # raw bytes of the name when it is not UTF-8 (e.g. GBK)
    identity: FileIdentity
    dir_fd: int  # the folder holding it, opened during discovery (see Dump)
    entry: str  # its name in that folder, as the OS names it

    @property
    def size(self) -> int:
        return self.identity.size


@dataclass(frozen=True)
class Skipped:
    rel: str
    code: str  # symlink | special | unreadable | unreadable_dir | replaced_dir
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


DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def check_source(root: str | os.PathLike[str]) -> Path:
    if not str(root).strip():
        raise UsageError("错误：未给出要入库的文件夹（参数为空；当前文件夹请明确写作 .）")
    root = Path(root)
    if not root.exists():
        raise SourceError(f"找不到要入库的文件夹：{display(str(root))[0]}")
    if not root.is_dir():
        raise SourceError(f"{display(str(root))[0]} 不是文件夹（请给出记录仪存储卡的挂载目录）")
    return root.resolve()


@dataclass
class Dump:
    """What discovery found, with a descriptor held open on every folder that holds files.

    Folders are opened from the root down, each relative to its parent's descriptor with
    O_NOFOLLOW | O_DIRECTORY, and files are later opened relative to their folder's
    descriptor (openat): a folder swapped for a symlink after discovery is never followed,
    whatever its name points to now. Close it (or use it as a context manager) after the run.
    """

    root: Path
    files: list[SourceFile]
    skipped: list[Skipped]
    dir_ids: set[tuple[int, int]]  # (st_dev, st_ino) of every folder walked, the root included
    fds: list[int] = field(default_factory=list)

    def open_file(self, sf: SourceFile) -> tuple[int, FileIdentity]:
        """Open a listed file relative to its folder's descriptor (see `open_source`): the
        descriptor and the identity its fstat gives."""
        return open_source(sf.entry, sf.identity, dir_fd=sf.dir_fd)

    def plan(self, files: list[SourceFile]) -> None:
        """The order the ingest will open the files in (a dump read through the service opens
        them ahead in that order); nothing to do for a local one."""

    def unlink_file(self, sf: SourceFile) -> bool:
        """Delete the very file that was stored, and nothing else; False when its name now
        names another file (or a symlink: unlinkat removes the link, never its target).

        Relative to the folder's descriptor held since discovery, so a folder swapped for a
        symlink is not followed; (st_dev, st_ino) of the name, not followed, is compared with
        the descriptor's that was copied (size and mtime too: a file written to since is kept),
        right before unlinkat. (An O_PATH handle cannot be unlinked by descriptor on Linux,
        and a rename-then-check would leave a renamed file behind on a crash.) What remains is
        the microseconds between that fstatat and the unlinkat: only someone who can already
        write, and so delete, in the dump's folder could slip a file in there, and that file
        would be their own.
        """
        st = os.stat(sf.entry, dir_fd=sf.dir_fd, follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode) or FileIdentity.of(st) != sf.identity:
            return False  # another file, or the same one written to since it was copied
        os.unlink(sf.entry, dir_fd=sf.dir_fd)
        return True

    def close(self) -> None:
        while self.fds:
            os.close(self.fds.pop())

    def __enter__(self) -> Dump:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def discover(root: str | os.PathLike[str]) -> Dump:
    """Every regular file under root, in a stable order; everything else is reported."""
    given = root
    root = check_source(root)
    dump = Dump(root, [], [], set())
    try:
        root_fd = _open_root(given, root)
        dump.fds.append(root_fd)
        st = os.fstat(root_fd)
        dump.dir_ids.add((st.st_dev, st.st_ino))
        _walk(dump, root_fd, "")
    except BaseException:
        dump.close()
        raise
    return dump


def _open_root(given: str | os.PathLike[str], resolved: Path) -> int:
    """The root is the user's own argument, opened as given (symlinks followed): relative to
    the current folder, a card mounted deeper than PATH_MAX (4096 bytes) opens all the same,
    where its resolved absolute name would fail with ENAMETOOLONG."""
    try:
        return os.open(given, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        name = display(str(resolved))[0]
        if len(name) > 200:
            name = f"{name[:80]}…{name[-80:]}"
        raise SourceError(f"无法打开要入库的文件夹 {name}：{exc.strerror}") from None


def _walk(dump: Dump, top_fd: int, top_rel: str) -> None:
    stack = [(top_fd, top_rel)]
    while stack:
        fd, folder_rel = stack.pop()
        try:
            entries = sorted(os.scandir(fd), key=lambda e: e.name)
        except OSError as exc:
            dump.skipped.append(Skipped(display(folder_rel or ".")[0], "unreadable_dir",
                                        f"文件夹无法读取：{exc.strerror}"))  # fmt: skip
            continue
        subdirs = []
        holds_files = False
        for entry in entries:
            rel_os = os.path.join(folder_rel, entry.name)
            rel, _ = display(rel_os)
            try:
                st = entry.stat(follow_symlinks=False)  # fstatat relative to fd
            except OSError as exc:
                dump.skipped.append(Skipped(rel, "unreadable", f"无法读取文件信息：{exc.strerror}"))
                continue
            if stat.S_ISLNK(st.st_mode):
                dump.skipped.append(Skipped(rel, "symlink", "符号链接，未跟随（记录仪不产生链接）"))
            elif stat.S_ISDIR(st.st_mode):
                subdirs.append((entry.name, rel_os, rel, st))
            elif stat.S_ISREG(st.st_mode):
                holds_files = True
                name, name_hex = display(entry.name)
                dump.files.append(SourceFile(dump.root / rel_os, rel, name, name_hex,
                                             FileIdentity.of(st), fd, entry.name))  # fmt: skip
            else:
                dump.skipped.append(Skipped(rel, "special", "不是普通文件（设备、管道或套接字）"))
        opened = []
        for name, rel_os, rel, st in subdirs:
            try:
                sub_fd = os.open(name, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                code, reason = (("replaced_dir", "文件夹在发现时被替换为符号链接，未跟随")
                                if exc.errno in (errno.ELOOP, errno.ENOTDIR)
                                else ("unreadable_dir", f"文件夹无法读取：{exc.strerror}"))  # fmt: skip
                dump.skipped.append(Skipped(rel, code, reason))
                continue
            sub = os.fstat(sub_fd)
            if (sub.st_dev, sub.st_ino) != (st.st_dev, st.st_ino):
                os.close(sub_fd)
                dump.skipped.append(Skipped(rel, "replaced_dir", "文件夹在发现时被替换，未入库"))
                continue
            dump.fds.append(sub_fd)
            if len(dump.fds) == 512:
                _raise_fd_limit()
            dump.dir_ids.add((sub.st_dev, sub.st_ino))
            opened.append((sub_fd, rel_os))
        if not holds_files and fd != top_fd:
            # Nothing will be opened relative to it: do not hold a descriptor per empty folder.
            dump.fds.remove(fd)
            os.close(fd)
        stack.extend(reversed(opened))


def _raise_fd_limit() -> None:
    """One descriptor is held per folder that holds files: lift the soft limit to the hard
    one (a card has a handful of folders; an export of years of cards may have thousands)."""
    with contextlib.suppress(ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

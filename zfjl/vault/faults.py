"""What a machine's fault means to the person at the keyboard.

SQLite and the operating system report a full disk, a failing disk, a damaged catalog or a
permission as `sqlite3.Error` or `OSError`; the user should read one Chinese line saying what
is wrong and what to do, with the exit code README.md documents (3: the vault is unusable as
it is; 6: it cannot be written), never "内部错误" (70). `Vault` translates what happens while
it opens its catalog; `translate` is the backstop `zfjl.cli.app.main` applies to whatever
escapes a command (a read on a disk that filled meanwhile). What it does not recognise stays
a bug (None: the caller reports an internal error).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from zfjl.errors import DiskFull, StorageError, VaultError, ZfjlError

NO_SPACE = {errno.ENOSPC, errno.EDQUOT}
# What SQLite says (sqlite3.Error has no portable error code before Python 3.11's
# sqlite_errorcode; its message is stable across versions).
_FULL = ("database or disk is full",)
_IO = ("disk i/o error",)
_CORRUPT = ("file is not a database", "database disk image is malformed", "not a database")
_CANNOT_OPEN = ("unable to open database file",)
_READ_ONLY = ("attempt to write a readonly database", "readonly database")


def disk_is_full(path: Path) -> bool:
    """Whether the file system holding `path` has no block left for this user."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        st = os.statvfs(probe)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024  # less than a few SQLite pages: full


def _full(root: Path) -> DiskFull:
    return DiskFull(
        f"保管库所在磁盘已满（{root}）：请释放空间（或把保管库迁到更大的磁盘）后重新运行；"
        "已存入的内容完好"
    )


def _catalog(root: Path) -> Path:
    return root / "catalog.db"


def sqlite_fault(exc: sqlite3.Error, root: Path) -> ZfjlError | None:
    """The error the user should see for `exc`, raised on the catalog of the vault at `root`;
    None when it is not a fault of the machine or the files (a bug: report it)."""
    text = str(exc).lower()
    db = _catalog(root)
    if any(m in text for m in _FULL):
        return _full(root)
    if any(m in text for m in _IO):
        if disk_is_full(root):  # WAL's shared memory cannot grow: SQLite says "I/O error"
            return _full(root)
        return StorageError(
            f"读写保管库的目录数据库 {db} 时发生磁盘 I/O 错误：请检查磁盘（dmesg、smartctl）后重新运行，"
            "再用 zfjl verify 校验；已存入的内容未被改动"
        )
    if any(m in text for m in _CORRUPT):
        return VaultError(
            f"保管库的目录数据库 {db} 已损坏（不是 SQLite 数据库）：请从备份恢复 catalog.db"
            "（其中含日志；对象文件未受影响），恢复后运行 zfjl verify"
        )
    if any(m in text for m in _CANNOT_OPEN + _READ_ONLY):
        return _cannot_open(root, db)
    return None


def _cannot_open(root: Path, db: Path) -> ZfjlError:
    if db.is_dir():
        return VaultError(
            f"保管库的目录数据库 {db} 应为文件，实为一个文件夹：请移走该文件夹并从备份恢复 catalog.db"
        )
    if disk_is_full(root):
        return _full(root)
    for path in (root, db, db.with_name("catalog.db-wal"), db.with_name("catalog.db-shm")):
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            return VaultError(
                f"无权读写 {path}：请以保管库的所有者运行 zfjl，或请管理员改正其权限"
                "（保管库文件应属于同一用户）"
            )
    return VaultError(f"无法打开保管库的目录数据库 {db}：请检查该文件与所在目录后重新运行")


def os_fault(exc: OSError, root: Path | None) -> ZfjlError | None:
    """The error the user should see for an OSError that escaped a command; None for one
    that is not the machine's fault."""
    where = f"（{exc.filename}）" if exc.filename else ""
    if exc.errno in NO_SPACE:
        if root is not None and disk_is_full(root):
            return _full(root)
        return DiskFull(f"磁盘空间不足{where}：请释放空间后重新运行；已存入的内容完好")
    if exc.errno == errno.EIO:
        return StorageError(f"磁盘 I/O 错误{where}：请检查磁盘后重新运行，再用 zfjl verify 校验")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return VaultError(
            f"无权访问{where or '所需的文件'}：请以保管库的所有者运行 zfjl，或请管理员改正其权限"
        )
    if exc.errno == errno.EROFS:
        return StorageError(f"文件系统为只读{where}：请重新以读写方式挂载后重新运行")
    return None


def translate(exc: BaseException, root: Path | None) -> ZfjlError | None:
    """A ZfjlError for a machine's fault that escaped a command, or None (a bug)."""
    if isinstance(exc, sqlite3.Error) and root is not None:
        return sqlite_fault(exc, root)
    if isinstance(exc, OSError):
        return os_fault(exc, root)
    return None

"""The caller's own files — what a command reads from and writes to outside the vault.

In direct mode these are plain local file operations. Under `zfjl serve` the command runs in
the service's process, which must never touch a station user's files with its own rights
(it could then write where the user cannot, or read a file of another user: a confused
deputy). There `zfjl.service.remote.ClientFiles` replaces `LocalFiles` for the request: every
operation below is carried out by the user's own `zfjl` process, with the user's rights, and
bytes travel as descriptors (SCM_RIGHTS) — the service hands out a read-only descriptor of
what it made, the client copies it into place.

Library code asks `current()` for the caller's files; only `zfjl.service` calls `use`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from zfjl.errors import DiskFull, NotFoundError, StorageError
from zfjl.vault.objects import (
    CHUNK,
    NO_SPACE,
    copy_fd,
    copy_file,
    fsync_dir,
    write_file_atomically,
)

if TYPE_CHECKING:
    from zfjl.ingest.discover import Dump


class LocalFiles:
    """The process's own files, with the process's own rights."""

    def resolve(self, path: Path) -> Path:
        return Path(path).resolve()

    def exists(self, path: Path) -> bool:
        return os.path.lexists(path)

    def read_text(self, path: Path, what: str) -> str:
        try:
            return Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise NotFoundError(f"找不到{what}：{path}") from None
        except UnicodeDecodeError:
            raise NotFoundError(f"{what} {path} 不是 UTF-8 编码（请另存为 UTF-8）") from None
        except OSError as exc:
            raise NotFoundError(f"无法读取{what} {path}：{exc.strerror}") from None

    def write_bytes(self, path: Path, data: bytes) -> Path:
        """A small output file (a document, a register), written whole or not at all."""
        return write_file_atomically(Path(path), data)

    def copy_out(self, src_fd: int, dest: Path, mode: int = 0o444) -> str:
        """A new file `dest` (never an existing one) holding the bytes of `src_fd`, made
        durable; returns the SHA-256 of what was written, read back from `dest`."""
        dest = Path(dest)
        try:
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            raise StorageError(f"{dest} 已存在，不会覆盖") from None
        except OSError as exc:
            raise output_error(exc, f"创建 {dest}") from exc
        try:
            copy_fd(src_fd, fd)
            os.fsync(fd)
            os.fchmod(fd, mode)
        except OSError as exc:
            os.close(fd)
            with contextlib.suppress(OSError):
                dest.unlink()
            raise output_error(exc, f"复制到 {dest}") from exc
        os.close(fd)
        return sha256_of(dest)

    def append_text(self, path: Path, text: str) -> None:
        try:
            with open(path, "a", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            fsync_dir(Path(path).parent)
        except OSError as exc:
            raise output_error(exc, f"写入 {path}") from exc

    def make_dirs(self, path: Path) -> None:
        try:
            Path(path).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(exc, f"创建 {path}") from exc

    def view_dir(self) -> Path:
        """The user's own cache folder for view copies (on disk: a video may not fit a tmpfs;
        private: 0700; not a guessable name under /tmp that another user could make first)."""
        import platformdirs

        path = Path(platformdirs.user_cache_dir("zfjl")) / "view"
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        return path

    def stage_copy(self, src: Path, dest: Path) -> None:
        """Copy a vault object into something being built for the caller (a bag)."""
        copy_file(src, dest)

    @contextlib.contextmanager
    def scratch(self) -> Iterator[Path]:
        """A private folder of this process's, for what is made before it is handed out."""
        with tempfile.TemporaryDirectory(prefix="zfjl-") as tmp:
            yield Path(tmp)

    def discard_view_copy(self, path: Path) -> None:
        """Remove an earlier view copy (the user may have altered it)."""
        with contextlib.suppress(FileNotFoundError):
            Path(path).unlink()

    @contextlib.contextmanager
    def output_tree(self, dest: Path) -> Iterator[Path]:
        """Yield a folder to build in; it becomes `dest` only when the block completes, and
        nothing is left behind when it does not. Built beside `dest` (same file system)."""
        dest = Path(dest)
        if os.path.lexists(dest):
            raise StorageError(f"{dest} 已存在：不会覆盖已有文件，请换一个路径")
        self.make_dirs(dest.parent)
        try:
            work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
        except OSError as exc:
            raise output_error(exc, f"创建 {dest.parent}") from exc
        try:
            yield work / dest.name
            built = work / dest.name
            for folder in [f for f, _, _ in os.walk(built)] if built.is_dir() else []:
                fsync_dir(Path(folder))  # its entries durable before it appears under its name
            os.replace(built, dest)
            fsync_dir(dest.parent)
        except OSError as exc:
            raise output_error(exc, f"写入 {dest.name}") from exc
        finally:
            shutil.rmtree(work, ignore_errors=True)

    @contextlib.contextmanager
    def input_tree(self, path: Path, what: str) -> Iterator[Path]:
        """A folder or file of the caller's, readable here as a local path."""
        if not os.path.lexists(path):
            raise NotFoundError(f"找不到{what}：{path}")
        yield Path(path)

    def discover(self, source: str | os.PathLike[str]) -> Dump:
        from zfjl.ingest.discover import discover

        return discover(source)


def output_error(exc: OSError, what: str) -> StorageError:
    """A write to the caller's own folder failed (not the vault's: its message says so)."""
    if exc.errno in NO_SPACE:
        return DiskFull(f"磁盘空间不足，未能{what}：未写完的内容已删除，释放空间后重新运行即可")
    return StorageError(f"未能{what}：{exc.strerror}（请检查该目录的权限与空间）")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


_current: list[LocalFiles] = [LocalFiles()]


def current() -> LocalFiles:
    """The files of whoever runs this command (see the module docstring)."""
    return _current[0]


def use(files: LocalFiles) -> None:
    """Called once per request by `zfjl serve`'s child, before the command runs."""
    _current[0] = files

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
import errno
import fcntl
import hashlib
import os
import resource
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from zfjl.errors import DiskFull, NotFoundError, StorageError
from zfjl.vault.objects import (
    CHUNK,
    NO_SPACE,
    copy_fd,
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
        durable; returns the SHA-256 of what was written, read back from the copy. The bytes
        go into an unnamed file (O_TMPFILE) named `dest` only once complete: a copy killed
        half-way leaves nothing (inside an `output_tree`, it is named when the tree is)."""
        fd = self._filled(src_fd, Path(dest), mode)
        try:
            sha256 = sha256_of_fd(fd)
        except OSError as exc:
            os.close(fd)
            raise output_error(exc, f"读回 {dest}") from exc
        self._name_or_defer(fd, Path(dest))
        return sha256

    def stage_copy(self, src: Path, dest: Path) -> None:
        """Copy a vault object into something being built for the caller (a bag): inside an
        `output_tree` its bytes have no name until the whole tree is put in place."""
        try:
            src_fd = os.open(src, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise output_error(exc, f"读取 {Path(src).name}") from exc
        try:
            os.makedirs(Path(dest).parent, exist_ok=True)
            fd = self._filled(src_fd, Path(dest), 0o644)
            if os.fstat(fd).st_size != os.fstat(src_fd).st_size:
                os.close(fd)
                raise StorageError(f"复制 {Path(src).name} 不完整（磁盘已满？）")
        except OSError as exc:
            raise output_error(exc, f"复制到 {dest}") from exc
        finally:
            os.close(src_fd)
        self._name_or_defer(fd, Path(dest))

    @contextlib.contextmanager
    def new_file(self, dest: Path) -> Iterator[IO[bytes]]:
        """A new file `dest` written through the yielded file object; it gets its name only
        when the block completes (inside an `output_tree`: when the tree does)."""
        dest = Path(dest)
        if os.path.lexists(dest):
            raise StorageError(f"{dest} 已存在，不会覆盖")
        fd = _unnamed_file(dest.parent)
        if fd is None:  # no O_TMPFILE here: a named file, removed when the block fails
            with _named_file(dest) as f:
                yield f
            return
        f = os.fdopen(fd, "w+b", closefd=False)
        try:
            yield f
            f.flush()
            os.fsync(fd)
            os.fchmod(fd, 0o644)
        except BaseException:
            f.close()
            os.close(fd)
            raise
        f.close()
        self._name_or_defer(fd, dest)

    def _filled(self, src_fd: int, dest: Path, mode: int) -> int:
        """A descriptor of a new file in `dest`'s folder holding `src_fd`'s bytes, durable and
        of `mode`: unnamed (O_TMPFILE) where the file system allows, else `dest` itself."""
        if os.path.lexists(dest):
            raise StorageError(f"{dest} 已存在，不会覆盖")
        fd = _unnamed_file(dest.parent)
        named = fd is None
        if fd is None:
            try:
                fd = os.open(dest, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
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
            if named:
                with contextlib.suppress(OSError):
                    dest.unlink()
            raise output_error(exc, f"复制到 {dest}") from exc
        return fd

    def _name_or_defer(self, fd: int, dest: Path) -> None:
        """Give the file of `fd` its name `dest` now, or — inside an `output_tree` — when the
        tree is complete; closes `fd` once named."""
        staging = _staging_of(dest)
        if staging is not None and staging.defer(fd, dest):
            return
        try:
            _link_fd(fd, dest)
            fsync_dir(dest.parent)
        except OSError as exc:
            raise output_error(exc, f"写入 {dest}") from exc
        finally:
            os.close(fd)

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
        nothing is left behind when it does not. Built beside `dest` (same file system) in a
        staging folder `.zfjl-staging-…` that this process holds locked; the bytes copied in
        (`copy_out`, `stage_copy`, `new_file`) stay unnamed (O_TMPFILE) until the block
        completes, so a kill -9 at any moment leaves no copy of an original: at most the
        small files of a staging folder, which the next `output_tree` in that folder removes
        (and, for the instant of naming the copies before the rename, those copies too)."""
        dest = Path(os.path.abspath(dest))
        if os.path.lexists(dest):
            raise StorageError(f"{dest} 已存在：不会覆盖已有文件，请换一个路径")
        self.make_dirs(dest.parent)
        remove_abandoned_staging(dest.parent)
        staging = _Staging.create(dest)
        try:
            yield staging.built
            staging.name_deferred()
            built = staging.built
            for folder in [f for f, _, _ in os.walk(built)] if built.is_dir() else []:
                fsync_dir(Path(folder))  # its entries durable before it appears under its name
            os.replace(built, dest)
            fsync_dir(dest.parent)
        except OSError as exc:
            raise output_error(exc, f"写入 {dest.name}") from exc
        finally:
            staging.close()

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


# -- staging: what an output tree holds before it is complete ---------------------------------
STAGING_PREFIX = ".zfjl-staging-"
_O_TMPFILE = getattr(os, "O_TMPFILE", 0)
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT}


class _Staging:
    """An output tree being built: its folder, locked (flock) while this process builds it,
    and the files whose bytes are written but that have no name yet."""

    def __init__(self, work: Path, lock_fd: int, built: Path) -> None:
        self.work, self.lock_fd, self.built = work, lock_fd, built
        self.pending: list[tuple[int, Path]] = []
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        self.max_pending = max(0, (soft if soft > 0 else 1024) - 128)  # room for the rest

    @classmethod
    def create(cls, dest: Path) -> _Staging:
        for _ in range(3):  # another run's sweep may take a folder between mkdtemp and flock
            try:
                work = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{dest.name[:40]}.",
                                             dir=dest.parent))  # fmt: skip
                lock_fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise output_error(exc, f"创建 {dest.parent}") from exc
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.path.samestat(os.fstat(lock_fd), os.lstat(work)):
                    staging = cls(work, lock_fd, work / dest.name)
                    _building[staging.built] = staging
                    return staging
            except OSError:
                pass
            os.close(lock_fd)
        raise StorageError(f"未能在 {dest.parent} 创建临时目录（被并发清理？请重试）")

    def defer(self, fd: int, dest: Path) -> bool:
        """Keep `fd` unnamed until the tree completes; False when too many are held already
        (the caller names it now, inside the staging folder)."""
        if len(self.pending) >= self.max_pending:
            return False
        self.pending.append((fd, dest))
        return True

    def name_deferred(self) -> None:
        while self.pending:
            fd, dest = self.pending.pop(0)
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                _link_fd(fd, dest)
            finally:
                os.close(fd)

    def close(self) -> None:
        _building.pop(self.built, None)
        for fd, _ in self.pending:
            os.close(fd)  # never named: the kernel frees the bytes
        self.pending.clear()
        shutil.rmtree(self.work, ignore_errors=True)
        os.close(self.lock_fd)


_building: dict[Path, _Staging] = {}  # built folder -> its staging, for this process's trees


def _staging_of(dest: Path) -> _Staging | None:
    dest = Path(os.path.abspath(dest))
    for built, staging in _building.items():
        if dest == built or built in dest.parents:
            return staging
    return None


def remove_abandoned_staging(folder: Path) -> list[str]:
    """Remove the staging folders in `folder` that no live process holds (one killed while
    building); returns their names. A folder another process is building is locked: kept."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(STAGING_PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if os.fstat(fd).st_uid != os.geteuid():
                continue  # another user's: not ours to judge
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # being built right now
        try:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.name)
        finally:
            os.close(fd)
    return removed


def _unnamed_file(folder: Path) -> int | None:
    """An unnamed new file (O_TMPFILE, 0600) in `folder`, or None where the file system has
    none; the kernel frees it if the process dies before it is named."""
    if not _O_TMPFILE:
        return None
    try:
        return os.open(folder, _O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno in _NO_TMPFILE:
            return None
        raise output_error(exc, f"在 {folder} 创建文件") from exc


def _link_fd(fd: int, dest: Path) -> None:
    """Name an unnamed file (linkat through /proc, as open(2) shows); a named one is left."""
    if os.fstat(fd).st_nlink:
        return  # the fallback made it under its name already
    # A dir fd makes CPython call linkat(AT_SYMLINK_FOLLOW); without one it calls link(),
    # which would link the /proc symlink itself (EXDEV).
    folder = os.open(dest.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.link(f"/proc/self/fd/{fd}", dest.name, dst_dir_fd=folder, follow_symlinks=True)
    except FileExistsError:
        raise StorageError(f"{dest} 已存在，不会覆盖") from None
    finally:
        os.close(folder)


@contextlib.contextmanager
def _named_file(dest: Path) -> Iterator[IO[bytes]]:
    try:
        f = open(dest, "xb")  # noqa: SIM115 - closed below, unlinked on failure
    except OSError as exc:
        raise output_error(exc, f"创建 {dest}") from exc
    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            dest.unlink()
        raise


def sha256_of_fd(fd: int) -> str:
    h = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, CHUNK, offset):
        h.update(chunk)
        offset += len(chunk)
    return h.hexdigest()


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

"""Content-addressed object store: write-once, read-only files named by their BLAKE3 digest.

`ObjectStore` is the local-folder implementation of `zfjl.vault.store.ObjectStorage`; code
outside zfjl/vault/ uses only that interface (never `path_for`).

Layout (like restic and dvc-objects): ``objects/ab/cdef…`` where ``abcdef…`` is the BLAKE3
hex digest. An object is written to ``tmp/`` in the same file system, fsynced, made
read-only and then hard-linked into place. ``link`` fails when the name exists, so an
existing object is never overwritten, even by another process racing on the same content.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import hashlib
import mmap
import os
import re
import secrets
import shutil
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import blake3

from zfjl.errors import DiskFull, StorageError
from zfjl.vault.store import ObjectStat, ObjectStorage, Protection

CHUNK = 4 << 20  # large reads keep syscalls and hashing overhead low on video files
KERNEL_CHUNK = 64 << 20  # copy_file_range step: large, yet Ctrl-C is heard within a step
# Smaller copies are left to the batch's syncfs: a photo's writeback is over at once, and a
# syscall per file is what a card of 500 photos pays for (the videos are what it is for).
WRITEBACK_MIN = 4 << 20
OID_RE = re.compile(r"^[0-9a-f]{64}$")
NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class SourceChanged(Exception):
    """The source file changed while it was read; nothing was stored."""


class Cancelled(Exception):
    """The caller asked to stop (Ctrl-C); the temporary copy was removed."""


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class Digests:
    blake3: str
    sha256: str  # "" when not computed: ingest names objects by BLAKE3, the seal adds SHA-256
    size: int


@dataclass(frozen=True)
class StoreResult:
    digests: Digests
    created: bool  # False when the object already existed (content seen before)
    fanout_dir: Path  # to fsync before the catalog refers to the object


@dataclass(frozen=True)
class Pending:
    """A complete, read-only copy in tmp/, waiting for ObjectStore.commit()."""

    digests: Digests
    tmp_path: Path


@dataclass(frozen=True)
class FileIdentity:
    """What must not change while a source file is read."""

    size: int
    mtime_ns: int
    ino: int
    dev: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)


def is_oid(name: str) -> bool:
    return bool(OID_RE.match(name))


def storage_error(exc: OSError, what: str) -> StorageError:
    if exc.errno in NO_SPACE:
        return DiskFull(
            f"保管库磁盘空间不足（{what}）：已入库的文件完好，释放空间后重新运行即可继续"
        )
    return StorageError(f"写入保管库失败（{what}）：{exc.strerror}")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SourceRefused(Exception):
    """The entry at a source's name is not the regular file discovery listed: a symlink or a
    FIFO/device/socket swapped in, or another file. Never followed, never waited on."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code  # swapped_symlink | not_regular | replaced
        self.reason = reason


SOURCE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
O_NOATIME = getattr(os, "O_NOATIME", 0)
_noatime = [O_NOATIME]  # dropped for the process once refused (EPERM)


def open_source(
    name: str | Path, expected: FileIdentity, *, dir_fd: int | None = None
) -> tuple[int, FileIdentity]:
    """Open a source file that discovery listed, and return its descriptor and identity.

    Everything after this trusts the descriptor, never the name again. O_NOFOLLOW: a symlink
    swapped in fails with ELOOP instead of being followed (to /etc/shadow, to the vault's own
    key). O_NONBLOCK: a FIFO swapped in opens at once instead of waiting for a writer, and
    fstat then shows it is not a regular file. O_NOATIME where permitted (only the owner or
    root may): not even the access time of the evidence changes. (st_dev, st_ino) must be
    those discovery saw; size and mtime may have moved (a camera still writing): the caller
    hashes and copies against the identity returned here and checks it again afterwards.
    """
    flags = SOURCE_FLAGS | _noatime[0]
    try:
        try:
            fd = os.open(name, flags, dir_fd=dir_fd)
        except PermissionError as exc:
            # This open's own flags, not the shared flag: another worker thread may have
            # cleared that meanwhile, and this EPERM is still the O_NOATIME one.
            if not flags & O_NOATIME or exc.errno != errno.EPERM:
                raise
            _noatime[0] = 0  # not the owner: fall back to a plain read-only open
            fd = os.open(name, SOURCE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SourceRefused(
                "swapped_symlink", "发现后被替换为符号链接，未跟随、未入库（疑似篡改，请核查）"
            ) from None
        if exc.errno == errno.ENXIO:  # a socket swapped in
            raise SourceRefused(
                "not_regular", "发现后被替换为非普通文件（套接字），未入库（疑似篡改，请核查）"
            ) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SourceRefused(
                "not_regular",
                "发现后被替换为非普通文件（管道、设备或套接字），未读取、未入库（疑似篡改，请核查）",
            )
        now = FileIdentity.of(st)
        if (now.dev, now.ino) != (expected.dev, expected.ino):
            raise SourceRefused(
                "replaced", "文件在发现后被替换为另一个文件，未入库（文件已变化，请核查后重新入库）"
            )
    except BaseException:
        os.close(fd)
        raise
    return fd, now


def hash_fd(fd: int, *, with_sha256: bool) -> Digests:
    """Stream a file descriptor through BLAKE3 (and SHA-256) without holding it in memory.
    One thread: callers hash several files at once, and a multi-threaded BLAKE3 per 4 MiB
    read only adds hand-offs (1 GB re-read on 2 cores: 0.22 s against 0.31-0.36 s)."""
    b3 = blake3.blake3()
    sha = hashlib.sha256() if with_sha256 else None
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    size = 0
    with os.fdopen(os.dup(fd), "rb", buffering=0) as f:
        while n := f.readinto(buf):
            chunk = view[:n]
            b3.update(chunk)
            if sha is not None:
                sha.update(chunk)
            size += n
    return Digests(b3.hexdigest(), sha.hexdigest() if sha else "", size)


def write_file_atomically(path: Path, data: bytes) -> Path:
    """Write a small output file (a rendered document, a manifest) whole or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise storage_error(exc, f"写入 {path.name}") from exc
    return path


def copy_fd(src: int, dest: int) -> int:
    """Copy all of `src` (from offset 0, whatever its file position) to `dest`'s position, in
    the kernel where it can (copy_file_range: a reflink where the file system shares extents),
    else through a buffer. Returns the bytes copied."""
    size = os.fstat(src).st_size
    done = 0
    try:
        while done < size:
            n = os.copy_file_range(src, dest, size - done, done)
            if n == 0:
                break
            done += n
        return done
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP) or done:
            raise
    while chunk := os.pread(src, CHUNK, done):
        view = memoryview(chunk)
        while view:
            view = view[os.write(dest, view) :]
        done += len(chunk)
    return done


def copy_file(src: Path, dest: Path) -> None:
    """In-kernel copy with copy_file_range, as `cp` does (a reflink where the file system
    shares extents); sendfile through shutil where it is not available."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as fin, open(dest, "xb") as fout:
        size = os.fstat(fin.fileno()).st_size
        try:
            done = 0
            while done < size:
                n = os.copy_file_range(fin.fileno(), fout.fileno(), size - done)
                if n == 0:
                    break
                done += n
        except (AttributeError, OSError):
            fin.seek(0)
            fout.seek(0)
            fout.truncate()
            shutil.copyfileobj(fin, fout, CHUNK)


def hash_fd_mapped(fd: int, size: int, *, with_sha256: bool = False) -> Digests:
    """BLAKE3 (and SHA-256) of a file through a read-only memory mapping (no copy to user
    space; the hashes release the GIL)."""
    b3 = blake3.blake3()
    sha = hashlib.sha256() if with_sha256 else None
    if size:
        with mmap.mmap(fd, size, prot=mmap.PROT_READ) as mapped, memoryview(mapped) as view:
            for start in range(0, size, KERNEL_CHUNK):
                with view[start : start + KERNEL_CHUNK] as chunk:
                    b3.update(chunk)
                    if sha is not None:
                        sha.update(chunk)
    return Digests(b3.hexdigest(), sha.hexdigest() if sha else "", size)


_SYNC_FILE_RANGE_WRITE = 2


def _load_sync_file_range() -> Any:
    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    return fn


_sync_file_range = [_load_sync_file_range()]


def start_writeback(fd: int) -> None:
    """Start writing a finished copy to the device now (sync_file_range WRITE: asynchronous,
    no flush of the device cache), so the batch's syncfs later finds little left to write and
    the disk works while the CPU hashes the next file — as `cp` + `sync` overlaps nothing,
    this is where a store can catch up with it. Best effort: durability is syncfs's job."""
    fn = _sync_file_range[0]
    if fn is not None:
        fn(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)


def hash_source(fd: int, before: FileIdentity, *, with_sha256: bool = False) -> Digests:
    """Digests of an open source file (no copy), refusing a file that changes while read.
    Reads from the descriptor's current offset (0 when freshly opened)."""
    digests = hash_fd(fd, with_sha256=with_sha256)
    _check_unchanged(fd, before, digests.size)
    return digests


def file_digests(path: Path, algorithms: tuple[str, ...]) -> dict[str, str]:
    """Any of blake3 / hashlib's algorithms (sha256, sha512, sm3…) of a file, in one read."""
    hashers: dict[str, Any] = {
        a: blake3.blake3() if a == "blake3" else hashlib.new(a) for a in algorithms
    }
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            for h in hashers.values():
                h.update(chunk)
    return {a: h.hexdigest() for a, h in hashers.items()}


def sha512_and_sm3(path: Path) -> tuple[str, str]:
    """The digests some recipients need besides SHA-256 and BLAKE3 (BagIt's SHA-512, the
    national SM3), in one streaming read."""
    d = file_digests(path, ("sha512", "sm3"))
    return d["sha512"], d["sm3"]


def hash_path(path: Path, *, with_sha256: bool = False) -> Digests:
    fd = os.open(path, os.O_RDONLY)
    try:
        return hash_fd(fd, with_sha256=with_sha256)
    finally:
        os.close(fd)


def reread_uncached(path: Path) -> str:
    """BLAKE3 of a file read back from the disk, not from the page cache.

    The object was fsynced, so its pages are clean and POSIX_FADV_DONTNEED drops them;
    the following read must come from the device.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        return hash_fd(fd, with_sha256=False).blake3
    finally:
        os.close(fd)


LOCAL_TOKEN_RE = re.compile(r"^ino:(\d+):(\d+)$")
LOCAL_NOTES = (
    "本地文件夹：对象文件只读（0444），但 root 或文件所有者仍可改权限、删除（无 WORM）",
    "保存期限与法律封存由保管库日志记载和执行，文件夹本身不强制",
)


def local_token(ino: int, mtime_ns: int) -> str:
    """The local store's tombstone token: this very file (a file stored again since, even with
    the same bytes, is another inode)."""
    return f"ino:{ino}:{mtime_ns}"


class ObjectStore:
    """The local folder: objects/ab/cdef… (see the module docstring); tmp/ for staged copies."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.tmp = root / "tmp"
        self._prefix = f"{self.objects}{os.sep}"
        # Several ingests share a process (zfjl ingest SRC1 SRC2 …, one store each): each
        # removes only its own leftovers.
        self._tag = secrets.token_hex(4)

    # -- naming ---------------------------------------------------------------------------
    def path_for(self, oid: str) -> Path:
        if not is_oid(oid):
            raise ValueError(f"not an object id: {oid!r}")
        return self.objects / oid[:2] / oid[2:]

    def _file(self, oid: str) -> str:
        """`path_for` as text: what verify's per-object calls pay (no pathlib objects)."""
        if not is_oid(oid):
            raise ValueError(f"not an object id: {oid!r}")
        return f"{self._prefix}{oid[:2]}{os.sep}{oid[2:]}"

    def exists(self, oid: str) -> bool:
        return self.path_for(oid).is_file()

    # -- reading (zfjl.vault.store.ObjectStorage) ------------------------------------------
    def stat(self, oid: str) -> ObjectStat:
        """Size and tombstone token; FileNotFoundError when the object is not stored."""
        st = os.stat(self._file(oid))
        return ObjectStat(oid, st.st_size, local_token(st.st_ino, st.st_mtime_ns))

    def open(self, oid: str) -> BinaryIO:
        """The object, read-only (FileNotFoundError when not stored)."""
        return open(self.path_for(oid), "rb")

    def read(self, oid: str, offset: int, length: int) -> bytes:
        """Up to `length` bytes from `offset` (fewer at the end of the object)."""
        if offset < 0 or length < 0:
            raise ValueError(f"bad range: {offset}+{length}")
        fd = os.open(self.path_for(oid), os.O_RDONLY | os.O_CLOEXEC)
        try:
            return os.pread(fd, length, offset)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def local_path(self, oid: str) -> Iterator[Path]:
        """A local file holding the object, for tools that need a path (exiftool, typst,
        bagit): the object's own read-only file here, free (not even a stat: a missing object
        is the tool's error, as it was). Valid inside the block only; never written to."""
        yield self.path_for(oid)

    def digest_uncached(self, oid: str) -> str:
        """BLAKE3 of the object read back from the device (see reread_uncached)."""
        return reread_uncached(self.path_for(oid))

    def list_oids(self) -> Iterator[str]:
        """Every stored object's id (stray files are verify's business: `strays`)."""
        return (oid for oid, _ in self._walk() if oid is not None)

    def location(self, oid: str) -> str:
        """Where the object lives, for a person to read (`show`, verify's object_missing):
        its file's path here, whether it exists or not."""
        return str(self.path_for(oid))

    def strays(self) -> Iterator[str]:
        """Every file under objects/ that is not an object's name, relative to the vault."""
        return (f"objects/{name}" for oid, name in self._walk() if oid is None)

    # -- deleting, retention ---------------------------------------------------------------
    def delete(self, oid: str, token: str) -> bool:
        """Remove the object version `token` names, durably; False when the object is gone or
        is another version (stored again since). Never removes what the token does not name."""
        return oid in self.delete_many([(oid, token)])

    def delete_many(self, items: Iterable[tuple[str, str]]) -> list[str]:
        """`delete` for a batch: one fsync per fan-out folder. Returns the oids removed."""
        dirs: set[Path] = set()
        done = []
        for oid, token in items:
            if not LOCAL_TOKEN_RE.match(token):
                raise ValueError(f"not a local tombstone token: {token!r}")
            path = self.path_for(oid)
            try:
                if self.stat(oid).token != token:
                    continue
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise storage_error(exc, f"删除对象 {oid[:12]}") from exc
            done.append(oid)
            dirs.add(path.parent)
        for d in sorted(dirs):
            fsync_dir(d)
        return done

    def retain(self, oid: str, until: dt.datetime) -> None:
        """A folder cannot enforce a retention date: the vault's journal does (sweep refuses).
        Checks the object is there; `protection` says the date is not enforced here."""
        self.stat(oid)

    def hold(self, oid: str, on: bool) -> None:
        """A folder cannot enforce a legal hold either: see `retain`."""
        self.stat(oid)

    def protection(self, oid: str) -> Protection:
        """What this folder promises for the object: read-only mode bits, nothing more."""
        st = os.stat(self._file(oid))
        read_only = not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        return Protection(read_only=read_only, worm=False, retain_until=None, legal_hold=False,
                          notes=LOCAL_NOTES, shown=oct(st.st_mode & 0o777))  # fmt: skip

    def iter_oids(self) -> Iterator[tuple[str | None, Path]]:
        """Every file under objects/: (oid, path), oid None for a stray file."""
        return ((oid, self.objects / name) for oid, name in self._walk())

    def _walk(self) -> Iterator[tuple[str | None, str]]:
        """(oid or None, name under objects/) of every file, sorted; os.scandir, no pathlib:
        verify walks a store of 10⁵ objects twice (`list_oids`, `strays`)."""
        for sub in sorted(os.scandir(self.objects), key=lambda e: e.name):
            if not sub.is_dir():
                yield None, sub.name
                continue
            for name in sorted(os.listdir(sub.path)):
                oid = sub.name + name
                yield (oid if len(sub.name) == 2 and is_oid(oid) else None), f"{sub.name}/{name}"

    # -- writing --------------------------------------------------------------------------
    def _new_temp(self) -> tuple[int, Path]:
        # The pid in the name lets a later run tell a dead writer's leftovers from a live one's.
        path = self.tmp / f"{os.getpid()}-{self._tag}{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise storage_error(exc, "创建临时文件") from exc
        return fd, path

    def stage(
        self, src_fd: int, before: FileIdentity, cancel: CancelFlag | None = None
    ) -> Pending:
        """Copy an open source file (see open_source) to a read-only temp file in the store and
        hash the bytes copied. The copy reads the descriptor from offset 0, whatever its offset.

        Raises SourceChanged when the file's size or mtime moved during the copy; the temp file
        is then removed. The copy is not yet durable nor visible: see put().
        """
        tmp_fd, tmp_path = self._new_temp()
        kept = False
        try:
            digests = self._copy_in_kernel(src_fd, tmp_fd, cancel)
            if digests is None:  # another file system: copy through a buffer, hashing it
                os.lseek(src_fd, 0, os.SEEK_SET)
                digests = self._copy_and_hash(src_fd, tmp_fd, cancel)
            _check_unchanged(src_fd, before, digests.size)
            if digests.size >= WRITEBACK_MIN:
                start_writeback(tmp_fd)
            try:
                os.fchmod(tmp_fd, 0o444)
            except OSError as exc:
                raise storage_error(exc, "设置临时文件只读") from exc
            kept = True
            return Pending(digests, tmp_path)
        finally:
            os.close(tmp_fd)
            if not kept:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_path)

    def stage_stream(
        self, stream: BinaryIO, *, size: int | None = None, expect: str | None = None
    ) -> Pending:
        """Copy a stream (a socket, a pipe: no descriptor to copy in the kernel) to a staged,
        read-only copy, hashing it. `size`: the bytes the stream must hold (a short or long
        stream is refused); `expect`: the oid the bytes must have. Nothing is kept on refusal."""
        if expect is not None and not is_oid(expect):
            raise ValueError(f"not an object id: {expect!r}")
        tmp_fd, tmp_path = self._new_temp()
        kept = False
        try:
            b3, done = blake3.blake3(), 0
            while chunk := stream.read(CHUNK):
                b3.update(chunk)
                _write_all(tmp_fd, memoryview(chunk))
                done += len(chunk)
            if size is not None and done != size:
                raise StorageError(f"写入对象失败：应为 {size} 字节，实际读到 {done} 字节")
            if expect is not None and b3.hexdigest() != expect:
                raise StorageError(f"写入对象失败：内容摘要与 {expect[:12]} 不符")
            os.fchmod(tmp_fd, 0o444)
            kept = True
            return Pending(Digests(b3.hexdigest(), "", done), tmp_path)
        finally:
            os.close(tmp_fd)
            if not kept:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_path)

    def put(self, pendings: list[Pending]) -> list[StoreResult]:
        """Write a batch of staged copies, durably: flush them (one syncfs for the batch, not
        an fsync per file: each is a flush of the device's cache, and a camera dump is hundreds
        of files), link each into place (never over an existing object), fsync each fan-out
        folder touched once; the staged copies are removed whatever happens.
        When this returns, every object is durable and visible, and the catalog may name it."""
        try:
            self._make_durable(pendings)
            results = self._link(pendings)
            # Every linked name, new or found: one found may be another writer's, not yet synced.
            self._sync_fanout_dirs({r.fanout_dir for r in results})
            return results
        finally:
            self.discard(pendings)

    def _link(self, pendings: list[Pending]) -> list[StoreResult]:
        """Link durable temp copies into place; an existing object is never replaced."""
        self._make_fanout_dirs({p.digests.blake3[:2] for p in pendings})
        return [StoreResult(p.digests, *self._link_into_place(p.tmp_path, p.digests.blake3))
                for p in pendings]  # fmt: skip

    def make_all_fanout_dirs(self) -> None:
        """objects/00 … objects/ff, as `zfjl init` makes them (restic's data/ too): creating
        a folder is an inode to allocate, and on a first ingest the up to 256 of them were
        as many again as the files of a card of photos (0.1-0.2 s of 500 photos here)."""
        self._make_fanout_dirs({f"{i:02x}" for i in range(256)})

    def _make_fanout_dirs(self, prefixes: set[str]) -> None:
        """The batch's missing objects/xx/ folders (a vault made before `zfjl init` made them
        all), made durable by one fsync of objects/ (one fsync each was a journal commit each)."""
        missing = [self.objects / x for x in sorted(prefixes) if not (self.objects / x).is_dir()]
        if not missing:
            return
        try:
            for d in missing:
                d.mkdir(mode=0o755, exist_ok=True)
            fsync_dir(self.objects)
        except OSError as exc:
            raise storage_error(exc, "创建对象目录") from exc

    def discard(self, pendings: list[Pending]) -> None:
        for p in pendings:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(p.tmp_path)

    def _make_durable(self, pendings: list[Pending]) -> None:
        """Flush temp copies to the device (releases the GIL: may run beside other work)."""
        if not pendings:
            return
        try:
            if _syncfs(self.tmp):
                return
            for path in (p.tmp_path for p in pendings):
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            raise storage_error(exc, "同步临时文件") from exc

    def store_from_source(
        self, src: Path, before: FileIdentity, cancel: CancelFlag | None = None
    ) -> StoreResult:
        """Open (see open_source), copy, hash, make durable and link one source file."""
        fd, now = open_source(src, before)
        try:
            if now != before:
                raise SourceChanged(str(src))
            return self.put([self.stage(fd, before, cancel)])[0]
        finally:
            os.close(fd)

    def _copy_in_kernel(
        self, src_fd: int, dst_fd: int, cancel: CancelFlag | None
    ) -> Digests | None:
        """copy_file_range the source into the temp file, then hash the temp file through a
        read-only mapping: the digests are of the bytes stored, and no byte crosses into user
        space twice. None when the kernel cannot copy between these file systems (a camera's
        FAT card): the caller falls back to the buffered copy."""
        copied = 0
        while True:
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            try:
                n = os.copy_file_range(src_fd, dst_fd, KERNEL_CHUNK, copied)
            except OSError as exc:
                if exc.errno in NO_SPACE:
                    raise storage_error(exc, "写入临时文件") from exc
                if copied == 0 and exc.errno in (errno.EXDEV, errno.EINVAL, errno.ENOSYS,
                                                 errno.EOPNOTSUPP, errno.EBADF):  # fmt: skip
                    return None
                raise
            if n == 0:
                break
            copied += n
        return hash_fd_mapped(dst_fd, copied)

    def _copy_and_hash(self, src_fd: int, dst_fd: int, cancel: CancelFlag | None) -> Digests:
        b3 = blake3.blake3()
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        size = 0
        with os.fdopen(os.dup(src_fd), "rb", buffering=0) as f:
            while n := f.readinto(buf):
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                chunk = view[:n]
                b3.update(chunk)
                _write_all(dst_fd, chunk)
                size += n
        return Digests(b3.hexdigest(), "", size)

    def _link_into_place(self, tmp_path: Path, oid: str) -> tuple[bool, Path]:
        dest = self.path_for(oid)
        fanout = dest.parent
        try:
            os.link(tmp_path, dest)
            return True, fanout
        except FileExistsError:
            return False, fanout  # content already stored: never overwrite
        except OSError as exc:
            raise storage_error(exc, "写入对象") from exc

    def _sync_fanout_dirs(self, dirs: set[Path]) -> None:
        """Make new directory entries durable before the catalog refers to them."""
        try:
            for d in sorted(dirs):
                fsync_dir(d)
        except OSError as exc:
            raise storage_error(exc, "同步对象目录") from exc

    # -- housekeeping ---------------------------------------------------------------------
    def remove_own_temps(self) -> None:
        """Temp files this process left (an interrupted batch): nothing half-stored remains."""
        for f in self.tmp.glob(f"{os.getpid()}-{self._tag}*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                f.unlink()

    def clean_stale_temps(self) -> int:
        """Remove temp files left by writers that are no longer running (crash, kill -9)."""
        removed = 0
        for f in self.tmp.glob("*.tmp"):
            pid_text = f.name.split("-", 1)[0]
            if pid_text.isdigit() and _pid_alive(int(pid_text)):
                continue
            with contextlib.suppress(FileNotFoundError):
                f.unlink()
                removed += 1
        return removed


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        try:
            n = os.write(fd, data)
        except OSError as exc:
            raise storage_error(exc, "写入临时文件") from exc
        data = data[n:]


def _check_unchanged(fd: int, before: FileIdentity, size_read: int) -> None:
    # The descriptor, not the path: what was read is the file fstat describes, whatever the
    # name points to now (a rename or swap after the open cannot change the bytes read).
    after = FileIdentity.of(os.fstat(fd))
    if after != before or size_read != before.size:
        raise SourceChanged(str(fd))


def _syncfs(folder: Path) -> bool:
    """syncfs(2) on the file system holding folder; False where the C library lacks it."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return False
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if fn(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return True
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _implements_the_seam(store: ObjectStore) -> ObjectStorage:
    """Never called: mypy checks here that the local store implements ObjectStorage."""
    return store

"""In the service's per-request child: the caller's files, reached through the caller's own
`zfjl` process (see zfjl/userfs.py for why).

Every method asks the client to do the file operation with the user's rights and waits for
the answer; bytes go out as read-only descriptors of what the service made (the client copies
them into place), and come in as descriptors the client opened. The methods mirror
`LocalFiles`, so library code cannot tell the two apart.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

from zfjl import errors
from zfjl.errors import NotFoundError, ServiceError
from zfjl.ingest.discover import Dump, Skipped, SourceFile
from zfjl.service.protocol import (
    MAX_CARD_DEPTH,
    MAX_CARD_PATH,
    MAX_FDS,
    MAX_NAME,
    MAX_PATH,
    MAX_TREE_DIRS,
    MAX_TREE_FILES,
    Channel,
    Hangup,
    check_relative,
    safe_name,
    safe_relative,
)
from zfjl.userfs import LocalFiles
from zfjl.vault.objects import FileIdentity, SourceChanged, SourceRefused, copy_fd, storage_error


def raise_failure(fail: dict[str, Any]) -> NoReturn:
    """Raise here what the client's operation raised there."""
    kind = fail.get("kind")
    if kind == "oserror":
        code = fail.get("errno")
        raise OSError(code if type(code) is int else 5, str(fail.get("strerror"))[:500],
                      None if fail.get("filename") is None else str(fail.get("filename"))[:MAX_PATH])  # fmt: skip
    if kind == "refused":
        raise SourceRefused(str(fail.get("code")), str(fail.get("reason")))
    if kind == "changed":
        raise SourceChanged(str(fail.get("reason", "")))
    if kind == "interrupted":
        raise KeyboardInterrupt
    cls = getattr(errors, str(fail.get("type")), None)
    if isinstance(cls, type) and issubclass(cls, errors.ZfjlError):
        raise cls(str(fail.get("message"))[:2000])
    raise ServiceError(f"客户端操作失败：{str(fail.get('message', fail))[:500]}")


def answered_path(value: object) -> str:
    """A path the client answered with (its own absolute path): shown and journaled only."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > MAX_PATH or "\0" in value:
        raise ServiceError("客户端应答的路径格式不对（协议错误）")
    return value


def memfd_of(data: bytes) -> int:
    """A read-only descriptor holding `data` (anonymous memory: nothing on disk to clean up)."""
    fd = os.memfd_create("zfjl-out", os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    return fd


# How long the service waits for the client's answer to one operation: ANSWER_IDLE, plus the
# time to write what was handed over at CLIENT_MIN_RATE (a bag's 64 files to a slow USB key).
ANSWER_IDLE = 60.0
CLIENT_MIN_RATE = 1 << 20  # bytes/s


def answer_timeout(fds: list[int] | tuple[int, ...]) -> float:
    handed = 0
    for fd in fds:
        with contextlib.suppress(OSError):
            handed += os.fstat(fd).st_size
    return ANSWER_IDLE + handed / CLIENT_MIN_RATE


HUNG_UP = threading.Lock()  # taken once, by whichever notices first that the client left


def client_left() -> bool:
    """True for the first to notice the hang-up (it interrupts the command), False after."""
    return HUNG_UP.acquire(blocking=False)


# Bytes a request may copy in from the client (a bag to verify through the service; a bag
# larger than this is verified where it lies, without the service: docs/service.md).
MAX_INPUT_BYTES = 64 << 30
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def checked_listing(listing: object) -> tuple[str, list[str], list[str]]:
    """A client's `tree_list` answer: ("file", [], []) or ("dir", dirs, files), every name a
    `safe_relative` path, counts bounded; otherwise the request is refused."""
    if not isinstance(listing, dict) or listing.get("kind") not in ("file", "dir"):
        raise ServiceError("客户端的目录列表格式不对（协议错误）")
    if listing["kind"] == "file":
        return "file", [], []
    dirs = check_relative(listing.get("dirs"), "客户端的目录列表", MAX_TREE_DIRS)
    files = check_relative(listing.get("files"), "客户端的文件列表", MAX_TREE_FILES)
    return "dir", dirs, files


def _folder(at: int, parts: list[str], *, make: bool) -> int:
    """A new descriptor of the folder `parts` below the folder `at` (each component made when
    `make` and missing), opened O_NOFOLLOW|O_DIRECTORY one component at a time: a symbolic
    link anywhere on the way is refused by the kernel (ELOOP/ENOTDIR)."""
    fd = os.dup(at)
    try:
        for part in parts:
            if make:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=fd)
            try:
                child = os.open(part, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                raise ServiceError(f"客户端的列表中 {part!r} 不是文件夹（协议错误）") from exc
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


class ClientFiles(LocalFiles):
    """`LocalFiles`' operations, carried out by the client."""

    def __init__(self, channel: Channel, scratch: Path) -> None:
        self.channel = channel
        self.scratch_root = scratch  # the service's own folder for what it builds before handing out
        self._lock = threading.Lock()  # ingest workers open sources from several threads

    def call(
        self, op: str, args: dict[str, Any], fds: list[int] | tuple[int, ...] = ()
    ) -> tuple[Any, list[int]]:
        with self._lock:
            try:
                self.channel.send({"call": op, "args": args}, fds)
                reply, got = self.channel.recv(timeout=answer_timeout(fds))
            except Hangup:
                client_left()
                raise KeyboardInterrupt from None  # the client went away: stop, as on Ctrl-C
        if len(got) > MAX_FDS or ("fail" not in reply and "ok" not in reply):
            for fd in got:
                os.close(fd)
            raise ServiceError("客户端的应答格式不对（协议错误）")
        if "fail" in reply:
            for fd in got:
                os.close(fd)
            fail = reply["fail"]
            raise_failure(fail if isinstance(fail, dict) else {})
        return reply.get("ok"), got

    def resolve(self, path: Path) -> Path:
        return Path(answered_path(self.call("resolve", {"path": str(path)})[0]))

    def exists(self, path: Path) -> bool:
        return bool(self.call("exists", {"path": str(path)})[0])

    def read_text(self, path: Path, what: str) -> str:
        _, fds = self.call("read", {"path": str(path), "what": what})
        with os.fdopen(fds[0], "rb") as f:
            data = f.read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise NotFoundError(f"{what} {path} 不是 UTF-8 编码（请另存为 UTF-8）") from None

    def write_bytes(self, path: Path, data: bytes) -> Path:
        fd = memfd_of(data)
        try:
            self.call("write", {"path": str(path)}, [fd])
        finally:
            os.close(fd)
        return Path(path)

    def copy_out(self, src_fd: int, dest: Path, mode: int = 0o444) -> str:
        reopened = os.open(f"/proc/self/fd/{src_fd}", os.O_RDONLY | os.O_CLOEXEC)
        try:  # read-only, whatever `src_fd` was opened for
            return str(self.call("copy_out", {"dest": str(dest), "mode": mode}, [reopened])[0])
        finally:
            os.close(reopened)

    def append_text(self, path: Path, text: str) -> None:
        fd = memfd_of(text.encode("utf-8"))
        try:
            self.call("append", {"path": str(path)}, [fd])
        finally:
            os.close(fd)

    def make_dirs(self, path: Path) -> None:
        self.call("make_dirs", {"path": str(path)})

    def view_dir(self) -> Path:
        return Path(answered_path(self.call("view_dir", {})[0]))

    def stage_copy(self, src: Path, dest: Path) -> None:
        """A link, not a copy: the bag is built beside the objects (the vault's tmp/) and the
        client copies from a read-only descriptor of the object itself; one copy in all."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dest)
        except OSError:
            super().stage_copy(src, dest)

    @contextlib.contextmanager
    def scratch(self) -> Iterator[Path]:
        work = Path(tempfile.mkdtemp(prefix="work.", dir=self.scratch_root))
        try:
            yield work
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def discard_view_copy(self, path: Path) -> None:
        self.call("discard_view_copy", {"path": str(path)})

    @contextlib.contextmanager
    def output_tree(self, dest: Path) -> Iterator[Path]:
        """Built in the service's scratch folder, then handed to the client file by file as
        read-only descriptors; the client builds it beside `dest` and renames it into place."""
        token = str(self.call("tree_begin", {"dest": str(dest)})[0])
        work = Path(tempfile.mkdtemp(prefix="out.", dir=self.scratch_root))
        built = work / (Path(dest).name if safe_name(Path(dest).name) else "output")  # `-o ..`
        try:
            yield built
            self._hand_out(token, built)
            self.call("tree_commit", {"token": token})
        except BaseException:
            with contextlib.suppress(Exception, KeyboardInterrupt):
                self.call("tree_abort", {"token": token})
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _hand_out(self, token: str, built: Path) -> None:
        if built.is_file():
            self._put(token, [("", built)], [])
            return
        dirs: list[str] = []
        files: list[tuple[str, Path]] = []
        for folder, subdirs, names in os.walk(built):
            rel = os.path.relpath(folder, built)
            subdirs.sort()
            if rel != ".":
                dirs.append(rel)
            files.extend((os.path.normpath(os.path.join(rel, n)), Path(folder, n)) for n in sorted(names))
        self._put(token, [], dirs)
        for start in range(0, len(files), MAX_FDS):
            self._put(token, files[start : start + MAX_FDS], [])

    def _put(self, token: str, files: list[tuple[str, Path]], dirs: list[str]) -> None:
        fds = []
        try:
            for _, path in files:
                fds.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
            entries = [{"rel": rel, "mode": os.fstat(fd).st_mode & 0o777}
                       for (rel, _), fd in zip(files, fds, strict=True)]  # fmt: skip
            self.call("tree_put", {"token": token, "files": entries, "dirs": dirs}, fds)
        finally:
            for fd in fds:
                os.close(fd)

    @contextlib.contextmanager
    def input_tree(self, path: Path, what: str) -> Iterator[Path]:
        """The client's folder (or file), copied into a fresh folder of the service's own
        (mkdtemp in this request's scratch). Every name in the client's listing is checked
        (`safe_relative`) and every folder and file is made relative to a folder descriptor,
        O_NOFOLLOW and O_EXCL: whatever the client answers, nothing is written outside that
        folder (a name such as '/var/lib/zfjl/vault/templates/x' or '../../rules' refuses the
        whole request). At most MAX_TREE_FILES files and MAX_INPUT_BYTES bytes."""
        listing = self.call("tree_list", {"path": str(path), "what": what})[0]
        kind, dirs, files = checked_listing(listing)
        work = Path(tempfile.mkdtemp(prefix="in.", dir=self.scratch_root))
        name = Path(path).name if safe_name(Path(path).name) else "input"
        work_fd = os.open(work, DIR_FLAGS)
        try:
            budget = [MAX_INPUT_BYTES]
            if kind == "file":
                self._fetch(str(path), [""], work_fd, name, budget)
            else:
                os.mkdir(name, 0o700, dir_fd=work_fd)
                root_fd = os.open(name, DIR_FLAGS, dir_fd=work_fd)
                try:
                    for rel in dirs:
                        os.close(_folder(root_fd, rel.split("/"), make=True))
                    for start in range(0, len(files), MAX_FDS):
                        self._fetch(str(path), files[start : start + MAX_FDS], root_fd, None, budget)
                finally:
                    os.close(root_fd)
            yield work / name
        finally:
            os.close(work_fd)
            shutil.rmtree(work, ignore_errors=True)

    def _fetch(self, path: str, rels: list[str], into_fd: int, name: str | None,
               budget: list[int]) -> None:  # fmt: skip
        """Copy the client's files `rels` of `path` under `into_fd` (`name`: the one file a
        listing of kind "file" names), each new (O_EXCL), through no symbolic link."""
        _, fds = self.call("tree_open", {"path": path, "files": rels})
        try:
            if len(fds) != len(rels):
                raise ServiceError("客户端交来的描述符与所列文件不符（协议错误）")
            for rel, fd in zip(rels, fds, strict=True):
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise ServiceError(f"客户端交来的 {rel or name} 不是普通文件（协议错误）")
                budget[0] -= st.st_size
                if budget[0] < 0:
                    raise ServiceError(f"待核验的内容超过 {MAX_INPUT_BYTES >> 30} GiB 上限，已拒绝"
                                       "（没有保管库的核验请在本机直接进行）")  # fmt: skip
                parts = rel.split("/") if rel else [str(name)]
                parent = _folder(into_fd, parts[:-1], make=True)
                try:
                    out = os.open(parts[-1], NEW_FILE_FLAGS, 0o600, dir_fd=parent)
                except FileExistsError:
                    raise ServiceError(f"客户端的列表中 {rel} 出现两次（协议错误）") from None
                finally:
                    os.close(parent)
                try:
                    copy_fd(fd, out)
                except OSError as exc:
                    raise storage_error(exc, "复制待核验的文件") from exc
                finally:
                    os.close(out)
        finally:
            for fd in fds:
                os.close(fd)

    def discover(self, source: str | os.PathLike[str]) -> Dump:
        listing = self.call("discover", {"source": os.fsdecode(source)})[0]
        return RemoteDump.from_listing(self, listing)


def _text(value: object, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit or "\0" in value:
        raise TypeError("text")
    return value


def _card_rel(value: object) -> str:
    if not safe_relative(value, MAX_CARD_PATH, MAX_CARD_DEPTH):
        raise ValueError("name")
    return str(value)


def _int(value: object) -> int:
    if type(value) is not int:
        raise TypeError("int")
    return value


def _identity(value: object) -> FileIdentity:
    if not isinstance(value, dict) or set(value) != {"size", "mtime_ns", "ino", "dev"}:
        raise TypeError("identity")
    return FileIdentity(**{k: _int(v) for k, v in value.items()})


# Files opened ahead per source, in the ingest's order: one round trip to the client per this
# many files instead of one per file. Through the service, eight cameras at once made 208
# round trips on the one connection, 1.4 ms each with both cores copying (0.3 s in all).
OPEN_AHEAD = 16


class RemoteDump(Dump):
    """What the client's discovery found; each file is opened by the client (with its own
    rights, O_NOFOLLOW|O_NONBLOCK, fstat of the descriptor checked there) and its descriptor
    handed over. `entry` holds the file's index in the client's listing, `token` names the
    listing among the client's (a station reads several sources at once).

    Files are opened OPEN_AHEAD at a time in the order `plan` gave, and each descriptor is
    handed out once: a retry (the file changed while read) opens the file again. What an
    early open saw is what the ingest checks against, as with a local open: a file written
    to after it is caught by the size and mtime check after the copy."""

    files_of: ClientFiles
    token: str
    _order: list[int]  # entries in the order the ingest opens them
    _ready: dict[int, tuple[int, FileIdentity]]  # opened ahead, not handed out (in _asked)
    _asked: set[int]  # opened, or being opened, ahead
    _handed: set[int]  # given to the ingest once: opened ahead no more (a retry asks itself)
    _landed: threading.Condition  # guards the four above; notified when a batch lands

    @classmethod
    def from_listing(cls, files_of: ClientFiles, listing: dict[str, Any]) -> RemoteDump:
        """The client's `discover` answer, every field checked: names `safe_relative`, counts
        bounded, types exact; anything else refuses the whole ingest of that source."""
        try:
            root = Path(_text(listing["root"], MAX_PATH))
            if not root.is_absolute() or len(listing["files"]) > MAX_TREE_FILES:
                raise TypeError("root")
            files = [
                # rel_os names the file on disk (checked as a path); rel and name are only
                # shown and recorded (a long GBK name decodes to more than 255 UTF-8 bytes).
                SourceFile(root / _card_rel(f["rel_os"]), _text(f["rel"], 4 * MAX_CARD_PATH),
                           _text(f["name"], 4 * MAX_NAME),
                           None if f["name_hex"] is None else _text(f["name_hex"], 2 * MAX_NAME),
                           _identity(f["identity"]), -1, str(i))
                for i, f in enumerate(listing["files"])
            ]  # fmt: skip
            skipped = [Skipped(_text(s["rel"], 4 * MAX_CARD_PATH), _text(s["code"], 40),
                               _text(s["reason"], 1000)) for s in listing["skipped"]]  # fmt: skip
            dir_ids = {(_int(d), _int(i)) for d, i in listing["dir_ids"]}
            token = _text(listing["token"], 200)
        except (TypeError, KeyError, ValueError, AttributeError):
            raise ServiceError("客户端的来源列表格式不对或含不安全的名称，已拒绝（协议错误）") from None
        dump = cls(root, files, skipped, dir_ids)
        dump.files_of, dump.token = files_of, token
        dump._order, dump._ready, dump._asked, dump._handed = list(range(len(files))), {}, set(), set()
        dump._landed = threading.Condition()
        return dump

    def plan(self, files: list[SourceFile]) -> None:
        with self._landed:
            self._order = [int(f.entry) for f in files]

    def open_file(self, sf: SourceFile) -> tuple[int, FileIdentity]:
        index = int(sf.entry)
        with self._landed:
            while index in self._asked and index not in self._ready:
                self._landed.wait()  # another worker's batch is opening it
            self._handed.add(index)
            if index in self._ready:
                self._asked.discard(index)
                return self._ready.pop(index)
            batch = [index, *self._next_unasked(after=index)]
            self._asked.update(batch[1:])
        try:
            answers, fds = self.files_of.call("open_sources", {"token": self.token,
                                                               "indexes": batch})  # fmt: skip
        except BaseException:
            self._forget(batch)
            raise
        return self._took(batch, answers, fds)

    def _forget(self, batch: list[int]) -> None:
        """A batch that brought nothing: its files are asked again in their turn."""
        with self._landed:
            self._asked.difference_update(batch)
            self._landed.notify_all()

    def _next_unasked(self, after: int) -> list[int]:
        order = self._order
        start = order.index(after) + 1 if after in order else len(order)
        ahead: list[int] = []
        for i in order[start:]:
            if len(ahead) == OPEN_AHEAD - 1:
                break
            if i not in self._asked and i not in self._handed:  # _ready is within _asked
                ahead.append(i)
        return ahead

    def _took(self, batch: list[int], answers: list[dict[str, Any]], fds: list[int]
              ) -> tuple[int, FileIdentity]:  # fmt: skip
        """Keep what was opened ahead; the first file's descriptor, or what refused it."""
        try:
            if not isinstance(answers, list) or not 0 < len(answers) <= len(batch):
                raise TypeError("answers")
            fd_of = iter(fds)
            got = [a if "fail" in a else (next(fd_of), FileIdentity(**a["identity"]))
                   for a in answers]  # fmt: skip
            if next(fd_of, None) is not None:
                raise TypeError("descriptors")
        except (TypeError, KeyError, StopIteration, AttributeError):
            # A reply that does not fit the question: nothing of it is kept, nobody waits on it.
            for fd in fds:
                os.close(fd)
            self._forget(batch)
            raise ServiceError("客户端未交来源文件的描述符（协议错误）") from None
        with self._landed:
            for index, one in zip(batch[1:], got[1:], strict=False):
                if isinstance(one, tuple):
                    self._ready[index] = one
            # Refused ahead, or not answered: asked again in its turn.
            self._asked.difference_update(i for i in batch if i not in self._ready)
            self._landed.notify_all()
        first = got[0]
        if isinstance(first, tuple):
            return first
        raise_failure(first["fail"])

    def unlink_file(self, sf: SourceFile) -> bool:
        answer, _ = self.files_of.call(
            "unlink_source", {"token": self.token, "index": int(sf.entry)})  # fmt: skip
        return bool(answer)

    def close(self) -> None:
        with self._landed:
            while self._ready:
                os.close(self._ready.popitem()[1][0])
        with contextlib.suppress(Exception, KeyboardInterrupt):
            self.files_of.call("close_dump", {"token": self.token})

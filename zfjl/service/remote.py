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
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

from zfjl import errors
from zfjl.errors import NotFoundError, ServiceError
from zfjl.ingest.discover import Dump, Skipped, SourceFile
from zfjl.service.protocol import MAX_FDS, Channel, Hangup
from zfjl.userfs import LocalFiles
from zfjl.vault.objects import FileIdentity, SourceChanged, SourceRefused, copy_fd, storage_error


def raise_failure(fail: dict[str, Any]) -> NoReturn:
    """Raise here what the client's operation raised there."""
    kind = fail.get("kind")
    if kind == "oserror":
        raise OSError(int(fail.get("errno") or 5), str(fail.get("strerror")), fail.get("filename"))
    if kind == "refused":
        raise SourceRefused(str(fail.get("code")), str(fail.get("reason")))
    if kind == "changed":
        raise SourceChanged(str(fail.get("reason", "")))
    if kind == "interrupted":
        raise KeyboardInterrupt
    cls = getattr(errors, str(fail.get("type")), None)
    if isinstance(cls, type) and issubclass(cls, errors.ZfjlError):
        raise cls(str(fail.get("message")))
    raise ServiceError(f"客户端操作失败：{fail.get('message', fail)}")


def memfd_of(data: bytes) -> int:
    """A read-only descriptor holding `data` (anonymous memory: nothing on disk to clean up)."""
    fd = os.memfd_create("zfjl-out", os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    return fd


HUNG_UP = threading.Lock()  # taken once, by whichever notices first that the client left


def client_left() -> bool:
    """True for the first to notice the hang-up (it interrupts the command), False after."""
    return HUNG_UP.acquire(blocking=False)


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
                reply, got = self.channel.recv()
            except Hangup:
                client_left()
                raise KeyboardInterrupt from None  # the client went away: stop, as on Ctrl-C
        if "fail" in reply:
            for fd in got:
                os.close(fd)
            raise_failure(reply["fail"])
        return reply.get("ok"), got

    def resolve(self, path: Path) -> Path:
        return Path(self.call("resolve", {"path": str(path)})[0])

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
        return Path(self.call("view_dir", {})[0])

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
        built = work / Path(dest).name
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
        """The client's folder (or file), copied into the service's scratch folder."""
        listing = self.call("tree_list", {"path": str(path), "what": what})[0]
        work = Path(tempfile.mkdtemp(prefix="in.", dir=self.scratch_root))
        try:
            root = work / (Path(path).name or "input")
            if listing["kind"] == "file":
                self._fetch(str(path), [""], root)
            else:
                root.mkdir()
                for rel in listing["dirs"]:
                    (root / rel).mkdir(parents=True, exist_ok=True)
                rels = listing["files"]
                for start in range(0, len(rels), MAX_FDS):
                    self._fetch(str(path), rels[start : start + MAX_FDS], root)
            yield root
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _fetch(self, path: str, rels: list[str], root: Path) -> None:
        _, fds = self.call("tree_open", {"path": path, "files": rels})
        try:
            for rel, fd in zip(rels, fds, strict=True):
                target = root / rel if rel else root
                try:
                    with open(target, "xb") as out:
                        copy_fd(fd, out.fileno())
                except OSError as exc:
                    raise storage_error(exc, "复制待核验的文件") from exc
        finally:
            for fd in fds:
                os.close(fd)

    def discover(self, source: str | os.PathLike[str]) -> Dump:
        listing = self.call("discover", {"source": os.fsdecode(source)})[0]
        return RemoteDump.from_listing(self, listing)


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
        root = Path(listing["root"])
        files = [
            SourceFile(root / f["rel_os"], f["rel"], f["name"], f["name_hex"],
                       FileIdentity(**f["identity"]), -1, str(i))
            for i, f in enumerate(listing["files"])
        ]  # fmt: skip
        skipped = [Skipped(**s) for s in listing["skipped"]]
        dump = cls(root, files, skipped, {(d, i) for d, i in listing["dir_ids"]})
        dump.files_of, dump.token = files_of, str(listing["token"])
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

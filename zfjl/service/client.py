"""The station user's side: the `zfjl` command itself.

On a station whose vault is served (the socket exists, or $ZFJL_SOCKET names one), the command
line goes to `zfjl serve` with this process's standard streams, and this process then does the
file operations the command needs on the user's own files, with the user's own rights (see
zfjl/userfs.py), until the service sends the exit code. Otherwise, or with --vault/$ZFJL_VAULT
(a vault of one's own), the command runs here (direct mode).

This module is loaded on every run: it imports only the standard library and the protocol, so
a command through the service does not pay for loading the CLI in the client.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zfjl.errors import NotFoundError, ServiceError, ZfjlError
from zfjl.service.protocol import DEFAULT_SOCKET, MAX_FDS, PROTOCOL, Channel, Hangup, client_env

if TYPE_CHECKING:
    from zfjl.ingest.discover import Dump

# Commands that touch no vault run where they are typed.
LOCAL = frozenset({"sample", "serve", "station", "--version"})
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def service_socket() -> Path | None:
    """$ZFJL_SOCKET (where the service listens, not who we are), else the station's socket
    when it exists; None: no service here, direct mode."""
    explicit = os.environ.get("ZFJL_SOCKET")
    if explicit:
        return Path(explicit)
    return DEFAULT_SOCKET if DEFAULT_SOCKET.exists() else None


def wants_direct(argv: list[str]) -> bool:
    """--vault or $ZFJL_VAULT name a vault of the caller's own: open it here."""
    if not argv or argv[0] in LOCAL or os.environ.get("ZFJL_VAULT"):
        return True
    return any(a == "--vault" or a.startswith("--vault=") for a in argv)


def main(argv: list[str] | None = None) -> int:
    """The `zfjl` command: through the service when there is one, else direct."""
    args = sys.argv[1:] if argv is None else list(argv)
    path = service_socket()
    if path is None or wants_direct(args):
        from zfjl.cli.app import main as direct

        return direct(args)
    try:
        return run_remote(path, args)
    except ZfjlError as exc:
        return fail(exc, args)


def run() -> None:
    sys.exit(main())


def fail(exc: ZfjlError, argv: list[str]) -> int:
    """What `zfjl.cli.app._fail` prints, for errors of the connection itself."""
    print(f"错误：{exc.message}", file=sys.stderr)
    if "--json" in argv:
        error = {"type": type(exc).__name__, "message": exc.message, "exit_code": exc.exit_code}
        print(json.dumps({"error": error}, ensure_ascii=False))
    return exc.exit_code


def _std_fds() -> list[int]:
    """fds 0-2 to hand over; a closed one is replaced by /dev/null (cron may close stdin)."""
    fds = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            fds.append(fd)
        except OSError:
            fds.append(os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC))
    return fds


def run_remote(path: Path, argv: list[str]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.connect(str(path))
    except OSError as exc:
        sock.close()
        raise ServiceError(
            f"无法连接保管库服务 {path}（{exc.strerror}）：请管理员确认 zfjl serve 正在运行"
            "（systemctl status zfjl）；个人保管库请用 --vault 指定"
        ) from None
    channel = Channel(sock)
    handler = Handler()
    interrupted = False
    try:
        request = {"v": PROTOCOL, "argv": argv, "env": client_env(), "cwd": os.getcwd()}
        channel.send(request, _std_fds())
        if "ingest" in argv:
            # While the service's child gets to its first question (~60 ms), load what reading
            # a card needs here (~30 ms that the first listing would otherwise wait for).
            handler.files  # noqa: B018
            import zfjl.ingest.discover  # noqa: F401
        while True:
            try:
                message, fds = channel.recv()
                if "exit" in message:
                    return int(message["exit"])
                if interrupted:  # no more answers: the service is winding the command up
                    for fd in fds:
                        os.close(fd)
                    continue
                reply, reply_fds = handler.answer(message, fds)
                try:
                    channel.send(reply, reply_fds)
                finally:
                    for fd in reply_fds:
                        os.close(fd)
            except KeyboardInterrupt:
                if interrupted:
                    raise
                # Tell the service (it sees the hang-up and stops the command as on Ctrl-C
                # in direct mode), then wait for its exit code; a second Ctrl-C leaves at once.
                interrupted = True
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_WR)
    except Hangup:
        raise ServiceError("保管库服务意外中断了本次请求：请重试；如再次发生请管理员查看服务日志"
                           "（journalctl -u zfjl）") from None  # fmt: skip
    finally:
        handler.close()
        sock.close()


class Handler:
    """The file operations the service asks for, done here with the user's own rights."""

    def __init__(self) -> None:
        # Every source being ingested, by token: a station's cameras are discovered and read
        # at once over this one connection (one dump held for all made every camera read the
        # last one's files).
        self.dumps: dict[str, Dump] = {}
        # token -> (the open `output_tree`, the folder it is built in, its destination)
        self.trees: dict[str, tuple[contextlib.ExitStack, Path, Path]] = {}
        self._files: Any = None

    @property
    def files(self) -> Any:
        """This user's own files (loaded on the first operation: `ls` never needs them)."""
        if self._files is None:
            from zfjl.userfs import LocalFiles

            self._files = LocalFiles()
        return self._files

    def answer(self, message: dict[str, Any], fds: list[int]) -> tuple[dict[str, Any], list[int]]:
        op = message.get("call")
        method = getattr(self, f"op_{op}", None)
        try:
            if method is None:
                raise ServiceError(f"服务请求了未知的操作 {op!r}（版本不一致？）")
            result = method(message.get("args") or {}, fds)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            return {"fail": describe(exc)}, []
        finally:
            for fd in fds:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if isinstance(result, tuple):
            return {"ok": result[0]}, list(result[1])
        return {"ok": result}, []

    def close(self) -> None:
        while self.dumps:
            self.dumps.popitem()[1].close()
        while self.trees:
            _abandon(self.trees.popitem()[1][0])

    # -- small files ----------------------------------------------------------------------
    def op_resolve(self, args: dict[str, Any], fds: list[int]) -> str:
        return str(Path(args["path"]).resolve())

    def op_exists(self, args: dict[str, Any], fds: list[int]) -> bool:
        return os.path.lexists(args["path"])

    def op_read(self, args: dict[str, Any], fds: list[int]) -> tuple[None, list[int]]:
        path, what = args["path"], args.get("what", "文件")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NotFoundError(f"找不到{what}：{path}") from None
        except OSError as exc:
            raise NotFoundError(f"无法读取{what} {path}：{exc.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise NotFoundError(f"{what} {path} 不是普通文件")
        return None, [fd]

    def op_write(self, args: dict[str, Any], fds: list[int]) -> None:
        self.files.write_bytes(Path(args["path"]), read_all(fds[0]))

    def op_copy_out(self, args: dict[str, Any], fds: list[int]) -> str:
        return str(self.files.copy_out(fds[0], Path(args["dest"]), int(args["mode"])))

    def op_append(self, args: dict[str, Any], fds: list[int]) -> None:
        self.files.append_text(Path(args["path"]), read_all(fds[0]).decode("utf-8"))

    def op_make_dirs(self, args: dict[str, Any], fds: list[int]) -> None:
        self.files.make_dirs(Path(args["path"]))

    def op_view_dir(self, args: dict[str, Any], fds: list[int]) -> str:
        return str(self.files.view_dir())

    def op_discard_view_copy(self, args: dict[str, Any], fds: list[int]) -> None:
        path = Path(args["path"])
        if path.parent != self.files.view_dir():  # only ever a copy in the user's view folder
            raise ServiceError(f"服务要求删除查阅目录以外的文件 {path}，已拒绝")
        self.files.discard_view_copy(path)

    # -- trees out (bundles, rendered documents) ------------------------------------------
    def op_tree_begin(self, args: dict[str, Any], fds: list[int]) -> str:
        """`LocalFiles.output_tree`, held open across the service's calls until commit."""
        stack = contextlib.ExitStack()
        built = stack.enter_context(self.files.output_tree(Path(args["dest"])))
        token = str(built)
        self.trees[token] = (stack, built, Path(args["dest"]))
        return token

    def op_tree_put(self, args: dict[str, Any], fds: list[int]) -> None:
        _, root, _ = self._tree(args["token"])
        for rel in args.get("dirs", []):
            (root / rel).mkdir(parents=True, exist_ok=True)
        for entry, fd in zip(args.get("files", []), fds, strict=True):
            target = root / entry["rel"] if entry["rel"] else root
            target.parent.mkdir(parents=True, exist_ok=True)
            self.files.copy_out(fd, target, int(entry["mode"]) | 0o400)

    def op_tree_commit(self, args: dict[str, Any], fds: list[int]) -> str:
        stack, _, dest = self._tree(args["token"])
        del self.trees[args["token"]]
        stack.close()  # the block completes: renamed into place
        return str(dest.resolve())

    def op_tree_abort(self, args: dict[str, Any], fds: list[int]) -> None:
        tree = self.trees.pop(args["token"], None)
        if tree is not None:
            _abandon(tree[0])

    def _tree(self, token: str) -> tuple[contextlib.ExitStack, Path, Path]:
        if token not in self.trees:
            raise ServiceError("服务引用了不存在的输出（协议错误）")
        return self.trees[token]

    # -- trees in (a bag to verify) -------------------------------------------------------
    def op_tree_list(self, args: dict[str, Any], fds: list[int]) -> dict[str, Any]:
        path = Path(args["path"])
        if path.is_file():
            return {"kind": "file"}
        if not path.is_dir():
            raise NotFoundError(f"找不到{args.get('what', '')}：{path}")
        dirs, files = [], []
        for folder, subdirs, names in os.walk(path):
            rel = os.path.relpath(folder, path)
            subdirs.sort()
            if rel != ".":
                dirs.append(rel)
            for name in sorted(names):
                if os.path.isfile(os.path.join(folder, name)):
                    files.append(os.path.normpath(os.path.join(rel, name)))
        return {"kind": "dir", "dirs": dirs, "files": files}

    def op_tree_open(self, args: dict[str, Any], fds: list[int]) -> tuple[None, list[int]]:
        opened: list[int] = []
        try:
            for rel in args["files"]:
                path = os.path.join(args["path"], rel) if rel else args["path"]
                opened.append(os.open(path, READ_FLAGS))
        except BaseException:
            for fd in opened:
                os.close(fd)
            raise
        return None, opened

    # -- ingest ---------------------------------------------------------------------------
    def op_discover(self, args: dict[str, Any], fds: list[int]) -> dict[str, Any]:
        dump = self.files.discover(args["source"])
        token = f"dump-{len(self.dumps)}-{id(dump):x}"
        self.dumps[token] = dump
        files = [
            {"rel_os": os.path.relpath(f.path, dump.root), "rel": f.rel, "name": f.name,
             "name_hex": f.name_hex, "identity": f.identity.__dict__}
            for f in dump.files
        ]  # fmt: skip
        return {
            "token": token,
            "root": str(dump.root),
            "files": files,
            "skipped": [s.__dict__ for s in dump.skipped],
            "dir_ids": sorted(dump.dir_ids),
        }

    def op_open_sources(self, args: dict[str, Any], fds: list[int]) -> tuple[Any, list[int]]:
        """Open listed files: per file its identity or what refused it; a descriptor for
        each one opened, in order."""
        dump = self._dump(args)
        answers: list[dict[str, Any]] = []
        opened: list[int] = []
        try:
            for index in args["indexes"][:MAX_FDS]:
                try:
                    fd, identity = dump.open_file(dump.files[int(index)])
                except Exception as exc:  # this file's answer, not the batch's
                    answers.append({"fail": describe(exc)})
                    continue
                opened.append(fd)
                answers.append({"identity": identity.__dict__})
        except BaseException:
            for fd in opened:
                os.close(fd)
            raise
        return answers, opened

    def op_unlink_source(self, args: dict[str, Any], fds: list[int]) -> bool:
        dump = self._dump(args)
        return dump.unlink_file(dump.files[int(args["index"])])

    def _dump(self, args: dict[str, Any]) -> Dump:
        dump = self.dumps.get(str(args.get("token")))
        if dump is None:
            raise ServiceError("服务请求了未列出的来源（协议错误）")
        return dump

    def op_close_dump(self, args: dict[str, Any], fds: list[int]) -> None:
        dump = self.dumps.pop(str(args.get("token")), None)
        if dump is not None:
            dump.close()


def _abandon(stack: contextlib.ExitStack) -> None:
    """Leave an output tree unfinished: nothing of it stays behind."""
    error = ServiceError("输出未完成")
    stack.__exit__(type(error), error, None)


def read_all(fd: int) -> bytes:
    chunks, offset = [], 0
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def describe(exc: BaseException) -> dict[str, Any]:
    """An exception as the service's side re-raises it (zfjl.service.remote.raise_failure)."""
    from zfjl.vault.objects import SourceChanged, SourceRefused

    if isinstance(exc, ZfjlError):
        return {"kind": "zfjl", "type": type(exc).__name__, "message": exc.message}
    if isinstance(exc, SourceRefused):
        return {"kind": "refused", "code": exc.code, "reason": exc.reason}
    if isinstance(exc, SourceChanged):
        return {"kind": "changed", "reason": str(exc)}
    if isinstance(exc, OSError):
        return {"kind": "oserror", "errno": exc.errno, "strerror": exc.strerror,
                "filename": None if exc.filename is None else os.fsdecode(exc.filename)}  # fmt: skip
    return {"kind": "zfjl", "type": "ServiceError", "message": f"客户端出错：{type(exc).__name__}: {exc}"}

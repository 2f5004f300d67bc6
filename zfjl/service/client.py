"""The station user's side: the `zfjl` command itself.

On a station whose vault is served (the socket exists, or $ZFJL_SOCKET names one), the command
line goes to `zfjl serve` with this process's standard streams, and this process then does the
file operations the command needs on the user's own files, with the user's own rights (see
zfjl/userfs.py), until the service sends the exit code. Otherwise, or with --vault/$ZFJL_VAULT
(a vault of one's own), the command runs here (direct mode).

The service is not trusted either (issue 23): before anything is sent, the peer's UID must be
the station's recorded service account (`check_service`), and the service may then ask only
for operations on the paths this command line names (`Policy`, `FILE_ARGS`); anything else
stops the client with exit 3.

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
from zfjl.service.protocol import (
    DEFAULT_SOCKET,
    MAX_FDS,
    MAX_TREE_DIRS,
    MAX_TREE_FILES,
    PROTOCOL,
    Channel,
    Hangup,
    client_env,
    peer_credentials,
    safe_name,
    safe_relative,
)

if TYPE_CHECKING:
    from zfjl.ingest.discover import Dump

# Commands that touch no vault run where they are typed.
LOCAL = frozenset({"sample", "serve", "station", "--version"})
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


DEFAULT_ETC = Path("/etc/zfjl")
# The station's record of its service (written by `zfjl station setup`, root's, 0644):
# "uid=N" and "socket=PATH". The client talks only to a peer whose UID the kernel reports
# as N on that socket. $ZFJL_ETC says where the record is (tests), as $ZFJL_SOCKET says where
# the socket is; neither says who anyone is.
OWNER_RECORD = "service.owner"


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
        if args == ["web"] and sys.stdout.isatty():
            return open_web_link(path)
        return run_remote(path, args)
    except ZfjlError as exc:
        return fail(exc, args)


def open_web_link(path: Path) -> int:
    """`zfjl web` typed on a terminal, through the service (docs/web.md): the service cannot
    open this user's browser, so the link is asked for with `--print-url` into a pipe here,
    then printed and opened by this process, as the user."""
    import select

    from zfjl.web.linkfile import open_link

    read_end, write_end = os.pipe()
    saved = os.dup(1)
    try:
        os.dup2(write_end, 1)
        os.close(write_end)
        code = run_remote(path, ["web", "--print-url"])
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    try:
        ready = select.select([read_end], [], [], 1.0)[0]
        url = os.read(read_end, 4096).decode("ascii", "replace").strip() if ready else ""
    finally:
        os.close(read_end)
    if code != 0:
        return code
    if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
        print("错误：保管库服务给出的登录链接格式不对", file=sys.stderr)
        return 3
    print(f"在浏览器中打开（60 秒内有效，只能使用一次）：\n{url}", flush=True)
    open_link(url)  # through a 0600 page of the user's: never the secret on a command line
    return 0


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
    handler = Handler(argv)
    interrupted = False
    try:
        check_service(sock, path)  # before the command line leaves this process
        request = {"v": PROTOCOL, "argv": argv, "env": client_env(), "cwd": os.getcwd()}
        with contextlib.suppress(Hangup):  # refused before it read us (busy): its answer waits
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
                    for fd in fds:
                        os.close(fd)
                    return _exited(message, argv)
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


def _exited(message: dict[str, Any], argv: list[str]) -> int:
    """The service's last word: its exit code, and the reason when it refused the request
    itself (the command never ran, so nothing else said why)."""
    code = message["exit"]
    code = code if type(code) is int and 0 <= code < 256 else 3
    error = message.get("error")
    if isinstance(error, str):
        exc = ServiceError(error[:2000])
        exc.exit_code = code
        fail(exc, argv)
    return code


# -- who the service is ----------------------------------------------------------------------
def check_service(sock: socket.socket, path: Path) -> None:
    """The peer on `sock` is the station's service, as the kernel says (SO_PEERCRED, the UID
    it had when it listened), or ServiceError before anything is sent:
    - the station's record (`$ZFJL_ETC`/service.owner, default /etc/zfjl) names this socket:
      the peer must be the UID it records;
    - no record for this socket, and the socket is the station's default: refused (a station
      is set up by `zfjl station setup`, which writes the record);
    - a socket named by $ZFJL_SOCKET that the record does not name (a test, a bench, a
      service of one's own): the peer must own the socket's folder, and nobody else may
      write in that folder — so only the peer could have put the socket there."""
    uid = peer_credentials(sock)[1]
    record = owner_record()
    where = os.path.abspath(path)
    if record is not None and os.path.abspath(record[1]) == where:
        if uid != record[0]:
            raise ServiceError(f"{path} 上应答的不是本站登记的保管库服务账户（UID {record[0]}，"
                               f"实为 UID {uid}）：已拒绝，未发送任何内容；请报告管理员")  # fmt: skip
        return
    if where == str(DEFAULT_SOCKET):
        raise ServiceError(f"本站未登记保管库服务账户（{_etc() / OWNER_RECORD}）：无法确认 {path} "
                           "上应答的是保管库服务；请管理员重新运行 zfjl station setup")  # fmt: skip
    folder = os.stat(os.path.dirname(where))
    if folder.st_uid != uid or folder.st_mode & 0o022:
        raise ServiceError(f"{path} 所在目录不归应答方（UID {uid}）独有：无法确认它是保管库服务，"
                           "已拒绝，未发送任何内容")  # fmt: skip


def _etc() -> Path:
    return Path(os.environ.get("ZFJL_ETC") or DEFAULT_ETC)


def owner_record() -> tuple[int, str] | None:
    """(uid, socket) from the station's record; None when there is none. A record that root
    does not own, or that others could write, is refused outright (ServiceError)."""
    path = _etc() / OWNER_RECORD
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ServiceError(f"无法读取 {path}：{exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        st, folder = os.fstat(f.fileno()), os.stat(path.parent)
        if st.st_uid != 0 or st.st_mode & 0o022 or folder.st_uid != 0 or folder.st_mode & 0o022:
            raise ServiceError(f"{path} 不归 root 所有或可被他人改写：不予采信，请管理员检查")
        text = f.read(4096).decode("utf-8", "replace")
    fields = dict(line.partition("=")[::2] for line in text.splitlines() if "=" in line)
    try:
        return int(fields["uid"]), fields["socket"]
    except (KeyError, ValueError):
        raise ServiceError(f"{path} 格式不对（应有 uid= 与 socket=）：请管理员重新运行 zfjl station setup") from None


# -- what the service may do with this user's files ------------------------------------------
READ, TREE, SOURCE, WRITE = "read", "tree", "source", "write"
# Per command (its words, old spellings routed): the arguments that name the user's files and
# what the service may ask for on each — READ a file whole, TREE list and read a folder (or a
# file), SOURCE discover and read a camera card, WRITE make that file or folder (and files
# directly in it) — as (positional kinds in order, "*"-suffixed: each of the rest; options
# that name files; the command's other options that take a value). Kept equal to the command
# tree by tests/test_service_hostile.py::test_the_clients_file_arguments_match_the_cli.
OUT = {"-o": WRITE, "--output": WRITE}
FILE_ARGS: dict[str, tuple[tuple[str | None, ...], dict[str, str], frozenset[str]]] = {
    "ingest": ((SOURCE + "*",), {}, frozenset({"--device", "--officer", "--workers"})),
    "render": ((), OUT, frozenset()),
    "sweep": ((), {"--pdf": WRITE}, frozenset()),
    "export": ((), OUT, frozenset()),
    "disclose": ((), OUT, frozenset()),
    "log": ((), {"--pdf": WRITE}, frozenset()),
    "report": ((), OUT, frozenset()),
    "case import": ((READ,), {}, frozenset({"--reason"})),
    "case export": ((), OUT, frozenset()),
    "case doc": ((None, READ), {}, frozenset({"--reason"})),
    "bundle make": ((), OUT, frozenset()),
    "bundle": ((), OUT, frozenset()),  # the old spelling of `bundle make`
    "bundle verify": ((TREE,), {"--checkpoint": READ}, frozenset()),
    "checkpoint verify": ((READ,), {}, frozenset()),
    "checkpoint": ((), {"--verify": READ}, frozenset()),  # `checkpoint --verify FILE`, old
    "calendar add": ((READ,), {}, frozenset()),
    "spotcheck ledger": ((), {"--pdf": WRITE}, frozenset()),
    "custom add": ((None, READ), {}, frozenset({"--approval", "--name"})),
}
GROUPS = {"case", "bundle", "checkpoint", "calendar", "spotcheck", "custom"}
# Where a command writes when the user names no place: `render` into the current folder.
DEFAULT_WRITE = {"render": "."}


def command_words(argv: list[str]) -> tuple[str, list[str]]:
    """The command `argv` runs ("case import", or a group alone for an old spelling) and the
    arguments after its words."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 1
    if i == len(argv):
        return "", []
    word, i = argv[i], i + 1
    if word in GROUPS and i < len(argv) and f"{word} {argv[i]}" in FILE_ARGS:
        return f"{word} {argv[i]}", argv[i + 1 :]
    return word, argv[i:]


def named_files(argv: list[str]) -> tuple[str, dict[str, list[str]]]:
    """The command, and the paths its command line names, by what the service may do."""
    command, args = command_words(argv)
    kinds, options, values = FILE_ARGS.get(command, ((), {}, frozenset()))
    named: dict[str, list[str]] = {READ: [], TREE: [], SOURCE: [], WRITE: []}
    positional: list[str] = []
    tokens = iter(args)
    for token in tokens:
        if token == "--":
            positional.extend(tokens)
            break
        if token.startswith("-") and len(token) > 1:
            name, eq, value = token.partition("=")
            if not eq and not name.startswith("--") and len(name) > 2:
                name, eq, value = name[:2], "=", name[2:]  # -oDIR
            if name in options or name in values:
                given = value if eq else next(tokens, None)
                if name in options and given is not None:
                    named[options[name]].append(given)
            continue
        positional.append(token)
    for index, token in enumerate(positional):
        kind = kinds[min(index, len(kinds) - 1)] if kinds else None
        if kind is None or (index >= len(kinds) and not kind.endswith("*")):
            continue
        named[kind.rstrip("*")].append(token)
    if command in DEFAULT_WRITE and not named[WRITE]:
        named[WRITE].append(DEFAULT_WRITE[command])
    return command, named


class Refused(ServiceError):
    """The service asked for something the command line did not name: the client stops."""


class Policy:
    """What this command line lets the service do with the user's files (see FILE_ARGS)."""

    def __init__(self, argv: list[str]) -> None:
        self.command, self.named = named_files(argv)
        self.clear_source = self.command == "ingest" and "--clear-source" in argv
        self.view = self.command == "view"
        self.listed: dict[str, set[str]] = {}  # tree path -> the files this client listed

    def check(self, op: str, args: dict[str, Any], view_dir: Any) -> None:
        """Raise Refused unless `op` on `args` is what this command line asked for."""
        if not isinstance(args, dict):
            raise Refused("服务的请求格式不对（协议错误）")
        rule = getattr(self, f"_may_{op}", None)
        if rule is None or not rule(args, view_dir):
            shown = {k: str(v)[:120] for k, v in args.items() if k in ("path", "dest", "source")}
            raise Refused(f"保管库服务要求对命令行未指定的文件进行操作（{op} {shown}）：已拒绝并中止；"
                          "本命令可读写的只有命令行中给出的文件和目录")  # fmt: skip

    # which paths
    def _is(self, kind: str, path: object) -> bool:
        return isinstance(path, str) and any(names(path, t) for t in self.named[kind])

    def _in(self, kind: str, path: object) -> bool:
        """`path` is a named path of `kind`, or one name directly inside it. Inside the folder
        a command writes to when none was typed (`render` into the current one, often a home
        folder), never a hidden name: `.bash_profile` or `.ssh` made there would run or let
        in whoever controls the service the next time the user logs in."""
        if not isinstance(path, str) or "\0" in path:
            return False
        head, tail = os.path.split(path)
        if self._is(kind, path):
            return True
        if not (safe_name(tail) and self._is(kind, head or ".")):
            return False
        return not (tail.startswith(".") and self._implicit(kind, head or "."))

    def _implicit(self, kind: str, folder: str) -> bool:
        """`folder` is only the default place of this command, not one the user typed."""
        default = DEFAULT_WRITE.get(self.command)
        return (kind == WRITE and default is not None and self.named[WRITE] == [default]
                and names(folder, default))  # fmt: skip

    def _in_view(self, path: object, view_dir: Any) -> bool:
        if not (self.view and isinstance(path, str)):
            return False
        head, tail = os.path.split(path)
        return safe_name(tail) and head == str(view_dir())

    # one rule per operation
    def _may_resolve(self, a: dict[str, Any], v: Any) -> bool:
        path = a.get("path")
        return self._in(WRITE, path) or any(self._is(k, path) for k in (READ, TREE, SOURCE))

    _may_exists = _may_resolve

    def _may_read(self, a: dict[str, Any], v: Any) -> bool:
        return self._is(READ, a.get("path"))

    def _may_write(self, a: dict[str, Any], v: Any) -> bool:
        return self._in(WRITE, a.get("path"))

    _may_append = _may_write
    _may_make_dirs = _may_write

    def _may_copy_out(self, a: dict[str, Any], v: Any) -> bool:
        return self._in(WRITE, a.get("dest")) or self._in_view(a.get("dest"), v)

    def _may_view_dir(self, a: dict[str, Any], v: Any) -> bool:
        return self.view

    def _may_discard_view_copy(self, a: dict[str, Any], v: Any) -> bool:
        return self._in_view(a.get("path"), v)

    def _may_tree_begin(self, a: dict[str, Any], v: Any) -> bool:
        return self._is(WRITE, a.get("dest"))

    def _may_tree_put(self, a: dict[str, Any], v: Any) -> bool:
        dirs, files = a.get("dirs", []), a.get("files", [])
        if not (isinstance(dirs, list) and isinstance(files, list)) or len(files) > MAX_FDS:
            return False
        if len(dirs) > MAX_TREE_DIRS or not all(safe_relative(d) for d in dirs):
            return False
        return all(isinstance(f, dict) and type(f.get("mode")) is int
                   and (f.get("rel") == "" or safe_relative(f.get("rel"))) for f in files)  # fmt: skip

    def _may_tree_commit(self, a: dict[str, Any], v: Any) -> bool:
        return isinstance(a.get("token"), str)

    _may_tree_abort = _may_tree_commit

    def _may_tree_list(self, a: dict[str, Any], v: Any) -> bool:
        return self._is(TREE, a.get("path"))

    def _may_tree_open(self, a: dict[str, Any], v: Any) -> bool:
        listed = self.listed.get(str(a.get("path")))
        rels = a.get("files")
        return (self._is(TREE, a.get("path")) and listed is not None and isinstance(rels, list)
                and len(rels) <= MAX_FDS and all(isinstance(r, str) and r in listed for r in rels))  # fmt: skip

    def _may_discover(self, a: dict[str, Any], v: Any) -> bool:
        return self._is(SOURCE, a.get("source"))

    def _may_open_sources(self, a: dict[str, Any], v: Any) -> bool:
        indexes = a.get("indexes")
        return isinstance(indexes, list) and len(indexes) <= MAX_FDS and all(
            type(i) is int for i in indexes)  # fmt: skip

    def _may_unlink_source(self, a: dict[str, Any], v: Any) -> bool:
        return self.clear_source and type(a.get("index")) is int

    def _may_close_dump(self, a: dict[str, Any], v: Any) -> bool:
        return True


def names(requested: str, typed: str) -> bool:
    """`requested` (as the service sends it) is the path the user typed as `typed`: the same
    string once parsed as a path, or the same absolute path with no '..' of its own (a
    '..' after a symbolic link is not where the letters say)."""
    if "\0" in requested or "\0" in typed or not requested:
        return False
    if requested == str(Path(typed)):
        return True
    return ".." not in Path(requested).parts and os.path.abspath(requested) == os.path.abspath(typed)


class Handler:
    """The file operations the service asks for, done here with the user's own rights, and
    only those this command line named (`Policy`)."""

    def __init__(self, argv: list[str] | None = None) -> None:
        self.policy = Policy(list(argv or []))
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
        method = getattr(self, f"op_{op}", None) if isinstance(op, str) else None
        args = message.get("args") or {}
        if method is None or len(fds) > MAX_FDS:
            for fd in fds:
                os.close(fd)
            raise Refused(f"保管库服务请求了未知的操作 {str(op)[:40]!r}（版本不一致？）：已中止")
        try:
            self.policy.check(str(op), args, self._view_dir)
        except Refused:
            for fd in fds:
                os.close(fd)
            raise
        try:
            result = method(args, fds)
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

    def _view_dir(self) -> Path:
        return Path(self.files.view_dir())

    def op_view_dir(self, args: dict[str, Any], fds: list[int]) -> str:
        return str(self._view_dir())

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
        for rel in args.get("dirs", []):  # each a safe relative path (Policy._may_tree_put)
            (root / rel).mkdir(parents=True, exist_ok=True)
        for entry, fd in zip(args.get("files", []), fds, strict=True):
            target = root / entry["rel"] if entry["rel"] else root
            if target != root and not target.parent.is_relative_to(root):
                raise Refused("服务给出的文件名越出了输出目录：已拒绝")
            target.parent.mkdir(parents=True, exist_ok=True)
            self.files.copy_out(fd, target, (int(entry["mode"]) & 0o777) | 0o400)

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
            self.policy.listed[args["path"]] = {""}
            return {"kind": "file"}
        if not path.is_dir():
            raise NotFoundError(f"找不到{args.get('what', '')}：{path}")
        dirs, files = [], []
        for folder, subdirs, entries in os.walk(path):
            rel = os.path.relpath(folder, path)
            subdirs.sort()
            if rel != ".":
                dirs.append(rel)
            for name in sorted(entries):
                if os.path.isfile(os.path.join(folder, name)):
                    files.append(os.path.normpath(os.path.join(rel, name)))
            if len(files) > MAX_TREE_FILES or len(dirs) > MAX_TREE_DIRS:
                raise ServiceError(f"{path} 中的文件超过 {MAX_TREE_FILES} 个，无法通过保管库服务核验")
        self.policy.listed[args["path"]] = set(files)
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

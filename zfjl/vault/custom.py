"""A bureau's own templates, rule packs and document types: code, installed as code.

The vault's `templates/`, `rules/` and `doctypes/` folders change what zfjl prints, which
requirements a case is checked against and which documents a case may hold. A file there is
loaded only if its bytes are the bytes an administrator installed (`zfjl custom add KIND FILE
--approval 文号`: `custom.install`, journaled with its SHA-256, size and approval, then copied
in temp+fsync+rename). Anything else found there — a file copied in by hand, one changed
since it was installed, a symbolic link, a vault's files from before this check existed — is
not loaded, a warning says so (`UntrustedFileWarning`, printed by the CLI as 提示：…), and
`zfjl verify` names it (`custom_findings`). The `custom_files` table is derived from the
journal (migration 7), so a file planted in the folder can never vouch for itself.

The files are read once here, checked, and the checked text is what the loaders use: nothing
re-reads the folder between the check and the use.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zfjl.errors import NotFoundError, UsageError
from zfjl.vault import events
from zfjl.vault.objects import fsync_dir, storage_error

if TYPE_CHECKING:
    from zfjl.vault.vault import Vault

# The folders, what their files are called, and what a person calls them.
SUFFIXES = {"templates": ".typ.j2", "rules": ".yaml", "doctypes": ".yaml"}
LABELS = {"templates": "文书模板", "rules": "检查规则包", "doctypes": "文书类型文件"}
KINDS = tuple(SUFFIXES)
MAX_BYTES = 1 << 20  # a template or a rule pack is a few kilobytes; more is not one
MAX_NAME = 200

MESSAGES = {
    "custom_unapproved": "本局模板/规则/文书类型目录中有未经管理员安装登记的文件（未加载）",
    "custom_changed": "本局模板/规则/文书类型文件安装后被改动（未加载）",
    "custom_missing": "已安装登记的本局模板/规则/文书类型文件缺失",
}
ERRORS = frozenset({"custom_unapproved", "custom_changed"})


class UntrustedFileWarning(UserWarning):
    """A file in a vault's templates/, rules/ or doctypes/ folder that was not loaded."""


@dataclass(frozen=True)
class Found:
    """A file met in one of the folders: its name there, its bytes (None when it could not be
    read as a plain file, with `problem` saying why), their SHA-256 and size."""

    name: str
    data: bytes | None
    sha256: str | None
    size: int | None
    problem: str | None = None


def folder(vault: Vault, kind: str) -> Path:
    return Path(vault.root) / kind


def check_kind(kind: str) -> None:
    if kind not in SUFFIXES:
        raise UsageError(f"未知的类别 {kind!r}（可选：{'、'.join(KINDS)}）")


def _read_plain(path: Path) -> tuple[bytes | None, str | None]:
    """A file's bytes read from its descriptor: never through a link, never a device or a
    FIFO, never more than MAX_BYTES. (bytes, None), or (None, why not)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return None, "符号链接" if os.path.islink(path) else f"无法读取（{exc.strerror}）"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, "不是普通文件"
        if st.st_size > MAX_BYTES:
            return None, f"超过 {MAX_BYTES // 1024} KB"
        chunks, left = [], MAX_BYTES + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 16))):
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        return (None, f"超过 {MAX_BYTES // 1024} KB") if len(data) > MAX_BYTES else (data, None)
    finally:
        os.close(fd)


def scan(vault: Vault, kind: str) -> list[Found]:
    """Every entry below the folder but its subfolders themselves, by name (a path relative
    to the folder), read and hashed."""
    top = folder(vault, kind)
    if not top.is_dir():
        return []
    found = []
    for base, dirs, files in os.walk(top):
        dirs.sort()
        for entry in sorted(files + [d for d in dirs if os.path.islink(os.path.join(base, d))]):
            path = Path(base) / entry
            name = path.relative_to(top).as_posix()
            data, problem = _read_plain(path)
            digest = hashlib.sha256(data).hexdigest() if data is not None else None
            found.append(Found(name, data, digest, len(data) if data is not None else None,
                               problem))  # fmt: skip
    return found


def installed(vault: Vault, kind: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) → the journaled install (sha256, size, approval, installed_at/by, seq)."""
    sql = ("SELECT kind, name, sha256, size, approval, installed_at, installed_by, seq"
           " FROM custom_files")  # fmt: skip
    rows = vault.conn.execute(sql + (" WHERE kind = ?" if kind else "") + " ORDER BY kind, name",
                              (kind,) if kind else ()).fetchall()  # fmt: skip
    keys = ("kind", "name", "sha256", "size", "approval", "installed_at", "installed_by", "seq")
    return {(r[0], r[1]): dict(zip(keys, r, strict=True)) for r in rows}


def _state(found: Found, row: dict[str, Any] | None) -> str:
    if found.data is None or found.sha256 is None:
        return "unapproved"  # a link, a device, too large: never loaded, installed or not
    if row is None:
        return "unapproved"
    return "installed" if row["sha256"] == found.sha256 else "changed"


def states(vault: Vault, kinds: tuple[str, ...] = KINDS) -> list[dict[str, Any]]:
    """Each installed file and each file found, with its state: installed (the bytes are the
    ones installed), changed (installed, but the bytes differ), missing (installed, gone) or
    unapproved (never installed, or not a plain readable file)."""
    rows: list[dict[str, Any]] = []
    for kind in kinds:
        journaled = installed(vault, kind)
        seen = set()
        for f in scan(vault, kind):
            row = journaled.get((kind, f.name))
            seen.add(f.name)
            rows.append({**(row or {"kind": kind, "name": f.name, "sha256": None}),
                         "state": _state(f, row), "found_sha256": f.sha256,
                         "found_size": f.size, "problem": f.problem})  # fmt: skip
        for (_, name), row in journaled.items():
            if name not in seen:
                rows.append({**row, "state": "missing", "found_sha256": None,
                             "found_size": None, "problem": None})  # fmt: skip
    return sorted(rows, key=lambda r: (KINDS.index(r["kind"]), r["name"]))


STATE_TEXT = {
    "installed": "已安装", "changed": "安装后被改动，未加载", "missing": "文件缺失",
    "unapproved": "未经安装登记，未加载",
}  # fmt: skip


def _warn_untrusted(kind: str, name: str, why: str) -> None:
    warnings.warn(UntrustedFileWarning(
        f"保管库 {kind}/{name}：{why}，未加载（管理员核查后可用 zfjl custom add {kind} 文件 "
        "--approval 文号 安装，或用 zfjl custom rm 移除；zfjl custom ls 列出）"
    ), stacklevel=3)  # fmt: skip


def trusted_texts(vault: Vault, kind: str) -> dict[str, str]:
    """name → text of the folder's files whose bytes are the installed ones, in name order;
    every other file is warned about and left out."""
    journaled = installed(vault, kind)
    out: dict[str, str] = {}
    for f in scan(vault, kind):
        state = _state(f, journaled.get((kind, f.name)))
        if state == "installed" and f.data is not None:
            try:
                out[f.name] = f.data.decode("utf-8")
                continue
            except UnicodeDecodeError:
                state = "unapproved"
        why = {"changed": "安装后被改动"}.get(state, f.problem or "未经管理员安装登记")
        _warn_untrusted(kind, f.name, why)
    return out


def trusted_files(vault: Vault, kind: str) -> list[tuple[str, str]]:
    """(path, text) of the installed files of a folder in name order, as the rule and
    document-type loaders take them (the path names the file in their messages)."""
    top = folder(vault, kind)
    return [(str(top / name), text) for name, text in trusted_texts(vault, kind).items()]


# -- install and remove ---------------------------------------------------------------------
def _check_name(kind: str, name: str) -> None:
    suffix = SUFFIXES[kind]
    if (
        not name.endswith(suffix) or name == suffix or name.startswith(".")
        or "/" in name or "\\" in name or len(name) > MAX_NAME
        or any(ord(c) < 32 or c == "\x7f" for c in name)
    ):  # fmt: skip
        raise UsageError(f"{LABELS[kind]}的文件名应为一个以 {suffix} 结尾的名称"
                         f"（不含目录、不以 . 开头），收到 {name!r}")  # fmt: skip


def _validate(vault: Vault, kind: str, name: str, text: str) -> None:
    """The file must be what its folder holds: a template that parses, a rule pack whose rules
    load over the shipped ones, document types that fit the shipped stages."""
    from zfjl.errors import DataFileError, RuleError

    origin = str(folder(vault, kind) / name)
    try:
        if kind == "templates":
            import jinja2

            from zfjl.render.templates import template_environment

            try:
                template_environment([]).parse(text)
            except jinja2.TemplateSyntaxError as exc:
                raise UsageError(f"模板 {name} 第 {exc.lineno} 行语法有误：{exc.message}") from None
        elif kind == "rules":
            from zfjl.checklists.engine import load_rules

            load_rules(texts=[(origin, text)])
        else:
            from zfjl.cases.doctypes import load_doctypes

            load_doctypes(texts=[*trusted_files(vault, "doctypes"), (origin, text)])
    except (RuleError, DataFileError) as exc:
        raise UsageError(exc.message) from None


def _write_into(top: Path, name: str, data: bytes) -> Path:
    """`data` as top/name: a temp file written and fsynced, renamed over, the folder fsynced."""
    top.mkdir(mode=0o755, exist_ok=True)
    path = top / name
    tmp = top / f".{name}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o644)  # fmt: skip
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(top)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise storage_error(exc, f"写入 {path}") from exc
    return path


def _approval(approval: str | None, what: str) -> str:
    chosen = (approval or "").strip()
    if not chosen:
        raise UsageError(f"{what}须写明审批编号（--approval 局批〔2024〕8号）")
    return chosen


def install(
    vault: Vault, kind: str, source: Path, *, approval: str | None, name: str | None = None
) -> dict[str, Any]:
    """`zfjl custom add KIND FILE --approval 文号`: check the file, journal `custom.install`
    (kind, name, SHA-256, size, approval), then put it in the vault's folder. Administrators
    only. Installing a file already in the folder (one found unapproved) approves its bytes."""
    from zfjl import userfs

    check_kind(kind)
    chosen = name or Path(source).name
    _check_name(kind, chosen)
    approved = _approval(approval, f"安装{LABELS[kind]}")
    vault.require_role({"admin"}, f"安装{LABELS[kind]}")  # before reading anything
    text = userfs.current().read_text(Path(source), LABELS[kind])
    data = text.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise UsageError(f"{source} 超过 {MAX_BYTES // 1024} KB，不是{LABELS[kind]}")
    _validate(vault, kind, chosen, text)
    digest = hashlib.sha256(data).hexdigest()
    with vault.writing() as w:  # checked again under the write lock
        vault.require_role({"admin"}, f"安装{LABELS[kind]}")
        before = installed(vault, kind).get((kind, chosen))
        w.append(events.CustomInstall(folder=kind, name=chosen, sha256=digest, size=len(data),
                                      approval=approved,
                                      replaces=before["sha256"] if before else None),
                 f"custom:{kind}/{chosen}")  # fmt: skip
        path = _write_into(folder(vault, kind), chosen, data)
    row = installed(vault, kind)[(kind, chosen)]
    return {**row, "path": str(path), "replaced": before["sha256"] if before else None}


def remove(vault: Vault, kind: str, name: str, *, approval: str | None) -> dict[str, Any]:
    """`zfjl custom rm KIND NAME --approval 文号`: journal `custom.remove` (with the SHA-256
    of what is removed), then delete the file: an installed one, or one never installed
    (a plant found by `verify`, under whatever name `zfjl custom ls` lists it, a subfolder's
    included). Administrators only."""
    check_kind(kind)
    approved = _approval(approval, f"移除{LABELS[kind]}")
    with vault.writing() as w:
        vault.require_role({"admin"}, f"移除{LABELS[kind]}")
        row = installed(vault, kind).get((kind, name))
        # Only a name the folder's listing holds: nothing outside it can be named.
        present = any(f.name == name for f in scan(vault, kind))
        if row is None and not present:
            raise NotFoundError(f"保管库 {kind}/ 中没有 {name}（zfjl custom ls 列出）")
        path = folder(vault, kind) / name
        data, _ = _read_plain(path) if present else (None, None)
        digest = hashlib.sha256(data).hexdigest() if data is not None else None
        w.append(events.CustomRemove(folder=kind, name=name, sha256=digest, approval=approved,
                                     installed=row is not None),
                 f"custom:{kind}/{name}")  # fmt: skip
        if present:
            try:
                path.unlink()
                fsync_dir(path.parent)
            except OSError as exc:
                raise storage_error(exc, f"删除 {path}") from exc
    return {"kind": kind, "name": name, "sha256": digest, "approval": approved,
            "installed": row is not None, "removed": True}  # fmt: skip


# -- verify -----------------------------------------------------------------------------------
def custom_findings(vault: Vault) -> Iterator[tuple[str, str, str, str]]:
    """(code, subject, expected, found) for `zfjl verify`: each file of the three folders
    that would not be loaded, and each installed file that is gone."""
    describe: dict[str, Callable[[dict[str, Any]], tuple[str, str, str]]] = {
        "unapproved": lambda r: ("custom_unapproved", "经 zfjl custom add 安装登记",
                                 r["problem"] or f"SHA-256 {r['found_sha256']}"),
        "changed": lambda r: ("custom_changed", f"SHA-256 {r['sha256']}",
                              f"SHA-256 {r['found_sha256']}"),
        "missing": lambda r: ("custom_missing", f"SHA-256 {r['sha256']}", "不存在"),
    }  # fmt: skip
    for r in states(vault):
        if r["state"] in describe:
            code, expected, found = describe[r["state"]](r)
            yield code, f"{r['kind']}/{r['name']}", expected, found

"""The BagIt 1.0 (RFC 8493) side of a bundle: file names, manifests, tag files, the tar."""

from __future__ import annotations

import contextlib
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from zfjl.errors import BundleError

PAYLOAD_ALGORITHMS = ("sha256", "sha512")
EXTRA_ALGORITHMS = ("blake3", "sm3")  # tag files only: bagit-python ignores these algorithms
MANIFESTS = (
    ("manifest-sha256.txt", "sha256"), ("manifest-sha512.txt", "sha512"),
    ("zfjl/manifest-blake3.txt", "blake3"), ("zfjl/manifest-sm3.txt", "sm3"),
    ("tagmanifest-sha256.txt", "sha256"), ("tagmanifest-sha512.txt", "sha512"),
)  # fmt: skip


def safe_name(text: str) -> str:
    return "".join("_" if c in '/\\:*?"<>|\0\n\r\t ' else c for c in text).strip("_") or "x"


def write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")


def _manifest_line(digest: str, rel: str) -> str:
    # RFC 8493 §2.1.3: only CR, LF and % are percent-encoded in manifest paths.
    return f"{digest}  {rel.replace('%', '%25').replace(chr(13), '%0D').replace(chr(10), '%0A')}\n"


def write_manifests(bag: Path, prefix: str, files: dict[str, dict[str, str]],
                    algorithms: tuple[str, ...], folder: str = "") -> list[str]:  # fmt: skip
    written = []
    for alg in algorithms:
        name = f"{folder}{prefix}-{alg}.txt"
        lines = "".join(_manifest_line(d[alg], rel) for rel, d in sorted(files.items()))
        (bag / name).parent.mkdir(parents=True, exist_ok=True)
        (bag / name).write_text(lines, encoding="utf-8")
        written.append(name)
    return written


def read_manifest(path: Path) -> dict[str, str]:
    out = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            digest, _, rel = line.partition("  ")
            out[rel.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")] = digest
    return out


def write_bag_info(bag: Path, info: list[tuple[str, str]]) -> None:
    (bag / "bag-info.txt").write_text("".join(f"{k}: {v}\n" for k, v in info), encoding="utf-8")


def write_tar(bag: Path, out: IO[bytes], outside: dict[str, Path] | None = None) -> None:
    """A tar with fixed owners, modes and times, in name order: the same bag, the same bytes.
    `outside` maps bag paths (data/originals/…) to the files they are read from (the vault's
    objects): no copy of an original is made on the way to the tar."""

    def normalise(ti: tarfile.TarInfo) -> tarfile.TarInfo:
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        ti.mtime = 0
        ti.mode = 0o755 if ti.isdir() else 0o644
        return ti

    sources = {bag / rel: src for rel, src in (outside or {}).items()}
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted({bag, *bag.rglob("*"), *sources}):
            arcname = path.relative_to(bag.parent).as_posix()
            if path not in sources:
                tar.add(path, arcname=arcname, recursive=False, filter=normalise)
                continue
            with open(sources[path], "rb") as f:
                tar.addfile(normalise(tar.gettarinfo(arcname=arcname, fileobj=f)), f)


@contextlib.contextmanager
def opened(path: Path) -> Iterator[Path]:
    """The bag's folder: the path itself, or a tar unpacked into a temporary folder."""
    if path.is_dir():
        yield path
        return
    if not path.exists():
        raise BundleError(f"找不到案件包：{path}")
    with tempfile.TemporaryDirectory(prefix="zfjl-bundle-") as tmp:
        try:
            with tarfile.open(path) as tar:
                unpack(tar, Path(tmp), path)
        except (tarfile.TarError, EOFError) as exc:  # not a tar at all (/etc/passwd)
            raise BundleError(
                f"{path} 不是 zfjl 案件包（既不是案件包目录，也不是 .tar 文件）：请给出 "
                "zfjl bundle make 生成的目录或 .tar"
            ) from exc
        roots = list(Path(tmp).iterdir())
        if len(roots) != 1:
            raise BundleError(f"{path} 不是 zfjl 案件包（应只含一个顶层目录）")
        yield roots[0]


def unpack(tar: tarfile.TarFile, into: Path, source: Path) -> None:
    """Unpack a tar someone sent us, by hand on every Python: only folders and regular files
    with relative names and no '..', each file created new (O_EXCL, O_NOFOLLOW, 0600) and
    filled in blocks. `extractall(filter="data")` needs Python 3.11.4 (Debian 12 has 3.11.2),
    and without a filter tarfile follows the archive's links, owners and modes."""
    for member in tar:
        rel = _safe_member_name(member, source)
        target = into.joinpath(*rel)
        if member.isdir():
            target.mkdir(mode=0o700, parents=True, exist_ok=True)
            continue
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        src = tar.extractfile(member)
        if src is None:  # pragma: no cover - a regular member always has a file object
            raise BundleError(f"{source} 中的 {member.name!r} 无法读取，拒绝解包")
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            raise BundleError(f"{source} 中的 {member.name!r} 出现两次，拒绝解包") from None
        with os.fdopen(fd, "wb") as out, src:
            while block := src.read(1 << 20):
                out.write(block)


def _safe_member_name(member: tarfile.TarInfo, source: Path) -> tuple[str, ...]:
    """The member's path components, or BundleError: links, devices, FIFOs, absolute names,
    '..' and empty or NUL-bearing names are refused (a bag holds only folders and files)."""
    name = member.name
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    why = None
    if not (member.isreg() or member.isdir()) or member.issparse():
        why = "不是普通文件或目录（链接、设备等）"
    elif name.startswith("/") or "\\" in name or "\0" in name:
        why = "使用绝对路径或非法字符"
    elif ".." in parts:
        why = "含有 .."
    elif not parts:
        why = "名称为空"
    if why:
        raise BundleError(f"{source} 中的条目 {name!r} {why}：拒绝解包，这不是 zfjl 生成的案件包")
    return parts

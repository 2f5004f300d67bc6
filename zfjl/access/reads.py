"""Views and exports: a read-only byte copy of a recording, only under a covering grant; every
view, export and refusal is a journal event on the recording."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zfjl import userfs
from zfjl.access.authority import Item, Release, authorize, authorize_drawn
from zfjl.errors import NotFoundError
from zfjl.outputs import claim
from zfjl.vault import events
from zfjl.vault.objects import storage_error
from zfjl.vault.queries.evidence import catalogued, original_name, tombstoned_at
from zfjl.vault.query import resolve_id
from zfjl.vault.seal import require_sealed
from zfjl.vault.vault import Vault


def _live_object(vault: Vault, prefix: str) -> str:
    oid = resolve_id(vault, prefix)
    gone = tombstoned_at(vault, oid)
    if gone:
        raise NotFoundError(f"{oid[:12]} 已于 {gone[:10]} 按保存期限销毁（见 zfjl log {oid[:12]}）")
    return oid


def _suffix(vault: Vault, oid: str) -> str:
    name = original_name(vault, oid)
    return Path(name).suffix.lower() if name else ""


def _copy_out(vault: Vault, release: Release, oid: str, dest: Path) -> str:
    """A byte copy of the object (never a link to it), read-only, written with the caller's
    own rights (through the service: from a read-only descriptor of the object, by the
    client); returns the SHA-256 of the copy as read back."""
    fd = release.open(vault, oid)
    try:
        return userfs.current().copy_out(fd, dest, 0o444)
    finally:
        os.close(fd)


# -- view ------------------------------------------------------------------------------------
@dataclass
class ViewResult:
    id: str
    path: Path
    grant: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "path": str(self.path), "grant": self.grant}


def view(vault: Vault, prefix: str, purpose: str | None = None) -> ViewResult:
    oid = _live_object(vault, prefix)
    release = authorize(vault, [Item(oid, "音像记录")], "view", purpose=purpose)
    grant = str(release.grants[oid])
    require_sealed(vault, [oid])  # what leaves the vault has its digests journaled first
    files = userfs.current()
    dest = files.view_dir() / f"{oid[:16]}{_suffix(vault, oid)}"
    files.discard_view_copy(dest)  # a fresh copy each time: an earlier one may have been altered
    # Journaled before the first byte leaves: a copy killed half-way is still on record.
    vault.record(events.AccessView(user=vault.actor, grant=grant, purpose=purpose,
                                   copy=str(dest)), oid)  # fmt: skip
    _copy_out(vault, release, oid, dest)
    return ViewResult(oid, dest, grant)


# -- export ----------------------------------------------------------------------------------
@dataclass
class ExportReport:
    dest: Path
    files: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"dest": str(self.dest), "files": self.files}


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
_RESERVED = {"", ".", "..", "sha256sums"}


def camera_name(original: str | None) -> str | None:
    """The camera's own file name as one safe path component (control characters, '/' and
    '\\' become '_'), or None when there is none usable (empty, '..', too long, or the
    name of the checksum file)."""
    if not original:
        return None
    name = _UNSAFE.sub("_", Path(original.replace("\\", "/")).name).strip()
    if name.casefold() in _RESERVED or len(name.encode("utf-8", "surrogateescape")) > 240:
        return None
    return name


def export_names(vault: Vault, oids: list[str]) -> dict[str, str]:
    """Each exported recording's file name: the camera's (DSJ01_20240506_103200.MP4, what
    the clerk finds on the card and in `zfjl ls`), or `{stem}_{id[:12]}{suffix}` when two
    of them share it (case-insensitively: a FAT stick cannot hold both) or it has none."""
    names: dict[str, str | None] = {}
    for oid in oids:
        names[oid] = camera_name(original_name(vault, oid))
    counts: dict[str, int] = {}
    for name in names.values():
        if name:
            counts[name.casefold()] = counts.get(name.casefold(), 0) + 1
    chosen: dict[str, str] = {}
    for oid, name in names.items():
        if name and counts[name.casefold()] == 1:
            chosen[oid] = name
        elif name:
            stem, suffix = Path(name).stem, Path(name).suffix
            chosen[oid] = f"{stem}_{oid[:12]}{suffix}"
        else:
            chosen[oid] = f"{oid[:12]}{_suffix(vault, oid)}"
    return chosen


def export(
    vault: Vault, prefixes: list[str], dest: Path, purpose: str | None = None
) -> ExportReport:
    """All or nothing: every object must have a copy grant before any byte is copied."""
    oids = [_live_object(vault, p) for p in prefixes]
    release = authorize(vault, [Item(oid, "音像记录") for oid in oids], "copy", purpose=purpose)
    grants = {oid: str(g) for oid, g in release.grants.items()}
    require_sealed(vault, list(grants))  # SHA256SUMS lists the sealed SHA-256
    files = userfs.current()
    files.make_dirs(dest)
    report = ExportReport(dest)
    targets = {oid: dest / name for oid, name in export_names(vault, list(grants)).items()}
    claim(targets.values(), forceable=False)  # every file asked before any is copied
    for oid, grant in grants.items():
        target = targets[oid]
        row = catalogued(vault, oid)
        assert row is not None, "a resolved id names a catalogued object"
        expected = row.sha256
        if expected is None:  # not sealable: its file is missing or damaged (verify names it)
            raise storage_error(OSError(5, "原始记录无法封存（对象缺失或损坏，请运行 zfjl verify）"),
                                f"复制 {oid[:12]}")  # fmt: skip
        # Journaled before the first byte leaves, with the digest of what is handed out.
        vault.record(events.AccessExport(user=vault.actor, grant=grant, purpose=purpose,
                                         dest=str(target), sha256=expected), oid)  # fmt: skip
        sha256 = _copy_out(vault, release, oid, target)
        if sha256 != expected:
            raise storage_error(OSError(5, "复制结果与原始记录不符"), f"复制 {oid[:12]}")
        report.files.append(
            {"id": oid, "path": str(target), "sha256": sha256, "grant": grant}
        )
    lines = "".join(f"{f['sha256']}  {Path(f['path']).name}\n" for f in report.files)
    files.append_text(dest / "SHA256SUMS", lines)
    return report



# -- playback in a browser (zfjl web) --------------------------------------------------------
@dataclass
class Playback:
    """A recording released for playback: a read-only descriptor of it (the caller closes
    it), the grant or spot-check draw it was released under, and the view's journal seq."""

    id: str
    fd: int
    via: str
    seq: int
    name: str | None
    object: str = ""  # what was opened: the recording, or the derivative played instead


def play(
    vault: Vault, prefix: str, *, where: str, draw: str | None = None,
    purpose: str | None = None, journaled: Callable[[str, str], int | None] | None = None,
    derived: str | None = None,
) -> Playback:  # fmt: skip
    """Release a recording for a browser to play: a view grant (or, with `draw`, a spot-check
    draw of the legal section: `authorize_drawn`), checked on every call; the view journaled
    (`access.view`, copy = `where`) before a descriptor is opened — unless `journaled` says
    this playback's view already is (a browser asks for one video in many ranges).

    `derived`: play that derivative of the recording instead (a playable proxy, a redacted
    copy: docs/redact.md) — its bytes are the recording's content, so the same view of the
    original is authorized and journaled (on the original, naming the derivative)."""
    from zfjl.vault.queries.derivatives import derivative

    oid = _live_object(vault, prefix)
    made = None
    if derived is not None:
        made = derivative(vault, _live_object(vault, derived))
        if made is None or made.source != oid:
            raise NotFoundError(f"{derived[:12]} 不是 {oid[:12]} 的派生件（播放副本或删减副本）")
    if draw:
        release = authorize_drawn(vault, oid, draw, purpose=purpose or f"抽查 {draw.upper()}")
    else:
        release = authorize(vault, [Item(oid, "音像记录")], "view", purpose=purpose)
    via = str(release.grants[oid])
    require_sealed(vault, [oid])
    shown = made.id if made else oid
    if made:  # released with its original, under the same grant
        release.grants[made.id] = release.grants[oid]
        where = f"{where}；派生件 {made.id[:12]}（{made.kind}）"
    seq = journaled(shown, via) if journaled else None
    if seq is None:
        seq = vault.record(events.AccessView(
            user=vault.actor, grant=via, purpose=purpose or (f"抽查 {via}" if draw else None),
            copy=where), oid).seq  # fmt: skip
    name = original_name(vault, oid) if made is None else f"{made.id[:16]}.mp4"
    return Playback(oid, release.open(vault, shown), via, seq, name, shown)

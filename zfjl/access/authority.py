"""One gate for every byte of a vault object that leaves the vault: a view, an export and a
case bundle (its originals, the scans of its signed documents, anything else it copies) ask
`authorize` for the objects they will hand out and can then open only those (`Release`).

Before issue 23 the bundle checked its media links only: a case whose document said
`scan: <recording the user was refused>` carried that recording into the bag byte for byte.
Now whatever a command copies is opened through the `Release` its check returned, so a new
way into a bag (a new kind of attachment, a derivative of a recording) cannot skip the check.
Refusals are journaled (`access.denied`) before anything is read, one row per object.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from zfjl.access.grants import SCOPES, covering_grant
from zfjl.errors import AccessDenied, ZfjlError
from zfjl.vault import events
from zfjl.vault.objects import storage_error
from zfjl.vault.roles import APPROVING_ROLES
from zfjl.vault.vault import Vault


@dataclass(frozen=True)
class Item:
    """An object about to be handed out, and how it comes to be in what is handed out."""

    oid: str
    via: str  # 音像记录 (a media link) / 文书扫描件 (a document's scan) / …: named in refusals


@dataclass(frozen=True)
class Refusal:
    item: Item
    reason: str


class NotReleased(ZfjlError):
    """Code tried to open an object its authority check did not cover: a bug, never a user's
    doing; refused rather than copied."""

    exit_code = 8


@dataclass
class Release:
    """The objects a command may hand out (object id -> the grant that covers it; None when
    an approving role acts under an approval number), and the only way to open them."""

    action: str
    grants: dict[str, str | None] = field(default_factory=dict)  # or a spot-check draw SC-n

    def _released(self, oid: str) -> str:
        if oid not in self.grants:
            raise NotReleased(f"内部错误：{oid[:12]} 未经{SCOPES[self.action]}授权检查，拒绝提供")
        return oid

    @contextlib.contextmanager
    def local_paths(self, vault: Vault, oids: Iterable[str]) -> Iterator[dict[str, Path]]:
        """Local files of released objects for the block (the store's own files on the local
        store: no copy), for what needs a path (a tar, the service's staged copy)."""
        with contextlib.ExitStack() as stack:
            yield {oid: stack.enter_context(vault.objects.local_path(self._released(oid)))
                   for oid in oids}  # fmt: skip

    def open(self, vault: Vault, oid: str) -> int:
        """A read-only descriptor of the object (closed by the caller)."""
        try:
            with vault.objects.open(self._released(oid)) as f:
                return os.dup(f.fileno())  # non-inheritable, as O_CLOEXEC made it
        except OSError as exc:
            raise storage_error(exc, f"读取 {oid[:12]}") from exc


def authorize(
    vault: Vault,
    items: Iterable[Item],
    action: str,
    *,
    purpose: str | None,
    approval: str | None = None,
    approval_suffices: bool = False,
    refused: Callable[[list[Refusal]], AccessDenied] | None = None,
) -> Release:
    """Every item covered by a grant of `action` for the acting user (art. 47; art. 44 for
    confidential ones), or — when `approval_suffices` (a bundle) — the user holds an approving
    role and gives the approval number. All or nothing: each refusal is journaled on its
    object, then AccessDenied (`refused` words it for the command)."""
    unique = list({i.oid: i for i in items}.values())
    release = Release(action)
    if approval_suffices and approval and vault.roles_of(vault.actor) & APPROVING_ROLES:
        release.grants = {i.oid: None for i in unique}
        return release
    refusals = []
    for item in unique:
        grant, why = covering_grant(vault, vault.actor, item.oid, action)
        if grant is None:
            refusals.append(Refusal(item, why))
        else:
            release.grants[item.oid] = grant["id"]
    for r in refusals:
        vault.record(events.AccessDenial(user=vault.actor, action=action, reason=r.reason,
                                         purpose=purpose), r.item.oid)  # fmt: skip
    if refusals:
        raise refused(refusals) if refused else _refused(action, refusals)
    return release


def _refused(action: str, refusals: list[Refusal]) -> AccessDenied:
    return AccessDenied("；".join(f"拒绝{SCOPES[action]} {r.item.oid[:12]}：{r.reason}"
                                  for r in refusals) + "。本次请求已记入日志")  # fmt: skip


MAX_DRAW_APPROVING = 20  # a draw of more items per kind is no view approval: a fishing trip
DRAW_APPROVING_ROLES = frozenset({"legal", "director"})  # not admin: it keeps the vault, not cases


def authorize_drawn(vault: Vault, oid: str, draw_id: str, *, purpose: str | None) -> Release:
    """A recording drawn in a spot check (art. 53), viewed to check it: a draw made by the
    legal section or the director, with a seed the vault picked (a seed the drawer chose
    picks the recordings they want) and at most MAX_DRAW_APPROVING items, is itself the
    approval to view what it drew, for a checker of those roles too (not admin). Anything
    else is refused and journaled like any refusal; the release names the draw (`SC-12`)
    where a grant would be."""
    from zfjl.vault.queries import spotcheck as q

    draw_id = draw_id.upper()
    reason = ""
    drawn = [r for r in q.items_drawn(vault, oid, draw_id) if r.item == oid]
    found = q.journaled_draw(vault, int(draw_id.removeprefix("SC-"))) if drawn else None
    if found is None:
        reason = f"抽查批次 {draw_id} 没有抽中该记录"
    elif not vault.roles_of(found.drawn_by) & DRAW_APPROVING_ROLES:
        reason = f"抽查批次 {draw_id} 不是法规科抽取的（{found.drawn_by}），不能代替查阅批准"
    elif found.data.get("seed_chosen") is not False:
        reason = f"抽查批次 {draw_id} 的随机种子由抽取人指定（或未记明），不能代替查阅批准：请不指定种子重新抽取"
    elif int(found.data.get("n") or 0) > MAX_DRAW_APPROVING:
        reason = f"抽查批次 {draw_id} 每类抽取超过 {MAX_DRAW_APPROVING} 项，不能代替查阅批准"
    elif not vault.roles_of(vault.actor) & DRAW_APPROVING_ROLES:
        reason = "凭抽查查阅抽中的记录须为法规科或局长（第五十三条）；其他人须有查阅批准"
    if reason:
        vault.record(events.AccessDenial(user=vault.actor, action="view", reason=reason,
                                         purpose=purpose), oid)  # fmt: skip
        raise _refused("view", [Refusal(Item(oid, "抽查项"), reason)])
    return Release("view", {oid: draw_id})

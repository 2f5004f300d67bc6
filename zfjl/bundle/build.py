"""Making a case bundle: plan the originals (withholding what art. 44 keeps back), copy them
while Typst renders the documents, write the custody log, its proofs and the manifests."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zfjl import __version__, userfs
from zfjl.access.authority import Item, Refusal, Release, authorize
from zfjl.bundle.bag import (
    EXTRA_ALGORITHMS,
    PAYLOAD_ALGORITHMS,
    safe_name,
    write_bag_info,
    write_json,
    write_manifests,
    write_tar,
)
from zfjl.bundle.binding import write_bindings
from zfjl.bundle.proofs import custody_rows, write_proofs
from zfjl.cases.store import get_case
from zfjl.errors import AccessDenied, BundleError, UsageError
from zfjl.outputs import claim
from zfjl.vault import events
from zfjl.vault.objects import file_digests, storage_error
from zfjl.vault.purposes import BUNDLE_PURPOSES as PURPOSES
from zfjl.vault.queries.evidence import original_name as camera_file_name
from zfjl.vault.query import object_digests
from zfjl.vault.roles import APPROVING_ROLES
from zfjl.vault.seal import require_sealed
from zfjl.vault.vault import Vault


@dataclass
class BundleReport:
    path: Path
    files: int
    bytes: int
    withheld: list[dict[str, str]]
    manifest_sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "files": self.files, "bytes": self.bytes,
                "withheld": self.withheld, "manifest_sha256": self.manifest_sha256}  # fmt: skip


def original_name(link: dict[str, Any], suffix: str) -> str:
    """date_time_device_activity.ext: what a judge sorts and reads."""
    start = dt.datetime.fromisoformat(link["start"]) if link.get("start") else None
    stamp = start.strftime("%Y%m%d_%H%M%S") if start else "时间不明"
    return safe_name(f"{stamp}_{link.get('device') or '设备不明'}_{link['activity']}") + suffix


def _unique(name: str, taken: set[str]) -> str:
    stem, dot, ext = name.rpartition(".")
    candidate, n = name, 2
    while candidate in taken:
        candidate = f"{stem}_{n}.{ext}" if dot else f"{name}_{n}"
        n += 1
    taken.add(candidate)
    return candidate


def _is_confidential(case: dict[str, Any], link: dict[str, Any]) -> bool:
    return bool(case.get("flags", {}).get("confidential") or link.get("confidential"))


@dataclass(frozen=True)
class Copied:
    """A vault object the bag carries: its file in the bag and how it comes to be there."""

    rel: str  # data/originals/… or data/scans/…
    oid: str
    via: str  # 音像记录 (a media link) / 文书扫描件 (a document's scan)

    @property
    def original(self) -> bool:
        return self.rel.startswith("data/originals/")


def plan_contents(vault: Vault, case: dict[str, Any], approval: str | None) -> tuple[
        list[Copied], list[dict[str, str]]]:  # fmt: skip
    """Every vault object whose bytes the bag will carry — each linked recording (withheld
    when confidential and unapproved, art. 44) and each signed document's scan — and the
    withheld items. The authority check and the copying both read this one list."""
    planned: list[Copied] = []
    withheld: list[dict[str, str]] = []
    taken: set[str] = set()
    seen: set[str] = set()
    for link in case.get("media", []):
        oid = link["recording"]
        if oid in seen:
            continue
        seen.add(oid)
        if _is_confidential(case, link) and not approval:
            withheld.append({"id": oid, "reason": "涉密或个人隐私（第四十四条），未经批准不予提供"})
            continue
        name = camera_file_name(vault, oid)
        suffix = Path(name).suffix.lower() if name and "." in name else ""
        rel = f"data/originals/{_unique(original_name(link, suffix), taken)}"
        planned.append(Copied(rel, oid, "音像记录"))
    for doc in case.get("documents", []):
        if doc.get("scan"):
            rel = "data/scans/" + safe_name(f"{doc['id']}_{doc['type']}.pdf")
            planned.append(Copied(rel, doc["scan"], f"文书 {doc['id']} 的扫描件"))
    for item in planned:
        if not _readable(vault, item.oid):
            raise BundleError(f"{item.via} {item.oid[:12]} 的对象文件缺失，请先运行 zfjl verify 查明")
    return planned, withheld


def _readable(vault: Vault, oid: str) -> bool:
    """The station's copy, or the bucket's journaled version (a released station copy)."""
    try:
        vault.objects.readable_stat(oid)
    except FileNotFoundError:
        return False
    return True


def require_copy_authority(
    vault: Vault, case: dict[str, Any], contents: list[Copied], approval: str | None, purpose: str
) -> Release:
    """A bundle is a copy of every object it carries (art. 44, 47): the caller needs a copy
    grant covering each — recording or scan alike — or an approving role (法规科, 局长,
    administrator) acting under an approval number. Refusals are journaled, as for `zfjl
    export`, before anything is read; only what this returns can be opened."""
    approving = bool(vault.roles_of(vault.actor) & APPROVING_ROLES)

    def refused(refusals: list[Refusal]) -> AccessDenied:
        how = ("：以法规科、局长或管理员身份打包须注明批准文号 --approval" if approving
               else "（或由法规科依批准办理）")  # fmt: skip
        by_reason: dict[str, list[str]] = {}
        for r in refusals:
            by_reason.setdefault(r.reason, []).append(f"{r.item.oid[:12]}（{r.item.via}）")
        names = "；".join(f"{'、'.join(items)}：{why}" for why, items in by_reason.items())
        return AccessDenied(
            f"拒绝打包案件 {case['case']}：用户 {vault.actor} 不能复制 {names}{how}。本次请求已记入日志"
        )

    return authorize(vault, [Item(c.oid, c.via) for c in contents], "copy",
                     purpose=f"案件包：{PURPOSES[purpose]}", approval=approval,
                     approval_suffices=True, refused=refused)  # fmt: skip


def bundle_case(
    vault: Vault, case_id: str, out: Path, *, purpose: str, approval: str | None = None
) -> BundleReport:
    if purpose not in PURPOSES:
        raise UsageError(f"--purpose 只能是 {'、'.join(PURPOSES)}")
    out = Path(out)
    files = userfs.current()
    claim([out], forceable=False)  # a bundle never replaces anything: a second one, a new name
    case = get_case(vault, case_id)
    contents, withheld = plan_contents(vault, case, approval)
    release = require_copy_authority(vault, case, contents, approval, purpose)
    require_sealed(vault, [c.oid for c in contents])  # digests journaled before bytes leave
    try:
        # Built in a staging folder of its own and put in place only when complete (through
        # the service: in the service's scratch, then handed to the client). The copies of
        # the originals have no name until then, and `case.bundle` — with every copied
        # object's digest — is journaled before the block ends: before the first descriptor
        # is handed out, before the first copy is named at the destination.
        with files.output_tree(out) as target:
            bag = target.parent / out.stem if out.suffix == ".tar" else target
            report = _build(vault, case, bag, purpose, approval, release, contents, withheld,
                            copy_in=out.suffix != ".tar")  # fmt: skip
            if out.suffix == ".tar":
                with files.new_file(target) as f, \
                        release.local_paths(vault, [c.oid for c in contents]) as paths:
                    write_tar(bag, f, {c.rel: paths[c.oid] for c in contents})
                shutil.rmtree(bag)
            report.path = out
            _journal(vault, case_id, purpose, approval, report, contents, files.resolve(out))
    except OSError as exc:  # disk full, read-only target: nothing half-written stays behind
        raise storage_error(exc, f"写入案件包 {out.name}") from exc
    return report


def _journal(vault: Vault, case_id: str, purpose: str, approval: str | None,
             report: BundleReport, contents: list[Copied], path: Path) -> None:  # fmt: skip
    digests = {c.oid: object_digests(vault, c.oid)["sha256"] for c in contents}
    vault.record(events.CaseBundle(
        case=case_id, purpose=purpose, path=str(path), approval=approval,
        manifest_sha256=report.manifest_sha256, files=report.files, bytes=report.bytes,
        withheld=report.withheld,
        objects=[{"id": c.oid, "sha256": digests[c.oid], "file": c.rel} for c in contents],
    ), f"case:{case_id}")  # fmt: skip


def _build(vault: Vault, case: dict[str, Any], bag: Path, purpose: str, approval: str | None,
           release: Release, contents: list[Copied], withheld: list[dict[str, str]], *,
           copy_in: bool) -> BundleReport:  # fmt: skip
    """The bag at `bag`; its copied objects too when `copy_in` (a .tar reads them from the
    vault as it is written instead)."""
    from zfjl.render.documents import documents_to_render, evidence_items, render_pairs
    from zfjl.render.templates import template_names, vault_environment

    originals = [c for c in contents if c.original]
    env = vault_environment(vault)
    pairs = documents_to_render(case, None, template_names(env))
    documents = bag / "data" / "documents"
    with ThreadPoolExecutor(1) as pool:  # Typst works while the kernel copies
        rendering = pool.submit(render_pairs, env, case, vault.config.bureau, pairs, documents,
                                evidence=evidence_items(vault, case))  # fmt: skip
        with release.local_paths(vault, [c.oid for c in contents] if copy_in else []) as paths:
            for c in contents if copy_in else []:
                userfs.current().stage_copy(paths[c.oid], bag / c.rel)
        rendering.result()
    for c in contents if not copy_in else []:
        (bag / c.rel).parent.mkdir(parents=True, exist_ok=True)  # its folder, for the tar
    known = {c.rel: object_digests(vault, c.oid) for c in contents}
    sizes = {c.rel: vault.objects.readable_stat(c.oid).size for c in contents}
    write_json(bag / "data" / "case.json", case)
    custody = custody_rows(vault, case["case"], [c.oid for c in originals])
    write_json(bag / "data" / "custody" / "custody-log.json", custody)
    write_bindings(bag, [(c.rel, c.oid) for c in originals], custody)
    write_proofs(vault, bag / "data" / "custody", [r["seq"] for r in custody])
    if withheld:
        write_json(bag / "data" / "withheld.json", withheld)
    made = [p.relative_to(bag).as_posix() for p in sorted((bag / "data").rglob("*")) if p.is_file()]
    files = {rel: known.get(rel) or file_digests(bag / rel, PAYLOAD_ALGORITHMS + EXTRA_ALGORITHMS)
             for rel in sorted({*made, *known})}  # fmt: skip
    size = sum(sizes.get(rel) or (bag / rel).stat().st_size for rel in files)
    (bag / "bagit.txt").write_text(
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", "utf-8"
    )
    write_bag_info(bag, _bag_info(vault, case, purpose, approval, size, len(files), withheld))
    tags = ["bagit.txt", "bag-info.txt"]
    tags += write_manifests(bag, "manifest", files, PAYLOAD_ALGORITHMS)
    tags += write_manifests(bag, "manifest", files, EXTRA_ALGORITHMS, folder="zfjl/")
    tag_digests = {t: file_digests(bag / t, PAYLOAD_ALGORITHMS) for t in tags}
    write_manifests(bag, "tagmanifest", tag_digests, PAYLOAD_ALGORITHMS)
    manifest_sha = hashlib.sha256((bag / "manifest-sha256.txt").read_bytes()).hexdigest()
    return BundleReport(bag, len(files), size, withheld, manifest_sha)


def _bag_info(vault: Vault, case: dict[str, Any], purpose: str, approval: str | None,
              size: int, count: int, withheld: list[dict[str, str]]) -> list[tuple[str, str]]:  # fmt: skip
    return [
        ("Source-Organization", vault.config.bureau),
        ("External-Identifier", case["case"]),
        ("External-Description", f"{case['cause']}（{case['party']['name']}）"),
        ("Bagging-Date", vault.now().date().isoformat()),
        ("Payload-Oxum", f"{size}.{count}"),
        ("Bag-Software-Agent", f"zfjl {__version__}"),
        ("Internal-Sender-Description", PURPOSES[purpose]),
        ("Zfjl-Purpose", purpose),
        ("Zfjl-Approval", approval or "无"),
        ("Zfjl-Withheld", f"{len(withheld)} 项（见 data/withheld.json）" if withheld else "0"),
    ]

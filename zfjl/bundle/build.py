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
from zfjl.vault import events
from zfjl.vault.objects import copy_file, file_digests, storage_error
from zfjl.vault.query import ensure_digests, object_digests
from zfjl.vault.vault import Vault

PURPOSES = {"court": "向人民法院提供", "review": "报送法规科审查", "archive": "归档"}


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


def _plan_originals(vault: Vault, case: dict[str, Any], approval: str | None) -> tuple[
        list[tuple[Path, str, str]], list[dict[str, str]]]:  # fmt: skip
    """(object path, bag path, object id) for each linked recording; withheld items (art. 44)."""
    planned: list[tuple[Path, str, str]] = []
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
        row = vault.conn.execute(
            "SELECT original_name FROM recordings WHERE id = ?", (oid,)
        ).fetchone()
        suffix = Path(row[0]).suffix.lower() if row and "." in row[0] else ""
        path = vault.objects.path_for(oid)
        if not path.exists():
            raise BundleError(f"原始记录 {oid[:12]} 的对象文件缺失，请先运行 zfjl verify 查明")
        planned.append((path, f"data/originals/{_unique(original_name(link, suffix), taken)}", oid))
    return planned, withheld


def require_copy_authority(
    vault: Vault, case: dict[str, Any], approval: str | None, purpose: str
) -> None:
    """A bundle is a copy of the originals (art. 44, 47): the caller needs a copy grant covering
    each one, or an approving role (法规科, 局长, administrator). Refusals are journaled, as for
    `zfjl export`, before anything is read."""
    from zfjl.access.grants import covering_grant
    from zfjl.retention.holds import APPROVING_ROLES

    approving = bool(vault.roles_of(vault.actor) & APPROVING_ROLES)
    if approving and approval:
        return  # the legal section or the director acting under an approval on file
    refused = []
    links = {m["recording"]: m for m in case.get("media", [])}
    for oid, link in links.items():
        if _is_confidential(case, link) and not approval:
            continue  # withheld from the bag anyway (art. 44)
        grant, why = covering_grant(vault, vault.actor, oid, "copy")
        if grant is None:
            vault.record(events.AccessDenial(user=vault.actor, action="copy", reason=why,
                                             purpose=f"案件包：{PURPOSES[purpose]}"), oid)  # fmt: skip
            refused.append(oid[:12])
    if refused:
        how = ("：以法规科、局长或管理员身份打包须注明批准文号 --approval" if approving
               else "（或由法规科依批准办理）")  # fmt: skip
        raise AccessDenied(
            f"拒绝打包案件 {case['case']}：用户 {vault.actor} 对原始记录 {'、'.join(refused)} 无复制批准"
            f"（第四十四条、第四十七条）{how}。本次请求已记入日志"
        )


def bundle_case(
    vault: Vault, case_id: str, out: Path, *, purpose: str, approval: str | None = None
) -> BundleReport:
    if purpose not in PURPOSES:
        raise UsageError(f"--purpose 只能是 {'、'.join(PURPOSES)}")
    out = Path(out)
    files = userfs.current()
    if files.exists(out):
        raise BundleError(f"{out} 已存在：案件包从不覆盖已有文件，请换一个路径")
    case = get_case(vault, case_id)
    require_copy_authority(vault, case, approval, purpose)
    as_tar = out.suffix == ".tar"
    try:
        # Built in a folder of its own and put in place only when complete (a rename beside
        # the target; through the service, the client builds it beside the target from the
        # service's read-only descriptors): an interrupted bundle leaves nothing behind.
        with files.output_tree(out) as target:
            if as_tar:
                bag = target.parent / out.stem
                report = _build(vault, case, bag, purpose, approval)
                write_tar(bag, target)
                shutil.rmtree(bag)
            else:
                report = _build(vault, case, target, purpose, approval)
    except OSError as exc:  # disk full, read-only target: nothing half-written stays behind
        raise storage_error(exc, f"写入案件包 {out.name}") from exc
    report.path = out
    vault.record(events.CaseBundle(
        case=case_id, purpose=purpose, path=str(files.resolve(out)), approval=approval,
        manifest_sha256=report.manifest_sha256, files=report.files, bytes=report.bytes,
        withheld=report.withheld,
    ), f"case:{case_id}")  # fmt: skip
    return report


def _build(vault: Vault, case: dict[str, Any], bag: Path, purpose: str,
           approval: str | None) -> BundleReport:  # fmt: skip
    from zfjl.render.documents import documents_to_render, evidence_items, render_pairs
    from zfjl.render.templates import template_names, vault_environment

    originals, withheld = _plan_originals(vault, case, approval)
    env = vault_environment(vault)
    pairs = documents_to_render(case, None, template_names(env))
    documents = bag / "data" / "documents"
    # SHA-512 and SM3 of the originals were fixed when they became the case's evidence
    # (import/attach); computed here only for links made before that rule.
    ensure_digests(vault, [oid for _, _, oid in originals])
    with ThreadPoolExecutor(1) as pool:  # Typst works while the kernel copies
        rendering = pool.submit(render_pairs, env, case, vault.config.bureau, pairs, documents,
                                evidence=evidence_items(vault, case))  # fmt: skip
        for src, rel, oid in originals:
            userfs.current().stage_copy(src, bag / rel)
            if (bag / rel).stat().st_size != src.stat().st_size:
                raise BundleError(f"复制原始记录 {oid[:12]} 不完整（磁盘已满？）")
        rendering.result()
    known = {rel: object_digests(vault, oid) for _, rel, oid in originals}
    for doc in case.get("documents", []):
        if doc.get("scan"):
            copy_file(
                vault.objects.path_for(doc["scan"]),
                bag / "data" / "scans" / safe_name(f"{doc['id']}_{doc['type']}.pdf"),
            )
    write_json(bag / "data" / "case.json", case)
    custody = custody_rows(vault, case["case"], [oid for _, _, oid in originals])
    write_json(bag / "data" / "custody" / "custody-log.json", custody)
    write_bindings(bag, [(rel, oid) for _, rel, oid in originals], custody)
    write_proofs(vault, bag / "data" / "custody", [r["seq"] for r in custody])
    if withheld:
        write_json(bag / "data" / "withheld.json", withheld)
    files = {
        rel: known.get(rel) or file_digests(bag / rel, PAYLOAD_ALGORITHMS + EXTRA_ALGORITHMS)
        for rel in (p.relative_to(bag).as_posix() for p in sorted((bag / "data").rglob("*"))
                    if p.is_file())
    }  # fmt: skip
    size = sum((bag / rel).stat().st_size for rel in files)
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

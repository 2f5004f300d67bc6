"""`zfjl bundle`: a case package anyone can verify with standard tools (BagIt 1.0, RFC 8493).

The bag holds the case's original recordings (copied, never linked: a recipient who edits the
bag must not be able to touch the vault), the scans of signed documents, the rendered documents,
the case data, and the custody log. Manifests in SHA-256 and SHA-512 (what `bagit.py
--validate` and `sha256sum -c` read), plus BLAKE3 (the vault's object names) and SM3 lists as
extra tag files. Written into a temporary folder beside the target and renamed into place when
complete; never over an existing path. Every bundle is journaled (art. 46).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zfjl import __version__
from zfjl.cases.store import get_case
from zfjl.errors import BundleError, NotFoundError, UsageError, VaultError
from zfjl.vault import checkpoint, events, merkle
from zfjl.vault.checkpoint import Checkpoint, PublicKey
from zfjl.vault.journal import canonical_json, read_events, row_hash
from zfjl.vault.objects import copy_file, file_digests, storage_error
from zfjl.vault.query import ensure_digests, object_digests
from zfjl.vault.vault import Vault

PURPOSES = {"court": "向人民法院提供", "review": "报送法规科审查", "archive": "归档"}
CHUNK = 4 << 20
PAYLOAD_ALGORITHMS = ("sha256", "sha512")
EXTRA_ALGORITHMS = ("blake3", "sm3")  # tag files only: bagit-python ignores these algorithms
OUTPUT_EVENTS = {"case.render", "case.bundle"}  # outputs, not custody: kept out for reproducibility


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


# -- writing --------------------------------------------------------------------------------
def _safe(text: str) -> str:
    return "".join("_" if c in '/\\:*?"<>|\0\n\r\t ' else c for c in text).strip("_") or "x"


def original_name(link: dict[str, Any], suffix: str) -> str:
    """date_time_device_activity.ext: what a judge sorts and reads."""
    start = dt.datetime.fromisoformat(link["start"]) if link.get("start") else None
    stamp = start.strftime("%Y%m%d_%H%M%S") if start else "时间不明"
    return _safe(f"{stamp}_{link.get('device') or '设备不明'}_{link['activity']}") + suffix


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
    planned, withheld, taken, seen = [], [], set(), set()
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


def _custody_log(vault: Vault, case_id: str, oids: list[str]) -> list[dict[str, Any]]:
    rows = [
        e.as_dict() for e in read_events(vault.conn, f"case:{case_id}") if e.kind not in OUTPUT_EVENTS
    ]
    for oid in oids:
        rows += [e.as_dict() for e in read_events(vault.conn, oid)]
    return sorted(rows, key=lambda r: r["seq"])


def _checkpoint_covering(vault: Vault, last_seq: int) -> Checkpoint | None:
    """The latest checkpoint if it already covers `last_seq` (so bundling twice gives the same
    bytes), else a new one; the latest, covering less, when this user cannot sign."""
    latest = checkpoint.latest_checkpoint(vault)
    if latest is not None and latest.size >= last_seq:
        return latest
    try:
        return checkpoint.append_checkpoint(vault)[0]
    except VaultError:
        return latest  # rows after it travel without a proof; verify says which


def _write_proofs(vault: Vault, folder: Path, seqs: list[int]) -> None:
    """The signed checkpoint, its public key, and each custody row's inclusion proof: a court
    checks them offline against a checkpoint printed months earlier (RFC 9162 2.1.3)."""
    cp = _checkpoint_covering(vault, max(seqs, default=0))
    if cp is None:
        return
    levels = merkle.tree_levels(checkpoint.leaves(vault, cp.size))
    proofs = {
        str(seq): [base64.b64encode(h).decode() for h in merkle.inclusion_proof(levels, seq - 1)]
        for seq in seqs if seq <= cp.size
    }  # fmt: skip
    (folder / "checkpoint.txt").write_text(cp.text, "utf-8")
    keys = [k.vkey for k in checkpoint.journal_keys(vault) if cp.signed_by(k)]
    (folder / "checkpoint-key.txt").write_text("".join(f"{k}\n" for k in keys), "utf-8")
    _write_json(folder / "inclusion-proofs.json", {
        "tree_size": cp.size, "leaf": "SHA-256(0x00 || 由记录各列重算的日志哈希 32 字节)",
        "proofs": proofs, "uncovered": [s for s in seqs if s > cp.size],
    })  # fmt: skip
    # From every earlier checkpoint (any of which may be on paper somewhere) to this one.
    earlier = sorted({size for size in checkpoint.checkpoint_sizes(vault) if 0 < size < cp.size})
    _write_json(folder / "consistency-proofs.json", {
        "tree_size": cp.size, "method": "RFC 9162 2.1.4",
        "from": {str(m): [base64.b64encode(h).decode()
                          for h in merkle.consistency_proof(levels, m, cp.size)] for m in earlier},
    })  # fmt: skip


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")


def _manifest_line(digest: str, rel: str) -> str:
    # RFC 8493 §2.1.3: only CR, LF and % are percent-encoded in manifest paths.
    return f"{digest}  {rel.replace('%', '%25').replace(chr(13), '%0D').replace(chr(10), '%0A')}\n"


def _write_manifests(bag: Path, prefix: str, files: dict[str, dict[str, str]],
                     algorithms: tuple[str, ...], folder: str = "") -> list[str]:  # fmt: skip
    written = []
    for alg in algorithms:
        name = f"{folder}{prefix}-{alg}.txt"
        lines = "".join(_manifest_line(d[alg], rel) for rel, d in sorted(files.items()))
        (bag / name).parent.mkdir(parents=True, exist_ok=True)
        (bag / name).write_text(lines, encoding="utf-8")
        written.append(name)
    return written


def bundle_case(
    vault: Vault, case_id: str, out: Path, *, purpose: str, approval: str | None = None
) -> BundleReport:
    if purpose not in PURPOSES:
        raise UsageError(f"--purpose 只能是 {'、'.join(PURPOSES)}")
    out = Path(out)
    if out.exists():
        raise BundleError(f"{out} 已存在：案件包从不覆盖已有文件，请换一个路径")
    case = get_case(vault, case_id)
    as_tar = out.suffix == ".tar"
    try:
        # Built beside the target (same file system), renamed into place only when complete.
        out.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise storage_error(exc, f"创建 {out.parent}") from exc
    bag = work / (out.stem if as_tar else out.name)
    try:
        report = _build(vault, case, bag, purpose, approval)
        if as_tar:
            _write_tar(bag, out)
        else:
            os.replace(bag, out)
    except OSError as exc:  # disk full, read-only target: nothing half-written stays behind
        raise storage_error(exc, f"写入案件包 {out.name}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.path = out
    vault.record(events.CaseBundle(
        case=case_id, purpose=purpose, path=str(out.resolve()), approval=approval,
        manifest_sha256=report.manifest_sha256, files=report.files, bytes=report.bytes,
        withheld=report.withheld,
    ), f"case:{case_id}")  # fmt: skip
    return report


def _build(vault: Vault, case: dict[str, Any], bag: Path, purpose: str,
           approval: str | None) -> BundleReport:  # fmt: skip
    from zfjl.render import (
        documents_to_render,
        evidence_items,
        render_pairs,
        vault_environment,
    )

    originals, withheld = _plan_originals(vault, case, approval)
    pairs = documents_to_render(case, None)
    documents = bag / "data" / "documents"
    env = vault_environment(vault)
    # SHA-512 and SM3 of the originals were fixed when they became the case's evidence
    # (import/attach); computed here only for links made before that rule.
    ensure_digests(vault, [oid for _, _, oid in originals])
    with ThreadPoolExecutor(1) as pool:  # Typst works while the kernel copies
        rendering = pool.submit(render_pairs, env, case, vault.config.bureau, pairs, documents,
                                evidence=evidence_items(vault, case))  # fmt: skip
        for src, rel, oid in originals:
            copy_file(src, bag / rel)
            if (bag / rel).stat().st_size != src.stat().st_size:
                raise BundleError(f"复制原始记录 {oid[:12]} 不完整（磁盘已满？）")
        rendering.result()
    known = {rel: object_digests(vault, oid) for _, rel, oid in originals}
    for doc in case.get("documents", []):
        if doc.get("scan"):
            copy_file(
                vault.objects.path_for(doc["scan"]),
                bag / "data" / "scans" / _safe(f"{doc['id']}_{doc['type']}.pdf"),
            )
    _write_json(bag / "data" / "case.json", case)
    custody = _custody_log(vault, case["case"], [oid for _, _, oid in originals])
    _write_json(bag / "data" / "custody" / "custody-log.json", custody)
    _write_proofs(vault, bag / "data" / "custody", [r["seq"] for r in custody])
    if withheld:
        _write_json(bag / "data" / "withheld.json", withheld)
    files = {
        rel: known.get(rel) or file_digests(bag / rel, PAYLOAD_ALGORITHMS + EXTRA_ALGORITHMS)
        for rel in (p.relative_to(bag).as_posix() for p in sorted((bag / "data").rglob("*"))
                    if p.is_file())
    }  # fmt: skip
    size = sum((bag / rel).stat().st_size for rel in files)
    (bag / "bagit.txt").write_text(
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", "utf-8"
    )
    _write_bag_info(bag, vault, case, purpose, approval, size, len(files), withheld)
    tags = ["bagit.txt", "bag-info.txt"]
    tags += _write_manifests(bag, "manifest", files, PAYLOAD_ALGORITHMS)
    tags += _write_manifests(bag, "manifest", files, EXTRA_ALGORITHMS, folder="zfjl/")
    tag_digests = {t: file_digests(bag / t, PAYLOAD_ALGORITHMS) for t in tags}
    _write_manifests(bag, "tagmanifest", tag_digests, PAYLOAD_ALGORITHMS)
    manifest_sha = hashlib.sha256((bag / "manifest-sha256.txt").read_bytes()).hexdigest()
    return BundleReport(bag, len(files), size, withheld, manifest_sha)


def _write_bag_info(bag: Path, vault: Vault, case: dict[str, Any], purpose: str,
                    approval: str | None, size: int, count: int,
                    withheld: list[dict[str, str]]) -> None:  # fmt: skip
    info = [
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
    (bag / "bag-info.txt").write_text("".join(f"{k}: {v}\n" for k, v in info), encoding="utf-8")


def _write_tar(bag: Path, out: Path) -> None:
    """A tar with fixed owners, modes and times, in name order: the same bag, the same bytes."""

    def normalise(ti: tarfile.TarInfo) -> tarfile.TarInfo:
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        ti.mtime = 0
        ti.mode = 0o755 if ti.isdir() else 0o644
        return ti

    tmp = out.with_name(f".{out.name}.partial")
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in [bag, *sorted(bag.rglob("*"))]:
            tar.add(path, arcname=path.relative_to(bag.parent).as_posix(), recursive=False,
                    filter=normalise)  # fmt: skip
    os.replace(tmp, out)


# -- verifying ------------------------------------------------------------------------------
# Unproven, not wrong: a custody row newer than the bag's checkpoint; a kept checkpoint newer
# than the bag.
BUNDLE_WARNINGS = {"not_covered", "checkpoint_newer"}


@dataclass(frozen=True)
class BundleFinding:
    code: str  # checksum_mismatch | file_missing | unexpected_file | not_in_vault | vault_mismatch | custody_changed | invalid_bag
    file: str
    expected: str = ""
    found: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "file": self.file,
            "expected": self.expected,
            "found": self.found,
        }


@dataclass
class BundleVerifyReport:
    path: str
    findings: list[BundleFinding] = field(default_factory=list)
    anchored_rows: int | None = None  # custody rows already in a kept checkpoint's log

    @property
    def ok(self) -> bool:
        return not any(f.code not in BUNDLE_WARNINGS for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "anchored_rows": self.anchored_rows,
                "findings": [f.as_dict() for f in self.findings]}  # fmt: skip


def verify_bundle(
    path: Path, vault: Vault | None = None, kept_checkpoint: str | None = None
) -> BundleVerifyReport:
    """Check the bag (complete, every manifest in every algorithm), each original against the
    vault's digests, and the custody log's rows; every problem is named by file. With a
    checkpoint kept outside (on paper, at the court), also prove the bag's checkpoint extends
    it: the journal rows it signed are unchanged in the log the bag's rows come from."""
    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"找不到案件包：{path}")
    report = BundleVerifyReport(str(path))
    with _opened(path) as bag:
        report.findings += _manifest_findings(bag)
        if not report.findings:
            report.findings += _bagit_findings(bag)  # a second opinion on the structure
        report.findings += _custody_findings(bag, vault)
        report.findings += _proof_findings(bag, vault)
        if kept_checkpoint is not None:
            findings, report.anchored_rows = _kept_checkpoint_findings(bag, vault, kept_checkpoint)
            report.findings += findings
        if vault is not None:
            report.findings += _vault_findings(bag, vault)
    return report


MANIFESTS = (
    ("manifest-sha256.txt", "sha256"), ("manifest-sha512.txt", "sha512"),
    ("zfjl/manifest-blake3.txt", "blake3"), ("zfjl/manifest-sm3.txt", "sm3"),
    ("tagmanifest-sha256.txt", "sha256"), ("tagmanifest-sha512.txt", "sha512"),
)  # fmt: skip


def _manifest_findings(bag: Path) -> list[BundleFinding]:
    """Every file every manifest lists, in its algorithm, and no payload file unlisted. Unlike
    bagit-python, which stops at a Payload-Oxum mismatch, this names each file."""
    if not (bag / "bagit.txt").is_file() or not (bag / "manifest-sha256.txt").is_file():
        return [BundleFinding("invalid_bag", bag.name, "bagit.txt 与 manifest-sha256.txt", "缺失")]
    found: dict[tuple[str, str], BundleFinding] = {
        ("file_missing", name): BundleFinding("file_missing", name)
        for name, _ in MANIFESTS
        if not (bag / name).is_file()
    }
    listed: set[str] = set()
    for manifest, alg in MANIFESTS:
        for rel, digest in _read_manifest(bag / manifest).items():
            listed.add(rel)
            target = bag / rel
            if not target.is_file():
                found.setdefault(("file_missing", rel), BundleFinding("file_missing", rel))
                continue
            actual = file_digests(target, (alg,))[alg]
            if actual != digest:
                found.setdefault(("checksum_mismatch", rel),
                                 BundleFinding("checksum_mismatch", rel, f"{alg} {digest}", actual))  # fmt: skip
    for p in sorted((bag / "data").rglob("*")):
        rel = p.relative_to(bag).as_posix()
        if p.is_file() and rel not in listed:
            found[("unexpected_file", rel)] = BundleFinding("unexpected_file", rel)
    return list(found.values())


@contextlib.contextmanager
def _opened(path: Path) -> Any:
    if path.is_dir():
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="zfjl-bundle-") as tmp, tarfile.open(path) as tar:
        tar.extractall(tmp, filter="data")
        roots = list(Path(tmp).iterdir())
        if len(roots) != 1:
            raise BundleError(f"{path} 不是 zfjl 案件包（应只含一个顶层目录）")
        yield roots[0]


def _bagit_findings(bag: Path) -> list[BundleFinding]:
    import logging

    import bagit

    logging.getLogger("bagit").setLevel(logging.CRITICAL)
    try:
        bagit.Bag(str(bag)).validate(processes=1)
    except bagit.BagValidationError as exc:
        out = []
        for d in exc.details or []:
            if isinstance(d, bagit.ChecksumMismatch):
                out.append(
                    BundleFinding(
                        "checksum_mismatch", d.path, f"{d.algorithm} {d.expected}", d.found
                    )
                )
            elif isinstance(d, bagit.FileMissing):
                out.append(BundleFinding("file_missing", d.path))
            elif isinstance(d, bagit.UnexpectedFile):
                out.append(BundleFinding("unexpected_file", d.path))
        return out or [BundleFinding("invalid_bag", str(bag.name), "合法的 BagIt 包", str(exc))]
    except bagit.BagError as exc:
        return [BundleFinding("invalid_bag", str(bag.name), "合法的 BagIt 包", str(exc))]
    return []


def _read_manifest(path: Path) -> dict[str, str]:
    out = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            digest, _, rel = line.partition("  ")
            out[rel.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")] = digest
    return out


def _recomputed_hash(r: dict[str, Any]) -> str:
    """A custody row's chain hash from its own columns, as the vault computes it."""
    return row_hash(r["prev_hash"], r["seq"], r["ts"], r["actor"], r["kind"], r["subject"],
                    canonical_json(r["data"]))  # fmt: skip


def _custody_findings(bag: Path, vault: Vault | None) -> list[BundleFinding]:
    log = bag / "data" / "custody" / "custody-log.json"
    if not log.is_file():
        return []
    rel = "data/custody/custody-log.json"
    out = []
    try:
        rows = json.loads(log.read_text(encoding="utf-8"))
    except ValueError:
        return [BundleFinding("custody_changed", rel, "JSON", "无法解析")]
    for r in rows:
        digest = _recomputed_hash(r)
        if digest != r["hash"]:
            out.append(BundleFinding("custody_changed", f"{rel}#{r['seq']}", digest, r["hash"]))
        elif vault is not None:
            row = vault.conn.execute(
                "SELECT hash FROM journal WHERE seq = ?", (r["seq"],)
            ).fetchone()
            if row is None or row[0] != r["hash"]:
                out.append(BundleFinding("custody_changed", f"{rel}#{r['seq']}",
                                         row[0] if row else "保管库中无此记录", r["hash"]))  # fmt: skip
    return out


def _bag_keys(folder: Path, vault: Vault | None) -> list[PublicKey]:
    keys = [PublicKey.from_vkey(line) for line in
            (folder / "checkpoint-key.txt").read_text("utf-8").splitlines() if line.strip()]  # fmt: skip
    if vault is not None:  # a forger may ship a key of their own: only the vault's count
        known = {k.key_id for k in checkpoint.journal_keys(vault)}
        keys = [k for k in keys if k.key_id in known]
    return keys


def _kept_checkpoint_findings(
    bag: Path, vault: Vault | None, text: str
) -> tuple[list[BundleFinding], int | None]:
    """Is the bag's checkpoint consistent with one kept outside since? (RFC 9162 2.1.4)"""
    folder = bag / "data" / "custody"
    rel = "data/custody/consistency-proofs.json"
    try:
        kept = Checkpoint.parse(text)
        ours = Checkpoint.parse((folder / "checkpoint.txt").read_text("utf-8"))
        keys = _bag_keys(folder, vault)
        proofs = json.loads((folder / rel.rsplit("/", 1)[1]).read_text("utf-8"))["from"]
        rows = json.loads((folder / "custody-log.json").read_text("utf-8"))
    except (OSError, ValueError, KeyError, VaultError) as exc:
        return [BundleFinding("checkpoint_inconsistent", rel, "可读的检查点与一致性证明",
                              str(exc)[:120])], None  # fmt: skip
    if not any(kept.signed_by(k) for k in keys):
        return [BundleFinding("checkpoint_inconsistent", "留存检查点", "本保管库密钥的有效签名",
                              "签名无效或不是同一保管库")], None  # fmt: skip
    if kept.size > ours.size:
        return [BundleFinding("checkpoint_newer", "留存检查点", f"不晚于包内检查点（{ours.size} 条）",
                              f"{kept.size} 条：案件包制作在前，无从证明")], None  # fmt: skip
    listed = [] if kept.size == ours.size else proofs.get(str(kept.size))
    try:
        proof = None if listed is None else [base64.b64decode(h, validate=True) for h in listed]
    except ValueError:
        proof = None
    if proof is None or not merkle.verify_consistency(
        kept.size, ours.size, kept.root, ours.root, proof
    ):
        return [BundleFinding("checkpoint_inconsistent", rel, f"前 {kept.size} 条与留存检查点一致",
                              "证明缺失或不成立：日志在其后被改写")], None  # fmt: skip
    return [], sum(1 for r in rows if r["seq"] <= kept.size)


def _proof_findings(bag: Path, vault: Vault | None) -> list[BundleFinding]:
    """The checkpoint's signature, by the key in the bag (and, with the vault at hand, a key
    the vault journaled), and each custody row's inclusion proof against its root."""
    folder = bag / "data" / "custody"
    cp_file, rel = folder / "checkpoint.txt", "data/custody/checkpoint.txt"
    if not cp_file.is_file():
        return [BundleFinding("checkpoint_invalid", rel, "签名检查点", "缺失")]
    try:
        cp = Checkpoint.parse(cp_file.read_text("utf-8"))
        keys = _bag_keys(folder, vault)
        proofs = json.loads((folder / "inclusion-proofs.json").read_text("utf-8"))
        rows = json.loads((folder / "custody-log.json").read_text("utf-8"))
    except (OSError, ValueError, VaultError) as exc:
        return [
            BundleFinding("checkpoint_invalid", rel, "可读的检查点、公钥与证明", str(exc)[:120])
        ]
    out = []
    if not any(cp.signed_by(k) for k in keys):
        out.append(BundleFinding("checkpoint_invalid", rel, "保管库密钥的有效签名", "签名无效"))
    for r in rows:
        path = proofs["proofs"].get(str(r["seq"]))
        where = f"data/custody/custody-log.json#{r['seq']}"
        if path is None:
            out.append(BundleFinding("not_covered", where, f"检查点前 {cp.size} 条", "无包含证明"))
            continue
        digest = _recomputed_hash(r)
        leaf = merkle.leaf_hash(bytes.fromhex(digest))
        try:
            audit = [base64.b64decode(h, validate=True) for h in path]
        except ValueError:
            audit = None
        if audit is None or not merkle.verify_inclusion(
            leaf, r["seq"] - 1, cp.size, audit, cp.root
        ):
            out.append(BundleFinding("proof_invalid", where, "包含于检查点的日志树", "证明不成立"))
    return out


def _vault_findings(bag: Path, vault: Vault) -> list[BundleFinding]:
    """Each original, by its own content (not by the bag's lists), must be an object of the
    vault; its catalogued SHA-256 must be the one the bag's manifest states."""
    out = []
    listed = _read_manifest(bag / "manifest-sha256.txt")
    originals = bag / "data" / "originals"
    for p in sorted(originals.iterdir()) if originals.is_dir() else []:
        rel = p.relative_to(bag).as_posix()
        oid = file_digests(p, ("blake3",))["blake3"]
        row = vault.conn.execute("SELECT sha256 FROM objects WHERE id = ?", (oid,)).fetchone()
        if row is None:
            out.append(BundleFinding("not_in_vault", rel, "保管库中的原始记录", oid))
        elif listed.get(rel) != row[0]:
            out.append(BundleFinding("vault_mismatch", rel, row[0], listed.get(rel, "")))
    return out


__all__ = ["PURPOSES", "BundleError", "BundleReport", "bundle_case", "verify_bundle"]

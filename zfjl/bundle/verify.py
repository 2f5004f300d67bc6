"""`zfjl bundle verify`: the bag complete and unaltered in every manifest's algorithm, its
custody rows and proofs sound, and (with the vault at hand) its originals the vault's own."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from zfjl import userfs
from zfjl.bundle.bag import MANIFESTS, opened, read_manifest
from zfjl.bundle.binding import binding_findings
from zfjl.bundle.findings import BundleFinding, BundleVerifyReport
from zfjl.bundle.proofs import custody_findings, kept_checkpoint_findings, proof_findings
from zfjl.vault.objects import file_digests
from zfjl.vault.queries.evidence import catalogued
from zfjl.vault.vault import Vault


def verify_bundle(
    path: Path, vault: Vault | None = None, kept_checkpoint: str | None = None
) -> BundleVerifyReport:
    """Check the bag (complete, every manifest in every algorithm), each original against the
    vault's digests, and the custody log's rows; every problem is named by file. With a
    checkpoint kept outside (on paper, at the court), also prove the bag's checkpoint extends
    it: the journal rows it signed are unchanged in the log the bag's rows come from."""
    path = Path(path)
    report = BundleVerifyReport(str(path))
    with userfs.current().input_tree(path, "案件包") as local, opened(local) as bag:
        report.findings += _manifest_findings(bag)
        if not report.findings:
            report.findings += _bagit_findings(bag)  # a second opinion on the structure
        report.findings += custody_findings(bag, vault)
        report.findings += proof_findings(bag, vault)
        report.findings += binding_findings(bag)
        if kept_checkpoint is not None:
            findings, report.anchored_rows = kept_checkpoint_findings(bag, vault, kept_checkpoint)
            report.findings += findings
        if vault is not None:
            report.findings += _vault_findings(bag, vault)
    return report


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
        for rel, digest in read_manifest(bag / manifest).items():
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


def _vault_findings(bag: Path, vault: Vault) -> list[BundleFinding]:
    """Each original, by its own content (not by the bag's lists), must be an object of the
    vault; its catalogued SHA-256 must be the one the bag's manifest states."""
    out = []
    listed = read_manifest(bag / "manifest-sha256.txt")
    originals = bag / "data" / "originals"
    for p in sorted(originals.iterdir()) if originals.is_dir() else []:
        rel = p.relative_to(bag).as_posix()
        oid = file_digests(p, ("blake3",))["blake3"]
        row = catalogued(vault, oid)
        if row is None:
            out.append(BundleFinding("not_in_vault", rel, "保管库中的原始记录", oid))
        elif listed.get(rel) != row.sha256:
            # an unsealed object's digest is None here, as the catalog has it
            expected = cast(str, row.sha256)
            out.append(BundleFinding("vault_mismatch", rel, expected, listed.get(rel, "")))
    return out

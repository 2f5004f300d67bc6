"""A bundle's custody log and its proofs: the signed checkpoint, each row's inclusion proof
and the consistency proofs from earlier checkpoints (RFC 9162) — written, and checked."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from zfjl.bundle.bag import write_json
from zfjl.bundle.findings import BundleFinding
from zfjl.errors import VaultError
from zfjl.vault import checkpoint, events, merkle, signer
from zfjl.vault.checkpoint import Checkpoint, PublicKey
from zfjl.vault.journal import canonical_json, row_hash
from zfjl.vault.queries.journal import events_of, hash_at
from zfjl.vault.vault import Vault

# Outputs, not custody: kept out so that bundling twice gives the same bag.
OUTPUT_EVENTS = {events.CaseRender.kind, events.CaseBundle.kind}


# -- writing --------------------------------------------------------------------------------
def custody_rows(vault: Vault, case_id: str, oids: list[str]) -> list[dict[str, Any]]:
    rows = [
        e.as_dict() for e in events_of(vault, f"case:{case_id}") if e.kind not in OUTPUT_EVENTS
    ]
    for oid in oids:
        rows += [e.as_dict() for e in events_of(vault, oid)]
    return sorted(rows, key=lambda r: r["seq"])


def _checkpoint_covering(vault: Vault, last_seq: int) -> Checkpoint | None:
    """The latest checkpoint if it already covers `last_seq` (so bundling twice gives the same
    bytes), else a new one; the latest, covering less, when this user cannot sign."""
    latest = checkpoint.latest_checkpoint(vault)
    if latest is not None and latest.size >= last_seq:
        return latest
    try:
        return signer.append_checkpoint(vault)[0]
    except VaultError:
        return latest  # rows after it travel without a proof; verify says which


def write_proofs(vault: Vault, folder: Path, seqs: list[int]) -> None:
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
    write_json(folder / "inclusion-proofs.json", {
        "tree_size": cp.size, "leaf": "SHA-256(0x00 || 由记录各列重算的日志哈希 32 字节)",
        "proofs": proofs, "uncovered": [s for s in seqs if s > cp.size],
    })  # fmt: skip
    # From every earlier checkpoint (any of which may be on paper somewhere) to this one.
    earlier = sorted({size for size in checkpoint.checkpoint_sizes(vault) if 0 < size < cp.size})
    write_json(folder / "consistency-proofs.json", {
        "tree_size": cp.size, "method": "RFC 9162 2.1.4",
        "from": {str(m): [base64.b64encode(h).decode()
                          for h in merkle.consistency_proof(levels, m, cp.size)] for m in earlier},
    })  # fmt: skip


# -- checking -------------------------------------------------------------------------------
def _recomputed_hash(r: dict[str, Any]) -> str:
    """A custody row's chain hash from its own columns, as the vault computes it."""
    return row_hash(r["prev_hash"], r["seq"], r["ts"], r["actor"], r["kind"], r["subject"],
                    canonical_json(r["data"]), r.get("station"))  # fmt: skip


def custody_findings(bag: Path, vault: Vault | None) -> list[BundleFinding]:
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
            known = hash_at(vault, r["seq"])
            if known != r["hash"]:
                out.append(BundleFinding("custody_changed", f"{rel}#{r['seq']}",
                                         known or "保管库中无此记录", r["hash"]))  # fmt: skip
    return out


def _bag_keys(folder: Path, vault: Vault | None) -> list[PublicKey]:
    keys = [PublicKey.from_vkey(line) for line in
            (folder / "checkpoint-key.txt").read_text("utf-8").splitlines() if line.strip()]  # fmt: skip
    if vault is not None:  # a forger may ship a key of their own: only the vault's count
        known = {k.key_id for k in checkpoint.journal_keys(vault)}
        keys = [k for k in keys if k.key_id in known]
    return keys


def kept_checkpoint_findings(
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


def proof_findings(bag: Path, vault: Vault | None) -> list[BundleFinding]:
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

"""Each original in a bag bound to the SHA-256 of its recording's signed `object.add` row —
or, since issue 14 (stored first, sealed right behind), of its signed `object.digests` row:
the seal journals SHA-256 after reading the stored bytes and matching their BLAKE3 name.

The manifests say what the files are *now*; a forger who swaps an original and rewrites every
manifest passes them. The custody rows, proven against the signed checkpoint, carry each
recording's SHA-256 as it was stored. `data/custody/originals.json` (written at bundle time)
says which recording each file in `data/originals/` is; `bundle verify` requires the file to
hash to that recording's row, each recording of the bag to have exactly one file, and each
file to name a recording whose row the bag carries — with or without the vault.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zfjl.bundle.bag import write_json
from zfjl.bundle.findings import BundleFinding
from zfjl.vault import events
from zfjl.vault.objects import file_digests

BINDINGS = "data/custody/originals.json"
LOG = "data/custody/custody-log.json"
ADD = events.ObjectAdd.kind
SEAL = events.ObjectDigests.kind


def signed_sha256(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Recording id -> the custody row that journaled its SHA-256 (`object.add` before issue
    14, else its seal), with that digest under "sha256"."""
    out: dict[str, dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: r["seq"]):
        if r["kind"] == ADD and r["data"]["object"].get("sha256"):
            sha = r["data"]["object"]["sha256"]
        elif r["kind"] == SEAL and r["data"].get("sha256"):
            sha = r["data"]["sha256"]
        else:
            continue
        out.setdefault(r["subject"], {"seq": r["seq"], "sha256": sha})
    return out


def write_bindings(bag: Path, originals: list[tuple[str, str]], custody: list[dict[str, Any]]) -> None:
    """Which recording each copied original is, from the bundle's own plan ((bag path, object
    id) pairs) and the `object.add` rows already in its custody log: nothing re-read or hashed."""
    signed = signed_sha256(custody)
    bound = {
        rel: {"recording": oid, "seq": signed[oid]["seq"], "sha256": signed[oid]["sha256"]}
        for rel, oid in originals
        if oid in signed
    }
    write_json(bag / BINDINGS, bound)


def binding_findings(bag: Path) -> list[BundleFinding]:
    originals = bag / "data" / "originals"
    files = sorted(originals.iterdir()) if originals.is_dir() else []
    try:
        rows = json.loads((bag / LOG).read_text("utf-8"))
        adds = {r["subject"]: r for r in rows if r["kind"] == ADD}
        signed_rows = signed_sha256(rows)
        bindings = _read_bindings(bag)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [BundleFinding("original_unbound", BINDINGS, "可读的原始记录清单与保管日志",
                              str(exc)[:120])] if files else []  # fmt: skip
    out: list[BundleFinding] = []
    claimed: dict[str, list[str]] = {}
    for p in files:
        rel = p.relative_to(bag).as_posix()
        sha = file_digests(p, ("sha256",))["sha256"]
        oid = _claimed_recording(bindings, rel, sha, signed_rows)
        if oid is None or oid not in adds:
            out.append(BundleFinding("original_unbound", rel, "包内保管日志中某条入库记录的原始文件",
                                     oid or f"SHA-256 {sha} 不属于任何入库记录"))  # fmt: skip
            continue
        claimed.setdefault(oid, []).append(rel)
        row = signed_rows.get(oid)
        if row is None or sha != row["sha256"]:
            expected = (f"{oid[:12]} 封存的 SHA-256 {row['sha256']}（日志第 {row['seq']} 条）" if row
                        else f"{oid[:12]} 已封存的 SHA-256（包内保管日志中没有）")  # fmt: skip
            out.append(BundleFinding("original_replaced", rel, expected, sha))
    for oid, rels in claimed.items():
        if len(rels) > 1:
            out += [BundleFinding("original_replaced", rel, f"{oid[:12]} 只有一个原始文件",
                                  f"{len(rels)} 个文件自称是它") for rel in rels]  # fmt: skip
    for oid, r in adds.items():
        if oid not in claimed:
            out.append(BundleFinding("original_absent", f"{LOG}#{r['seq']}",
                                     f"{oid[:12]} 的原始文件", "包中没有文件与该入库记录对应"))  # fmt: skip
    return out


def _read_bindings(bag: Path) -> dict[str, Any] | None:
    path = bag / BINDINGS
    if not path.is_file():
        return None  # a bag from before the list: bound by content alone
    value = json.loads(path.read_text("utf-8"))
    if not isinstance(value, dict):
        raise ValueError("originals.json 不是对象")
    return value


def _claimed_recording(
    bindings: dict[str, Any] | None, rel: str, sha: str, signed: dict[str, Any]
) -> str | None:
    if bindings is None:
        return next((o for o, r in signed.items() if r["sha256"] == sha), None)
    entry = bindings.get(rel)
    return str(entry["recording"]) if isinstance(entry, dict) and "recording" in entry else None

"""Disclosure (art. 44): a redacted copy handed to a party under a copy grant on its original,
with a receipt PDF — what was given, to whom, when, both digests, the approval.

The authority is `export`'s: a copy grant covering the original (for a confidential one, a
grant that names it), checked by the one gate (`authorize`); a refusal is journaled. The
redacted copy is released under its original's grant — it is that recording's content, less
what was hidden. `derivative.disclose` is journaled on the original before the first byte
leaves; the copy is written as `export` writes (read-only, named only when complete, an
existing name refused), checked against the derivative's journaled SHA-256, and listed in
`SHA256SUMS` beside the receipt.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zfjl import userfs
from zfjl.access.authority import Item, authorize
from zfjl.access.reads import camera_name
from zfjl.errors import UsageError
from zfjl.outputs import claim
from zfjl.redact.derivatives import REDACTION, _live
from zfjl.redact.spec import METHODS
from zfjl.vault import events
from zfjl.vault.objects import storage_error
from zfjl.vault.queries import derivatives as derivative_queries
from zfjl.vault.queries.access import grant_row
from zfjl.vault.queries.derivatives import DerivativeRow, derivative
from zfjl.vault.queries.evidence import original_name
from zfjl.vault.query import resolve_id
from zfjl.vault.vault import Vault

MAX_PARTY = 200  # characters: a person's or a company's name, not a letter


@dataclass(frozen=True)
class Disclosure:
    source: str
    derivative: str
    party: str
    approval_no: str
    grant: str
    copy: Path
    receipt: Path
    sha256: str
    source_sha256: str
    seq: int  # the journal row of the disclosure
    at: str

    def as_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in self.__dict__.items()}


def _one_line(value: str, option: str, what: str) -> str:
    text = value.strip()
    if not text or not text.isprintable() or len(text) > MAX_PARTY:
        raise UsageError(f"{option}：须给出{what}（一行，不超过 {MAX_PARTY} 字），收到 {value[:40]!r}")
    return text


def disclose(
    vault: Vault, prefix: str, derivative_prefix: str, *, party: str, approval_no: str,
    dest: Path, purpose: str | None = None,
) -> Disclosure:  # fmt: skip
    """Hand the redacted copy `derivative_prefix` of recording `prefix` to `party` into the
    folder `dest`, with its receipt. All checks (the names, the derivative, the grant, the
    target files) before anything is journaled as given or written."""
    party = _one_line(party, "--to", "接收的当事人")
    approval_no = _one_line(approval_no, "--approval-no", "本次提供的批准文号")
    oid = _live(vault, prefix)
    row = _redaction_of(vault, oid, derivative_prefix)
    release = authorize(vault, [Item(oid, "音像记录")], "copy", purpose=purpose)
    grant = str(release.grants[oid])
    release.grants[row.id] = grant  # the redacted copy goes out under its original's grant
    files = userfs.current()
    files.make_dirs(dest)
    stem = _stem(vault, oid)
    copy_path = dest / f"{stem}_删减副本_{row.id[:12]}.mp4"
    receipt_path = dest / f"{stem}_提供回执_{row.id[:12]}.pdf"
    claim([copy_path, receipt_path], forceable=False)
    where = files.resolve(dest)  # the journal names the folder whole, not as typed
    # Journaled before the first byte leaves, with the digests of what is handed out.
    ev = vault.record(events.DerivativeDisclose(
        user=vault.actor, grant=grant, derivative=row.id, sha256=row.sha256,
        source_sha256=row.source_sha256, party=party, approval_no=approval_no,
        dest=str(where / copy_path.name), receipt=str(where / receipt_path.name), purpose=purpose,
    ), oid)  # fmt: skip
    done = Disclosure(oid, row.id, party, approval_no, grant, copy_path, receipt_path,
                      row.sha256, row.source_sha256, ev.seq, ev.ts)  # fmt: skip
    pdf = receipt_pdf(vault, done, row, purpose=purpose)  # before the copy: a template error stops it
    fd = release.open(vault, row.id)
    try:
        sha256 = files.copy_out(fd, copy_path, 0o444)
    finally:
        os.close(fd)
    if sha256 != row.sha256:
        raise storage_error(OSError(5, "复制结果与删减副本不符"), f"复制 {row.id[:12]}")
    files.write_bytes(receipt_path, pdf)
    files.append_text(dest / "SHA256SUMS", f"{sha256}  {copy_path.name}\n")
    return done


def _redaction_of(vault: Vault, oid: str, derivative_prefix: str) -> DerivativeRow:
    did = resolve_id(vault, derivative_prefix)
    row = derivative(vault, did)
    if row is None or row.source != oid:
        raise UsageError(f"--derivative {did[:12]} 不是记录 {oid[:12]} 的派生件（zfjl show {oid[:12]} 列出其派生件）")
    if row.kind != REDACTION:
        raise UsageError(f"--derivative {did[:12]} 是播放副本，未作删减：只能提供删减副本"
                         "（完整复制请经批准后用 zfjl export）")  # fmt: skip
    return row


def _stem(vault: Vault, oid: str) -> str:
    name = camera_name(original_name(vault, oid))
    return Path(name).stem if name else oid[:12]


def _span_text(item: dict[str, Any]) -> str:
    start, end = item.get("from") or 0, item.get("to")
    return f"第 {start:g} 秒至{'结束' if end is None else f'第 {end:g} 秒'}"


def receipt_pdf(
    vault: Vault, done: Disclosure, row: DerivativeRow, *, purpose: str | None
) -> bytes:
    """The receipt (删减副本提供回执), Typst like the other documents (templates/)."""
    from zfjl.render import vault_template_dirs
    from zfjl.render.registers import register_pdf
    from zfjl.vault.settings import user_names

    recorded = derivative_queries.recorded_at(vault, done.source)
    boxes = [{**b, "span": _span_text(b)} for b in row.params.get("boxes") or []]
    mutes = [_span_text(m) for m in row.params.get("mutes") or []]
    method = METHODS.get(row.params.get("method") or "blur", "模糊")
    summary = "、".join(x for x in (f"遮挡 {len(boxes)} 处（{method}）" if boxes else "",
                                    f"静音 {len(mutes)} 段" if mutes else "") if x)  # fmt: skip
    d = {
        **done.as_dict(), "user": vault.actor, "purpose": purpose, "size": row.size,
        "copy_name": done.copy.name, "summary": summary, "boxes": boxes, "mutes": mutes,
        "made_at": row.made_at, "made_by": row.made_by, "ffmpeg": row.tools.get("ffmpeg", ""),
        "original_name": original_name(vault, done.source),
        "recorded_at": recorded,
    }  # fmt: skip
    context = {"d": d, "grant": grant_row(vault, done.grant),
               "actor_name": user_names(vault).get(vault.actor)}  # fmt: skip
    return register_pdf("删减副本提供回执", context, vault_template_dirs(vault),
                        bureau=vault.config.bureau)  # fmt: skip

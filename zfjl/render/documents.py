"""The case documents: a case's data through its document's template, typeset, written out."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import jinja2

from zfjl.cases.doctypes import DOCTYPES
from zfjl.errors import RenderError
from zfjl.render.pdf import compile_html, compile_pdf
from zfjl.render.templates import (
    CASE_PARTS,
    EVIDENCE_LIST,
    TEMPLATES,
    render_cache,
    vault_environment,
)

# Art. 23: a decision missing one of these is refused, with the missing items named.
DECISION_ITEMS = (
    "当事人情况", "事实和证据", "适用依据", "决定内容", "履行方式和期限", "救济途径和期限",
    "印章", "决定日期",
)  # fmt: skip



def _context(case: dict[str, Any], bureau: str, doc: dict[str, Any] | None) -> dict[str, Any]:
    docs = case.get("documents", [])
    by_id = {d["id"]: d for d in docs}
    return {
        "bureau": bureau,
        "case": case,
        "doc": doc,
        "f": (doc or {}).get("fields", {}),
        "by_id": by_id,
        "docs": docs,
        "media": case.get("media", []),
    }


def _check_decision(doc: dict[str, Any]) -> None:
    missing = [item for item in DECISION_ITEMS if not doc.get("fields", {}).get(item)]
    if missing:
        raise RenderError(
            f"决定书 {doc.get('number') or doc['id']} 缺少第二十三条规定的事项：{'、'.join(missing)}，"
            "补全后才能制作"
        )


def render_typst(
    env: jinja2.Environment, template: str, case: dict[str, Any], bureau: str,
    doc: dict[str, Any] | None = None, extra: dict[str, Any] | None = None,
) -> str:  # fmt: skip
    if doc is not None and doc["type"] == "行政处罚决定书":
        _check_decision(doc)
    try:
        tpl = env.get_template(f"{template}.typ.j2")
    except jinja2.TemplateNotFound:
        raise RenderError(
            f"没有文书模板 {template}（可用：{'、'.join([*TEMPLATES, *CASE_PARTS])}）"
        ) from None
    try:
        return tpl.render(**_context(case, bureau, doc), **(extra or {}))
    except jinja2.UndefinedError as exc:
        raise RenderError(f"制作 {template} 缺少数据：{exc.message}") from None
    except jinja2.TemplateError as exc:
        raise RenderError(f"模板 {template} 有误：{exc}") from None



def output_name(case: dict[str, Any], template: str, doc: dict[str, Any] | None) -> str:
    date = ((doc or {}).get("date") or case["opened_at"])[:10]
    return f"{date}_{template}" + (f"_{doc['id']}" if doc else "")


def documents_to_render(
    case: dict[str, Any], doctype: str | None
) -> list[tuple[str, dict[str, Any] | None]]:
    """(template, document) pairs: one doc type, or every document with a template plus the
    case-file parts."""
    if doctype in CASE_PARTS:
        return [(doctype, None)]
    docs = case.get("documents", [])
    if doctype is not None:
        if doctype not in TEMPLATES and doctype not in DOCTYPES:
            raise RenderError(f"未知的文书类型 {doctype}")
        chosen = [d for d in docs if d["type"] == doctype]
        if not chosen:
            raise RenderError(f"案件 {case['case']} 没有 {doctype}")
        return [(doctype, d) for d in chosen]
    pairs: list[tuple[str, dict[str, Any] | None]] = [
        (d["type"], d) for d in docs if d["type"] in TEMPLATES
    ]
    return pairs + [(part, None) for part in CASE_PARTS]


KIND_CN = {"video": "录像", "photo": "照片", "audio": "录音", "other": "电子数据"}


def evidence_items(vault: Any, case: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per recording linked to the case, for the extraction list (提取清单)."""
    from zfjl.errors import NotFoundError
    from zfjl.vault.query import object_digests

    rows: dict[str, dict[str, Any]] = {}
    for link in case.get("media", []):
        oid = link["recording"]
        if oid in rows:
            continue
        found = vault.conn.execute(
            "SELECT size, file_type FROM recordings WHERE id = ?", (oid,)
        ).fetchone()
        try:
            digests = object_digests(vault, oid)
        except NotFoundError:
            raise RenderError(f"案件关联的录音录像 {oid[:12]} 不在保管库中") from None
        rows[oid] = {
            **link, "id": oid, "size": found[0], "format": found[1], **digests,
            "kind_cn": KIND_CN.get(link["kind"], link["kind"]),
        }  # fmt: skip
    return sorted(rows.values(), key=lambda r: (r.get("start") or "", r["id"]))


def render_pairs(
    env: jinja2.Environment,
    case: dict[str, Any],
    bureau: str,
    pairs: list[tuple[str, dict[str, Any] | None]],
    out_dir: Path,
    *,
    formats: tuple[str, ...] = ("pdf",),
    evidence: list[dict[str, Any]] | None = None,
) -> list[Path]:
    """Render (template, document) pairs into out_dir. Touches no database, so a caller may
    run it on another thread (bundles render while they copy)."""
    from zfjl.vault.objects import write_file_atomically

    out_dir.mkdir(parents=True, exist_ok=True)
    extra = {"evidence": evidence or []}
    cache = render_cache(env)
    written: list[Path] = []
    for template, doc in pairs:
        source = render_typst(env, template, case, bureau, doc, extra)
        name = output_name(case, template, doc)
        when = dt.datetime.fromisoformat((doc or {}).get("date") or case["opened_at"])
        if "pdf" in formats:
            pdf = compile_pdf(source, when, cache)
            written.append(write_file_atomically(out_dir / f"{name}.pdf", pdf))
        if "html" in formats:
            html = compile_html(source, f"{template} {case['case']}").encode("utf-8")
            written.append(write_file_atomically(out_dir / f"{name}.html", html))
    return written



def render_case_files(
    vault: Any,
    case: dict[str, Any],
    out_dir: Path,
    *,
    doctype: str | None = None,
    formats: tuple[str, ...] = ("pdf",),
) -> list[Path]:
    """Render a case's documents into out_dir (no journal entry: callers record their own)."""
    pairs = documents_to_render(case, doctype)
    needs_list = any(t == EVIDENCE_LIST for t, _ in pairs)
    return render_pairs(vault_environment(vault), case, vault.config.bureau, pairs,
                        out_dir, formats=formats,
                        evidence=evidence_items(vault, case) if needs_list else None)  # fmt: skip


def render_case(
    vault: Any,
    case_id: str,
    out_dir: Path,
    *,
    doctype: str | None = None,
    formats: tuple[str, ...] = ("pdf",),
) -> list[Path]:
    """Render one document type (or every document and the case-file parts) of a case into
    out_dir; journaled as `case.render` with each file's SHA-256."""
    from zfjl.cases.store import get_case

    written = render_case_files(vault, get_case(vault, case_id), out_dir, doctype=doctype,
                                formats=formats)  # fmt: skip
    vault.record("case.render", f"case:{case_id}", {
        "case": case_id, "doctype": doctype,
        "files": [{"name": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()} for p in written],
    })  # fmt: skip
    return written

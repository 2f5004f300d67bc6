"""The case documents: a case's data through its document's template, typeset, written out."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import jinja2
from jinja2.exceptions import SecurityError

from zfjl.cases.doctypes import DOCTYPES, vault_doctypes
from zfjl.errors import MissingData, RenderError
from zfjl.render.pdf import compile_html, compile_pdf
from zfjl.render.templates import (
    CASE_PARTS,
    EVIDENCE_LIST,
    render_cache,
    template_names,
    unsafe_template,
    vault_environment,
)
from zfjl.vault import events

Pair = tuple[str, dict[str, Any] | None]  # (template, document; None for a case-file part)

# Art. 23: a decision missing one of these is refused, with the missing items named.
DECISION_ITEMS = (
    "当事人情况", "事实和证据", "适用依据", "决定内容", "履行方式和期限", "救济途径和期限",
    "印章", "决定日期",
)  # fmt: skip


@dataclass(frozen=True)
class Skipped:
    """A document `zfjl render CASE` did not make, and why."""

    document: str  # its id in the case ("" for a case-file part)
    type: str
    reason: str  # no_template | missing_data
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"document": self.document, "type": self.type, "reason": self.reason,
                "detail": self.detail}  # fmt: skip


@dataclass(eq=False)
class RenderResult(Sequence[Path]):
    """The files written (the sequence itself, as callers that want only paths use it) and
    the documents skipped."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @overload
    def __getitem__(self, i: int) -> Path: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Path]: ...
    def __getitem__(self, i: int | slice) -> Path | Sequence[Path]:
        return self.files[i]

    def __len__(self) -> int:
        return len(self.files)

    def as_dict(self) -> dict[str, Any]:
        return {"files": [str(p) for p in self.files],
                "skipped": [s.as_dict() for s in self.skipped]}  # fmt: skip


# The closing documents come last in the case file, whatever their dates.
CLOSING_TYPES = ("结案审批表", "归档记录")


def filing_order(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documents as the 卷内文件目录 lists them: by date, the closing ones (结案审批表,
    归档记录) last — a 案源告知记录 made after closing is filed before them."""
    return sorted(docs, key=lambda d: (d["type"] in CLOSING_TYPES,
                                       CLOSING_TYPES.index(d["type"]) if d["type"] in CLOSING_TYPES else 0,
                                       d.get("date") or ""))  # fmt: skip


def _context(case: dict[str, Any], bureau: str, doc: dict[str, Any] | None) -> dict[str, Any]:
    docs = case.get("documents", [])
    by_id = {d["id"]: d for d in docs}
    party_type = (case.get("party") or {}).get("type")
    return {
        "bureau": bureau,
        "you": "你单位" if party_type == "单位" else "你",  # how a notice addresses the party
        "case": case,
        "doc": doc,
        "f": (doc or {}).get("fields", {}),
        "by_id": by_id,
        "docs": docs,
        "filed": filing_order(docs),
        "media": case.get("media", []),
    }


# Art. 44 of the 行政处罚法: a notice that does not state the proposed penalty is not made.
NOTICE_ITEMS = ("拟处罚内容",)


def _check_decision(doc: dict[str, Any]) -> None:
    missing = [item for item in DECISION_ITEMS if not doc.get("fields", {}).get(item)]
    if missing:
        raise MissingData(
            f"决定书 {doc.get('number') or doc['id']} 缺少第二十三条规定的事项：{'、'.join(missing)}，"
            "补全后才能制作"
        )


def _check_notice(doc: dict[str, Any]) -> None:
    missing = [item for item in NOTICE_ITEMS if not doc.get("fields", {}).get(item)]
    if missing:
        raise MissingData(
            f"事先告知书 {doc.get('number') or doc['id']} 未写明{'、'.join(missing)}"
            "（《行政处罚法》第四十四条），补全后才能制作"
        )


def render_typst(
    env: jinja2.Environment, template: str, case: dict[str, Any], bureau: str,
    doc: dict[str, Any] | None = None, extra: dict[str, Any] | None = None,
) -> str:  # fmt: skip
    if doc is not None and doc["type"] == "行政处罚决定书":
        _check_decision(doc)
    if doc is not None and doc["type"] == "行政处罚事先告知书":
        _check_notice(doc)
    try:
        tpl = env.get_template(f"{template}.typ.j2")
    except jinja2.TemplateNotFound:
        available = sorted(template_names(env) - set(CASE_PARTS)) + list(CASE_PARTS)
        raise RenderError(f"没有文书模板 {template}（可用：{'、'.join(available)}）") from None
    try:
        return tpl.render(**_context(case, bureau, doc), **(extra or {}))
    except jinja2.UndefinedError as exc:
        raise MissingData(f"制作 {template} 缺少数据：{exc.message}") from None
    except SecurityError as exc:
        raise RenderError(unsafe_template(template, exc)) from None
    except jinja2.TemplateError as exc:
        raise RenderError(f"模板 {template} 有误：{exc}") from None



def output_name(case: dict[str, Any], template: str, doc: dict[str, Any] | None) -> str:
    date = ((doc or {}).get("date") or case["opened_at"])[:10]
    return f"{date}_{template}" + (f"_{doc['id']}" if doc else "")


def documents_to_render(
    case: dict[str, Any], doctype: str | None, templates: Collection[str],
    doctypes: Mapping[str, str] = DOCTYPES,
) -> list[Pair]:  # fmt: skip
    """(template, document) pairs: one doc type, or every document whose type has a template
    among `templates` (names, as `template_names` gives them) plus the case-file parts."""
    if doctype in CASE_PARTS:
        return [(doctype, None)]
    docs = case.get("documents", [])
    if doctype is not None:
        if doctype not in templates and doctype not in doctypes:
            raise RenderError(f"未知的文书类型 {doctype}")
        chosen = [d for d in docs if d["type"] == doctype]
        if not chosen:
            raise RenderError(f"案件 {case['case']} 没有 {doctype}")
        return [(doctype, d) for d in chosen]
    pairs: list[Pair] = [(d["type"], d) for d in docs if d["type"] in templates]
    return pairs + [(part, None) for part in CASE_PARTS]


def without_template(case: dict[str, Any], templates: Collection[str]) -> list[Skipped]:
    """The case's documents whose type has no template in any template folder."""
    return [
        Skipped(d["id"], d["type"], "no_template",
                f"没有 {d['type']} 的模板（管理员可用 zfjl custom add templates {d['type']}.typ.j2 安装）")
        for d in case.get("documents", []) if d["type"] not in templates
    ]  # fmt: skip


KIND_CN = {"video": "录像", "photo": "照片", "audio": "录音", "other": "电子数据"}


def evidence_items(vault: Any, case: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per recording linked to the case, for the extraction list (提取清单): the link's
    facts (activity, what it proves, maker) and the catalog's (original file name, camera,
    recording time, duration, size, format) and every digest."""
    from zfjl.errors import NotFoundError
    from zfjl.vault.queries.documents import listed_recording
    from zfjl.vault.query import object_digests

    rows: dict[str, dict[str, Any]] = {}
    for link in case.get("media", []):
        oid = link["recording"]
        if oid in rows:
            continue
        found = listed_recording(vault, oid)
        try:
            digests = object_digests(vault, oid)
        except NotFoundError:
            raise RenderError(f"案件关联的录音录像 {oid[:12]} 不在保管库中") from None
        if found is None:  # an object, but not a recording
            raise RenderError(f"案件关联的录音录像 {oid[:12]} 不在保管库中")
        size, file_type, original_name, device, duration, recorded_at, officer = found
        rows[oid] = {
            **link, "id": oid, "size": size, "format": file_type, **digests,
            "original_name": original_name, "device": link.get("device") or device,
            "duration": duration, "start": link.get("start") or recorded_at,
            # the maker the case names, else the officer the recording was issued to
            "maker": link.get("maker") or officer,
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
    skip_incomplete: bool = False,
) -> RenderResult:
    """Render (template, document) pairs into out_dir; with `skip_incomplete`, a document
    lacking data its template needs is skipped (and said so), not an error. Touches no
    database, so a caller may run it on another thread (bundles render while they copy)."""
    from zfjl.vault.objects import write_file_atomically

    out_dir.mkdir(parents=True, exist_ok=True)
    extra = {"evidence": evidence or []}
    cache = render_cache(env)
    result = RenderResult()
    written = result.files
    for template, doc in pairs:
        try:
            source = render_typst(env, template, case, bureau, doc, extra)
        except MissingData as exc:
            if not skip_incomplete:
                raise
            result.skipped.append(Skipped((doc or {}).get("id", ""), template, "missing_data",
                                          exc.message))  # fmt: skip
            continue
        name = output_name(case, template, doc)
        when = dt.datetime.fromisoformat((doc or {}).get("date") or case["opened_at"])
        if "pdf" in formats:
            pdf = compile_pdf(source, when, cache)
            written.append(write_file_atomically(out_dir / f"{name}.pdf", pdf))
        if "html" in formats:
            html = compile_html(source, f"{template} {case['case']}").encode("utf-8")
            written.append(write_file_atomically(out_dir / f"{name}.html", html))
    return result



def render_case_files(
    vault: Any,
    case: dict[str, Any],
    out_dir: Path,
    *,
    doctype: str | None = None,
    formats: tuple[str, ...] = ("pdf",),
) -> RenderResult:
    """Render a case's documents into out_dir (no journal entry: callers record their own):
    one type, or every document with a template in the vault's folders or the shipped ones,
    the others listed as skipped."""
    env = vault_environment(vault)
    names = template_names(env)
    pairs = documents_to_render(case, doctype, names, vault_doctypes(vault))
    needs_list = any(t == EVIDENCE_LIST for t, _ in pairs)
    result = render_pairs(env, case, vault.config.bureau, pairs, out_dir, formats=formats,
                          evidence=evidence_items(vault, case) if needs_list else None,
                          skip_incomplete=doctype is None)  # fmt: skip
    if doctype is None:
        result.skipped[:0] = without_template(case, names)
    return result


def render_case(
    vault: Any,
    case_id: str,
    out_dir: Path,
    *,
    doctype: str | None = None,
    formats: tuple[str, ...] = ("pdf",),
    force: bool = False,
) -> RenderResult:
    """Render one document type (or every document and the case-file parts) of a case into
    out_dir; journaled as `case.render` with each file's SHA-256. A document that exists in
    out_dir already is replaced only with `force` (zfjl.outputs.claim): none is written else."""
    from zfjl import userfs
    from zfjl.cases.store import get_case
    from zfjl.outputs import claim

    files = userfs.current()
    case = get_case(vault, case_id)
    with files.scratch() as work:  # made here, then written to the caller's folder
        made = render_case_files(vault, case, work, doctype=doctype, formats=formats)
        claim((Path(out_dir) / path.name for path in made), force)
        files.make_dirs(out_dir)
        written = RenderResult(skipped=made.skipped)
        digests = []
        for path in made:
            data = path.read_bytes()
            written.files.append(files.write_bytes(Path(out_dir) / path.name, data))
            digests.append({"name": path.name, "sha256": hashlib.sha256(data).hexdigest()})
    vault.record(events.CaseRender(
        case=case_id, doctype=doctype, files=digests,
        skipped=[s.as_dict() for s in written.skipped],
    ), f"case:{case_id}")  # fmt: skip
    return written

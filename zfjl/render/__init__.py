"""`zfjl render`: the standard enforcement documents (执法文书) from Jinja templates.

Templates write Typst markup (`templates/*.typ.j2`); the Typst compiler (PyPI `typst`, with
the system's Noto CJK fonts) turns it into an A4 PDF/A-2b with fonts embedded, or SVG pages
for the HTML preview. Why Typst and not WeasyPrint: docs/render.md.

Templates are data: a bureau overrides one, or adds its own, by putting a file of the same
name in its vault's `templates/` folder. Every value is escaped for Typst; an undefined value
is an error (StrictUndefined), never a silently empty field. What is filled in by hand on
paper is printed as a blank line, explicitly, with the `blank` filter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from zfjl.cases.doctypes import DOCTYPES
from zfjl.errors import RenderError

# The templates shipped with zfjl: one per document type (file name = type).
TEMPLATES = (
    "立案审批表", "询问笔录", "现场检查笔录", "先行登记保存通知书", "责令改正通知书",
    "行政处罚事先告知书", "听证通知书", "行政处罚决定书", "送达回证", "催告书", "结案审批表",
)  # fmt: skip
# Parts of the case file (案卷), rendered from the whole case rather than one document.
EVIDENCE_LIST = "视听资料提取清单"
CASE_PARTS = ("案卷封面", "卷内文件目录", "卷内备考表", EVIDENCE_LIST)

# Art. 23: a decision missing one of these is refused, with the missing items named.
DECISION_ITEMS = (
    "当事人情况", "事实和证据", "适用依据", "决定内容", "履行方式和期限", "救济途径和期限",
    "印章", "决定日期",
)  # fmt: skip

TYPST_SPECIAL = re.compile(r"([\\#$*_`<>@\[\]~/=+\-\"'])")


@dataclass(frozen=True)
class Rendered:
    name: str  # file name without extension: 2024-05-13_行政处罚决定书_d-decision
    typst: str
    pdf: bytes | None = None
    html: str | None = None


def typ_escape(value: Any) -> str:
    """A value as literal Typst text: markup characters are escaped, newlines kept."""
    text = "" if value is None else str(value)
    return TYPST_SPECIAL.sub(r"\\\1", text).replace("\n", " \\\n")


def _finalize(value: Any) -> Any:
    if isinstance(value, Markup):
        return str(value)
    return typ_escape(value)


class Markup(str):
    """Typst markup produced by a filter: inserted as is (not escaped again)."""


def blank(value: Any, width: str = "8em") -> Markup:
    """The value, or a blank line to fill in by hand on paper."""
    if value in (None, "", [], {}):
        return Markup(f"#box(width: {width}, stroke: (bottom: 0.5pt), outset: (bottom: 2pt))[]")
    return Markup(typ_escape(value))


def cn_date(value: Any) -> str:
    """2024-05-13T09:00:00+08:00 → 2024年5月13日 (as official documents write dates)."""
    if not value:
        return ""
    when = (
        dt.datetime.fromisoformat(str(value))
        if "T" in str(value)
        else dt.date.fromisoformat(str(value))
    )
    return f"{when.year}年{when.month}月{when.day}日"


def cn_time(value: Any) -> str:
    if not value:
        return ""
    when = dt.datetime.fromisoformat(str(value))
    return f"{when.year}年{when.month}月{when.day}日{when.hour}时{when.minute:02d}分"


def builtin_template_dirs() -> list[Path]:
    """The shipped templates: inside the wheel (zfjl/templates), or the repository's
    templates/ folder in a development checkout."""
    dirs = []
    packaged = Path(str(resources.files("zfjl"))) / "templates"
    if packaged.is_dir():
        dirs.append(packaged)
    repo = Path(__file__).resolve().parent.parent.parent / "templates"
    if repo.is_dir():
        dirs.append(repo)
    return dirs


def render_cache(env: jinja2.Environment) -> Path | None:
    return env.globals.get("_cache")  # type: ignore[return-value]


def environment(
    override_dirs: list[Path] | None = None, cache: Path | None = None
) -> jinja2.Environment:
    loader = jinja2.FileSystemLoader([*(override_dirs or []), *builtin_template_dirs()])
    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters.update(blank=blank, cn_date=cn_date, cn_time=cn_time, raw=Markup)
    env.globals["_cache"] = cache
    return env


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


def render_report_pdf(
    template: str, context: dict[str, Any], *, bureau: str, when: dt.datetime | None = None
) -> bytes:
    """A register or report that is not a case document (custody log, 销毁清册, 检查台帐,
    通报): the same layout, fonts and PDF/A output as the documents."""
    env = environment()
    try:
        source = env.get_template(f"{template}.typ.j2").render(bureau=bureau, **context)
    except jinja2.TemplateNotFound:
        raise RenderError(f"没有模板 {template}") from None
    except jinja2.UndefinedError as exc:
        raise RenderError(f"制作 {template} 缺少数据：{exc.message}") from None
    return compile_pdf(source, when)


def compile_pdf(source: str, when: dt.datetime | None = None, cache: Path | None = None) -> bytes:
    """Typst → PDF/A-2b, fonts embedded. A fixed timestamp makes the bytes reproducible, and
    so cacheable: the same source and time give the same PDF, kept under `cache` by digest
    (a derived cache, safe to delete: it only saves re-typesetting an unchanged document)."""
    stamp = int((when or dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).timestamp())
    key = hashlib.sha256(f"{stamp}\n{source}".encode()).hexdigest()
    cached = cache / f"{key}.pdf" if cache is not None else None
    if cached is not None and cached.is_file():
        return cached.read_bytes()
    pdf = _typeset(source, stamp)
    if cached is not None:
        from zfjl.vault.objects import write_file_atomically

        cache.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
        write_file_atomically(cached, pdf)
    return pdf


def _typeset(source: str, stamp: int) -> bytes:
    import typst

    try:
        return bytes(typst.compile(source.encode("utf-8"), pdf_standards=["a-2b"], timestamp=stamp))
    except typst.TypstError as exc:
        raise RenderError(f"排版失败：{str(exc).splitlines()[0]}") from None


def compile_html(source: str, title: str) -> str:
    """An HTML preview: each page as SVG, exactly as it will print."""
    import typst

    pages = typst.compile(source.encode("utf-8"), format="svg")
    svgs = pages if isinstance(pages, list) else [pages]
    body = "\n".join(f'<div class="page">{bytes(p).decode("utf-8")}</div>' for p in svgs)
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>body{{background:#888}}.page{{background:#fff;"
        "width:210mm;margin:8mm auto;box-shadow:0 0 4px #000}}.page svg{{width:100%;height:auto}}"
        f"</style></head><body>{body}</body></html>"
    )


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


def vault_environment(vault: Any) -> jinja2.Environment:
    """Templates: the vault's own first, then the shipped ones; PDFs cached in the vault."""
    return environment([vault.root / "templates"], cache=vault.root / "cache" / "render")


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
    from zfjl.vault import events

    vault.record(events.CaseRender(
        case=case_id, doctype=doctype,
        files=[{"name": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()} for p in written],
    ), f"case:{case_id}")  # fmt: skip
    return written

"""Where templates come from: the vault's own `templates/` folder first, then the shipped ones.
A bureau overrides a shipped template, or adds one, by a file of the same name there,
installed by an administrator (`zfjl custom add templates FILE --approval …`, journaled with
its SHA-256): a file there whose bytes were not installed so is not loaded (docs/render.md).
The same folders serve the case documents and the registers.

Templates are code run over attacker input: they render in Jinja's sandbox (no attribute
starting with `_`, no unsafe callables), so even an installed template cannot reach Python."""

from __future__ import annotations

import io
import os
import types
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache
from jinja2.sandbox import SandboxedEnvironment

from zfjl.render.markup import (
    Markup,
    blank,
    cn_date,
    cn_time,
    finalize,
    hms,
    mb,
    refusal_reason,
    sentence,
    typ_string,
)

# Parts of the case file (案卷), rendered from the whole case rather than one document.
EVIDENCE_LIST = "视听资料提取清单"
CASE_PARTS = ("案卷封面", "卷内文件目录", "卷内备考表", EVIDENCE_LIST)
SUFFIX = ".typ.j2"
# Where templates are looked up, first match wins: a folder, or templates already read and
# checked (name → text; a vault's installed ones, see `vault_template_dirs`).
TemplateSource = Path | Mapping[str, str]


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


def vault_template_dirs(vault: Any) -> list[TemplateSource]:
    """Where a vault's templates are looked up, first match wins: the installed templates of
    its `templates/` folder (read and checked against the journal now; any other file there is
    warned about and not loaded), then the shipped ones."""
    from zfjl.vault.custom import trusted_texts

    return [trusted_texts(vault, "templates"), *builtin_template_dirs()]


class TemplateEnvironment(SandboxedEnvironment):
    """Jinja's sandbox, and no attribute of a path, a file or a module either (a template is
    given data only; these would reach the file system). `pdf_cache` is where the PDFs are
    cached: kept here, out of the templates' reach (not a global)."""

    pdf_cache: Path | None = None

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, os.PathLike | io.IOBase | types.ModuleType):
            return False
        return bool(super().is_safe_attribute(obj, attr, value))


def unsafe_template(template: str, exc: Exception) -> str:
    """What a person reads when a template reached for what the sandbox refuses."""
    return (f"模板 {template} 试图访问不允许的内部对象（{exc}），已拒绝：模板只能使用案件数据；"
            "请管理员检查该模板（zfjl custom ls）")


def render_cache(env: jinja2.Environment) -> Path | None:
    return getattr(env, "pdf_cache", None)


def _loader(source: TemplateSource) -> jinja2.BaseLoader:
    if isinstance(source, Path):
        return jinja2.FileSystemLoader(source)
    return jinja2.DictLoader(dict(source))


class _CompiledTemplates(jinja2.BytecodeCache):
    """The code each template compiled to, kept for the process: every render made a new
    environment (its sources are the vault's, read and checked each time) and so parsed and
    compiled every template again, most of a document's rendering time. Jinja keys a template
    by its name and file and checks the SHA-1 of its source, so an edited or installed
    template is compiled anew. Only `template_environment` uses it: every environment it
    makes has the same settings and filters, which the compiled code depends on."""

    def __init__(self) -> None:
        self._code: dict[str, tuple[str, types.CodeType]] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        checksum, code = self._code.get(bucket.key, ("", None))
        if code is not None and checksum == bucket.checksum:
            bucket.code = code

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.code is not None:
            self._code[bucket.key] = (bucket.checksum, bucket.code)


_COMPILED = _CompiledTemplates()


def template_environment(
    dirs: Sequence[TemplateSource], cache: Path | None = None
) -> jinja2.Environment:
    """Templates from exactly these sources, first match wins, in the sandbox."""
    env = TemplateEnvironment(
        bytecode_cache=_COMPILED,
        loader=jinja2.ChoiceLoader([_loader(d) for d in dirs]),
        undefined=jinja2.StrictUndefined,
        finalize=finalize,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters.update(blank=blank, cn_date=cn_date, cn_time=cn_time,
                       hms=hms, mb=mb, raw=Markup, refusal_reason=refusal_reason,
                       sentence=sentence, typst_str=typ_string)  # fmt: skip
    from zfjl.reports.wording import FILTERS as REPORT_FILTERS

    env.filters.update(REPORT_FILTERS)  # how the monthly report reads (zfjl.reports.wording)
    env.pdf_cache = cache
    return env


def environment(
    override_dirs: Sequence[TemplateSource] | None = None, cache: Path | None = None
) -> jinja2.Environment:
    return template_environment([*(override_dirs or []), *builtin_template_dirs()], cache)


def template_names(env: jinja2.Environment) -> set[str]:
    """The templates in the environment's folders, by name without suffix (partials such as
    _base are not templates of their own)."""
    return {n.removesuffix(SUFFIX) for n in env.list_templates()
            if n.endswith(SUFFIX) and not n.startswith("_") and "/" not in n}  # fmt: skip


def vault_environment(vault: Any) -> jinja2.Environment:
    """Templates: the vault's own first, then the shipped ones; PDFs cached in the vault."""
    return template_environment(vault_template_dirs(vault), cache=vault.root / "cache" / "render")

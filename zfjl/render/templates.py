"""Where templates come from: the vault's own `templates/` folder first, then the shipped ones.
A bureau overrides a shipped template, or adds one, by a file of the same name there; the
same folders serve the case documents and the registers."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

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
)

# The templates shipped with zfjl: one per document type (file name = type).
TEMPLATES = (
    "立案审批表", "询问笔录", "现场检查笔录", "先行登记保存通知书", "责令改正通知书",
    "行政处罚事先告知书", "听证通知书", "行政处罚决定书", "送达回证", "催告书", "结案审批表",
)  # fmt: skip
# Parts of the case file (案卷), rendered from the whole case rather than one document.
EVIDENCE_LIST = "视听资料提取清单"
CASE_PARTS = ("案卷封面", "卷内文件目录", "卷内备考表", EVIDENCE_LIST)
SUFFIX = ".typ.j2"


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


def vault_template_dirs(vault: Any) -> list[Path]:
    """The folders a vault's templates are looked up in, first match wins."""
    return [vault.root / "templates", *builtin_template_dirs()]


def render_cache(env: jinja2.Environment) -> Path | None:
    return env.globals.get("_cache")  # type: ignore[return-value]


def template_environment(dirs: list[Path], cache: Path | None = None) -> jinja2.Environment:
    """Templates from exactly these folders, first match wins."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(dirs),
        undefined=jinja2.StrictUndefined,
        finalize=finalize,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters.update(blank=blank, cn_date=cn_date, cn_time=cn_time,
                       hms=hms, mb=mb, raw=Markup, refusal_reason=refusal_reason,
                       sentence=sentence)  # fmt: skip
    from zfjl.reports.wording import FILTERS as REPORT_FILTERS

    env.filters.update(REPORT_FILTERS)  # how the monthly report reads (zfjl.reports.wording)
    env.globals["_cache"] = cache
    return env


def environment(
    override_dirs: list[Path] | None = None, cache: Path | None = None
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

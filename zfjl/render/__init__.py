"""`zfjl render`: the standard enforcement documents (执法文书) from Jinja templates.

Templates write Typst markup (`templates/*.typ.j2`); the Typst compiler (PyPI `typst`, with
the system's Noto CJK fonts) turns it into an A4 PDF/A-2b with fonts embedded, or SVG pages
for the HTML preview. Why Typst and not WeasyPrint: docs/render.md. A bureau overrides a
template, or adds its own, by a file of the same name in its vault's `templates/` folder,
installed by an administrator (`zfjl custom add templates`, zfjl.vault.custom): nothing else
there is loaded. Templates render in Jinja's sandbox; every value is escaped for Typst; an
undefined value is an error (StrictUndefined).

Modules: `templates` (where templates are found), `markup` (escaping, filters), `pdf` (Typst),
`documents` (case documents), `registers` (registers and reports).
"""

from zfjl.errors import RenderError
from zfjl.render.documents import render_case, render_typst
from zfjl.render.registers import (
    custody_log_pdf,
    report_pdf,
    spotcheck_ledger_pdf,
    sweep_register_pdf,
)
from zfjl.render.templates import CASE_PARTS, environment, vault_template_dirs

__all__ = [
    "CASE_PARTS", "RenderError", "custody_log_pdf", "environment", "render_case",
    "render_typst", "report_pdf", "spotcheck_ledger_pdf", "sweep_register_pdf",
    "vault_template_dirs",
]  # fmt: skip

"""`zfjl report` (art. 54): how recording was used and managed in a month, per unit, officer and
device. Modules: `figures` (the numbers, from the catalog's answers), `charts` (SVG), `output`
(CSV, HTML), `html`, `wording`; the PDF is `zfjl.render.registers.report_pdf`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from zfjl.reports.figures import NO_UNIT, build_report
    from zfjl.reports.output import to_csv, to_html

__all__ = ["NO_UNIT", "build_report", "to_csv", "to_html"]


def __getattr__(name: str) -> Any:
    # Re-exported on first use (PEP 562): the templates' filters import `wording` alone, and
    # the figures (which check cases, down to the case store and the bundles that render
    # documents) would make that import a cycle through zfjl.render.
    if name in ("NO_UNIT", "build_report"):
        from zfjl.reports import figures

        return getattr(figures, name)
    if name in ("to_csv", "to_html"):
        from zfjl.reports import output

        return getattr(output, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

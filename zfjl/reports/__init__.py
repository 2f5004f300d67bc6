"""`zfjl report` (art. 54): how recording was used and managed in a month, per unit, officer and
device. Modules: `figures` (the numbers, from the catalog), `charts` (SVG), `output` (CSV,
HTML), `html`; the PDF is `zfjl.render.registers.report_pdf`.
"""

from zfjl.reports.figures import NO_UNIT, build_report
from zfjl.reports.output import to_csv, to_html

__all__ = ["NO_UNIT", "build_report", "to_csv", "to_html"]

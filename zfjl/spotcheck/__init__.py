"""Spot checks (art. 53): draw recordings and case files at random, check them, keep the ledger.

The draw is reproducible by anyone: every candidate is ranked by SHA-256("seed:id") and the
lowest ranks are drawn. The seed, the population sizes and the items drawn are journaled, so
a supervisor can show the draw was not picked by hand. Each item gets a checklist — what art. 16
says a recording must show and the conduct art. 53 names (队容风纪, 文明执法) — and its result
is a journal event; the ledger (检查台帐) is the catalog's view of both.

Modules: `draw`, `checklist` (what an item is checked for), `ledger` (results, the ledger).
"""

from zfjl.spotcheck.checklist import CASE_CHECKLIST, RECORDING_CHECKLIST, RESULTS
from zfjl.spotcheck.draw import draw, draw_from, get_draw, parse_period, population, rank
from zfjl.spotcheck.ledger import ledger, record

__all__ = [
    "CASE_CHECKLIST", "RECORDING_CHECKLIST", "RESULTS", "draw", "draw_from", "get_draw",
    "ledger", "parse_period", "population", "rank", "record",
]  # fmt: skip

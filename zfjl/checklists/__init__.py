"""`zfjl check`: a case against the regulation's rules, stage by stage and article by article.

Modules: `engine` (rule packs, checking one case), `predicates`, `run` (a vault's cases),
`examples`, `regulation`.
"""

from zfjl.checklists.engine import CaseReport, Rule, load_rules
from zfjl.checklists.run import check, check_all, pending_items, vault_context, vault_rules

__all__ = [
    "CaseReport",
    "Rule",
    "check",
    "check_all",
    "load_rules",
    "pending_items",
    "vault_context",
    "vault_rules",
]

"""Access to records (arts. 44, 47): grants, views, exports and the custody log.

Nobody sees or copies a recording without a grant on file (the director's approval, by name
and number). Every view, export and refusal is a journal event on the recording, so the
custody log (`zfjl log`) shows who touched what, when, for what purpose and on whose
authority. The acting user is the operating-system user; roles are journaled facts (`zfjl role`), read from the catalog.

Modules: `grants` (approvals and which one covers an object), `reads` (view, export) and
`custody` (the custody log). Its PDF is made by `zfjl.render.registers`.
"""

from zfjl.access.custody import CustodyLog, custody_log, describe
from zfjl.access.grants import (
    SCOPES,
    add_grant,
    confidential_names,
    covering_grant,
    get_grant,
    list_grants,
    revoke_grant,
)
from zfjl.access.reads import ExportReport, ViewResult, export, view

__all__ = [
    "SCOPES", "CustodyLog", "ExportReport", "ViewResult", "add_grant",
    "confidential_names", "covering_grant", "custody_log", "describe", "export", "get_grant",
    "list_grants", "revoke_grant", "view",
]  # fmt: skip

"""Grants (art. 47): the director's approval, by name and number, to view or copy a record,
and which grant covers a given object (art. 44 for confidential ones)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from zfjl.dates import parse_day
from zfjl.errors import NotFoundError, UsageError
from zfjl.vault import events
from zfjl.vault.queries import access as catalog
from zfjl.vault.queries.cases import cases_relying_on, resolve_target
from zfjl.vault.queries.journal import event_at, grant_revoked_on_record
from zfjl.vault.roles import APPROVING_ROLES
from zfjl.vault.vault import Vault

SCOPES = {"view": "查阅", "copy": "复制"}


def _parse_until(text: str, vault: Vault) -> dt.date:
    until = parse_day(text, "--until")
    if until < vault.now().date():
        raise UsageError(f"--until {until} 已过")
    return until


def add_grant(
    vault: Vault, user: str, target: str, *, scope: str, approved_by: str, approval_no: str,
    until: str, purpose: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    vault.require_role(APPROVING_ROLES, "登记查阅、复制批准")
    if not user.strip() or user != user.strip() or not user.isprintable():
        raise UsageError(f"被批准的用户应为操作系统用户名（不能为空，不含空格），收到 {user!r}")
    if scope not in SCOPES:
        raise UsageError(f"--scope 只能是 view（查阅）或 copy（复制），收到 {scope!r}")
    if not approved_by.strip() or not approval_no.strip():
        raise UsageError("须给出批准人（--approved-by）和批准文号（--approval-no）")
    day = _parse_until(until, vault)
    subject, resolved, kind = resolve_target(vault, target)
    ev = vault.record(events.GrantAdd(
        user=user, target=resolved, target_kind=kind, scope=scope,
        approved_by=approved_by.strip(), approval_no=approval_no.strip(),
        until=day.isoformat(), purpose=purpose,
    ), subject)  # fmt: skip
    return get_grant(vault, f"G-{ev.seq}")


def get_grant(vault: Vault, grant_id: str) -> dict[str, Any]:
    row = catalog.grant_row(vault, grant_id.upper())
    if row is None:
        raise NotFoundError(f"没有批准记录 {grant_id}（用 zfjl grant ls 查看）")
    return dict(row)


def list_grants(
    vault: Vault, user: str | None = None, *, include_inactive: bool = False
) -> list[dict[str, Any]]:
    active_on = None if include_inactive else vault.now().date().isoformat()
    return [dict(g) for g in catalog.grant_rows(vault, user, active_on=active_on)]


def revoke_grant(
    vault: Vault, grant_id: str, reason: str | None, *, approval_no: str | None
) -> dict[str, Any]:
    """Revoking is the director's decision as granting is (docs/access.md): its approval
    number is journaled; without one, a usage error and nothing journaled."""
    if not (approval_no and approval_no.strip()):
        raise UsageError("撤销批准须给出批准文号：--approval-no …（撤销同样须经局长批准，文号记入日志）")
    vault.require_role(APPROVING_ROLES, "撤销批准")
    g = get_grant(vault, grant_id)
    if g["revoked_at"]:
        raise UsageError(f"{g['id']} 已于 {g['revoked_at'][:16]} 撤销")
    subject = f"case:{g['target']}" if g["target_kind"] == "case" else g["target"]
    vault.record(events.GrantRevoke(grant=g["id"], reason=reason,
                                    approval_no=approval_no.strip()), subject)  # fmt: skip
    return get_grant(vault, g["id"])


# -- which grant covers an object ------------------------------------------------------------
def confidential_names(vault: Vault, oid: str) -> set[str] | None:
    """None when the object is not confidential; else the targets a copy grant must name:
    the object itself, or its confidential case when the secrecy is the case's (art. 44)."""
    names, object_marked = {oid}, False
    for case in cases_relying_on(vault, oid):
        if any(m.get("confidential") for m in case.get("media", []) if m.get("recording") == oid):
            object_marked = True
        if case.get("flags", {}).get("confidential"):
            names.add(case["case"])
    if object_marked:
        return {oid}
    return names if len(names) > 1 else None


def linked_before(vault: Vault, case_id: str, oid: str, seq: int) -> bool:
    """Whether the case relied on `oid` (a media link or a document's scan) in a journal row
    before `seq`. A grant on a case is the director's approval of that case's evidence as it
    stood: a recording attached (or named as a scan) afterwards is not covered, or a clerk
    holding one case grant could attach any recording to that case and copy it."""
    return catalog.case_relied_on_before(vault, case_id, oid, seq)


def on_record(vault: Vault, g: dict[str, Any]) -> bool:
    """Whether the journal itself says what this grants row says: a `grant.add` at its seq with
    the same user, target, scope and term, and no `grant.revoke` of it. The grants table is
    derived and, on a bureau's PostgreSQL catalog, writable by every station's working role:
    a row forged or un-revoked there must not authorize anything (docs/security.md)."""
    ev = event_at(vault, int(g["seq"]))
    if ev is None or ev.kind != events.GrantAdd.kind:
        return False
    fields = ("user", "target", "target_kind", "scope", "until")
    if any(ev.data.get(k) != g[k] for k in fields):
        return False
    return not grant_revoked_on_record(vault, str(g["id"]))


def covering_grant(
    vault: Vault, user: str, oid: str, scope: str
) -> tuple[dict[str, Any] | None, str]:
    """The grant that lets `user` do `scope` to `oid`, or None and why not."""
    today = vault.now().date().isoformat()
    case_ids = {c["case"] for c in cases_relying_on(vault, oid)}
    scopes = ("copy",) if scope == "copy" else ("view", "copy")
    on_cases = [g for g in list_grants(vault, user, include_inactive=True)
                if g["target_kind"] == "case" and g["target"] in case_ids]  # fmt: skip
    later = [g for g in on_cases if not linked_before(vault, g["target"], oid, g["seq"])]
    candidates = [
        g for g in list_grants(vault, user, include_inactive=True)
        if g["target"] == oid or (g in on_cases and g not in later)
    ]  # fmt: skip
    active = [g for g in candidates if not g["revoked_at"] and g["until"] >= today]
    fitting = [g for g in active if g["scope"] in scopes and on_record(vault, g)]
    if scope == "copy":
        names = confidential_names(vault, oid)
        if names is not None:
            fitting = [g for g in fitting if g["target"] in names]
            if not fitting:
                return (
                    None,
                    "涉密或个人隐私记录，须有点名该记录（或其涉密案件）的复制批准（第四十四条）",
                )
    if fitting:
        return fitting[-1], ""
    if later and not active:
        return None, (f"该记录在批准 {later[-1]['id']} 登记之后才关联到案件 {later[-1]['target']}，"
                      "不在该批准范围内（第四十七条：须另行批准）")  # fmt: skip
    if active:
        return None, f"现有批准仅限{SCOPES[active[-1]['scope']]}，不含{SCOPES[scope]}"
    if candidates:
        return None, "批准已过期或已撤销"
    return None, f"无{SCOPES[scope]}批准（第四十七条：未经局长批准不得查阅）"


"""Registers and reports that are not case documents — the custody log (保管日志), the
destruction register (销毁清册), the spot-check ledger (检查台帐), the monthly report (通报) —
in the same layout, fonts and PDF/A output as the documents.

Each takes plain data and the template folders to look in (the vault's own first: see
`vault_template_dirs`), so a bureau overrides a register's template as it does a document's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError

from zfjl.errors import RenderError
from zfjl.render.pdf import compile_pdf
from zfjl.render.templates import SUFFIX, TemplateSource, template_environment, unsafe_template


def register_pdf(
    template: str, context: dict[str, Any], templates: list[TemplateSource], *, bureau: str,
    when: dt.datetime | None = None,
) -> bytes:  # fmt: skip
    env = template_environment(templates)
    try:
        source = env.get_template(f"{template}{SUFFIX}").render(bureau=bureau, **context)
    except jinja2.TemplateNotFound:
        raise RenderError(f"没有模板 {template}") from None
    except jinja2.UndefinedError as exc:
        raise RenderError(f"制作 {template} 缺少数据：{exc.message}") from None
    except SecurityError as exc:
        raise RenderError(unsafe_template(template, exc)) from None
    except jinja2.TemplateError as exc:
        raise RenderError(f"模板 {template} 有误：{exc}") from None
    return compile_pdf(source, when)


def custody_log_pdf(
    log: dict[str, Any], templates: list[TemplateSource], *, bureau: str, printed_at: str,
    names: Mapping[str, str] | None = None,
) -> bytes:  # fmt: skip
    """The custody log (`CustodyLog.as_dict()`), for a court: who did each thing is the
    person, 张三 over （zhangsan）, where `names` (login → name, `user_names`) has one."""
    named = names or {}
    entries = [{**e, "name": named.get(e.get("actor") or "")} for e in log["entries"]]
    return register_pdf("保管日志", {"log": {**log, "entries": entries}, "printed_at": printed_at},
                        templates, bureau=bureau)  # fmt: skip


def sweep_register_pdf(plan: dict[str, Any], templates: list[TemplateSource], *, bureau: str) -> bytes:
    """The 销毁清册 of a sweep (`SweepPlan.as_dict()`), or for a dry run the list proposed for
    approval."""
    context = {
        "items": plan["due"], "total_bytes": plan["due_bytes"], "executed": plan["executed"],
        "approval": plan["approval"], "as_of": plan["as_of"],
        "patrol_months": plan["patrol_months"],
    }  # fmt: skip
    return register_pdf("销毁清册", context, templates, bureau=bureau)


def spotcheck_ledger_pdf(
    rows: list[dict[str, Any]], templates: list[TemplateSource], *, bureau: str, unit: str | None,
    period: str | None, printed_at: str,
) -> bytes:  # fmt: skip
    """The 检查台帐: the rows of `spotcheck.ledger`."""
    context = {"rows": rows, "unit": unit, "period": period, "printed_at": printed_at}
    return register_pdf("检查台帐", context, templates, bureau=bureau)


def report_pdf(
    report: dict[str, Any], charts: dict[str, str], templates: list[TemplateSource], *, bureau: str,
    number: str | None = None,
) -> bytes:  # fmt: skip
    """The monthly report (`reports.build_report`) with its charts (SVG texts by name). Its
    文号 is `number` (or the report's own "number"); without one, a line to write it on. It
    closes with the bureau's name, seal and the date it was made (落款)."""
    literals = {k: _typst_string(v) for k, v in charts.items()}
    numbered = {**report, "number": number or report.get("number")}
    return register_pdf("执法记录使用情况通报", {"r": numbered, "charts": literals}, templates,
                        bureau=bureau)  # fmt: skip


def _typst_string(text: str) -> str:
    """A Typst string literal holding `text` (the SVG goes in as bytes("…"))."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

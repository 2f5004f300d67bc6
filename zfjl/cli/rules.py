"""zfjl rules ls|show|doctypes: the check rules, the articles they rest on, document types."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from zfjl.cli.common import JsonOpt, open_vault
from zfjl.cli.output import emit, out

app = typer.Typer(
    name="rules",
    help="检查规则：逐条对应《行政执法全过程记录制度》及相关法律期限。",
    no_args_is_help=True,
    epilog="示例：\n  zfjl rules ls",
)


def _rules() -> list[Any]:
    from zfjl.checklists import vault_rules
    from zfjl.checklists.engine import load_rules
    from zfjl.errors import VaultNotFound

    try:
        return vault_rules(open_vault())
    except VaultNotFound:
        return load_rules()  # no vault yet: the built-in packs


@app.command(
    "ls", help="列出全部检查规则。",
    epilog="示例：\n  zfjl rules ls",
)
def rules_ls_cmd(as_json: JsonOpt = False) -> None:
    rules = _rules()
    emit([{"id": r.id, "article": r.article, "stage": r.stage, "title": r.title,
           "severity": r.severity, "kind": r.kind, "pack": r.pack} for r in rules],
         as_json, _print_rules)  # fmt: skip


def _print_rules(rules: list[dict[str, Any]]) -> None:
    from zfjl.cli.tables import footer, key, table, text

    grid = table(key("规则"), text("条款", ratio=1), text("内容", ratio=2), key("程度"))
    stage = None
    for r in rules:
        if r["stage"] != stage:
            stage = r["stage"]
            grid.add_row(f"[bold]【{stage}】[/]", "", "", "")
        grid.add_row(r["id"], r["article"], r["title"],
                     "违反" if r["severity"] == "error" else "警示")  # fmt: skip
    out.print(grid)
    footer(f"共 {len(rules)} 条（zfjl rules show 规则 查看条文与示例）")


@app.command(
    "show", help="显示一条规则、所依据条文，以及符合与不符合的示例。",
    epilog="示例：\n  zfjl rules show R31-lodged-service",
)
def rules_show_cmd(
    rule_id: Annotated[
        str, typer.Argument(help="规则编号，如 R31-lodged-service。", metavar="规则编号")
    ],
    as_json: JsonOpt = False,
) -> None:
    from zfjl.checklists.engine import find_rule
    from zfjl.checklists.examples import describe_edits
    from zfjl.checklists.regulation import statute_quotes

    rule = find_rule(_rules(), rule_id)
    quotes = statute_quotes(rule)
    text = "\n".join(q["text"] for q in quotes) or None
    ex = rule.examples
    data = {"id": rule.id, "article": rule.article, "basis": rule.basis, "stage": rule.stage,
            "title": rule.title, "when": rule.when, "due": rule.due, "check": rule.check,
            "severity": rule.severity, "message": rule.message, "fix": rule.fix,
            "article_text": text, "quotes": quotes,
            "example_pass": {"case": ex.get("case"), "edits": describe_edits(ex.get("pass", []))},
            "example_fail": {"case": ex.get("case"), "edits": describe_edits(ex.get("fail", []))}}  # fmt: skip
    emit(data, as_json, lambda d: _print_rule(rule, d))


def _print_rule(rule: Any, data: dict[str, Any]) -> None:
    ex = rule.examples
    out.print(f"[bold]{rule.id}[/]  {rule.article}（{rule.stage}）  {rule.title}")
    out.print(f"依据：{rule.basis}", markup=False)
    for q in data["quotes"]:
        out.print(f"条文（{q['source']}）：{q['text']}", markup=False)
    from zfjl.cli.ruletext import check_text, spec_text

    out.print(f"适用：{spec_text(rule.when) or '所有案件'}", markup=False)
    if rule.due:
        out.print(f"何时到期：{spec_text(rule.due)}（未到期的记为待办）", markup=False)
    out.print(f"检查：{check_text(rule.check)}", markup=False)
    out.print(f"不符合时：{rule.message}；整改：{rule.fix}", markup=False)
    if ex:
        out.print(
            f"符合的示例：样例案件 {ex['case']}"
            + "".join(f"\n    {line}" for line in data["example_pass"]["edits"]),
            markup=False,
        )
        out.print(
            f"不符合的示例：样例案件 {ex['case']}"
            + "".join(f"\n    {line}" for line in data["example_fail"]["edits"]),
            markup=False,
        )


@app.command(
    "doctypes", help="列出可用的文书类型（按环节）。",
    epilog="示例：\n  zfjl rules doctypes",
)
def rules_doctypes_cmd(as_json: JsonOpt = False) -> None:
    from zfjl.cases.doctypes import load_doctypes, vault_doctypes
    from zfjl.errors import VaultNotFound

    # The shipped types and the vault's own (its installed doctypes/ files; none without a vault).
    try:
        doctypes = vault_doctypes(open_vault())
    except VaultNotFound:
        doctypes = load_doctypes()
    emit(doctypes, as_json, _print_doctypes)


def _print_doctypes(doctypes: dict[str, str]) -> None:
    from zfjl.cases.doctypes import STAGES

    for stage in STAGES:
        out.print(f"{stage}：{'、'.join(t for t, s in doctypes.items() if s == stage)}")

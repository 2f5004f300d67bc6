"""zfjl check: what a case lacks or did late, stage by stage, rule by rule."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from zfjl.cli.common import JsonOpt, open_vault, parse_day
from zfjl.cli.output import emit, emit_lines, out

app = typer.Typer()

# `zfjl check` exit codes (besides 2 usage, 3 vault, 4 unknown case): see README.
CHECK_EXIT = {"pass": 0, "warnings": 10, "violations": 11}


@app.command(
    "check", help="按制度逐环节、逐条检查案件缺什么、晚了什么。",
    epilog="示例：\n  zfjl check CASE-2024-031\n  zfjl check --all --as-of 2024-09-02",
)
def check_cmd(
    case: Annotated[str | None, typer.Argument(help="案件编号。", metavar="案件编号")] = None,
    all_cases: Annotated[
        bool, typer.Option("--all", help="检查全部未归档案件，输出汇总表。")
    ] = False,
    archived: Annotated[
        bool, typer.Option("--archived", help="与 --all 同用：也检查已归档案件。")
    ] = False,
    withdrawn: Annotated[
        bool, typer.Option("--withdrawn", help="与 --all 同用：也检查已撤销的案件。")
    ] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="以该日期为“今天”判断期限（默认今天）。")
    ] = None,
    show_all: Annotated[
        bool, typer.Option("--verbose", "-v", help="也列出符合与不适用的条目。")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.checklists import check, check_all
    from zfjl.errors import UsageError

    today = parse_day(as_of)
    if all_cases == bool(case):
        raise UsageError("请给出一个案件编号，或使用 --all")
    vault = open_vault()
    if all_cases:
        reports = list(check_all(vault, today=today, include_closed=archived,
                                 include_withdrawn=withdrawn))
        emit_lines(reports, as_json, _print_summary, row=lambda r: r.summary_dict())
        worst = max((CHECK_EXIT[r.verdict] for r in reports), default=0)
        raise typer.Exit(worst)
    report = check(vault, case or "", today=today)
    emit(report, as_json, lambda r: _print_report(r, show_all))
    raise typer.Exit(CHECK_EXIT[report.verdict])


def _print_report(report: Any, show_all: bool) -> None:
    """Every line folds at the terminal's width under its own text (80 columns: a finding's
    title, 应为/实为/整改 and the verdict)."""
    from zfjl.cli.tables import footer, para

    out.print(f"[bold]{report.case}[/] 逐环节检查")
    for stage, findings in report.by_stage().items():
        shown = [f for f in findings if f.status != "pending"
                 and (show_all or f.status not in ("pass", "na"))]  # fmt: skip
        passed = sum(1 for f in findings if f.status == "pass")
        na = sum(1 for f in findings if f.status == "na")
        waiting = sum(1 for f in findings if f.status == "pending")
        mark = (
            "✘"
            if any(f.status == "fail" for f in findings)
            else ("⚠" if any(f.status in ("warn", "unknown") for f in findings) else "✔")
        )
        extra = f"，待办 {waiting}" if waiting else ""
        out.print(f"\n{mark} [bold]{stage}[/]（符合 {passed}{extra}，不适用 {na}）")
        for f in shown:
            status = "无法判断" if f.status == "unknown" else f.symbol
            para(f"{status} ", f"{f.article} {f.title}（{f.rule}）", indent=2)
            if f.status not in ("pass", "na"):
                para("应为：", f.expected)
                para("实为：", f.found)
                para("整改：", f.fix)
    pending = report.pending()
    if pending:
        out.print(f"\n○ [bold]待办[/]（尚未到期，不计为违反）：{len(pending)} 项")
        for f in pending:
            when = f"最迟 {f.due}" if f.due else "进入下一环节或结案前"
            para("○ ", f"{when}  {f.article} {f.title}（{f.rule}）", indent=2)
            para("应为：", f.expected)
            para("现状：", f.found)
    out.print()
    footer(report.verdict_line())


def _print_summary(reports: list[Any]) -> None:
    from zfjl.cases.doctypes import STAGES
    from zfjl.cli.tables import footer, key, table

    # A stage's name as a two-line header (程序 / 启动): five stages fit 80 columns.
    grid = table(key("案件"), *(key(s[:2] + "\n" + s[2:]) for s in STAGES), key("结论"),
                 key("待办"))  # fmt: skip
    verdicts = {"pass": "✔ 符合", "warnings": "⚠ 警示", "violations": "✘ 不符合"}
    for r in reports:
        cells = []
        for findings in r.by_stage().values():
            fails = sum(1 for f in findings if f.status == "fail")
            warns = sum(1 for f in findings if f.status in ("warn", "unknown"))
            cells.append(f"✘{fails}" if fails else (f"⚠{warns}" if warns else "✔"))
        pending = r.pending()
        dated = [f.due for f in pending if f.due]
        waiting = (f"○{len(pending)}" + (f" {min(dated)[5:]}" if dated else "")) if pending else ""
        grid.add_row(r.case, *cells[: len(STAGES)], verdicts[r.verdict], waiting)
    out.print(grid)
    n_fail = sum(1 for r in reports if r.verdict == "violations")
    n_warn = sum(1 for r in reports if r.verdict == "warnings")
    n_pending = sum(1 for r in reports if r.pending())
    dues = [f.due for r in reports for f in r.pending() if f.due]
    first = f"，最早 {min(dues)} 到期" if dues else ""
    footer(
        f"共 {len(reports)} 件：不符合 {n_fail}，有警示 {n_warn}，符合 {len(reports) - n_fail - n_warn}；"
        f"有待办事项 {n_pending} 件{first}（尚未到期，不计为违反；“待办”列为项数和最早到期日）"
    )

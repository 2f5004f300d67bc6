"""zfjl hold add|ls|release: long-term keeping of footage and cases (art. 43)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import typer

from zfjl.cli.common import JsonOpt, open_vault
from zfjl.cli.output import emit, out
from zfjl.cli.verbs import DefaultVerbGroup, OldSpelling


class HoldGroup(DefaultVerbGroup):
    default_verb = OldSpelling(
        "add", "zfjl hold 记录或案件 --reason …", "zfjl hold add 记录或案件 --reason …"
    )
    mode_options: ClassVar[dict[str, OldSpelling]] = {
        "--release": OldSpelling(
            "release", "zfjl hold --release H-… --approval-no …",
            "zfjl hold release H-… --approval-no …", takes_value=True,
        ),
    }  # fmt: skip


app = typer.Typer(
    name="hold",
    cls=HoldGroup,
    no_args_is_help=True,
    help="长期保存（第四十三条）：zfjl hold add 记录或案件 --reason 纠纷|阻碍执法|突发事件|其他；"
    "解除：zfjl hold release H-12 --approval-no 文号；列表：zfjl hold ls。",
    epilog="示例：\n  zfjl hold ls",
)


def _print_hold(h: dict[str, Any]) -> None:
    """One hold, as `hold add` and `hold release` answer."""
    from zfjl.cli import display as d
    from zfjl.retention.holds import REASON_WORDS

    out.print(f"{h['id']}　{_target(h)}　{REASON_WORDS.get(h['reason'], h['reason'])}："
              f"{h['reason_text']}{'；' + d.safe(h['note']) if h['note'] else ''}　"
              f"{d.safe(h['placed_by'])} {d.when(h['placed_at'])}　{_state(h)}",
              markup=False)  # fmt: skip


def _target(h: dict[str, Any]) -> str:
    from zfjl.cli import display as d

    if h["target_kind"] == "case":
        return f"案件 {h['target']}"
    return f"记录 {d.short_id(h['target'])}"


def _state(h: dict[str, Any], cell: bool = False) -> str:
    from zfjl.cli import display as d

    if not h["released_at"]:
        return "有效"
    return ("已解除\n" if cell else "已解除，") + f"{d.day(h['released_at'])}" + (
        "\n" if cell else "，") + d.safe(h["release_approval"])  # fmt: skip


def _print_holds(rows: list[dict[str, Any]]) -> None:
    """The holds as a table that fits 80 columns: the reason by its word, the note folds."""
    from zfjl.cli import display as d
    from zfjl.cli.tables import footer, key, table, text
    from zfjl.retention.holds import REASON_WORDS

    grid = table(key("编号"), key("对象"), key("理由"), text("说明", ratio=1),
                 key("提出人/时间"), key("状态"))  # fmt: skip
    for h in rows:
        grid.add_row(h["id"], _target(h).replace(" ", "\n", 1),
                     REASON_WORDS.get(h["reason"], h["reason"]), d.safe(h["note"] or ""),
                     f"{d.safe(h['placed_by'])}\n{d.when(h['placed_at'])}",
                     _state(h, cell=True))  # fmt: skip
    out.print(grid)
    footer(f"共 {len(rows)} 项（理由：纠纷、阻碍执法、突发事件、其他，见第四十三条）")


@app.command(
    "add", help="长期保存一条记录或一个案件：--reason 纠纷|阻碍执法|突发事件|其他。",
    epilog="示例：\n  zfjl hold add CASE-2024-031 --reason 纠纷 --note 当事人申请行政复议",
)
def hold_add_cmd(
    target: Annotated[
        str, typer.Argument(help="记录编号（前缀）或案件编号。", metavar="记录或案件")
    ],
    reason: Annotated[
        str | None,
        typer.Option(
            help="纠纷（当事人异议、投诉、上访）/ 阻碍执法（逃避、拒绝、阻碍、殴打执法人员）/ "
            "突发事件（群体性事件、突发事件）/ 其他（其他重要情况，须写 --note）；"
            "也可写 dispute / obstruction / incident / other 或条款序号 1-4（必填）。"
        ),
    ] = None,
    note: Annotated[str | None, typer.Option(help="情况说明。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.errors import UsageError
    from zfjl.retention import holds

    if not reason:
        raise UsageError("用法：zfjl hold add 记录或案件 --reason …")
    emit(holds.place_hold(open_vault(), target, reason, note), as_json, _print_hold)


@app.command(
    "ls", help="列出长期保存（默认只列有效的）。",
    epilog="示例：\n  zfjl hold ls --all",
)
def hold_ls_cmd(
    show_all: Annotated[bool, typer.Option("--all", help="含已解除的。")] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.retention import holds

    rows = holds.list_holds(open_vault(), include_released=show_all)
    emit(rows, as_json, lambda r: _print_holds(r) if r else out.print("没有长期保存的记录"))


@app.command(
    "release", help="解除长期保存（须有批准文号）：zfjl hold release H-12 --approval-no 文号。",
    epilog="示例：\n  zfjl hold release H-12 --approval-no 城管〔2024〕9号",
)
def hold_release_cmd(
    hold_id: Annotated[str, typer.Argument(help="长期保存编号（H-…）。", metavar="长期保存编号")],
    approval_no: Annotated[
        str | None, typer.Option("--approval-no", help="解除的批准文号。")
    ] = None,
    note: Annotated[str | None, typer.Option(help="情况说明。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.retention import holds

    emit(holds.release_hold(open_vault(), hold_id, approval_no, note), as_json, _print_hold)

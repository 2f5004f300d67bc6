"""zfjl hold add|ls|release: long-term keeping of footage and cases (art. 43)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import typer

from zfjl.cli.common import JsonOpt, open_vault
from zfjl.cli.output import emit, emit_rows, out
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
    help="长期保存（第四十三条）：zfjl hold add 记录或案件 --reason dispute|obstruction|incident|other；"
    "解除：zfjl hold release H-12 --approval-no 文号；列表：zfjl hold ls。",
)


def _print_hold(h: dict[str, Any]) -> None:
    from zfjl.cli import display as d

    state = (
        f"已解除（{d.when(h['released_at'])}，{h['release_approval']}）"
        if h["released_at"]
        else "有效"
    )
    kind = "案件" if h["target_kind"] == "case" else "记录"
    target = d.short_id(h["target"]) if h["target_kind"] != "case" else h["target"]
    out.print(f"{h['id']}　{kind} {target}　{h['reason_text']}"
              f"{'：' + d.safe(h['note']) if h['note'] else ''}　{d.safe(h['placed_by'])} "
              f"{d.when(h['placed_at'])}　{state}", markup=False)  # fmt: skip


@app.command(
    "add", help="长期保存一条记录或一个案件：--reason dispute|obstruction|incident|other。"
)
def hold_add_cmd(
    target: Annotated[str, typer.Argument(help="记录编号（前缀）或案件编号。")],
    reason: Annotated[
        str | None,
        typer.Option(
            help="dispute 异议投诉上访 / obstruction 阻碍殴打执法人员 / "
            "incident 群体性突发事件 / other 其他重要情况（必填）。"
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


@app.command("ls", help="列出长期保存（默认只列有效的）。")
def hold_ls_cmd(
    show_all: Annotated[bool, typer.Option("--all", help="含已解除的。")] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.retention import holds

    rows = holds.list_holds(open_vault(), include_released=show_all)
    emit_rows(rows, as_json, _print_hold, "没有长期保存的记录")


@app.command(
    "release", help="解除长期保存（须有批准文号）：zfjl hold release H-12 --approval-no 文号。"
)
def hold_release_cmd(
    hold_id: Annotated[str, typer.Argument(help="长期保存编号（H-…）。")],
    approval_no: Annotated[
        str | None, typer.Option("--approval-no", help="解除的批准文号。")
    ] = None,
    note: Annotated[str | None, typer.Option(help="情况说明。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.retention import holds

    emit(holds.release_hold(open_vault(), hold_id, approval_no, note), as_json, _print_hold)

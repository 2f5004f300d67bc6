"""zfjl device add|assign|log|ls|show: the cameras, who carries them, their upkeep (arts. 48, 51, 52)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from zfjl.cli.common import JsonOpt, moment_option, open_vault
from zfjl.cli.output import emit, out

app = typer.Typer(
    name="device",
    help="记录仪登记、配发与维护（第四十八条、第五十一条、第五十二条）。",
    no_args_is_help=True,
    epilog="示例：\n  zfjl device ls",
)


def _print_device(d: dict[str, Any]) -> None:
    """One camera, each value named (what add, assign, log and show answer)."""
    from zfjl.cli.display import safe

    named = "　".join(f"{label}：{safe(d.get(k) or '—')}" for k, label in (
        ("unit", "单位"), ("model", "型号"), ("serial", "序列号"), ("officer", "使用人")))  # fmt: skip
    out.print(f"{safe(d['id'])}（{d['status_text']}）　{named}", markup=False)


@app.command(
    "add", help="登记记录仪（也用于把入库时发现的“未登记”设备补登）。",
    epilog="示例：\n"
    "  zfjl device add DSJ01 --model X6 --serial SN0001 --unit 天元大队 --assigned-to 010002",
)
def device_add_cmd(
    device: Annotated[str, typer.Argument(help="设备编号，如 DSJ01。", metavar="设备编号")],
    model: Annotated[str | None, typer.Option(help="型号。")] = None,
    serial: Annotated[str | None, typer.Option(help="序列号。")] = None,
    unit: Annotated[str | None, typer.Option(help="所属单位（科室、中队）。")] = None,
    assigned_to: Annotated[
        str | None, typer.Option("--assigned-to", help="配发给（执法人员编号，与文件名中一致）。")
    ] = None,
    since: Annotated[str | None, typer.Option(help="配发时间（默认现在）。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import devices

    vault = open_vault()
    d = devices.add_device(vault, device, model=model, serial=serial, unit=unit,
                           assigned_to=assigned_to, since=moment_option(since, "--since", vault))  # fmt: skip
    emit(d, as_json, _print_device)


@app.command(
    "assign", help="改派：自某时起由另一执法人员使用。",
    epilog="示例：\n  zfjl device assign DSJ01 010003 --since 2024-06-01",
)
def device_assign_cmd(
    device: Annotated[str, typer.Argument(help="设备编号。", metavar="设备编号")],
    officer: Annotated[str, typer.Argument(help="执法人员编号。", metavar="执法人员")],
    since: Annotated[str | None, typer.Option(help="起始时间（默认现在）。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import devices

    vault = open_vault()
    d = devices.assign(vault, device.upper(), officer, moment_option(since, "--since", vault))
    emit(d, as_json, _print_device)


@app.command(
    "log", help="维护登记：check 检查 / fault 故障 / repair 维修完毕 / retire 报废。",
    epilog="示例：\n  zfjl device log DSJ01 --event fault --note 无法开机",
)
def device_log_cmd(
    device: Annotated[str, typer.Argument(help="设备编号。", metavar="设备编号")],
    event: Annotated[str, typer.Option("--event", help="check / fault / repair / retire。")],
    note: Annotated[str | None, typer.Option(help="说明（维修须写明维修单位）。")] = None,
    at: Annotated[str | None, typer.Option(help="发生时间（默认现在）。")] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl import devices

    vault = open_vault()
    d = devices.log_event(vault, device.upper(), event, note, moment_option(at, "--at", vault))
    emit(d, as_json, _print_device)


@app.command(
    "ls", help="列出记录仪。",
    epilog="示例：\n  zfjl device ls",
)
def device_ls_cmd(
    unit: Annotated[str | None, typer.Option(help="只列此单位。")] = None, as_json: JsonOpt = False
) -> None:
    from zfjl import devices

    rows = devices.list_devices(open_vault(), unit)
    emit(rows, as_json, lambda r: _print_devices(r) if r else out.print("没有登记的记录仪"))


def _print_devices(rows: list[dict[str, Any]]) -> None:
    """The cameras as a table with a header that fits 80 columns (model and serial fold)."""
    from zfjl.cli import display as d
    from zfjl.cli.tables import footer, key, table, text

    grid = table(key("编号"), key("状态"), text("单位", ratio=2), text("型号", ratio=2),
                 text("序列号", ratio=2), key("使用人"))  # fmt: skip
    for r in rows:
        grid.add_row(d.safe(r["id"]), r["status_text"], d.safe(r.get("unit") or "—"),
                     d.safe(r.get("model") or "—"), d.safe(r.get("serial") or "—"),
                     d.safe(r.get("officer") or "—"))  # fmt: skip
    out.print(grid)
    unregistered = sum(1 for r in rows if not r.get("registered", True))
    footer(f"共 {len(rows)} 台" + (f"，其中未登记 {unregistered} 台（入库时发现，用 zfjl device add "
                                  "补登）" if unregistered else ""))


@app.command(
    "show", help="一台记录仪：配发经过、维护记录、录制件数。",
    epilog="示例：\n  zfjl device show DSJ01",
)
def device_show_cmd(
    device: Annotated[
        str, typer.Argument(help="设备编号。", metavar="设备编号")
    ],
    as_json: JsonOpt = False
) -> None:
    from zfjl import devices

    emit(devices.get_device(open_vault(), device.upper()), as_json, _print_device_history)


def _print_device_history(d: dict[str, Any]) -> None:
    from zfjl import devices

    _print_device(
        {**d, "officer": next((a["officer"] for a in d["assignments"] if not a["until"]), None)}
    )
    from zfjl.cli import display as disp

    for a in d["assignments"]:
        until = disp.when(a["until"]) if a["until"] else "今"
        out.print(f"  配发：{disp.safe(a['officer'])}　{disp.when(a['since'])} 至 {until}",
                  markup=False)  # fmt: skip
    for e in d["log"]:
        out.print(f"  {disp.when(e['at'])}　{devices.EVENTS[e['event']]}　"
                  f"{disp.safe(e['note'] or '')}　{disp.safe(e['actor'])}", markup=False)  # fmt: skip
    out.print(f"  录制件数：{d['recordings']}")

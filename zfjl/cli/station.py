"""The station: `zfjl serve` (the vault service) and `zfjl station setup` (make one, as root)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from zfjl.cli.common import STATE, JsonOpt
from zfjl.cli.output import emit, out

app = typer.Typer()
station_app = typer.Typer(
    name="station", help="站点：把保管库设为服务（以 root 运行）。",
    epilog="示例：\n"
    "  zfjl station setup --bureau 株洲市城市管理和综合执法局 --admin root "
    "--approval 局批〔2024〕1号",
)


@app.command(
    "serve",
    help="以保管库所有者（站点上为服务账户 zfjl）运行保管库服务；站点用户的命令经套接字在此执行。",
    epilog="示例：\n  zfjl serve --socket /run/zfjl/zfjl.sock",
)
def serve_cmd(
    socket_path: Annotated[
        Path, typer.Option("--socket", help="监听的套接字（默认 /run/zfjl/zfjl.sock）。")
    ] = Path("/run/zfjl/zfjl.sock"),
    http: Annotated[str | None, typer.Option(
        "--http", help="同时在本机地址上提供网页（如 127.0.0.1:8470；默认取设置 web.listen）。"
    )] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.cli.app import build_app, main
    from zfjl.cli.output import detect_terminal
    from zfjl.service.server import CommandLine, serve
    from zfjl.vault import resolve_vault_path

    vault = resolve_vault_path(STATE.vault_path)
    web, url = _web_listener(vault, http)

    def ready() -> None:  # one line once listening (for the service log, or a script)
        emit({"vault": str(vault), "socket": str(socket_path), "pid": os.getpid(), "http": url},
             as_json, lambda r: out.print(
                 f"保管库服务已启动：{r['vault']}，监听 {r['socket']}（进程 {r['pid']}）"
                 + (f"，网页 {url}" if url else ""), markup=False))  # fmt: skip
        sys.stdout.flush()

    serve(vault, socket_path, ready=ready, web=web,
          commands=CommandLine(load=build_app, run=main, detect_terminal=detect_terminal))


def _web_listener(vault: Path, http: str | None) -> tuple[Any, str | None]:
    """The review pages' listener when `--http` or the setting `web.listen` asks for one
    (docs/web.md): bound now, its app built once here and inherited by every child."""
    from zfjl.vault import Vault

    with Vault.open(vault) as v:
        section = v.config.extra.get("web", {})
    wanted = http or section.get("listen")
    if not wanted:
        return None, None
    from zfjl.cli import web as web_cli
    from zfjl.service.server import WebListener
    from zfjl.web.app import make_app
    from zfjl.web.http import (
        allowed_hosts,
        bind_http,
        fork_http,
        parse_listen,
        proxy_settings,
        refuse_busy,
    )

    sock, listen = bind_http(parse_listen(wanted))
    hosts = [h for h in section.get("hosts") or [] if isinstance(h, str)]
    app = make_app(vault.resolve(), hosts=allowed_hosts(listen, hosts), **proxy_settings(section))
    web_cli.SERVED_LISTEN[:] = [listen]
    return WebListener(sock, fork=lambda close: fork_http(app, sock, listen, close),
                       refuse=lambda: refuse_busy(sock)), listen.url  # fmt: skip


@station_app.command(
    "setup",
    help="一次完成站点设置：服务账户 zfjl、/var/lib/zfjl、/etc/zfjl、套接字目录、systemd 服务；"
    "可重复运行，已有的不改动。",
    epilog="示例：\n"
    "  zfjl station setup --bureau 株洲市城市管理和综合执法局 --admin root "
    "--approval 局批〔2024〕1号",
)
def station_setup_cmd(
    bureau: Annotated[str, typer.Option("--bureau", help="执法机关全称（印在文书上）。")],
    admin: Annotated[
        list[str] | None, typer.Option("--admin", help="授予管理员角色的系统用户，可多次给出。")
    ] = None,
    approval: Annotated[
        str | None, typer.Option("--approval", help="登记管理员所依据的审批编号。")
    ] = None,
    no_start: Annotated[bool, typer.Option("--no-start", help="只安装，不启动服务。")] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.service.station import StationLayout, setup_station

    report = setup_station(StationLayout(), bureau=bureau, admins=admin or [],
                           approval_no=approval, start=not no_start)  # fmt: skip
    emit(report, as_json, _print_setup)


def _print_setup(report: Any) -> None:
    for item in report.done:
        out.print(f"[green]✔[/] 已创建：{item}", markup=True)
    for item in report.present:
        out.print(f"· 已存在：{item}", markup=False)
    for note in report.notes:
        out.print(f"[yellow]⚠[/] {note}")
    done = "站点设置完成" if report.done else "站点已设置，本次未作改动"
    out.print(f"{done}：站点用户直接运行 zfjl 即经服务使用保管库（无需任何文件权限）")

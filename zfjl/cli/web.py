"""zfjl web: the review pages in a browser (docs/web.md).

Through the service it asks for a one-time login link bound to the caller's UID (the kernel's
answer, SO_PEERCRED) and prints it; in direct mode (a vault of one's own) it serves that vault
itself on 127.0.0.1 until Ctrl-C, printing the link first."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer

from zfjl.cli.common import STATE, JsonOpt, open_vault
from zfjl.cli.output import out

app = typer.Typer()

# Set by `zfjl serve --http` before it forks: where its children's links point.
SERVED_LISTEN: list[object] = []


@app.command(
    "web",
    help="在浏览器中查阅、抽查、核对案件：给出一次性登录链接（60 秒内有效，只能用一次）。"
    "经保管库服务时由服务提供网页；直接使用自己的保管库时在本机 127.0.0.1 上提供，Ctrl-C 结束。",
    epilog="示例：\n  zfjl web\n  zfjl web --print-url",
)
def web_cmd(
    print_url: Annotated[bool, typer.Option("--print-url", help="只打印登录链接，不打开浏览器。")] = False,
    listen: Annotated[str | None, typer.Option(
        "--listen", help="直接使用时监听的地址（默认设置 web.listen，否则 127.0.0.1:8470；0 端口由系统选）。"
    )] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.errors import ServiceError, UsageError
    from zfjl.vault import resolve_vault_path
    from zfjl.vault.actor import served_uid
    from zfjl.vault.web_sessions import LINK_SECONDS, SessionStore

    uid = served_uid()
    if uid is not None:  # in a service child: the service's own listener serves the pages
        if listen is not None:
            raise UsageError("通过保管库服务使用时不能指定 --listen：网页地址由服务决定")
        if not SERVED_LISTEN:
            raise ServiceError("保管库服务未开启网页：请管理员以 zfjl serve --http 127.0.0.1:8470 运行，"
                               "或 zfjl config set web.listen 127.0.0.1:8470 后重启服务")  # fmt: skip
        base = getattr(SERVED_LISTEN[0], "url", "")
        secret = SessionStore(resolve_vault_path(STATE.vault_path)).new_link(uid)
        _show(f"{base}/login?t={secret}", LINK_SECONDS, print_url, as_json)
        return
    _serve_direct(listen, print_url, as_json)


def _show(url: str, seconds: int, print_url: bool, as_json: bool) -> None:
    if as_json:  # one line: in direct mode the command goes on serving after it
        print(json.dumps({"url": url, "expires_in": seconds}, ensure_ascii=False), flush=True)
    elif print_url:
        print(url, flush=True)
    else:
        out.print(f"在浏览器中打开（{seconds} 秒内有效，只能使用一次）：\n{url}", markup=False,
                  soft_wrap=True)
        sys.stdout.flush()


def _serve_direct(listen: str | None, print_url: bool, as_json: bool) -> None:
    from zfjl.vault.web_sessions import LINK_SECONDS, SessionStore
    from zfjl.web.app import make_app
    from zfjl.web.http import DEFAULT_PORT, allowed_hosts, bind_http, parse_listen, serve_direct

    vault = open_vault()  # refuses a vault that is not the caller's (a station's)
    root, section = vault.root, vault.config.extra.get("web", {})
    vault.close()
    wanted = parse_listen(listen or section.get("listen") or f"127.0.0.1:{DEFAULT_PORT}")
    sock, actual = bind_http(wanted)
    hosts = [h for h in section.get("hosts") or [] if isinstance(h, str)]
    web_app = make_app(root, hosts=allowed_hosts(actual, hosts), direct_uid=os.getuid())
    url = f"{actual.url}/login?t={SessionStore(root).new_link(os.getuid())}"
    _show(url, LINK_SECONDS, print_url, as_json)
    if not print_url and not as_json and sys.stdout.isatty():
        from zfjl.web.linkfile import open_link

        open_link(url)  # through a 0600 page: never the secret on a command line
    if not as_json and not print_url:
        out.print("网页服务运行中，按 Ctrl-C 结束。", markup=False)
    try:
        serve_direct(web_app, sock, actual)
    except KeyboardInterrupt:
        if not as_json:
            out.print("网页服务已结束。", markup=False)

"""The root command: --vault and --version, the nouns in order, and `main` (errors, signals).

Errors from the library (`ZfjlError`) are caught once, in `main`, and printed as one Chinese
line on stderr with the exit code documented in README.md.

Library modules are imported inside the commands that use them: `zfjl verify` from cron and
`zfjl ls` should not pay for loading exiftool, ffmpeg and calendar bindings. The noun modules
imported here load only typer, rich's console and this package (tables and the progress bar
are imported where they are drawn).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Annotated, Any

import click
import typer

from zfjl import __version__
from zfjl.cli import (
    access,
    bundle,
    calendar,
    case,
    check,
    checkpoint,
    config,
    device,
    grant,
    helpfmt,
    hold,
    ingest,
    records,
    render,
    report,
    role,
    rules,
    sample,
    spotcheck,
    station,
    sweep,
    topics,
    vault,
)
from zfjl.cli.common import STATE
from zfjl.cli.output import err, out
from zfjl.errors import ZfjlError

helpfmt.install()  # the help and click's usage errors in Chinese, wrapped by display cells

app = typer.Typer(
    help="执法记录（zfjl）：执法音像记录保管库与执法全过程记录合规检查。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

# `zfjl --help` lists the top-level commands, then the nouns with verbs, in this order. A
# module's Typer without a name holds top-level commands: they are registered on the root
# directly (not merged through add_typer, which builds a click group per module at start-up).
for sub in (
    vault.app, ingest.app, records.app, case.attach_app, check.app, render.app, sweep.app,
    access.app, report.app, sample.app,
    case.app, bundle.app, hold.app, grant.app, checkpoint.app, calendar.app, rules.app,
    device.app, spotcheck.app, role.app, config.app, station.app, station.station_app,
):  # fmt: skip
    if sub.info.name:
        app.add_typer(sub)
    else:
        app.registered_commands.extend(sub.registered_commands)
app.registered_commands.extend(topics.app.registered_commands)  # zfjl help [主题|命令]


def _show_version(value: bool) -> None:
    if value:
        out.print(f"zfjl {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    vault: Annotated[
        str | None,
        typer.Option("--vault", help="保管库目录（默认：$ZFJL_VAULT，否则用户数据目录）。"),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", help="显示版本。", callback=_show_version, is_eager=True)
    ] = False,
) -> None:
    STATE.vault_path = vault


# -- entry point ------------------------------------------------------------------------------
def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        rc = app(args=argv, standalone_mode=False, prog_name="zfjl")
    except ZfjlError as exc:
        return _fail(exc.message, exc.exit_code, type(exc).__name__, argv)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:  # usage errors: bad option, missing argument
        return _fail(f"用法错误：{helpfmt.usage_message(exc)}", 2, "UsageError", argv)
    except (KeyboardInterrupt, click.exceptions.Abort):
        return _fail("已中断：已入库的内容完好，重新运行同一命令即可继续", 130, "Interrupted", argv)
    except Exception as exc:  # a bug, not a user mistake: still one line, details on request
        if os.environ.get("ZFJL_DEBUG"):
            raise
        return _fail(
            f"内部错误（{type(exc).__name__}: {exc}）；设置 ZFJL_DEBUG=1 可查看详情并请报告",
            70,
            "InternalError",
            argv,
        )
    return rc if isinstance(rc, int) else 0


def _fail(message: str, code: int, kind: str, argv: list[str] | None) -> int:
    err.print(f"错误：{message}", markup=False, soft_wrap=True)
    if "--json" in (sys.argv if argv is None else argv):
        print(
            json.dumps(
                {"error": {"type": kind, "message": message, "exit_code": code}}, ensure_ascii=False
            )
        )
    return code


def run() -> None:
    sys.exit(main())

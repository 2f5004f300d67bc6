"""The root command: --vault and --version, the commands in order, and `main` (errors, signals).

Errors from the library (`ZfjlError`) are caught once, in `main`, and printed as one Chinese
line on stderr with the exit code documented in README.md.

Start-up is paid on every run (cron, scripts, a clerk's `zfjl check`): `main` loads only the
module of the command it runs (`COMMANDS`), and library modules are imported inside the
commands that use them — `zfjl verify` and `zfjl ls` should not pay for loading exiftool,
ffmpeg and calendar bindings. Tables and the progress bar are imported where they are drawn.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
from collections.abc import Iterable
from typing import Annotated, Any

import click
import typer

from zfjl import __version__
from zfjl.cli import helpfmt
from zfjl.cli.common import STATE
from zfjl.cli.output import err, out
from zfjl.errors import ZfjlError

helpfmt.install()  # the help and click's usage errors in Chinese, wrapped by display cells

# Every command, in `zfjl --help` order, and the module that holds it (`zfjl.cli.<module>`,
# attribute `app` unless named): top-level commands first, then the nouns with verbs. A run
# loads and builds only the command it names — building all 55 click commands from their
# signatures was a third of `zfjl check`'s start-up; `--help` and unknown words get
# them all: a command not listed here does not exist.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("vault", "app"), "verify": ("vault", "app"), "rebuild": ("vault", "app"),
    "sync": ("vault", "app"), "migrate-to-bureau": ("vault", "app"),
    "ingest": ("ingest", "app"), "seal": ("ingest", "app"), "ls": ("records", "app"),
    "show": ("records", "app"), "attach": ("case", "attach_app"),
    "detach": ("case", "attach_app"), "check": ("check", "app"), "render": ("render", "app"),
    "sweep": ("sweep", "app"), "view": ("access", "app"), "export": ("access", "app"),
    "log": ("access", "app"), "redact": ("redact", "app"), "disclose": ("redact", "app"),
    "report": ("report", "app"), "sample": ("sample", "app"),
    "serve": ("station", "app"), "help": ("topics", "app"),
    "case": ("case", "app"), "bundle": ("bundle", "app"), "hold": ("hold", "app"),
    "grant": ("grant", "app"), "checkpoint": ("checkpoint", "app"),
    "calendar": ("calendar", "app"), "rules": ("rules", "app"), "device": ("device", "app"),
    "spotcheck": ("spotcheck", "app"), "role": ("role", "app"), "config": ("config", "app"),
    "station": ("station", "station_app"), "custom": ("custom", "app"), "web": ("web", "app"),
}  # fmt: skip


def _sub_app(place: tuple[str, str]) -> typer.Typer:
    module = importlib.import_module(f"zfjl.cli.{place[0]}")
    sub: typer.Typer = getattr(module, place[1])
    return sub


def _command_name(info: typer.models.CommandInfo) -> str:
    assert info.callback is not None
    return info.name or typer.main.get_command_name(info.callback.__name__)


def build_app(names: Iterable[str] | None = None) -> typer.Typer:
    """The root command with the commands `names` (all of them by default)."""
    root = typer.Typer(
        help="执法记录（zfjl）：执法音像记录保管库与执法全过程记录合规检查。",
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        epilog="示例：\n  zfjl ingest /media/DSJ01\n  zfjl ls --device DSJ01 --from 2024-05-01\n"
        "  zfjl check CASE-2024-031\n  zfjl help 编号",
    )
    root.callback()(_main)
    wanted = list(COMMANDS) if names is None else list(names)
    for name in wanted:
        sub = _sub_app(COMMANDS[name])
        if sub.info.name:
            root.add_typer(sub)
        else:  # a module of top-level commands: register the one named here directly
            root.registered_commands.extend(
                c for c in sub.registered_commands if _command_name(c) == name
            )
    return root


def _named_command(argv: list[str]) -> str | None:
    """The command `argv` runs, if it is one word of COMMANDS after the root's options."""
    args = iter(argv)
    for token in args:
        if token == "--vault":
            next(args, None)
        elif not token.startswith("-"):
            return token if token in COMMANDS else None
        elif not token.startswith("--vault="):
            return None  # --help, --version, or a mistake: the whole root says what to do
    return None


def _show_version(value: bool) -> None:
    if value:
        out.print(f"zfjl {__version__}")
        raise typer.Exit()


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
INTERRUPTED = "已中断：已入库的内容完好，重新运行同一命令即可继续"


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
    err.print(f"提示：{message}", markup=False, soft_wrap=True)


def _warnings_shown() -> None:
    """The library's warnings a person must read (a vault file not loaded: zfjl.vault.custom)
    as one Chinese line on stderr, each once, whatever PYTHONWARNINGS says."""
    import warnings

    from zfjl.vault.custom import UntrustedFileWarning

    warnings.filterwarnings("default", category=UntrustedFileWarning)
    warnings.showwarning = _show_warning


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)
    _warnings_shown()
    args = sys.argv[1:] if argv is None else list(argv)
    named = _named_command(args)
    try:
        with helpfmt.chinese():  # click's words; a command's own code runs as the caller's
            rc = build_app(None if named is None else [named])(
                args=args, standalone_mode=False, prog_name="zfjl"
            )
    except ZfjlError as exc:
        return _fail(exc.message, exc.exit_code, type(exc).__name__, argv)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:  # usage errors: bad option, missing argument
        return _fail(f"用法错误：{helpfmt.usage_message(exc)}", 2, "UsageError", argv)
    except (KeyboardInterrupt, click.exceptions.Abort):
        return _fail(INTERRUPTED, 130, "Interrupted", argv)
    except Exception as exc:  # a bug, not a user mistake: still one line, details on request
        fault = _machine_fault(exc)
        if fault is not None:  # a full disk, a permission: what it means, not "内部错误"
            return _fail(fault.message, fault.exit_code, type(fault).__name__, argv)
        if os.environ.get("ZFJL_DEBUG"):
            raise
        return _fail(
            f"内部错误（{type(exc).__name__}: {exc}）；设置 ZFJL_DEBUG=1 可查看详情并请报告",
            70,
            "InternalError",
            argv,
        )
    if rc == 130:  # typer turns a Ctrl-C it catches into a silent return of 130: say so
        return _fail(INTERRUPTED, 130, "Interrupted", argv)
    return rc if isinstance(rc, int) else 0


def _machine_fault(exc: Exception) -> ZfjlError | None:
    from zfjl.vault import resolve_vault_path
    from zfjl.vault.faults import translate

    return translate(exc, resolve_vault_path(STATE.vault_path))


def _fail(message: str, code: int, kind: str, argv: list[str] | None) -> int:
    from zfjl.oserrors import in_chinese

    message = in_chinese(message)  # "Is a directory" and ffprobe's words, in Chinese
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


def __getattr__(name: str) -> typer.Typer:
    if name == "app":  # the whole command tree, for docs and tests that walk it
        return build_app()
    raise AttributeError(name)

"""Redacted copies and their disclosure (art. 44): zfjl redact, zfjl disclose."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from zfjl.cli.common import JsonOpt, open_vault
from zfjl.cli.output import emit, err, out

app = typer.Typer()


@app.command(
    "redact",
    help="制作删减副本：画面区域按时间段模糊（或马赛克），声音按时间段静音。须有查阅批准，读取原件记入"
    "日志；原始记录不变，副本（H.264/AAC MP4）作为派生件保存，参数与摘要记入日志（zfjl show 可见）。"
    "--faces 只列出人脸建议框，不作删减：逐一核对后用 --box 写入。",
    epilog="示例：\n  zfjl redact 0ad1e9f62b22 --faces\n"
    "  zfjl redact 0ad1e9f62b22 --box 120,80,64,64@3-7.5 --box 400,60,90,90@0:12-0:20 --mute 15-18\n"
    "时间为秒（12.5）或 分:秒（1:02.5），起-止；--box 不写 @起-止 则为全程。",
)
def redact_cmd(
    recording: Annotated[str, typer.Argument(metavar="记录编号", help="记录编号（前缀）。")],
    box: Annotated[list[str] | None, typer.Option(
        "--box", help="遮挡区域 x,y,宽,高@起-止（像素，左上角为原点），可多次。")] = None,
    mute: Annotated[list[str] | None, typer.Option(
        "--mute", help="静音时间段 起-止，可多次。")] = None,
    mosaic: Annotated[bool, typer.Option("--mosaic", help="用马赛克代替模糊。")] = False,
    faces: Annotated[bool, typer.Option(
        "--faces", help="只检测人脸并列出建议的 --box（不作删减，须人工核对）。")] = False,
    purpose: Annotated[str | None, typer.Option(help="用途（如 信息公开、当事人申请）。")] = None,
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    from zfjl.errors import UsageError
    from zfjl.redact import RedactionSpec, parse_box, parse_span, redact

    vault = open_vault()
    if faces:
        if box or mute or mosaic:
            raise UsageError("--faces 只列出人脸建议框，不与 --box、--mute、--mosaic 同用：核对建议后再删减")
        from zfjl.redact.faces import propose_faces

        with _progress("检测人脸", not as_json) as progress:
            report = propose_faces(vault, recording, purpose=purpose, progress=progress)
        emit(report, as_json, _print_faces)
        return
    spec = RedactionSpec(
        boxes=tuple(parse_box(b) for b in box or []),
        mutes=tuple(parse_span(m) for m in mute or []),
        method="mosaic" if mosaic else "blur",
    )
    with _progress("删减", not as_json) as progress:
        made = redact(vault, recording, spec, purpose=purpose, progress=progress)
    emit(made, as_json, lambda d: _print_made(d, spec))


@contextlib.contextmanager
def _progress(what: str, wanted: bool) -> Iterator[Callable[[float], None] | None]:
    """A progress bar on a terminal's stderr (a 10-minute recording takes minutes), gone when
    done; nothing in a pipe or with --json."""
    if not (wanted and err.is_terminal):
        yield None
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

    bar = Progress(f"{what}", BarColumn(bar_width=30), TaskProgressColumn(),
                   TimeRemainingColumn(), console=err, transient=True)  # fmt: skip
    with bar:
        task = bar.add_task(what, total=1.0)
        yield lambda done: bar.update(task, completed=done)


def _print_made(d: Any, spec: Any) -> None:
    from zfjl.cli import display

    out.print(f"已制作删减副本 {d.id[:12]}（{spec.summary()}，{display.size(d.size)}）", markup=False)
    out.print(f"  原件 {d.source[:12]}  SHA-256 {d.source_sha256}", markup=False)
    out.print(f"  副本 {d.id[:12]}  SHA-256 {d.sha256}", markup=False)
    out.print(f"提供给当事人：zfjl disclose {d.source[:12]} --derivative {d.id[:12]} --to 当事人"
              " --approval-no 文号 -o 目录", markup=False)  # fmt: skip


def _print_faces(report: Any) -> None:
    if not report.proposals:
        out.print(f"未检测到人脸（抽查 {report.frames} 帧，每秒 {report.fps:g} 帧）。请仍逐段核对画面。")
        return
    out.print(f"检测到 {len(report.proposals)} 处人脸（抽查 {report.frames} 帧）。建议框须逐一核对，"
              "核对无误后写入 --box：", markup=False)  # fmt: skip
    for p in report.proposals:
        out.print(f"  --box {p.box.as_text()}   （置信度 {p.score:.2f}，{p.detections} 帧）", markup=False)


@app.command(
    "disclose",
    help="向当事人提供删减副本（第四十四条）：须有原始记录的复制批准；先记入日志再复制，"
    "附回执 PDF（提供了什么、给谁、何时、两份摘要、批准文号）和 SHA256SUMS。",
    epilog="示例：\n  zfjl disclose 0ad1e9f62b22 --derivative 7c1f03a9b2e4 --to 张三 "
    "--approval-no 局批〔2024〕12号 -o /media/U盘/提供件",
)
def disclose_cmd(
    recording: Annotated[str, typer.Argument(metavar="记录编号", help="原始记录编号（前缀）。")],
    derivative: Annotated[str, typer.Option("--derivative", help="删减副本编号（前缀），见 zfjl show。")],
    to: Annotated[str, typer.Option("--to", help="接收的当事人（姓名或单位）。")],
    approval_no: Annotated[str, typer.Option("--approval-no", help="本次提供的批准文号。")],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出目录。")],
    purpose: Annotated[str | None, typer.Option(help="用途。")] = None,
    as_json: JsonOpt = False,
) -> None:  # fmt: skip
    from zfjl.redact.disclose import disclose

    report = disclose(open_vault(), recording, derivative, party=to, approval_no=approval_no,
                      dest=output, purpose=purpose)  # fmt: skip
    emit(report, as_json, _print_disclosure)


def _print_disclosure(r: Any) -> None:
    out.print(f"已提供给 {r.party}：{r.copy}", markup=False)
    out.print(f"  SHA-256 {r.sha256}（原件 {r.source[:12]} SHA-256 {r.source_sha256}）", markup=False)
    out.print(f"  回执：{r.receipt}（依据 {r.grant}，批准文号 {r.approval_no}）", markup=False)

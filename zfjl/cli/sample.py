"""zfjl sample: a sample camera card (or the footage of the sample cases), for demos and tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from zfjl.cli.common import JsonOpt
from zfjl.cli.output import emit

app = typer.Typer()


@app.command(
    "sample", help="生成一个示例记录仪存储卡目录（演示与测试用）。",
    epilog="示例：\n  zfjl sample /tmp/DSJ01\n  zfjl sample --cases /tmp/样例",
)
def sample_cmd(
    dest: Annotated[Path, typer.Argument(help="输出目录。", metavar="目录")],
    cases: Annotated[
        bool, typer.Option("--cases", help="改为生成三个样例案件所引用的录像和照片（2024 年）。")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.sample import make_camera_dump, make_case_dump, new_output_folder

    with new_output_folder(dest) as work:  # a new (or empty) folder, whole or not at all
        if cases:
            paths = [dest / p.relative_to(work) for p in make_case_dump(work)]
        else:
            files = make_camera_dump(work, dt.datetime.now().astimezone() - dt.timedelta(hours=3))
    if cases:
        emit([str(p) for p in paths], as_json,
             f"已生成样例案件的录音录像：{dest}（{len(paths)} 个文件）")  # fmt: skip
        return
    emit([f.__dict__ for f in files], as_json, f"已生成示例存储卡：{dest}（{len(files)} 个文件）")

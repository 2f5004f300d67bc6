"""zfjl bundle make|verify: case bundles (BagIt 1.0) anyone can check with bagit.py or sha256sum."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zfjl.cli.common import JsonOpt, open_vault
from zfjl.cli.output import emit, out
from zfjl.cli.verbs import DefaultVerbGroup, OldSpelling


class BundleGroup(DefaultVerbGroup):
    default_verb = OldSpelling(
        "make", "zfjl bundle 案件 --purpose … -o …", "zfjl bundle make 案件 --purpose … -o …"
    )


app = typer.Typer(
    name="bundle",
    cls=BundleGroup,
    no_args_is_help=True,
    help="案件包（BagIt 1.0，任何人可用 bagit.py、sha256sum 校验）："
    "zfjl bundle make CASE --purpose court -o PATH；校验：zfjl bundle verify PATH。",
    epilog="示例：\n  zfjl bundle make CASE-2024-031 --purpose court -o 案件包/",
)

BUNDLE_PROBLEMS = {
    "checksum_mismatch": "校验值不符", "file_missing": "文件缺失", "unexpected_file": "多出文件",
    "not_in_vault": "保管库中没有该原始记录", "vault_mismatch": "与保管库中的原始记录不符",
    "custody_changed": "保管日志被改动", "invalid_bag": "不是合法的 BagIt 包",
    "checkpoint_invalid": "签名检查点无效", "proof_invalid": "保管日志记录的包含证明不成立",
    "not_covered": "保管日志记录晚于检查点（无包含证明，仅提示）",
    "checkpoint_inconsistent": "与留存的检查点不一致（日志被改写）",
    "checkpoint_newer": "留存的检查点晚于案件包（无从证明，仅提示）",
}  # fmt: skip


@app.command(
    "make", help="打包一个案件：zfjl bundle make CASE --purpose court -o PATH。",
    epilog="示例：\n  zfjl bundle make CASE-2024-031 --purpose court -o 案件包.tar",
)
def bundle_make_cmd(
    case: Annotated[str, typer.Argument(help="案件编号。", metavar="案件编号")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="输出目录，或以 .tar 结尾的文件（必填）。"),
    ] = None,
    purpose: Annotated[
        str | None,
        typer.Option(help="court（法院）/ review（法规科审查）/ archive（归档）（必填）。"),
    ] = None,
    approval: Annotated[
        str | None, typer.Option(help="涉密内容的提供批准文号（第四十四条）；无则涉密内容不入包。")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.errors import UsageError

    if output is None or purpose is None:
        raise UsageError("打包须给出 -o PATH 与 --purpose court|review|archive")
    from zfjl.bundle import bundle_case

    report = bundle_case(open_vault(), case, output, purpose=purpose, approval=approval)
    emit(report, as_json, _print_bundle)


def _print_bundle(report: Any) -> None:
    out.print(f"已生成案件包：{report.path}（{report.files} 个文件，{report.bytes / 1e6:.1f} MB）")
    out.print(f"manifest-sha256.txt 的 SHA-256：{report.manifest_sha256}（已记入日志）")
    for w in report.withheld:
        out.print(f"⚠ 未入包：{w['id'][:12]}（{w['reason']}）")


@app.command(
    "verify", help="校验案件包：文件、校验值、保管日志；有保管库时也与原始记录核对。",
    epilog="示例：\n  zfjl bundle verify 案件包.tar --checkpoint 纸面留存.txt",
)
def bundle_verify_cmd(
    path: Annotated[Path, typer.Argument(help="案件包目录或 .tar 文件。", metavar="路径")],
    kept: Annotated[
        Path | None,
        typer.Option("--checkpoint", help="此前留存（如打印在纸上）的检查点文本文件。"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.bundle import verify_bundle
    from zfjl.errors import VaultNotFound

    try:
        vault = open_vault()
    except VaultNotFound:
        vault = None  # a recipient without the vault still checks the bag and the log
    from zfjl import userfs

    kept_text = userfs.current().read_text(kept, "检查点文件") if kept is not None else None
    report = verify_bundle(path, vault, kept_text)
    emit(report, as_json, _print_bundle_check)
    if not report.ok:
        raise typer.Exit(1)


def _print_bundle_check(report: Any) -> None:
    from zfjl.bundle import BUNDLE_WARNINGS

    for f in report.findings:
        detail = f"（应为 {f.expected}，实为 {f.found}）" if f.expected else ""
        out.print(f"✘ {BUNDLE_PROBLEMS.get(f.code, '问题')}：{f.file}{detail}", markup=False)
    if report.anchored_rows is not None:
        out.print(
            f"✔ 与留存的检查点一致：包内 {report.anchored_rows} 条保管记录在其签发时已在日志中，此后未被改动"
        )
    problems = [f for f in report.findings if f.code not in BUNDLE_WARNINGS]
    out.print("✔ 案件包完好" if report.ok else f"✘ 案件包有 {len(problems)} 处问题")

"""zfjl checkpoint make|verify|new-key: signed checkpoints of the journal (for cron and paper)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, ClassVar

import typer

from zfjl.cli.common import JsonOpt, open_vault
from zfjl.cli.output import emit, err, out
from zfjl.cli.verbs import DefaultVerbGroup, OldSpelling


class CheckpointGroup(DefaultVerbGroup):
    # Cron runs bare `zfjl checkpoint` today: it keeps working (with a note on stderr).
    default_verb = OldSpelling("make", "zfjl checkpoint", "zfjl checkpoint make")
    bare_runs_default = True
    mode_options: ClassVar[dict[str, OldSpelling]] = {
        "--verify": OldSpelling(
            "verify", "zfjl checkpoint --verify 文件", "zfjl checkpoint verify 文件",
            takes_value=True,
        ),
        "--new-key": OldSpelling("new-key", "zfjl checkpoint --new-key", "zfjl checkpoint new-key"),
    }  # fmt: skip


app = typer.Typer(
    name="checkpoint",
    cls=CheckpointGroup,
    help="签名检查点：zfjl checkpoint make（供 cron）对日志当前状态签名并记入日志，打印可留存于纸面的文本；"
    "zfjl checkpoint verify 文件：核对留存的检查点与今日日志是否一致。",
    epilog="示例：\n  zfjl checkpoint make -q",
)


@app.command(
    "make", help="对日志当前状态签名并记入日志，打印可留存于纸面的检查点文本（供 cron）。",
    epilog="示例：\n  zfjl checkpoint make > 纸面留存.txt",
)
def checkpoint_make_cmd(
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="不打印检查点文本。")] = False,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault import signer

    result = signer.make_checkpoint(open_vault())
    for problem in result.witness_problems:
        err.print(f"⚠ {problem}", markup=False)
    cp, seq = result.checkpoint, result.seq
    made: dict[str, Any] = {"seq": seq, "size": cp.size, "root": cp.root.hex(), "note": cp.text}
    emit(made, as_json, lambda c: None if quiet else sys.stdout.write(c["note"]))


@app.command(
    "verify", help="核对留存的检查点文本与今日日志是否一致（签名正确、日志前段未被改写）。",
    epilog="示例：\n  zfjl checkpoint verify 纸面留存.txt",
)
def checkpoint_verify_cmd(
    file: Annotated[Path, typer.Argument(help="留存的检查点文本文件。", metavar="文件")],
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault import checkpoint

    vault = open_vault()
    from zfjl import userfs

    text = userfs.current().read_text(file, "检查点文本文件")
    problems = checkpoint.check_external(vault, text)
    emit({"ok": not problems, "problems": [p.__dict__ for p in problems]}, as_json,
         _print_problems)  # fmt: skip
    if problems:
        raise typer.Exit(1)


CHAIN_PROBLEMS = {
    "checkpoint_signature": "检查点签名无效", "checkpoint_mismatch": "检查点与今日日志不一致",
    "checkpoint_unreadable": "检查点无法读取", "row_changed": "日志记录被改动",
    "chain_broken": "日志哈希链断开", "row_missing": "日志记录缺失",
    "trigger_missing": "日志防改触发器缺失", "guards_were_removed": "日志防改措施曾被移除",
}  # fmt: skip


def _print_problems(result: dict[str, Any]) -> None:
    for p in result["problems"]:
        what = CHAIN_PROBLEMS.get(p["code"], "日志问题")
        at = f"（第 {p['seq']} 条）" if p.get("seq") is not None else ""
        out.print(f"✘ {what}{at}：应为 {p['expected']}，实为 {p['found']}", markup=False)
    if result["ok"]:
        out.print("✔ 检查点有效：签名正确，今日日志的前段与之完全一致")


@app.command(
    "new-key", help="更换签名密钥（原密钥遗失或泄露时；仅管理员），此前的检查点仍可校验。",
    epilog="示例：\n  zfjl checkpoint new-key",
)
def checkpoint_new_key_cmd(as_json: JsonOpt = False) -> None:
    from zfjl.vault import signer

    key = signer.new_key(open_vault())
    emit({"vkey": key.vkey}, as_json, lambda k: out.print(f"新公钥：{k['vkey']}", markup=False))


@app.command(
    "restore-state",
    help="签名状态遗失后由管理员凭审批编号重建；日志与每份见证副本一致时才重建，并记入日志。",
    epilog="示例：\n  zfjl checkpoint restore-state --approval-no 株城管〔2026〕15号",
)
def checkpoint_restore_state_cmd(
    approval_no: Annotated[
        str | None, typer.Option("--approval-no", help="批准重建的审批编号（文号）。")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    from zfjl.vault.anchors import restore_state

    restored = restore_state(open_vault(), approval_no)
    emit(restored.as_dict(), as_json, _print_restored)


def _print_restored(r: dict[str, Any]) -> None:
    copies = (
        f"与 {r['witness_copies']} 份见证副本核对一致"
        if r["witness_copies"]
        else "没有见证副本可核对，仅凭日志自身的检查点"
    )
    out.print(f"✔ 签名状态已重建（日志第 {r['seq']} 条）：已签名至 {r['size']} 条，{copies}",
              markup=False)  # fmt: skip

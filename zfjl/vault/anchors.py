"""What the journal is checked against from outside catalog.db: the signer's state file and
the witness copies of each checkpoint.

A clerk with the sqlite3 shell can cut the journal's tail after the last checkpoint, or
delete catalog.db, and every check that reads only catalog.db still passes. So the signer
keeps the size and root it last signed beside its key (`keys/checkpoint.state`, 0600, written
atomically) together with the hash of the journal's first row, and refuses to sign a journal
that does not extend them (RFC 6962 consistency); `verify` compares the journal with the
same state and with the newest witness copy in each `checkpoint.witness_dirs` folder.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zfjl.errors import JournalInconsistent, VaultError
from zfjl.vault import merkle
from zfjl.vault.checkpoint import Checkpoint, journal_keys, latest_checkpoint, leaves
from zfjl.vault.objects import fsync_dir
from zfjl.vault.witness import witness_dirs

if TYPE_CHECKING:
    from zfjl.vault.vault import Vault

STATE_FILE = Path("keys") / "checkpoint.state"
STATE_FORMAT = "zfjl-checkpoint-state"
WITNESS_NAME = re.compile(r"^(\d+)\.txt$")

# (code, subject, expected, found): turned into verify findings by zfjl/vault/verify.py
Outside = tuple[str, str, str, str]


def b64(root: bytes) -> str:
    return base64.b64encode(root).decode()


@dataclass(frozen=True)
class SignerState:
    size: int  # the tree size last signed (0: nothing signed yet)
    root: bytes
    first: str | None  # stored hash of journal row 1 when the state began

    def to_json(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "size": self.size, "root": self.root.hex(),
                "first_row_hash": self.first}  # fmt: skip


# -- the state file ---------------------------------------------------------------------------
def read_state(vault: Vault) -> SignerState | None:
    path = vault.root / STATE_FILE
    try:
        data = json.loads(path.read_text("utf-8"))
        if data.get("format") != STATE_FORMAT:
            raise ValueError(data.get("format"))
        return SignerState(int(data["size"]), bytes.fromhex(data["root"]), data["first_row_hash"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise VaultError(f"签名状态文件 {path} 无法读取：{exc}") from None


def write_state(vault: Vault, state: SignerState) -> None:
    """temp + fsync + rename + fsync of the folder: a crash leaves the old state or the new."""
    path = vault.root / STATE_FILE
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(state.to_json(), indent=2) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def first_row_hash(vault: Vault) -> str | None:
    row = vault.conn.execute("SELECT hash FROM journal WHERE seq = 1").fetchone()
    return None if row is None else str(row[0])


def start_state(vault: Vault) -> None:
    """At key creation (`zfjl init`): nothing signed yet, but the journal's first row known."""
    if not (vault.root / STATE_FILE).exists():
        write_state(vault, SignerState(0, merkle.EMPTY_ROOT, first_row_hash(vault)))


def state_or_bootstrap(vault: Vault) -> SignerState:
    """The state file, or for a vault from before it: its latest checkpoint row, once that
    row's signature is checked against the journaled keys."""
    state = read_state(vault)
    if state is not None:
        return state
    cp = latest_checkpoint(vault)
    if cp is None:
        return SignerState(0, merkle.EMPTY_ROOT, first_row_hash(vault))
    if not any(cp.signed_by(k) for k in journal_keys(vault)):
        raise JournalInconsistent(
            f"日志中最近的检查点（{cp.size} 条）签名无效，不能据以建立签名状态：请先运行 zfjl verify"
        )
    return SignerState(cp.size, cp.root, first_row_hash(vault))


# -- consistency ------------------------------------------------------------------------------
def inconsistency(tree: list[bytes], size: int, root: bytes) -> str | None:
    """Why a journal of leaves `tree` does not extend the tree (size, root), or None: RFC 6962
    2.1.2's consistency proof from `size` to len(tree), checked as RFC 9162 2.1.4.2 does."""
    n = len(tree)
    if n < size:
        return f"日志只有 {n} 条，少于已签名的 {size} 条（尾部被截去）"
    if size == 0:
        return None
    levels = merkle.tree_levels(tree)
    new_root = merkle.root_of(levels)
    proof = merkle.consistency_proof(levels, size, n) if size < n else []
    if merkle.verify_consistency(size, n, root, new_root, proof):
        return None
    head = merkle.subtree_root(levels, 0, size)
    return f"日志前 {size} 条的根应为 {b64(root)}，实为 {b64(head)}（已签名的记录被改写）"


def refuse_unless_extends(vault: Vault, tree: list[bytes]) -> SignerState:
    """Called under the write lock before signing: C2SP tlog-checkpoint, a log MUST NOT sign
    a tree inconsistent with one it signed before."""
    state = state_or_bootstrap(vault)
    first = first_row_hash(vault)
    if state.first is not None and first != state.first:
        raise JournalInconsistent(
            "拒绝签名：日志的第 1 条与签名器记录的不同（catalog.db 被删除或换成了另一份）"
        )
    why = inconsistency(tree, state.size, state.root)
    if why is not None:
        raise JournalInconsistent(
            f"拒绝签名：{why}；上次签名 {state.size} 条，今日日志 {len(tree)} 条"
        )
    return state


def after_signing(vault: Vault, cp: Checkpoint, first: str | None) -> list[str]:
    """Record what was signed, then copy the note to each witness folder. Returns the witness
    folders that could not be written (a warning: the checkpoint itself is journaled)."""
    write_state(vault, SignerState(cp.size, cp.root, first))
    return [p for p in (_write_witness(d, cp) for d in witness_dirs(vault)) if p]


def _write_witness(folder: Path, cp: Checkpoint) -> str | None:
    if not folder.is_dir():  # an unmounted disk: never create the folder on the host's disk
        return f"见证目录 {folder} 不存在（未挂载？），检查点未复制到该处"
    path = folder / f"{cp.size}.txt"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    except FileExistsError:
        return f"见证目录中已有 {path.name}，从不覆盖：检查点未复制到 {folder}"
    except OSError as exc:
        return f"无法写入见证目录 {folder}：{exc.strerror}"
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(cp.text)
        f.flush()
        os.fsync(f.fileno())
    fsync_dir(folder)
    return None


def newest_witness(folder: Path) -> Path | None:
    named = [(int(m.group(1)), p) for p in folder.iterdir() if (m := WITNESS_NAME.match(p.name))]
    return max(named)[1] if named else None


# -- verify -----------------------------------------------------------------------------------
def outside_findings(vault: Vault, tree: list[bytes] | None = None) -> list[Outside]:
    """The journal against the signer's state and each witness folder's newest copy. `tree`:
    the journal's leaf hashes when the caller has walked it already (verify does)."""
    tree = leaves(vault) if tree is None else tree
    out: list[Outside] = []
    try:
        state = read_state(vault)
    except VaultError as exc:
        return [("checkpoint_unreadable", str(STATE_FILE), "可读的签名状态", exc.message)]
    if state is not None:
        out += _against_state(vault, tree, state)
    try:
        folders = witness_dirs(vault)
    except VaultError as exc:
        return [
            *out,
            ("witness_inconsistent", "vault.json", "checkpoint.witness_dirs", exc.message),
        ]
    for folder in folders:
        out += _against_witness(vault, tree, folder)
    return out


def _against_state(vault: Vault, tree: list[bytes], state: SignerState) -> list[Outside]:
    where = str(STATE_FILE)
    if state.first is not None and not tree:
        return [("journal_missing", "catalog.db", f"日志自第 1 条起（已签名 {state.size} 条）",
                 "日志为空：catalog.db 被删除或清空")]  # fmt: skip
    if state.first is not None and first_row_hash(vault) != state.first:
        return [("journal_replaced", "日志 #1", f"第 1 条哈希 {state.first}",
                 f"{first_row_hash(vault)}：catalog.db 被删除后重建或换成另一份")]  # fmt: skip
    return _against(tree, state.size, state.root, where, "journal_inconsistent")


def _against(tree: list[bytes], size: int, root: bytes, where: str, code: str) -> list[Outside]:
    why = inconsistency(tree, size, root)
    if why is None:
        return []
    if len(tree) < size:
        return [
            ("journal_truncated", where, f"至少 {size} 条（根 {b64(root)}）", f"{len(tree)} 条")
        ]
    return [(code, where, f"前 {size} 条的根 {b64(root)}", why)]


def _against_witness(vault: Vault, tree: list[bytes], folder: Path) -> list[Outside]:
    if not folder.is_dir():
        return [("witness_missing", str(folder), "见证目录", "不存在（未挂载？）")]
    newest = newest_witness(folder)
    if newest is None:
        return [("witness_missing", str(folder), "至少一份检查点副本", "目录为空")]
    try:
        cp = Checkpoint.parse(newest.read_text("utf-8"))
    except (OSError, UnicodeError, VaultError) as exc:
        return [("witness_inconsistent", str(newest), "可读的检查点", str(exc)[:120])]
    if not any(cp.signed_by(k) for k in journal_keys(vault)):
        return [("witness_inconsistent", str(newest), "本保管库密钥的有效签名", "签名无效")]
    return _against(tree, cp.size, cp.root, str(newest), "witness_inconsistent")

"""What the journal is checked against from outside catalog.db: the signer's state file and
the witness copies of each checkpoint.

A clerk with the sqlite3 shell can cut the journal's tail after the last checkpoint, or
delete catalog.db, and every check that reads only catalog.db still passes. So the signer
keeps the size and root it last signed beside its key (`keys/checkpoint.state`, 0600, written
atomically) together with the hash of the journal's first row, and refuses to sign a journal
that does not extend them (RFC 6962 consistency), and refuses to sign at all without it once
anything was signed (an administrator restores it: `restore_state`). `verify` compares the
journal with the same state and with every witness copy in each `checkpoint.witness_dirs`
folder, and reports a state that is missing or older than what was signed.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zfjl.errors import JournalInconsistent, UsageError, VaultError
from zfjl.vault import events, merkle
from zfjl.vault.checkpoint import (
    EVENT,
    KEY_EVENT,
    Checkpoint,
    CheckpointWalk,
    PublicKey,
    journal_keys,
    leaves,
)
from zfjl.vault.journal import station_is
from zfjl.vault.objects import fsync_dir
from zfjl.vault.witness import former_witness_dirs, witness_dirs

if TYPE_CHECKING:
    from zfjl.vault.vault import Vault

STATE_FILE = Path("keys") / "checkpoint.state"
STATE_FORMAT = "zfjl-checkpoint-state"
WITNESS_NAME = re.compile(r"^(\d+)\.txt$")
MAX_NOTE_BYTES = 64 * 1024  # a signed note is a few hundred bytes; a witness file is untrusted
RESTORE = "zfjl checkpoint restore-state --approval-no 审批编号"

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


def journal_checkpoint_sizes(vault: Vault) -> list[int]:
    """The size of each checkpoint row this station's signer made that can be read (an
    unreadable one is verify's). Each station of a bureau's vault signs with its own key and
    keeps its own state: another station's newer checkpoint does not make this one's stale."""
    sizes = []
    where, args = station_is(vault.station)
    rows = vault.conn.execute(f"SELECT data FROM journal WHERE kind = ? AND {where}", (EVENT, *args))
    for (data,) in rows:
        try:
            sizes.append(int(json.loads(data)["size"]))
        except (ValueError, KeyError, TypeError):
            continue
    return sizes


def own_key_ids(vault: Vault) -> set[bytes]:
    """The ids of the keys this station journaled (`checkpoint.key` rows of its station)."""
    where, args = station_is(vault.station)
    rows = vault.conn.execute(
        f"SELECT data FROM journal WHERE kind = ? AND {where}", (KEY_EVENT, *args)
    )
    ids = set()
    for (data,) in rows:
        try:
            ids.add(PublicKey.from_vkey(json.loads(data)["vkey"]).key_id)
        except (VaultError, ValueError, KeyError, TypeError, AttributeError):
            continue  # verify's checkpoint_unreadable
    return ids


def anything_signed(vault: Vault) -> bool:
    """Has this log signed before: a checkpoint row in the journal or a copy at a witness?"""
    if journal_checkpoint_sizes(vault):
        return True
    if vault.station is None:
        return any(_holds_copies(d) for d in witness_dirs(vault))
    # A station that joined a bureau's vault: the copies other stations' signers left there
    # are theirs; this signer has signed before only if a copy bears one of its keys.
    mine, keys = own_key_ids(vault), journal_keys(vault)
    return any(any(kid in mine for _, kid, _ in c.signatures)
               for d in witness_dirs(vault) for c in read_witness_folder(d, keys).valid)  # fmt: skip


def _holds_copies(folder: Path) -> bool:
    try:
        return folder.is_dir() and bool(witness_files(folder))
    except OSError:  # unreadable: verify names it; the journal's own rows decide here
        return False


def start_state(vault: Vault) -> None:
    """At key creation (`zfjl init`, `new-key`): nothing signed yet, the journal's first row
    known. Never over a log that signed before: a lost state is restored, not begun again."""
    if not (vault.root / STATE_FILE).exists() and not anything_signed(vault):
        write_state(vault, SignerState(0, merkle.EMPTY_ROOT, first_row_hash(vault)))


def state_or_refuse(vault: Vault) -> SignerState:
    """The state file; an empty state for a log that never signed; else refuse: a signer
    that lost its state must not trust the journal it is asked to sign (an insider who
    rewrote and re-signed it deletes the state exactly so that it would)."""
    state = read_state(vault)
    if state is not None:
        return state
    if anything_signed(vault):
        raise JournalInconsistent(
            f"拒绝签名：签名状态文件 {STATE_FILE} 不存在，而日志中已有检查点（可能被删除以掩盖改写）："
            f"请管理员核实后运行 {RESTORE}，与见证副本核对后重建"
        )
    return SignerState(0, merkle.EMPTY_ROOT, first_row_hash(vault))


# -- consistency ------------------------------------------------------------------------------
class TreeHeads:
    """The tree head (RFC 6962 MTH) of the journal's first `size` leaves, for any size, from
    one build of the tree: each witness copy costs O(log n) hashes, not a tree of its own."""

    def __init__(self, tree: list[bytes]) -> None:
        self.size = len(tree)
        self._levels = merkle.tree_levels(tree)

    def head(self, size: int) -> bytes:
        if not 0 <= size <= self.size:
            raise ValueError(size)
        return merkle.EMPTY_ROOT if size == 0 else merkle.subtree_root(self._levels, 0, size)

    def inconsistency(self, size: int, root: bytes) -> str | None:
        """Why this journal does not extend the signed tree (size, root), or None. With every
        leaf at hand, "extends" is exactly "its first `size` leaves have that root"; RFC 6962
        consistency proofs are what a party holding only the two roots needs."""
        if self.size < size:
            return f"日志只有 {self.size} 条，少于已签名的 {size} 条（尾部被截去）"
        head = self.head(size)
        if head == root:
            return None
        return f"日志前 {size} 条的根应为 {b64(root)}，实为 {b64(head)}（已签名的记录被改写）"


def inconsistency(tree: list[bytes], size: int, root: bytes) -> str | None:
    """Why a journal of leaves `tree` does not extend the tree (size, root), or None."""
    return TreeHeads(tree).inconsistency(size, root)


def refuse_unless_extends(vault: Vault, tree: list[bytes]) -> SignerState:
    """Called under the write lock before signing: C2SP tlog-checkpoint, a log MUST NOT sign
    a tree inconsistent with one it signed before."""
    state = state_or_refuse(vault)
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


def copy_to_witnesses(vault: Vault, cp: Checkpoint) -> list[str]:
    """Copy the signed note to each witness folder. Returns the folders that could not be
    written (a warning: the checkpoint itself is journaled)."""
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


# -- witness copies ---------------------------------------------------------------------------
def witness_files(folder: Path) -> list[Path]:
    """Every `<n>.txt` of a witness folder, by number. All of them count: which one is "the
    newest" is for no file name to decide (a planted 999999.txt would blind the rest)."""
    named = [(int(m.group(1)), p) for p in folder.iterdir() if (m := WITNESS_NAME.match(p.name))]
    return [p for _, p in sorted(named)]


@dataclass(frozen=True)
class WitnessCopy:
    path: Path
    checkpoint: Checkpoint | None  # None: unreadable, or not signed by a journaled key
    problem: str | None  # why it is not a valid copy


def read_witness_copy(path: Path, keys: list[PublicKey], known: frozenset[str]) -> WitnessCopy:
    """One witness file, as attacker input: no symlink, no FIFO, bounded; it must parse, be
    signed by a key the journal holds, and say the size its name says. `known`: notes whose
    signature was checked already (the journal's own, by verify's walk): a copy identical to
    one needs no second Ed25519 verification, which is most of the cost of a copy."""
    try:
        text = _read_note(path)
        cp = Checkpoint.parse(text)
    except (OSError, UnicodeError, VaultError) as exc:
        why = exc.message if isinstance(exc, VaultError) else str(exc)
        return WitnessCopy(path, None, f"无法读取：{why[:120]}")
    if text not in known and not any(cp.signed_by(k) for k in keys):
        return WitnessCopy(path, None, "签名无效（不是本保管库的密钥签发，或内容被改动）")
    m = WITNESS_NAME.match(path.name)
    named = int(m.group(1)) if m else cp.size
    if cp.size != named:
        return WitnessCopy(path, cp, f"文件名为 {named} 条，内容为 {cp.size} 条（被改名）")
    return WitnessCopy(path, cp, None)


def _read_note(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise VaultError("不是普通文件")
        if st.st_size > MAX_NOTE_BYTES:
            raise VaultError(f"{st.st_size} 字节，检查点不超过 {MAX_NOTE_BYTES} 字节")
        chunks, left = [], MAX_NOTE_BYTES
        while left > 0 and (chunk := os.read(fd, left)):
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8")


@dataclass(frozen=True)
class WitnessFolder:
    folder: Path
    copies: tuple[WitnessCopy, ...]
    absent: Outside | None  # the folder missing, unreadable or empty (a warning)

    @property
    def valid(self) -> list[Checkpoint]:
        return [c.checkpoint for c in self.copies if c.problem is None and c.checkpoint]


def read_witness_folder(
    folder: Path, keys: list[PublicKey], known: frozenset[str] = frozenset()
) -> WitnessFolder:
    if not folder.is_dir():
        return WitnessFolder(
            folder, (), ("witness_missing", str(folder), "见证目录", "不存在（未挂载？）")
        )
    try:
        paths = witness_files(folder)
    except OSError as exc:
        missing = ("witness_missing", str(folder), "可读的见证目录", str(exc.strerror))
        return WitnessFolder(folder, (), missing)
    if not paths:
        return WitnessFolder(
            folder, (), ("witness_missing", str(folder), "至少一份检查点副本", "目录为空")
        )
    return WitnessFolder(folder, tuple(read_witness_copy(p, keys, known) for p in paths), None)


def _former_folders(
    vault: Vault, keys: list[PublicKey], known: frozenset[str]
) -> list[WitnessFolder]:
    """Folders dropped from the setting that are still there with copies: checked as the
    others (an absent or empty one is no finding: a witness may be retired)."""
    try:
        former = former_witness_dirs(vault)
    except VaultError:
        return []
    read = (read_witness_folder(f, keys, known) for f in former if _holds_copies(f))
    return [w for w in read if w.absent is None]


def witness_findings(heads: TreeHeads, witness: WitnessFolder) -> list[Outside]:
    """Every copy of one folder: each invalid copy named, and the journal against each valid
    one (a copy larger than the journal is a cut tail or a journal rolled back)."""
    if witness.absent is not None:
        return [witness.absent]
    out: list[Outside] = []
    for copy in witness.copies:
        if copy.problem is not None:
            out.append(
                ("witness_inconsistent", str(copy.path), "本保管库签发的检查点", copy.problem)
            )
        elif copy.checkpoint is not None:
            out += _against(heads, copy.checkpoint, str(copy.path), "witness_inconsistent")
    return out


# -- verify -----------------------------------------------------------------------------------
def outside_findings(
    vault: Vault, tree: list[bytes] | None = None, known: frozenset[str] = frozenset()
) -> list[Outside]:
    """The journal against the signer's state and every copy in each witness folder, and the
    state against the newest checkpoint known. `tree`: the journal's leaf hashes, and `known`
    the checkpoint notes whose signatures were checked, when the caller has walked the
    journal already (verify does)."""
    heads = TreeHeads(leaves(vault) if tree is None else tree)
    keys = journal_keys(vault)
    out: list[Outside] = []
    try:
        folders = witness_dirs(vault)
    except VaultError as exc:
        out.append(("witness_inconsistent", "vault.json", "checkpoint.witness_dirs", exc.message))
        folders = []
    witnesses = [read_witness_folder(f, keys, known) for f in folders]
    for witness in witnesses:
        out += witness_findings(heads, witness)
    for former in _former_folders(vault, keys, known):
        witnesses.append(former)
        out += witness_findings(heads, former)
    try:
        state = read_state(vault)
    except VaultError as exc:
        return [("checkpoint_unreadable", str(STATE_FILE), "可读的签名状态", exc.message), *out]
    mine = own_key_ids(vault)
    copied = (c.size for w in witnesses for c in w.valid
              if any(kid in mine for _, kid, _ in c.signatures))  # fmt: skip
    signed = [*journal_checkpoint_sizes(vault), *copied]
    if state is None:
        if signed:
            out.insert(0, ("signer_state_missing", str(STATE_FILE),
                           f"签名状态（已签名至 {max(signed)} 条）",
                           "不存在（zfjl checkpoint restore-state）"))  # fmt: skip
        return out
    return [*_against_state(vault, heads, state, max(signed, default=0)), *out]


def restores_on_record(vault: Vault) -> list[Outside]:
    """Each restore of the signer's state, for as long as the journal lasts (a warning): from
    then on the state vouches for no more than the journal and the copies checked did."""
    rows = vault.conn.execute(
        "SELECT seq, ts, actor, data FROM journal WHERE kind = ? ORDER BY seq",
        (events.CheckpointStateRestored.kind,),
    )
    out: list[Outside] = []
    for seq, ts, actor, data in rows:
        try:
            d = events.CheckpointStateRestored.from_payload(json.loads(data))
        except (VaultError, ValueError):
            continue  # verify's event_malformed names it
        basis = (
            f"与 {d.witness_copies} 份见证副本核对" if d.witness_copies else "无见证副本，仅凭日志"
        )
        out.append(("signer_state_restored", f"日志 #{seq}", "签名状态从未遗失",
                    f"{ts[:19]} 由 {actor} 重建至 {d.size} 条（{d.approval_no}，{basis}）"))  # fmt: skip
    return out


def _against_state(
    vault: Vault, heads: TreeHeads, state: SignerState, newest: int
) -> list[Outside]:
    where = str(STATE_FILE)
    if state.first is not None and not heads.size:
        return [("journal_missing", "catalog.db", f"日志自第 1 条起（已签名 {state.size} 条）",
                 "日志为空：catalog.db 被删除或清空")]  # fmt: skip
    if state.first is not None and first_row_hash(vault) != state.first:
        return [("journal_replaced", "日志 #1", f"第 1 条哈希 {state.first}",
                 f"{first_row_hash(vault)}：catalog.db 被删除后重建或换成另一份")]  # fmt: skip
    out: list[Outside] = []
    if state.size < newest:
        out.append(("signer_state_stale", where, f"至少 {newest} 条（日志或见证目录中最新的检查点）",
                    f"{state.size} 条：签名状态被回退或换成了旧的"))  # fmt: skip
    signed = Checkpoint("", state.size, state.root, (), ())
    return [*out, *_against(heads, signed, where, "journal_inconsistent")]


def _against(heads: TreeHeads, cp: Checkpoint, where: str, code: str) -> list[Outside]:
    if heads.size < cp.size:
        return [("journal_truncated", where, f"至少 {cp.size} 条（根 {b64(cp.root)}）",
                 f"{heads.size} 条")]  # fmt: skip
    head = heads.head(cp.size)
    if head == cp.root:
        return []
    return [(code, where, f"前 {cp.size} 条的根 {b64(cp.root)}",
             f"{b64(head)}（已签名的记录被改写）")]  # fmt: skip


# -- restoring a lost state ---------------------------------------------------------------------
@dataclass(frozen=True)
class Restored:
    size: int
    root: bytes
    witness_copies: int
    seq: int

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "size": self.size, "root": self.root.hex(),
                "witness_copies": self.witness_copies}  # fmt: skip


def restore_state(vault: Vault, approval_no: str | None) -> Restored:
    """An administrator, with an approval, rebuilds a lost signer state: only when the journal
    checks out on its own (chain, every checkpoint row) and every copy in every witness folder
    is valid and agrees with it; the state then says the newest of those was last signed. A
    rewritten journal is inconsistent with the older copies, so it is refused here."""
    vault.require_role({"admin"}, "重建检查点签名状态")
    approval = (approval_no or "").strip()
    if not approval:
        raise UsageError(f"重建签名状态须写明审批编号（{RESTORE}）")
    with vault.writing() as w:
        unreadable = _state_is_unreadable(vault)
        walk = _journal_checked_alone(vault)
        heads = TreeHeads(walk.leaves)
        keys = journal_keys(vault)
        copies = _witnesses_agreeing(heads, witness_dirs(vault), keys, walk.notes)
        copies += _former_agreeing(heads, _former_folders(vault, keys, walk.notes))
        set_aside = _set_aside(vault) if unreadable else None
        size = max([*journal_checkpoint_sizes(vault), *(c.size for c in copies)], default=0)
        root = heads.head(size)
        ev = w.append(events.CheckpointStateRestored(
            approval_no=approval, size=size, root=root.hex(), witness_copies=len(copies),
            set_aside=set_aside), None)  # fmt: skip
        write_state(vault, SignerState(size, root, first_row_hash(vault)))
    return Restored(size, root, len(copies), ev.seq)


def _state_is_unreadable(vault: Vault) -> bool:
    """False when there is no state; refused when there is a good one (nothing to restore)."""
    try:
        state = read_state(vault)
    except VaultError:
        return True
    if state is not None:
        raise UsageError(f"签名状态文件 {STATE_FILE} 完好，无需重建")
    return False


def _set_aside(vault: Vault) -> str:
    """An unreadable state is kept (renamed), never deleted: it may be evidence."""
    path = vault.root / STATE_FILE
    aside = path.with_name(f"{path.name}.unreadable-{vault.now():%Y%m%d%H%M%S}")
    path.rename(aside)
    return aside.name


def _journal_checked_alone(vault: Vault) -> CheckpointWalk:
    from zfjl.vault.journal import check_chain

    walk = CheckpointWalk()
    chain = check_chain(vault.conn, walk.feed)
    bad = [p for p in [*chain, *walk.problems] if p.code != "guards_were_removed"]
    if bad:
        p = bad[0]
        at = f"第 {p.seq} 条，" if p.seq is not None else ""
        raise JournalInconsistent(
            f"拒绝重建签名状态：日志本身校验不通过（{p.code}，{at}应为 {p.expected}，实为 {p.found}）；"
            "请运行 zfjl verify"
        )
    return walk


def _former_agreeing(heads: TreeHeads, former: list[WitnessFolder]) -> list[Checkpoint]:
    for witness in former:
        _refuse_unless_agreeing(heads, witness)
    return [c for w in former for c in w.valid]


def _witnesses_agreeing(
    heads: TreeHeads, folders: list[Path], keys: list[PublicKey], known: frozenset[str]
) -> list[Checkpoint]:
    copies = []
    for folder in folders:
        witness = read_witness_folder(folder, keys, known)
        if not folder.is_dir():
            raise JournalInconsistent(
                f"拒绝重建签名状态：见证目录 {folder} 不存在（未挂载？）：须与每个见证目录核对"
            )
        _refuse_unless_agreeing(heads, witness)
        copies += witness.valid
    return copies


def _refuse_unless_agreeing(heads: TreeHeads, witness: WitnessFolder) -> None:
    bad = [f for f in witness_findings(heads, witness) if f[0] != "witness_missing"]
    if bad:
        _, where, _, found = bad[0]
        raise JournalInconsistent(
            f"拒绝重建签名状态：见证副本 {where} 与日志不符（{found}），共 {len(bad)} 处"
            "；日志可能已被改写，请运行 zfjl verify"
        )

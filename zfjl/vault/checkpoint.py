"""Signed checkpoints of the journal (C2SP tlog-checkpoint, signed-note format, Ed25519).

A checkpoint states "the journal's first N rows have Merkle root R", signed with the vault's
key. It is appended to the journal itself (kind `journal.checkpoint`), so later checkpoints
cover earlier ones, and it prints as a short text block that can be kept on paper or sent to
someone outside the bureau. Whoever holds a printed checkpoint can later prove that the
journal still begins with exactly those N rows; a bundle carries one, with the inclusion
proof of each of its custody events.

Here the format, the journaled public keys, the tree over the journal and the checks; making
keys and signing is `zfjl.vault.signer` (above this module and `anchors`, which both use).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zfjl.errors import VaultError
from zfjl.vault import events, merkle
from zfjl.vault.journal import ChainProblem, row_hash

if TYPE_CHECKING:

    from zfjl.vault.vault import Vault

# cryptography is imported where a key is used: it costs ~20 ms of every command's start-up,
# and most commands (ls, check, verify of a vault without checkpoints) never sign or verify.

EVENT = events.JournalCheckpoint.kind
KEY_EVENT = events.CheckpointKey.kind
ED25519_TYPE = b"\x01"  # the signature-type byte of an Ed25519 key in signed notes
SIG_PREFIX = "\u2014 "  # an em dash and a space open each signature line of a signed note


@dataclass(frozen=True)
class PublicKey:
    name: str
    key: bytes  # 32 raw bytes

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(self.name.encode() + b"\n\x01" + self.key).digest()[:4]

    @property
    def vkey(self) -> str:
        """The verifier key string of the signed-note format: name+keyid+base64(type||key)."""
        encoded = base64.b64encode(ED25519_TYPE + self.key).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @classmethod
    def from_vkey(cls, text: str) -> PublicKey:
        try:
            name, key_id, b64 = text.strip().split("+", 2)  # base64 may hold "+"
            raw = base64.b64decode(b64, validate=True)
        except ValueError:
            raise VaultError(f"公钥格式不正确：{text[:60]!r}") from None
        if len(raw) != 33 or raw[0] != 1:
            raise VaultError("公钥不是 Ed25519 公钥")
        pk = cls(name, raw[1:])
        if pk.key_id.hex() != key_id:
            raise VaultError("公钥的密钥标识与公钥不符")
        return pk

    def verify(self, message: bytes, signature: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            Ed25519PublicKey.from_public_bytes(self.key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...]
    signatures: tuple[tuple[str, bytes, bytes], ...]  # (key name, key id, signature)

    @property
    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @property
    def text(self) -> str:
        sigs = "".join(
            f"{SIG_PREFIX}{name} {base64.b64encode(kid + sig).decode()}\n"
            for name, kid, sig in self.signatures
        )
        return f"{self.body}\n{sigs}"

    def signed_by(self, key: PublicKey) -> bool:
        return any(
            name == key.name and kid == key.key_id and key.verify(self.body.encode(), sig)
            for name, kid, sig in self.signatures
        )

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        body, sep, sig_block = text.partition("\n\n")
        lines = body.split("\n")
        if not sep or len(lines) < 3:
            raise VaultError("检查点格式不正确：应为 来源、条数、根哈希 三行，空行后接签名行")
        try:
            size = int(lines[1])
            root = base64.b64decode(lines[2], validate=True)
        except ValueError:
            raise VaultError("检查点格式不正确：条数或根哈希无法读取") from None
        signatures = []
        for line in sig_block.splitlines():
            if not line.startswith(SIG_PREFIX):
                continue
            name, _, b64 = line[len(SIG_PREFIX) :].rpartition(" ")
            try:
                raw = base64.b64decode(b64, validate=True)
            except ValueError:
                raise VaultError("检查点签名行无法读取") from None
            signatures.append((name, raw[:4], raw[4:]))
        return cls(lines[0], size, root, tuple(lines[3:]), tuple(signatures))


# -- keys -------------------------------------------------------------------------------------
def journal_keys(vault: Vault) -> list[PublicKey]:
    """The journaled public keys; a row that cannot be read is skipped here (it is verify's
    `checkpoint_unreadable`), so a tampered key row hides no other finding."""
    rows = vault.conn.execute("SELECT data FROM journal WHERE kind = ? ORDER BY seq", (KEY_EVENT,))
    keys = []
    for (data,) in rows:
        try:
            keys.append(PublicKey.from_vkey(json.loads(data)["vkey"]))
        except (VaultError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return keys


# -- the tree over the journal --------------------------------------------------------------
ROW_COLUMNS = "seq, ts, actor, kind, subject, data, prev_hash, station"


def row_leaf(row: tuple[Any, ...]) -> bytes:
    """Leaf of one journal row: its chain hash recomputed from the row's own columns, so an
    edited column changes the leaf even when the stored hash was left alone."""
    seq, ts, actor, kind, subject, data, prev, station = row[:8]
    digest = row_hash(prev, seq, ts, actor, kind, subject, data, station)
    return merkle.leaf_hash(bytes.fromhex(digest))


def leaves(vault: Vault, upto: int | None = None) -> list[bytes]:
    sql = f"SELECT {ROW_COLUMNS} FROM journal ORDER BY seq"
    args: tuple[Any, ...] = ()
    if upto is not None:
        sql = f"SELECT {ROW_COLUMNS} FROM journal WHERE seq <= ? ORDER BY seq"
        args = (upto,)
    return [row_leaf(r) for r in vault.conn.execute(sql, args)]


def checkpoint_sizes(vault: Vault) -> list[int]:
    rows = vault.conn.execute("SELECT data FROM journal WHERE kind = ? ORDER BY seq", (EVENT,))
    return [int(json.loads(r[0])["size"]) for r in rows]


def latest_checkpoint(vault: Vault) -> Checkpoint | None:
    row = vault.conn.execute(
        "SELECT data FROM journal WHERE kind = ? ORDER BY seq DESC LIMIT 1", (EVENT,)
    ).fetchone()
    if row is None:
        return None
    return Checkpoint.parse(json.loads(row[0])["note"])


class CheckpointWalk:
    """Fed every journal row once, in order, with its chain hash recomputed from its columns
    (by `journal.check_chain`, so verify hashes each row once): each checkpoint row must be
    signed by a key journaled before it, and its root must be the tree head of the rows before
    it. A compact range gives that head at every size in one pass."""

    def __init__(self) -> None:
        self.keys: dict[bytes, PublicKey] = {}
        self.stations: dict[bytes, str | None] = {}  # the station that journaled each key
        self.tree = merkle.CompactRange()
        self.leaves: list[bytes] = []  # every leaf hash, for the checks against outside copies
        self.problems: list[ChainProblem] = []
        self._notes: set[str] = set()  # checkpoint notes whose signature verified

    @property
    def notes(self) -> frozenset[str]:
        """The checkpoint notes found signed by a journaled key: a witness copy identical to
        one needs no second signature check."""
        return frozenset(self._notes)

    def feed(self, seq: int, kind: str, data: str, recomputed: str, station: str | None) -> None:
        if kind == KEY_EVENT:
            try:
                k = PublicKey.from_vkey(json.loads(data)["vkey"])
                self.keys[k.key_id] = k
                self.stations[k.key_id] = station
            except (VaultError, ValueError, KeyError):
                self.problems.append(
                    ChainProblem("checkpoint_unreadable", seq, "Ed25519 公钥", "无法读取")
                )
        elif kind == EVENT:
            # A bureau's stations each sign with their own key (docs/scale.md): a checkpoint
            # row counts only with a key its own station journaled.
            mine = {kid: k for kid, k in self.keys.items() if self.stations[kid] == station}
            self.problems.extend(_check_one(seq, data, self.tree, mine, self._notes))
        leaf = merkle.leaf_hash(bytes.fromhex(recomputed))
        self.tree.append(leaf)
        self.leaves.append(leaf)


def _check_one(
    seq: int, data: str, cr: merkle.CompactRange, keys: dict[bytes, PublicKey], signed: set[str]
) -> Iterator[ChainProblem]:
    try:
        note = json.loads(data)["note"]
        cp = Checkpoint.parse(note)
    except (VaultError, ValueError, KeyError, TypeError, AttributeError):
        yield ChainProblem("checkpoint_unreadable", seq, "签名检查点", "无法读取")
        return
    if any(cp.signed_by(k) for k in _named(cp, keys)):
        signed.add(note)
    else:
        yield ChainProblem("checkpoint_signature", seq, "日志登记的密钥签名有效", "签名无效")
    if cp.size != cr.size or cp.root != cr.root():
        yield ChainProblem(
            "checkpoint_mismatch",
            seq,
            f"前 {cr.size} 条的根 {base64.b64encode(cr.root()).decode()}",
            f"前 {cp.size} 条的根 {base64.b64encode(cp.root).decode()}",
        )


def _named(cp: Checkpoint, keys: dict[bytes, PublicKey]) -> list[PublicKey]:
    return [keys[kid] for _, kid, _ in cp.signatures if kid in keys]


def check_external(vault: Vault, text: str) -> list[ChainProblem]:
    """A checkpoint kept outside (on paper, sent to the court): is it ours, and does today's
    journal still begin with the rows it signed?"""
    cp = Checkpoint.parse(text)
    problems = []
    keys = {k.key_id: k for k in journal_keys(vault)}
    if not any(cp.signed_by(k) for k in _named(cp, keys)):
        problems.append(
            ChainProblem("checkpoint_signature", None, "本保管库密钥的有效签名", "签名无效")
        )
    tree = leaves(vault, cp.size)
    root = merkle.root_from_leaves(tree)
    if len(tree) != cp.size or root != cp.root:
        problems.append(
            ChainProblem(
                "checkpoint_mismatch",
                None,
                f"日志前 {cp.size} 条的根 {base64.b64encode(cp.root).decode()}",
                f"{len(tree)} 条，根 {base64.b64encode(root).decode()}",
            )
        )
    return problems

"""The vault's signer: its Ed25519 key and the checkpoints it signs.

The private key lives in `keys/checkpoint.key` (readable by the vault's service account
only, see docs/access.md); its public half is journaled as `checkpoint.key` when made. A
checkpoint is signed only over a journal that extends what this signer signed before (its
state, `zfjl.vault.anchors`), then appended to the journal and copied to the witnesses. Above
both `checkpoint` (the format) and `anchors` (the state and the witnesses), which need not
know each other's callers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zfjl.errors import VaultError
from zfjl.vault import anchors, events, merkle
from zfjl.vault.checkpoint import Checkpoint, PublicKey, journal_keys, leaves
from zfjl.vault.objects import fsync_dir

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from zfjl.vault.vault import Vault

# cryptography is imported where a key is used: it costs ~20 ms of every command's start-up.

KEY_FILE = Path("keys") / "checkpoint.key"


# -- keys -------------------------------------------------------------------------------------
def origin_of(vault: Vault) -> str:
    return f"zfjl/{vault.config.id}"


def create_key(vault: Vault) -> PublicKey:
    """Make the vault's signing key (at `zfjl init`) and journal its public half."""
    public = write_key(vault)
    vault.record(events.CheckpointKey(name=public.name, vkey=public.vkey), None)
    anchors.start_state(vault)  # a new key keeps the state: it is the log's, not the key's
    return public


def write_key(vault: Vault) -> PublicKey:
    """A new private key in the vault's folder (0400, written once); its public half, not yet
    journaled (the caller journals it: `create_key`, or a station joining, in one transaction
    with its `station.join`)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = vault.root / KEY_FILE
    path.parent.mkdir(mode=0o700, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    fsync_dir(path.parent)
    return PublicKey(origin_of(vault), private.public_key().public_bytes_raw())


def new_key(vault: Vault) -> PublicKey:
    """A new signing key (the old one lost or exposed). The old public keys stay journaled, so
    every earlier checkpoint still verifies; an old private key is kept aside, never deleted."""
    vault.require_role({"admin"}, "更换检查点签名密钥")
    path = vault.root / KEY_FILE
    if path.exists():
        path.rename(path.with_name(f"checkpoint.key.retired-{vault.now():%Y%m%d%H%M%S}"))
    return create_key(vault)


def load_signing_key(vault: Vault) -> Ed25519PrivateKey:
    """The vault's checkpoint signing key (the service account's file): what signs a
    checkpoint; a station merging into a bureau registers its public half there."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = vault.root / KEY_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise VaultError(
            f"保管库没有检查点签名密钥（{KEY_FILE}）：请由管理员运行 zfjl checkpoint --new-key"
        ) from None
    except PermissionError:
        raise VaultError(
            f"无权读取检查点签名密钥 {path}：检查点应由保管库服务账户运行（见 docs/access.md）"
        ) from None
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise VaultError(f"{path} 不是 Ed25519 私钥")
    return key



@dataclass(frozen=True)
class Made:
    checkpoint: Checkpoint
    seq: int
    witness_problems: list[str]  # witness folders not written (a warning)


def append_checkpoint(vault: Vault) -> tuple[Checkpoint, int]:
    """Sign the journal as it stands and append the checkpoint; returns it and its seq."""
    made = make_checkpoint(vault)
    return made.checkpoint, made.seq


def make_checkpoint(vault: Vault) -> Made:
    """Sign the journal if it extends what this signer signed before (else JournalInconsistent),
    append the checkpoint, record it in the signer's state and copy it to the witnesses."""
    private = load_signing_key(vault)
    public = PublicKey(origin_of(vault), private.public_key().public_bytes_raw())
    known = {k.key_id for k in journal_keys(vault)}
    if public.key_id not in known:
        raise VaultError("检查点签名密钥与日志中登记的公钥不符：密钥文件可能被替换")
    with vault.writing() as w:
        tree = leaves(vault)
        state = anchors.refuse_unless_extends(vault, tree)
        unsigned = Checkpoint(
            public.name, len(tree), merkle.root_from_leaves(tree), (f"time {vault.now_iso()}",), ()
        )
        sig = private.sign(unsigned.body.encode())
        cp = Checkpoint(
            unsigned.origin,
            unsigned.size,
            unsigned.root,
            unsigned.extensions,
            ((public.name, public.key_id, sig),),
        )
        ev = w.append(events.JournalCheckpoint(size=cp.size, root=cp.root.hex(), note=cp.text), None)
        # Before the commit: the state is never behind a journaled checkpoint (verify reports
        # a state behind as rolled back); a failed commit leaves it at a tree the journal has.
        first = state.first if state.first is not None else anchors.first_row_hash(vault)
        anchors.write_state(vault, anchors.SignerState(cp.size, cp.root, first))
    return Made(cp, ev.seq, anchors.copy_to_witnesses(vault, cp))

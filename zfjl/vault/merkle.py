"""Merkle trees over the journal, as Certificate Transparency builds them (RFC 6962 / 9162).

Leaf i is the journal row with seq i+1; its leaf input is that row's chain hash (32 bytes),
which already commits to the row's content. Leaf and node hashes carry the 0x00 / 0x01
prefixes, so a leaf can never pass for a node. Proofs are verified with the algorithms of
RFC 9162 section 2.1.3 and 2.1.4, which need nothing but hashlib: a court's expert can redo them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


class CompactRange:
    """The roots of the perfect subtrees covering leaves [0, size): enough to give the tree
    head at every size while the leaves stream past once (verify checks every checkpoint in
    one pass over the journal)."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (height, hash), heights decreasing

    def append(self, leaf: bytes) -> None:
        height, digest = 0, leaf
        while self._stack and self._stack[-1][0] == height:
            _, left = self._stack.pop()
            digest = node_hash(left, digest)
            height += 1
        self._stack.append((height, digest))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        digest = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            digest = node_hash(left, digest)
        return digest


def tree_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """All levels of the tree, leaves first. An odd last node is carried up unhashed, which
    gives exactly RFC 6962's split at the largest power of two."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        above = [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            above.append(below[-1])
        levels.append(above)
    return levels


def root_of(levels: list[list[bytes]]) -> bytes:
    return levels[-1][0] if levels[-1] else EMPTY_ROOT


def inclusion_proof(levels: list[list[bytes]], index: int) -> list[bytes]:
    """The audit path of leaf `index` (RFC 9162 2.1.3.1), from the leaf upwards."""
    proof = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        index //= 2
    return proof


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Iterable[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def root_from_leaves(leaves: Iterable[bytes]) -> bytes:
    cr = CompactRange()
    for leaf in leaves:
        cr.append(leaf)
    return cr.root()


def subtree_root(levels: list[list[bytes]], lo: int, hi: int) -> bytes:
    """MTH of leaves[lo:hi] (hi ≤ the size `levels` was built for). A perfect subtree aligned
    on its size is a stored node whatever the tree's size; the rest splits as RFC 6962 says."""
    size = hi - lo
    if size & (size - 1) == 0 and lo % size == 0:
        height = size.bit_length() - 1
        return levels[height][lo >> height]
    k = 1 << ((size - 1).bit_length() - 1)
    return node_hash(subtree_root(levels, lo, lo + k), subtree_root(levels, lo + k, hi))


def consistency_proof(levels: list[list[bytes]], first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]) of RFC 6962 2.1.2: the tree of `second` leaves extends the tree of
    `first` leaves without changing any of them."""

    def sub(lo: int, m: int, hi: int, whole: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if whole else [subtree_root(levels, lo, hi)]
        k = 1 << ((n - 1).bit_length() - 1)
        if m <= k:
            return [*sub(lo, m, lo + k, whole), subtree_root(levels, lo + k, hi)]
        return [*sub(lo + k, m - k, hi, False), subtree_root(levels, lo, lo + k)]

    if not 0 < first <= second:
        raise ValueError("consistency proofs need 0 < first <= second")
    return sub(0, first, second, True)


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 2.1.4.2."""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second or not proof:
        return False
    if first & (first - 1) == 0:  # an exact power of 2: its root is the proof's first node
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn & 1 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root

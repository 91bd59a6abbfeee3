"""RFC 6962 / RFC 9162 Merkle tree hashing for the audit log: leaf and node hashes, tree
roots, an append-only frontier a database can store, and inclusion and consistency proofs.

Exceptions (``CryptoError`` is the ``crypto`` package root, in ``crypto.errors``)::

    CryptoError
     └── MerkleError            also raised as such when a leaf store breaks its contract
          ├── InvalidProof      a proof does not verify (opaque: says nothing about why)
          ├── OutOfRange        a proof or subtree was asked for outside the tree
          └── MalformedFrontier stored frontier bytes do not decode

Proof generation reads the log through a callable, so any store can serve proofs:
``get_leaf_hashes(start, end)`` returns the leaf hashes of ``D[start:end]``, and
``subtree_hash(start, end)`` returns ``MTH(D[start:end])``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Callable, Sequence

from crypto.errors import CryptoError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "InvalidProof",
    "LeafHashReader",
    "MalformedFrontier",
    "MerkleError",
    "MerkleFrontier",
    "OutOfRange",
    "SubtreeHash",
    "SubtreeHasher",
    "consistency_proof",
    "consistency_proof_from_subtrees",
    "inclusion_proof",
    "inclusion_proof_from_subtrees",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

LeafHashReader = Callable[[int, int], Sequence[bytes]]
SubtreeHash = Callable[[int, int], bytes]

_FRONTIER_VERSION = 1


class MerkleError(CryptoError):
    """Base class for Merkle log errors."""


class InvalidProof(MerkleError):
    """An inclusion or consistency proof does not verify."""


class OutOfRange(MerkleError):
    """A proof or subtree was requested outside the bounds of the tree."""


class MalformedFrontier(MerkleError):
    """Serialised frontier bytes do not decode to a valid frontier."""


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one log entry."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes, computed level by level.

    Carrying an odd last node up a level unchanged gives exactly the RFC 6962 split at the
    largest power of two, so no recursion is needed. Cost: n - 1 hashes, O(n) memory.
    """
    if not hashes:
        return EMPTY_ROOT
    if any(len(h) != HASH_SIZE for h in hashes):
        raise ValueError(f"leaf hashes must be {HASH_SIZE} bytes")
    sha256 = hashlib.sha256
    level = list(hashes)
    while len(level) > 1:
        paired = len(level) & ~1
        upper = [sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, paired, 2)]
        if paired != len(level):
            upper.append(level[-1])
        level = upper
    return level[0]


def _fold_right(subtree_roots: Sequence[bytes]) -> bytes:
    """Root of a range given its perfect subtrees, largest (leftmost) first."""
    if not subtree_roots:
        return EMPTY_ROOT
    root = subtree_roots[-1]
    for left in reversed(subtree_roots[:-1]):
        root = node_hash(left, root)
    return root


class MerkleFrontier:
    """The roots of the perfect subtrees covering ``D[0:size]``: enough to append in
    O(log n) and compute the root without the leaves.

    ``to_bytes()`` is ``0x01 || uint64_be(size) || hashes``, the hashes ordered from the
    largest subtree to the smallest; one per set bit of ``size``.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if size < 0 or len(hashes) != size.bit_count():
            raise ValueError("a frontier has one hash per set bit of its size")
        if any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError(f"frontier hashes must be {HASH_SIZE} bytes")
        self._size = size
        self._hashes = [bytes(h) for h in hashes]

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(self, leaf_hash: bytes) -> None:
        """Add one leaf hash; merges one stored subtree per trailing 1-bit of the size."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"leaf hashes must be {HASH_SIZE} bytes")
        node = bytes(leaf_hash)
        carry = self._size
        while carry & 1:
            node = node_hash(self._hashes.pop(), node)
            carry >>= 1
        self._hashes.append(node)
        self._size += 1

    def extend(self, leaf_hashes: Sequence[bytes]) -> None:
        for h in leaf_hashes:
            self.append(h)

    def root(self) -> bytes:
        return _fold_right(self._hashes)

    def copy(self) -> MerkleFrontier:
        return MerkleFrontier(self._size, self._hashes)

    def to_bytes(self) -> bytes:
        return bytes([_FRONTIER_VERSION]) + self._size.to_bytes(8, "big") + b"".join(self._hashes)

    @classmethod
    def from_bytes(cls, data: bytes) -> MerkleFrontier:
        if len(data) < 9 or data[0] != _FRONTIER_VERSION:
            raise MalformedFrontier("unknown frontier encoding")
        size = int.from_bytes(data[1:9], "big")
        body = data[9:]
        if len(body) != size.bit_count() * HASH_SIZE:
            raise MalformedFrontier("frontier length does not match its size")
        hashes = [body[i : i + HASH_SIZE] for i in range(0, len(body), HASH_SIZE)]
        return cls(size, hashes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MerkleFrontier):
            return NotImplemented
        return self._size == other._size and self._hashes == other._hashes

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"MerkleFrontier(size={self._size}, root={self.root().hex()})"


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162: the largest power of two strictly smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _read_leaves(get_leaf_hashes: LeafHashReader, start: int, end: int) -> Sequence[bytes]:
    hashes = get_leaf_hashes(start, end)
    if len(hashes) != end - start:
        raise MerkleError(f"leaf store returned {len(hashes)} hashes for [{start}, {end})")
    return hashes


class SubtreeHasher:
    """``MTH(D[start:end])`` over an append-only leaf store, caching perfect subtrees.

    Any range splits into at most log2(n) perfect subtrees (its size in binary). A perfect
    subtree of ``w`` leaves costs ``w`` leaf reads and ``w - 1`` hashes the first time and a
    dictionary hit afterwards, if it is still in the LRU cache; subtrees of at most
    ``leaf_batch`` leaves are read in one call and not cached. After the first proof over a
    1M-leaf log, later proofs cost O(log n) cache hits plus at most ``2 * leaf_batch`` leaf
    reads per tree level at the ragged right edge.

    Sound only because a perfect subtree inside a log never changes once written: do not
    use over a store whose existing leaves can change.
    """

    def __init__(
        self,
        get_leaf_hashes: LeafHashReader,
        *,
        cache_size: int = 65536,
        leaf_batch: int = 256,
    ) -> None:
        if cache_size < 0 or leaf_batch < 1:
            raise ValueError("cache_size must be >= 0 and leaf_batch >= 1")
        self._get_leaf_hashes = get_leaf_hashes
        self._cache: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._cache_size = cache_size
        self._leaf_batch = leaf_batch

    def __call__(self, start: int, end: int) -> bytes:
        if not 0 <= start < end:
            raise OutOfRange("subtree range must be non-empty and non-negative")
        pieces = []
        while start < end:
            width = 1 << ((end - start).bit_length() - 1)
            pieces.append(self._perfect(start, width))
            start += width
        return _fold_right(pieces)

    def _perfect(self, start: int, width: int) -> bytes:
        if width <= self._leaf_batch:
            return root_from_leaf_hashes(_read_leaves(self._get_leaf_hashes, start, start + width))
        key = (start, width)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        half = width // 2
        value = node_hash(self._perfect(start, half), self._perfect(start + half, half))
        if self._cache_size:
            self._cache[key] = value
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return value


def _uncached_subtrees(get_leaf_hashes: LeafHashReader) -> SubtreeHash:
    return lambda start, end: root_from_leaf_hashes(_read_leaves(get_leaf_hashes, start, end))


def inclusion_proof_from_subtrees(index: int, size: int, subtree_hash: SubtreeHash) -> list[bytes]:
    """RFC 9162 2.1.3.1 ``PATH(index, D[0:size])``, ordered from the leaf up.

    Makes one ``subtree_hash`` call per tree level (at most ~log2(size) calls).
    """
    if not 0 <= index < size:
        raise OutOfRange("leaf index must be inside the tree")
    start, end = 0, size
    siblings_top_down = []
    while end - start > 1:
        mid = start + _largest_power_of_two_below(end - start)
        if index < mid:
            siblings_top_down.append(subtree_hash(mid, end))
            end = mid
        else:
            siblings_top_down.append(subtree_hash(start, mid))
            start = mid
    return siblings_top_down[::-1]


def consistency_proof_from_subtrees(
    old_size: int, new_size: int, subtree_hash: SubtreeHash
) -> list[bytes]:
    """RFC 9162 2.1.4.1 ``PROOF(old_size, D[0:new_size])``; empty when either tree is
    trivially consistent (``old_size`` 0 or equal to ``new_size``)."""
    if not 0 <= old_size <= new_size:
        raise OutOfRange("sizes must satisfy 0 <= old_size <= new_size")
    if old_size in (0, new_size):
        return []
    # Walk SUBPROOF(m, D[start:end], whole) down to the subtree that is exactly the old tree.
    start, end, m, whole = 0, new_size, old_size, True
    outer_first = []
    while m != end - start:
        k = _largest_power_of_two_below(end - start)
        if m <= k:
            outer_first.append(subtree_hash(start + k, end))
            end = start + k
        else:
            outer_first.append(subtree_hash(start, start + k))
            start, m, whole = start + k, m - k, False
    innermost = [] if whole else [subtree_hash(start, end)]
    return innermost + outer_first[::-1]


def inclusion_proof(index: int, size: int, get_leaf_hashes: LeafHashReader) -> list[bytes]:
    """Inclusion proof read from plain leaf hashes: hashes every other leaf of the tree once
    (O(size)). For large logs pass a :class:`SubtreeHasher` to
    :func:`inclusion_proof_from_subtrees` instead."""
    return inclusion_proof_from_subtrees(index, size, _uncached_subtrees(get_leaf_hashes))


def consistency_proof(old_size: int, new_size: int, get_leaf_hashes: LeafHashReader) -> list[bytes]:
    """Consistency proof read from plain leaf hashes: O(new_size) hashing. For large logs
    pass a :class:`SubtreeHasher` to :func:`consistency_proof_from_subtrees` instead."""
    return consistency_proof_from_subtrees(old_size, new_size, _uncached_subtrees(get_leaf_hashes))


def _well_formed(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def _inclusion_holds(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    if not (_well_formed(leaf, root, *proof) and 0 <= index < size):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and hmac.compare_digest(r, root)


def _consistency_holds(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    if not (_well_formed(old_root, new_root, *proof) and 0 <= old_size <= new_size):
        return False
    if old_size == new_size:
        # Same tree: nothing to prove, and an empty tree has only one root.
        return (
            not proof
            and hmac.compare_digest(old_root, new_root)
            and (old_size > 0 or hmac.compare_digest(old_root, EMPTY_ROOT))
        )
    if old_size == 0:
        return not proof and hmac.compare_digest(old_root, EMPTY_ROOT)
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and hmac.compare_digest(fr, old_root) and hmac.compare_digest(sr, new_root)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 2.1.3.2: check that ``leaf_hash`` is leaf ``index`` of the tree of ``size``
    leaves with root ``root``. Raises :class:`InvalidProof` on any failure."""
    if not _inclusion_holds(leaf_hash, index, size, proof, root):
        raise InvalidProof("inclusion proof does not verify")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 2.1.4.2: check that the tree of ``old_size`` leaves is a prefix of the tree
    of ``new_size`` leaves. Raises :class:`InvalidProof` on any failure.

    Sizes 0 and equal sizes need an empty proof; a size-0 tree must have ``EMPTY_ROOT``.
    """
    if not _consistency_holds(old_size, new_size, old_root, new_root, proof):
        raise InvalidProof("consistency proof does not verify")

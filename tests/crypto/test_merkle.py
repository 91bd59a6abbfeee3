"""Merkle log hashing and proofs against the published RFC 6962 vectors, plus properties."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import CryptoError
from crypto.merkle import (
    EMPTY_ROOT,
    InvalidProof,
    MalformedFrontier,
    MerkleError,
    MerkleFrontier,
    OutOfRange,
    SubtreeHasher,
    consistency_proof,
    consistency_proof_from_subtrees,
    inclusion_proof,
    inclusion_proof_from_subtrees,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "merkle_vectors.json").read_text(encoding="utf-8")
)
LEAF_INPUTS = [bytes.fromhex(h) for h in VECTORS["leaf_inputs"]]
NODES = [[bytes.fromhex(h) for h in level] for level in VECTORS["node_hashes"]]
ROOTS = [bytes.fromhex(h) for h in VECTORS["roots_by_size"]]
LEAVES = NODES[0]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")

# Leaf hashes for property tests: entry i is the 8-byte big-endian encoding of i.
MANY_LEAVES = [leaf_hash(i.to_bytes(8, "big")) for i in range(300)]


def _hexes(values: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def _reader(leaves: Sequence[bytes]) -> Any:
    return lambda start, end: leaves[start:end]


def _proof_from_node_ids(case: dict[str, Any]) -> list[bytes]:
    hashes = [NODES[level][index] for level, index in case["nodes"]]
    if "rehash" in case:
        begin, end = case["rehash"]
        folded = hashes[begin]
        for left in hashes[begin + 1 : end]:
            folded = node_hash(left, folded)
        hashes[begin:end] = [folded]
    return hashes


def _reference_mth(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962 section 2.1 MTH written exactly as the recursive definition."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(_reference_mth(leaves[:k]), _reference_mth(leaves[k:]))


def _case_id(case: dict[str, Any]) -> str:
    if "index" in case:
        return f"{case['index']}of{case['size']}"
    return f"{case['old_size']}to{case['new_size']}"


# Published vectors


def test_empty_root_is_sha256_of_the_empty_string() -> None:
    assert EMPTY_ROOT == hashlib.sha256(b"").digest() == ROOTS[0]


def test_leaf_hash_of_each_reference_input_matches_published_level_zero() -> None:
    assert [leaf_hash(data) for data in LEAF_INPUTS] == LEAVES


def test_node_hash_of_each_published_pair_matches_published_parent() -> None:
    for level in range(1, len(NODES)):
        for index, parent in enumerate(NODES[level]):
            below = NODES[level - 1]
            assert node_hash(below[2 * index], below[2 * index + 1]) == parent


@pytest.mark.parametrize("size", range(9))
def test_root_of_each_prefix_matches_published_root(size: int) -> None:
    assert root_from_leaf_hashes(LEAVES[:size]) == ROOTS[size]


@pytest.mark.parametrize("size", range(9))
def test_frontier_of_each_prefix_matches_published_compact_tree(size: int) -> None:
    frontier = MerkleFrontier()
    frontier.extend(LEAVES[:size])
    expected = [NODES[level][index] for level, index in VECTORS["compact_trees_by_size"][size]]
    assert frontier.size == size
    assert list(frontier.hashes) == expected
    assert frontier.root() == ROOTS[size]


@pytest.mark.parametrize("case", VECTORS["inclusion_proofs"], ids=_case_id)
def test_inclusion_proof_matches_published_proof_and_verifies(case: dict[str, Any]) -> None:
    index, size, expected = case["index"], case["size"], _hexes(case["proof"])
    assert inclusion_proof(index, size, _reader(LEAVES)) == expected
    verify_inclusion(LEAVES[index], index, size, expected, ROOTS[size])


@pytest.mark.parametrize("case", VECTORS["inclusion_node_ids"], ids=_case_id)
def test_inclusion_proof_matches_published_node_ids(case: dict[str, Any]) -> None:
    index, size = case["index"], case["size"]
    expected = _proof_from_node_ids(case)
    assert inclusion_proof(index, size, _reader(LEAVES)) == expected
    assert inclusion_proof_from_subtrees(index, size, SubtreeHasher(_reader(LEAVES))) == expected
    verify_inclusion(LEAVES[index], index, size, expected, ROOTS[size])


@pytest.mark.parametrize("case", VECTORS["consistency_proofs"], ids=_case_id)
def test_consistency_proof_matches_published_proof_and_verifies(case: dict[str, Any]) -> None:
    old, new, expected = case["old_size"], case["new_size"], _hexes(case["proof"])
    assert consistency_proof(old, new, _reader(LEAVES)) == expected
    verify_consistency(old, new, ROOTS[old], ROOTS[new], expected)


@pytest.mark.parametrize("case", VECTORS["consistency_node_ids"], ids=_case_id)
def test_consistency_proof_matches_published_node_ids(case: dict[str, Any]) -> None:
    old, new = case["old_size"], case["new_size"]
    expected = _proof_from_node_ids(case)
    assert consistency_proof(old, new, _reader(LEAVES)) == expected
    hasher = SubtreeHasher(_reader(LEAVES))
    assert consistency_proof_from_subtrees(old, new, hasher) == expected
    verify_consistency(old, new, ROOTS[old], ROOTS[new], expected)


# Broken proofs, in the manner of transparency-dev's corruptInclusionProof / corruptConsistencyProof


def _flip(proof: list[bytes], position: int, mask: int) -> list[bytes]:
    node = bytearray(proof[position])
    node[0] ^= mask
    return [*proof[:position], bytes(node), *proof[position + 1 :]]


def _broken_inclusions() -> list[Any]:
    probes = []
    for case in VECTORS["inclusion_proofs"]:
        i, n, proof = case["index"], case["size"], _hexes(case["proof"])
        leaf, root = LEAVES[i], ROOTS[n]
        variants = {
            "index-1": (leaf, i - 1, n, proof, root),
            "index+1": (leaf, i + 1, n, proof, root),
            "index^2": (leaf, i ^ 2, n, proof, root),
            "size*2": (leaf, i, n * 2, proof, root),
            "size//2": (leaf, i, n // 2, proof, root),
            "wrong-leaf": (leaf_hash(b"WrongLeaf"), i, n, proof, root),
            "another-leaf": (LEAVES[(i + 1) % 8], i, n, proof, root),
            "empty-root": (leaf, i, n, proof, EMPTY_ROOT),
            "random-root": (leaf, i, n, proof, SOME_HASH),
            "trailing-garbage": (leaf, i, n, [*proof, b""], root),
            "trailing-root": (leaf, i, n, [*proof, root], root),
            "preceding-garbage": (leaf, i, n, [b"", *proof], root),
            "preceding-root": (leaf, i, n, [root, *proof], root),
        }
        for p in range(len(proof)):
            variants[f"flipped-bit-in-proof[{p}]"] = (leaf, i, n, _flip(proof, p, 8), root)
        if proof:
            variants["removed-last-node"] = (leaf, i, n, proof[:-1], root)
        if len(proof) > 1:
            variants["inserted-node"] = (leaf, i, n, [proof[0], SOME_HASH, *proof[1:]], root)
        probes += [pytest.param(*args, id=f"{_case_id(case)}-{d}") for d, args in variants.items()]
    return probes


@pytest.mark.parametrize(("leaf", "index", "size", "proof", "root"), _broken_inclusions())
def test_verify_inclusion_rejects_corrupted_input(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> None:
    with pytest.raises(InvalidProof):
        verify_inclusion(leaf, index, size, proof, root)


def test_verify_inclusion_rejects_proof_generated_for_another_leaf() -> None:
    proof_for_3 = inclusion_proof(3, 8, _reader(LEAVES))
    with pytest.raises(InvalidProof):
        verify_inclusion(LEAVES[2], 2, 8, proof_for_3, ROOTS[8])


def _broken_consistencies() -> list[Any]:
    probes = []
    for case in VECTORS["consistency_proofs"]:
        m, n, proof = case["old_size"], case["new_size"], _hexes(case["proof"])
        if not proof:
            continue
        r1, r2 = ROOTS[m], ROOTS[n]
        variants = {
            "old-1": (m - 1, n, r1, r2, proof),
            "old+1": (m + 1, n, r1, r2, proof),
            "old^2": (m ^ 2, n, r1, r2, proof),
            "new*2": (m, n * 2, r1, r2, proof),
            "new//2": (m, n // 2, r1, r2, proof),
            "wrong-old-root": (m, n, SOME_HASH, r2, proof),
            "wrong-new-root": (m, n, r1, SOME_HASH, proof),
            "swapped-roots": (m, n, r2, r1, proof),
            "empty-proof": (m, n, r1, r2, []),
            "trailing-garbage": (m, n, r1, r2, [*proof, b""]),
            "trailing-old-root": (m, n, r1, r2, [*proof, r1]),
            "trailing-new-root": (m, n, r1, r2, [*proof, r2]),
            "preceding-garbage": (m, n, r1, r2, [b"", *proof]),
            "preceding-old-root": (m, n, r1, r2, [r1, *proof]),
            "preceding-new-root": (m, n, r1, r2, [r2, *proof]),
            "preceding-proof[0]": (m, n, r1, r2, [proof[0], *proof]),
            "truncated": (m, n, r1, r2, proof[:-1]),
        }
        for p in range(len(proof)):
            variants[f"flipped-bit-in-proof[{p}]"] = (m, n, r1, r2, _flip(proof, p, 16))
        probes += [pytest.param(*args, id=f"{_case_id(case)}-{d}") for d, args in variants.items()]
    return probes


@pytest.mark.parametrize(("old", "new", "old_root", "new_root", "proof"), _broken_consistencies())
def test_verify_consistency_rejects_corrupted_input(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> None:
    with pytest.raises(InvalidProof):
        verify_consistency(old, new, old_root, new_root, proof)


@pytest.mark.parametrize(
    ("old", "new", "old_root", "new_root", "proof"),
    [
        pytest.param(0, 0, EMPTY_ROOT, EMPTY_ROOT, [], id="both-empty"),
        pytest.param(0, 1, EMPTY_ROOT, SOME_HASH, [], id="from-empty"),
        pytest.param(1, 1, SOME_HASH, SOME_HASH, [], id="same-size-same-root"),
    ],
)
def test_verify_consistency_accepts_trivial_cases(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> None:
    verify_consistency(old, new, old_root, new_root, proof)


@pytest.mark.parametrize(
    ("old", "new", "old_root", "new_root", "proof"),
    [
        pytest.param(0, 0, EMPTY_ROOT, SOME_HASH, [], id="empty-roots-differ"),
        pytest.param(0, 0, SOME_HASH, SOME_HASH, [], id="empty-tree-with-nonempty-root"),
        pytest.param(0, 3, SOME_HASH, ROOTS[3], [], id="from-empty-with-nonempty-root"),
        pytest.param(1, 1, EMPTY_ROOT, SOME_HASH, [], id="same-size-roots-differ"),
        pytest.param(0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], id="needless-proof-0-0"),
        pytest.param(0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], id="needless-proof-0-1"),
        pytest.param(1, 1, SOME_HASH, SOME_HASH, [SOME_HASH], id="needless-proof-1-1"),
        pytest.param(1, 0, ROOTS[1], ROOTS[0], [], id="shrinking-1-0"),
        pytest.param(2, 1, ROOTS[2], ROOTS[1], [], id="shrinking-2-1"),
        pytest.param(-1, 1, EMPTY_ROOT, ROOTS[1], [], id="negative-size"),
        pytest.param(1, 2, ROOTS[1], ROOTS[2], [], id="empty-proof-for-growth"),
        pytest.param(4, 8, ROOTS[4][:31], ROOTS[8], [NODES[2][1]], id="short-old-root"),
    ],
)
def test_verify_consistency_rejects_degenerate_cases(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> None:
    with pytest.raises(InvalidProof):
        verify_consistency(old, new, old_root, new_root, proof)


@pytest.mark.parametrize(
    ("leaf", "index", "size", "root"),
    [
        pytest.param(SOME_HASH, 0, 0, EMPTY_ROOT, id="empty-tree"),
        pytest.param(SOME_HASH, 1, 1, SOME_HASH, id="index-equals-size"),
        pytest.param(SOME_HASH, -1, 1, SOME_HASH, id="negative-index"),
        pytest.param(b"", 0, 1, b"", id="empty-hashes"),
        pytest.param(SOME_HASH, 0, 1, EMPTY_ROOT, id="single-leaf-other-root"),
    ],
)
def test_verify_inclusion_rejects_degenerate_cases(
    leaf: bytes, index: int, size: int, root: bytes
) -> None:
    with pytest.raises(InvalidProof):
        verify_inclusion(leaf, index, size, [], root)


def test_single_leaf_tree_root_is_the_leaf_and_proof_is_empty() -> None:
    leaf = leaf_hash(b"data")
    assert root_from_leaf_hashes([leaf]) == leaf
    assert inclusion_proof(0, 1, _reader([leaf])) == []
    verify_inclusion(leaf, 0, 1, [], leaf)


def test_invalid_proof_message_does_not_say_which_check_failed() -> None:
    proof = _hexes(VECTORS["inclusion_proofs"][1]["proof"])
    messages = set()
    for args in [
        (LEAVES[0], 0, 8, proof, SOME_HASH),
        (LEAVES[0], 9, 8, proof, ROOTS[8]),
        (LEAVES[0], 0, 8, proof[:-1], ROOTS[8]),
        (b"short", 0, 8, proof, ROOTS[8]),
    ]:
        with pytest.raises(InvalidProof) as caught:
            verify_inclusion(*args)
        messages.add(str(caught.value))
    assert len(messages) == 1
    assert issubclass(InvalidProof, MerkleError)
    assert issubclass(MerkleError, CryptoError)


# Generation errors and the frontier encoding


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 0), (2, 1), (8, 8), (-1, 4)])
def test_inclusion_proof_outside_the_tree_raises_out_of_range(index: int, size: int) -> None:
    with pytest.raises(OutOfRange):
        inclusion_proof(index, size, _reader(LEAVES))


@pytest.mark.parametrize(("old", "new"), [(5, 0), (9, 8), (-1, 3)])
def test_consistency_proof_with_sizes_out_of_order_raises_out_of_range(old: int, new: int) -> None:
    with pytest.raises(OutOfRange):
        consistency_proof(old, new, _reader(LEAVES))


def test_consistency_proof_from_the_empty_tree_is_empty() -> None:
    assert consistency_proof(0, 5, _reader(LEAVES)) == []


def test_leaf_store_returning_too_few_hashes_raises_merkle_error() -> None:
    with pytest.raises(MerkleError):
        inclusion_proof(0, 8, _reader(LEAVES[:6]))
    with pytest.raises(MerkleError):
        SubtreeHasher(_reader(LEAVES[:6]), leaf_batch=2)(0, 8)


def test_root_from_leaf_hashes_rejects_hashes_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        root_from_leaf_hashes([LEAVES[0], b"short"])


@pytest.mark.parametrize("size", [0, 1, 5, 8, 255])
def test_frontier_round_trips_through_bytes(size: int) -> None:
    frontier = MerkleFrontier()
    frontier.extend(MANY_LEAVES[:size])
    restored = MerkleFrontier.from_bytes(frontier.to_bytes())
    assert restored == frontier
    assert restored.root() == root_from_leaf_hashes(MANY_LEAVES[:size])
    restored.append(MANY_LEAVES[size])
    assert restored.root() == root_from_leaf_hashes(MANY_LEAVES[: size + 1])


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda b: b[:-1], id="truncated"),
        pytest.param(lambda b: b + b"\x00", id="extra-byte"),
        pytest.param(lambda b: b"\x02" + b[1:], id="unknown-version"),
        pytest.param(lambda b: b[:1] + (7).to_bytes(8, "big") + b[9:], id="size-disagrees"),
        pytest.param(lambda b: b"", id="empty"),
    ],
)
def test_frontier_from_malformed_bytes_raises(mangle: Any) -> None:
    frontier = MerkleFrontier()
    frontier.extend(LEAVES[:5])
    with pytest.raises(MalformedFrontier):
        MerkleFrontier.from_bytes(mangle(frontier.to_bytes()))


def test_subtree_hasher_reuses_cached_subtrees_instead_of_rereading_leaves() -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(4096)]
    reads = []

    def reader(start: int, end: int) -> Sequence[bytes]:
        reads.append(end - start)
        return leaves[start:end]

    hasher = SubtreeHasher(reader, leaf_batch=16)
    root = root_from_leaf_hashes(leaves[:4000])
    first = inclusion_proof_from_subtrees(17, 4000, hasher)
    verify_inclusion(leaves[17], 17, 4000, first, root)
    assert sum(reads) == 3999  # every leaf but the proven one, once
    assert hasher(0, 4000) == root
    reads.clear()
    for index in (5, 2900, 3999):
        proof = inclusion_proof_from_subtrees(index, 4000, hasher)
        verify_inclusion(leaves[index], index, 4000, proof, root)
    # Only the uncached batches along each leaf's own path: under 2 * leaf_batch per proof.
    assert sum(reads) < 3 * 2 * 16


# Properties


@settings(deadline=None)
@given(data=st.data(), size=st.integers(1, 300))
def test_generated_inclusion_proofs_verify(data: st.DataObject, size: int) -> None:
    index = data.draw(st.integers(0, size - 1))
    leaves = MANY_LEAVES[:size]
    root = root_from_leaf_hashes(leaves)
    proof = inclusion_proof(index, size, _reader(leaves))
    assert proof == inclusion_proof_from_subtrees(
        index, size, SubtreeHasher(_reader(leaves), leaf_batch=4)
    )
    verify_inclusion(leaves[index], index, size, proof, root)


@settings(deadline=None, max_examples=25)
@given(size=st.integers(0, 300))
def test_frontier_root_equals_tree_root_for_every_prefix(size: int) -> None:
    frontier = MerkleFrontier()
    assert frontier.root() == EMPTY_ROOT
    for n, leaf in enumerate(MANY_LEAVES[:size], start=1):
        frontier.append(leaf)
        assert frontier.root() == root_from_leaf_hashes(MANY_LEAVES[:n])


@settings(deadline=None)
@given(size=st.integers(0, 300))
def test_root_from_leaf_hashes_equals_the_recursive_rfc_definition(size: int) -> None:
    assert root_from_leaf_hashes(MANY_LEAVES[:size]) == _reference_mth(MANY_LEAVES[:size])


@settings(deadline=None)
@given(data=st.data(), new=st.integers(0, 300))
def test_generated_consistency_proofs_verify(data: st.DataObject, new: int) -> None:
    old = data.draw(st.integers(0, new))
    old_root = root_from_leaf_hashes(MANY_LEAVES[:old])
    new_root = root_from_leaf_hashes(MANY_LEAVES[:new])
    proof = consistency_proof(old, new, _reader(MANY_LEAVES))
    assert proof == consistency_proof_from_subtrees(
        old, new, SubtreeHasher(_reader(MANY_LEAVES), leaf_batch=4)
    )
    verify_consistency(old, new, old_root, new_root, proof)


@settings(deadline=None)
@given(data=st.data(), new=st.integers(2, 300))
def test_any_single_byte_change_breaks_a_consistency_proof(data: st.DataObject, new: int) -> None:
    old = data.draw(st.integers(1, new - 1))
    proof = consistency_proof(old, new, _reader(MANY_LEAVES))
    position = data.draw(st.integers(0, len(proof) - 1))
    offset = data.draw(st.integers(0, 31))
    mask = data.draw(st.integers(1, 255))
    node = bytearray(proof[position])
    node[offset] ^= mask
    proof[position] = bytes(node)
    with pytest.raises(InvalidProof):
        verify_consistency(
            old,
            new,
            root_from_leaf_hashes(MANY_LEAVES[:old]),
            root_from_leaf_hashes(MANY_LEAVES[:new]),
            proof,
        )


@settings(deadline=None)
@given(data=st.data(), size=st.integers(2, 300))
def test_any_single_byte_change_breaks_an_inclusion_proof(data: st.DataObject, size: int) -> None:
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(index, size, _reader(MANY_LEAVES))
    position = data.draw(st.integers(0, len(proof) - 1))
    node = bytearray(proof[position])
    node[data.draw(st.integers(0, 31))] ^= data.draw(st.integers(1, 255))
    proof[position] = bytes(node)
    with pytest.raises(InvalidProof):
        verify_inclusion(
            MANY_LEAVES[index], index, size, proof, root_from_leaf_hashes(MANY_LEAVES[:size])
        )

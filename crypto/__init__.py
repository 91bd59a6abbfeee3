"""Pure cryptographic primitives for Cordon: match keys and tokens, node keys, peer JWTs,
signed documents, the federation PKI and Merkle log hashing.

Nothing here performs I/O beyond what the caller hands in, and nothing imports ``gateway``.
"""

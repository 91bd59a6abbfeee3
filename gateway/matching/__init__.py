"""Keyed hit/no-hit matching: the node's token index and the peer-side matcher."""

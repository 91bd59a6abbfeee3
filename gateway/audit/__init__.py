"""The node's audit log: one entry per request, local or peer, allowed, denied or failed."""

"""Per-partner quotas, rate limits and probing detection on the peer match path, kept in
counters that are correct across processes sharing one database."""

"""The node's tamper-evident audit log: one entry per request, local or peer, allowed,
denied or failed, as leaves of an RFC 6962 Merkle tree with signed, witnessed checkpoints.

``entry`` (canonical documents) -> ``store`` / ``writer`` (durable, group-committed appends)
-> ``service.AuditLog`` (what capabilities call; checkpoints, proofs, retention);
``checkpoints`` / ``witness`` / ``witness_store`` (signing, witnessing partners);
``search`` / ``summary`` / ``export`` (auditors); ``export_reader`` / ``verify*`` /
``proof_bundle`` (offline verification, no database); ``api`` / ``timers`` (the node).
``docs/audit.md`` describes the formats.
"""

"""The DPO's administration of the node's access policy: stored versions, validation,
explanation, diff, dry-run, apply and rollback, over the CLI and the local API."""

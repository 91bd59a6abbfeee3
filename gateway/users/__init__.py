"""The agency's own users on the local listener: roles, local accounts with argon2 passwords,
revocable (and, from password login, expiring) API tokens, and optionally OIDC bearer tokens."""

"""The agency's own users on the local listener: roles and revocable API tokens."""

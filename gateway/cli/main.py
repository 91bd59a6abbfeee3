"""``cordon``: set up a federation and its nodes, index agency data, serve, search, demo.

Environment variables are read here and only here (the library takes explicit objects)."""

from __future__ import annotations

import typer

from gateway.cli import federation, operate, policy, users
from gateway.cli.aggregate import aggregate_app
from gateway.cli.audit import audit_app
from gateway.cli.demo import demo

app = typer.Typer(
    name="cordon",
    help="Cordon: privacy-preserving federated hit/no-hit matching between agencies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(federation.federation_app, name="federation")
app.add_typer(federation.node_app, name="node")
app.add_typer(users.user_app, name="user")
app.add_typer(policy.policy_app, name="policy")
app.add_typer(audit_app, name="audit")
app.add_typer(aggregate_app, name="aggregate")
app.command("index")(operate.index)
app.command("serve")(operate.serve)
app.command("search")(operate.search)
app.command("demo")(demo)


if __name__ == "__main__":  # pragma: no cover
    app()

"""``cordon federation ...`` and ``cordon node ...``: the authority's and the node operator's
set-up commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gateway.cli.common import console, friendly_errors
from gateway.config import load_node_config
from gateway.federation.provision import (
    FederationFiles,
    NodeSpec,
    add_member,
    init_federation,
    init_node,
    install_manifest,
)

federation_app = typer.Typer(
    help="Create a federation and manage its signed manifest.", no_args_is_help=True
)
node_app = typer.Typer(help="Create a node and install manifests.", no_args_is_help=True)


@federation_app.command("init")
def federation_init(
    folder: Annotated[Path, typer.Argument(help="Folder for the authority's files (created).")],
    name: Annotated[str, typer.Option(help="Federation name.")] = "cordon-federation",
) -> None:
    """Create the authority signing key, the federation TLS CA, the match secret and an empty
    signed manifest."""
    with friendly_errors():
        files = init_federation(folder, name)
    console.print(f"federation [bold]{name}[/] created in {folder}")
    console.print(f"authority public key: {files.authority_public}")


@federation_app.command("add-member")
def federation_add_member(
    folder: Annotated[Path, typer.Argument(help="The federation folder.")],
    node_config: Annotated[Path, typer.Argument(help="The new member's node.yaml.")],
) -> None:
    """Add a node to the manifest (or update its entry) and re-sign it."""
    with friendly_errors():
        manifest = add_member(FederationFiles(folder), load_node_config(node_config))
    console.print(
        f"manifest serial {manifest.serial}: {', '.join(m.agency for m in manifest.members)}"
    )


@federation_app.command("show")
def federation_show(folder: Annotated[Path, typer.Argument(help="The federation folder.")]) -> None:
    """Verify and list the manifest's members."""
    from crypto.keys import public_key_from_text
    from gateway.federation.manifest import load_manifest

    with friendly_errors():
        files = FederationFiles(folder)
        manifest = load_manifest(files.manifest, public_key_from_text(files.authority_public))
    table = Table(title=f"{manifest.federation} (serial {manifest.serial})")
    for column in ("agency", "name", "url", "public key"):
        table.add_column(column)
    for m in manifest.members:
        table.add_row(m.agency, m.display_name, m.url, m.public_key_text)
    console.print(table)


@node_app.command("init")
def node_init(
    folder: Annotated[Path, typer.Argument(help="Folder for the node's files (created).")],
    federation: Annotated[
        Path, typer.Option(help="The federation folder (for the CA and secret).")
    ],
    agency: Annotated[str, typer.Option(help="Agency id, e.g. 'customs'.")],
    display_name: Annotated[str, typer.Option(help="Human-readable agency name.")],
    host: Annotated[str, typer.Option(help="Address both listeners bind to.")] = "127.0.0.1",
    federation_port: Annotated[int, typer.Option(help="Peer (mTLS) listener port.")] = 8443,
    local_port: Annotated[int, typer.Option(help="Local users' listener port.")] = 8080,
    database: Annotated[str | None, typer.Option(help="SQLAlchemy URL; default SQLite.")] = None,
    default_region: Annotated[
        str | None, typer.Option(help="Region for national phone numbers, e.g. NL.")
    ] = None,
    contact_point: Annotated[str, typer.Option(help="Who partners contact after a hit.")] = "",
    tls_name: Annotated[
        list[str] | None,
        typer.Option(help="Extra DNS name or IP for the TLS certificate (repeatable)."),
    ] = None,
    public_url: Annotated[
        str | None, typer.Option(help="URL partners reach the peer listener on.")
    ] = None,
) -> None:
    """Create a node: Ed25519 node key, TLS certificate from the federation CA, node.yaml and a
    deny-all policy."""
    with friendly_errors():
        path = init_node(
            folder,
            FederationFiles(federation),
            NodeSpec(
                agency=agency,
                display_name=display_name,
                host=host,
                federation_port=federation_port,
                local_port=local_port,
                database=database,
                default_region=default_region,
                contact_point=contact_point,
                tls_names=tuple(tls_name or ()),
                public_url=public_url,
            ),
        )
    console.print(f"node [bold]{agency}[/] created: {path}")
    console.print(f"next: cordon federation add-member {federation} {path}")


@node_app.command("install-manifest")
def node_install_manifest(
    node_config: Annotated[Path, typer.Argument(help="The node's node.yaml.")],
    manifest: Annotated[Path, typer.Argument(help="A manifest.json signed by the authority.")],
) -> None:
    """Verify a manifest with the authority key and install it (never an older serial)."""
    with friendly_errors():
        installed = install_manifest(node_config, manifest)
    console.print(f"installed manifest serial {installed.serial}")

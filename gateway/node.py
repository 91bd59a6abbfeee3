"""A running node's collaborators, built once from its configuration: database, keys,
manifest, policy, and the services the APIs call. Nothing here is built at import time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine

from connectors.vocabulary import IDENTIFIER_TYPES, VOCABULARY_VERSION
from crypto.errors import CryptoError
from crypto.keys import load_private_key, public_key_from_text, public_key_to_text
from crypto.tokens import MatchKeyring
from gateway.aggregates.cache import AnswerCache
from gateway.aggregates.declarations import AggregateDatasets
from gateway.aggregates.ledger import PrivacyLedger
from gateway.aggregates.query import SourceDatabases
from gateway.aggregates.service import AggregateAnswerer
from gateway.audit.service import AuditLog
from gateway.config import NodeConfig
from gateway.errors import ConfigError, ManifestError
from gateway.federation.client import PeerClient
from gateway.federation.manifest import Manifest, load_manifest
from gateway.federation.peer_auth import PeerAuthenticator
from gateway.federation.store import ReplayCache
from gateway.federation.tls import client_context
from gateway.matching.search import FederatedSearch
from gateway.matching.service import PeerMatcher
from gateway.matching.store import MatchStore
from gateway.policy_admin.service import PolicyAdmin
from gateway.policy_source import PolicySource
from gateway.quotas.service import QuotaService
from gateway.quotas.store import QuotaStore
from gateway.storage.database import open_engine, upgrade
from gateway.users.accounts import AccountStore
from gateway.users.auth import Authenticator
from gateway.users.login import PasswordLogin
from gateway.users.oidc import OidcVerifier
from gateway.users.store import TokenStore


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Node:
    config: NodeConfig
    engine: Engine
    signing_key: Ed25519PrivateKey
    manifest: Manifest
    policy: PolicySource
    keyring: MatchKeyring
    audit: AuditLog
    match_store: MatchStore
    tokens: TokenStore
    replay_cache: ReplayCache
    peer_auth: PeerAuthenticator
    matcher: PeerMatcher
    peers: PeerClient
    search: FederatedSearch
    clock: Callable[[], datetime]
    authenticator: Authenticator
    accounts: AccountStore
    login: PasswordLogin
    quotas: QuotaService
    policy_admin: PolicyAdmin
    aggregates: AggregateAnswerer | None = None

    @property
    def agency(self) -> str:
        return self.config.agency

    def current_manifest(self) -> Manifest:
        return self.manifest

    def close(self) -> None:
        if self.aggregates is not None:
            self.aggregates.close()
        self.audit.close()
        self.engine.dispose()


def open_database(config: NodeConfig) -> Engine:
    engine = open_engine(config.database_url)
    upgrade(engine)
    return engine


def build_node(config: NodeConfig, *, clock: Callable[[], datetime] = utc_now) -> Node:
    """Assemble a node; every inconsistency between its files fails here, before it listens."""
    try:
        authority = public_key_from_text(config.authority_public_key)
    except (CryptoError, ValueError) as exc:
        raise ConfigError(f"{config.path}: authority_public_key is not an Ed25519 key") from exc
    manifest = load_manifest(config.manifest, authority)
    try:
        signing_key = load_private_key(config.signing_key.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read signing key {config.signing_key}: {exc}") from exc
    me = manifest.member(config.agency)
    if me is None:
        raise ManifestError(f"agency '{config.agency}' is not a member of the federation manifest")
    if me.public_key_text != public_key_to_text(signing_key.public_key()):
        raise ManifestError(
            f"the manifest lists another public key for '{config.agency}' "
            "than this node's signing key"
        )
    engine = open_database(config)
    audit = AuditLog(engine, agency=config.agency, signing_key=signing_key, clock=clock)
    policy = PolicySource(
        engine,
        config.policy,
        agency=config.agency,
        partners=[m.agency for m in manifest.peers_of(config.agency)],
        identifier_types=IDENTIFIER_TYPES,
        audit=audit,
        clock=clock,
    )
    policy.current()  # a stored version that does not fit this node stops it here
    keyring = MatchKeyring(config.read_match_secret(), VOCABULARY_VERSION)
    tokens = TokenStore(engine)
    accounts = AccountStore(engine)
    counters = QuotaStore(engine)
    oidc = OidcVerifier(config.oidc) if config.oidc is not None else None
    match_store = MatchStore(engine)
    replay_cache = ReplayCache(engine)
    peers = PeerClient(
        config.agency,
        signing_key,
        client_context(config.tls_certificate, config.tls_key, config.federation_ca),
        config.peer_deadline_seconds,
    )
    return Node(
        config=config,
        engine=engine,
        signing_key=signing_key,
        manifest=manifest,
        policy=policy,
        keyring=keyring,
        audit=audit,
        match_store=match_store,
        tokens=tokens,
        replay_cache=replay_cache,
        peer_auth=PeerAuthenticator(config.agency, lambda: manifest, replay_cache, time.time),
        matcher=PeerMatcher(
            config.agency, match_store, config.match_epochs, config.contact_point, clock
        ),
        peers=peers,
        search=FederatedSearch(
            config.agency,
            keyring,
            config.query_epoch,
            lambda: manifest,
            peers,
            audit,
            config.default_region,
            clock,
        ),
        clock=clock,
        authenticator=Authenticator(tokens, oidc, clock),
        accounts=accounts,
        login=PasswordLogin(accounts, tokens, counters, audit, config.agency, clock),
        quotas=QuotaService(counters, audit, config.agency, clock),
        policy_admin=PolicyAdmin(policy, audit, config.agency, clock),
        aggregates=AggregateAnswerer(
            config.agency,
            AggregateDatasets.load(config.aggregates),
            SourceDatabases(engine),
            PrivacyLedger(engine, clock),
            AnswerCache(engine, clock),
        ),
    )

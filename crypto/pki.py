"""The federation's TLS PKI: one CA per federation issuing a certificate to each node, whose
agency id travels in a ``urn:cordon:agency:<id>`` URI SAN so that the TLS layer, not a
header, says which agency is on the other end of a connection.

TLS keys are ECDSA P-256, which every TLS stack supports; node *signing* keys are Ed25519
and live in :mod:`crypto.keys`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from crypto.errors import CryptoError, InvalidCertificate

__all__ = [
    "AGENCY_ID_PATTERN",
    "AGENCY_URI_PREFIX",
    "CLOCK_SKEW_ALLOWANCE",
    "agency_of_certificate",
    "cert_to_pem",
    "create_ca",
    "ec_key_to_pem",
    "issue_node_certificate",
    "load_cert_pem",
    "load_ec_key_pem",
    "verify_issued_by",
]

AGENCY_ID_PATTERN = re.compile(r"[a-z][a-z0-9-]{1,62}")
AGENCY_URI_PREFIX = "urn:cordon:agency:"
#: Certificates start this long before "now" so that a peer whose clock is a little behind
#: accepts a certificate issued a moment ago.
CLOCK_SKEW_ALLOWANCE = timedelta(minutes=5)

_HOSTNAME = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_REFUSED = "certificate not issued by the federation CA or not valid now"


def create_ca(
    federation_name: str, *, days: int = 3650, now: datetime | None = None
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed federation CA that may sign node certificates only (path length 0)."""
    if not 1 <= len(federation_name) <= 64 or not federation_name.isprintable():
        raise ValueError("federation name must be 1-64 printable characters")
    not_before, not_after = _validity(now, days)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cordon federation"),
            x509.NameAttribute(NameOID.COMMON_NAME, federation_name),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue_node_certificate(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    agency_id: str,
    *,
    hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    days: int = 825,
    now: datetime | None = None,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A node certificate for both TLS roles (server and client), naming ``agency_id`` in
    the CN and in a ``urn:cordon:agency:`` URI SAN, plus ``hosts`` as DNS or IP SANs.

    The validity never extends past the CA's own ``not_valid_after``.
    """
    _check_agency_id(agency_id)
    if isinstance(hosts, str):
        raise TypeError("hosts must be a sequence of host names, not one string")
    if _public_der(ca_key.public_key()) != _public_der(ca_cert.public_key()):
        raise ValueError("CA key does not belong to the CA certificate")
    try:
        constraints = ca_cert.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.value.ca:
        raise ValueError("the issuing certificate is not a CA")

    not_before, not_after = _validity(now, days)
    not_after = min(not_after, ca_cert.not_valid_after_utc)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [_host_name(host) for host in hosts]
    names.append(x509.UniformResourceIdentifier(AGENCY_URI_PREFIX + agency_id))
    try:
        ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski)
    except x509.ExtensionNotFound:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, agency_id)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(aki, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def agency_of_certificate(cert_or_der: x509.Certificate | bytes) -> str:
    """The agency id in the certificate's single ``urn:cordon:agency:`` URI SAN.

    This reads the identity only: call it on a certificate the TLS handshake (or
    :func:`verify_issued_by`) has already verified, e.g. ``getpeercert(binary_form=True)``.
    """
    try:
        cert = (
            x509.load_der_x509_certificate(cert_or_der)
            if isinstance(cert_or_der, bytes)
            else cert_or_der
        )
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound) as exc:
        raise InvalidCertificate("certificate carries no Cordon agency identity") from exc
    agencies = [
        uri[len(AGENCY_URI_PREFIX) :]
        for uri in san.get_values_for_type(x509.UniformResourceIdentifier)
        if uri.startswith(AGENCY_URI_PREFIX)
    ]
    if len(agencies) != 1 or not AGENCY_ID_PATTERN.fullmatch(agencies[0]):
        raise InvalidCertificate("certificate carries no Cordon agency identity")
    return agencies[0]


def verify_issued_by(
    cert: x509.Certificate, ca_cert: x509.Certificate, *, now: datetime | None = None
) -> None:
    """Raise :class:`InvalidCertificate` unless ``cert`` is a node certificate issued by
    ``ca_cert`` and both are valid at ``now``.

    Uses ``cryptography``'s RFC 5280 path validation (client-auth profile: signature, names,
    validity, CA constraints, key usages) rather than checking fields one by one. The
    message is the same whatever failed.
    """
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    at = now if now is not None else datetime.now(UTC)
    try:
        verifier = PolicyBuilder().store(Store([ca_cert])).time(at).build_client_verifier()
        verifier.verify(cert, [])
    except (VerificationError, ValueError, TypeError) as exc:
        raise InvalidCertificate(_REFUSED) from exc


def cert_to_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_cert_pem(pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise CryptoError("cannot load certificate: malformed PEM") from exc


def ec_key_to_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes | None = None) -> bytes:
    """PKCS#8 PEM of a TLS key, encrypted when a passphrase is given (``ssl`` can load
    either: ``load_cert_chain(..., password=...)``)."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.NoEncryption()
        if passphrase is None
        else serialization.BestAvailableEncryption(passphrase)
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def load_ec_key_pem(pem: bytes, passphrase: bytes | None = None) -> ec.EllipticCurvePrivateKey:
    """Load a TLS private key, refusing anything but ECDSA P-256."""
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except (ValueError, TypeError) as exc:
        raise CryptoError(
            "cannot load TLS key: malformed PEM, or wrong or missing passphrase"
        ) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CryptoError(f"expected an ECDSA P-256 TLS key, found {type(key).__name__}")
    return key


def _check_agency_id(agency_id: str) -> None:
    if not AGENCY_ID_PATTERN.fullmatch(agency_id):
        raise ValueError(
            f"agency id {agency_id!r} must match {AGENCY_ID_PATTERN.pattern}: a lowercase "
            "letter, then 1-62 lowercase letters, digits or hyphens"
        )


def _validity(now: datetime | None, days: int) -> tuple[datetime, datetime]:
    if days < 1:
        raise ValueError("validity must be at least one day")
    start = now if now is not None else datetime.now(UTC)
    if start.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return start - CLOCK_SKEW_ALLOWANCE, start + timedelta(days=days)


def _host_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not _HOSTNAME.fullmatch(host):
        raise ValueError(f"{host!r} is neither an IP address nor a DNS host name")
    return x509.DNSName(host.lower())


def _public_der(key: object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("the federation CA key must be an ECDSA key")
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )

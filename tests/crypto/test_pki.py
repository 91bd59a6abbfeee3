from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from crypto.errors import CryptoError, InvalidCertificate
from crypto.pki import (
    agency_of_certificate,
    cert_to_pem,
    create_ca,
    ec_key_to_pem,
    issue_node_certificate,
    load_cert_pem,
    load_ec_key_pem,
    verify_issued_by,
)

NOW = datetime(2030, 1, 15, 12, 0, tzinfo=UTC)
REFUSED = "certificate not issued by the federation CA or not valid now"


@dataclass(frozen=True)
class Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate


@pytest.fixture(scope="module")
def ca() -> Authority:
    return Authority(*create_ca("eu-test"))


@pytest.fixture(scope="module")
def rogue_ca() -> Authority:
    # Same name as the real CA: only the key tells them apart.
    return Authority(*create_ca("eu-test"))


# --- CA and node certificates ------------------------------------------------------------


def test_ca_is_a_self_signed_constrained_ca() -> None:
    key, cert = create_ca("eu-test", days=10, now=NOW)
    assert cert.subject == cert.issuer
    cert.verify_directly_issued_by(cert)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    assert not usage.digital_signature
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.not_valid_after_utc == NOW + timedelta(days=10)
    assert cert.not_valid_before_utc <= NOW


def test_node_certificate_names_its_agency_and_hosts(ca: Authority) -> None:
    _, cert = issue_node_certificate(
        ca.key, ca.cert, "police-nl", hosts=("node.police.example", "10.0.0.7", "::1")
    )
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "police-nl"
    assert cert.issuer == ca.cert.subject
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["node.police.example"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("10.0.0.7"),
        ipaddress.ip_address("::1"),
    ]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        "urn:cordon:agency:police-nl"
    ]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    cert.verify_directly_issued_by(ca.cert)


def test_node_certificate_never_outlives_its_ca() -> None:
    ca_key, ca_cert = create_ca("eu-test", days=30, now=NOW)
    _, cert = issue_node_certificate(ca_key, ca_cert, "customs-be", days=825, now=NOW)
    assert cert.not_valid_after_utc == ca_cert.not_valid_after_utc


def test_agency_is_read_from_certificate_and_from_der(ca: Authority) -> None:
    _, cert = issue_node_certificate(ca.key, ca.cert, "fiu-lu")
    assert agency_of_certificate(cert) == "fiu-lu"
    assert agency_of_certificate(cert.public_bytes(serialization.Encoding.DER)) == "fiu-lu"


def test_certificate_without_agency_uri_has_no_agency(ca: Authority) -> None:
    with pytest.raises(InvalidCertificate):
        agency_of_certificate(ca.cert)


def _cert_with_uris(ca: Authority, uris: list[str]) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "police-nl")]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW)
        .not_valid_after(NOW + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(u) for u in uris]),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )


@pytest.mark.parametrize(
    "uris",
    [
        ["urn:cordon:agency:Police-NL"],
        ["urn:cordon:agency:"],
        ["urn:cordon:agency:police-nl", "urn:cordon:agency:customs-nl"],
        ["urn:other:agency:police-nl"],
    ],
    ids=["uppercase", "empty", "two-agencies", "other-namespace"],
)
def test_malformed_agency_uri_is_refused(ca: Authority, uris: list[str]) -> None:
    with pytest.raises(InvalidCertificate):
        agency_of_certificate(_cert_with_uris(ca, uris))


def test_garbage_der_has_no_agency() -> None:
    with pytest.raises(InvalidCertificate):
        agency_of_certificate(b"\x30\x03\x02\x01\x00")


@pytest.mark.parametrize(
    "agency_id", ["", "p", "Police-nl", "1police", "police_nl", "police.nl", "-police", "a" * 64]
)
def test_bad_agency_id_is_refused_naming_the_rule(ca: Authority, agency_id: str) -> None:
    with pytest.raises(ValueError, match=r"must match \[a-z\]\[a-z0-9-\]\{1,62\}"):
        issue_node_certificate(ca.key, ca.cert, agency_id)


@pytest.mark.parametrize("agency_id", ["pn", "police-nl", "fiu-2", "a" * 63])
def test_good_agency_ids_are_accepted(ca: Authority, agency_id: str) -> None:
    _, cert = issue_node_certificate(ca.key, ca.cert, agency_id)
    assert agency_of_certificate(cert) == agency_id


@pytest.mark.parametrize("host", ["", "under_score.example", "bad host", "*.example.org"])
def test_bad_host_is_refused(ca: Authority, host: str) -> None:
    with pytest.raises(ValueError, match="neither an IP address nor a DNS host name"):
        issue_node_certificate(ca.key, ca.cert, "police-nl", hosts=(host,))


def test_issuing_with_a_key_that_is_not_the_cas_is_refused(
    ca: Authority, rogue_ca: Authority
) -> None:
    with pytest.raises(ValueError, match="does not belong"):
        issue_node_certificate(rogue_ca.key, ca.cert, "police-nl")


def test_a_node_certificate_cannot_issue_certificates(ca: Authority) -> None:
    node_key, node_cert = issue_node_certificate(ca.key, ca.cert, "police-nl")
    with pytest.raises(ValueError, match="not a CA"):
        issue_node_certificate(node_key, node_cert, "customs-nl")


# --- verify_issued_by ----------------------------------------------------------------------


def test_node_certificate_verifies_against_its_ca(ca: Authority) -> None:
    _, cert = issue_node_certificate(ca.key, ca.cert, "police-nl")
    verify_issued_by(cert, ca.cert)


def test_certificate_from_another_ca_is_refused(ca: Authority, rogue_ca: Authority) -> None:
    _, cert = issue_node_certificate(rogue_ca.key, rogue_ca.cert, "police-nl")
    with pytest.raises(InvalidCertificate) as caught:
        verify_issued_by(cert, ca.cert)
    assert caught.value.args == (REFUSED,)


def test_expired_certificate_is_refused(ca: Authority) -> None:
    ca_key, ca_cert = create_ca("eu-test", now=NOW)
    _, cert = issue_node_certificate(ca_key, ca_cert, "police-nl", days=30, now=NOW)
    verify_issued_by(cert, ca_cert, now=NOW + timedelta(days=29))
    with pytest.raises(InvalidCertificate) as caught:
        verify_issued_by(cert, ca_cert, now=NOW + timedelta(days=31))
    assert caught.value.args == (REFUSED,)


def test_not_yet_valid_certificate_is_refused() -> None:
    ca_key, ca_cert = create_ca("eu-test", now=NOW)
    _, cert = issue_node_certificate(ca_key, ca_cert, "police-nl", now=NOW + timedelta(days=2))
    with pytest.raises(InvalidCertificate):
        verify_issued_by(cert, ca_cert, now=NOW + timedelta(days=1))


def test_the_ca_itself_is_not_a_node_certificate(ca: Authority) -> None:
    with pytest.raises(InvalidCertificate):
        verify_issued_by(ca.cert, ca.cert)


def test_verify_issued_by_wants_an_aware_time(ca: Authority) -> None:
    _, cert = issue_node_certificate(ca.key, ca.cert, "police-nl")
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_issued_by(cert, ca.cert, now=datetime(2030, 1, 1))


# --- PEM helpers ---------------------------------------------------------------------------


def test_certificate_pem_round_trip(ca: Authority) -> None:
    assert load_cert_pem(cert_to_pem(ca.cert)) == ca.cert


def test_malformed_certificate_pem_is_refused() -> None:
    with pytest.raises(CryptoError, match="malformed PEM"):
        load_cert_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


def test_tls_key_pem_round_trip_with_and_without_passphrase(ca: Authority) -> None:
    public = ca.key.public_key().public_numbers()
    assert load_ec_key_pem(ec_key_to_pem(ca.key)).public_key().public_numbers() == public
    pem = ec_key_to_pem(ca.key, passphrase=b"tls secret")
    assert load_ec_key_pem(pem, passphrase=b"tls secret").public_key().public_numbers() == public
    with pytest.raises(CryptoError):
        load_ec_key_pem(pem, passphrase=b"wrong")


def test_tls_key_on_another_curve_is_refused() -> None:
    pem = ec_key_to_pem(ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(CryptoError, match="P-256"):
        load_ec_key_pem(pem)


# --- a real mutual-TLS handshake on loopback ---------------------------------------------


def _write_identity(directory: Path, name: str, authority: Authority) -> tuple[Path, Path]:
    key, cert = issue_node_certificate(authority.key, authority.cert, name)
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert_to_pem(cert))
    key_path.write_bytes(ec_key_to_pem(key))
    return cert_path, key_path


@dataclass(frozen=True)
class Federation:
    port: int
    ca_pem: str
    server: ThreadPoolExecutor
    listener: socket.socket
    server_context: ssl.SSLContext


@pytest.fixture
def federation_node(tmp_path: Path, ca: Authority) -> Iterator[Federation]:
    """A listening socket with a server context that demands a client certificate from the
    federation CA, as the federation listener does."""
    ca_pem = cert_to_pem(ca.cert).decode("ascii")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=ca_pem)
    context.load_cert_chain(*_write_identity(tmp_path, "police-nl", ca))
    with (
        socket.create_server(("127.0.0.1", 0)) as listener,
        ThreadPoolExecutor(max_workers=1) as server,
    ):
        listener.settimeout(10)
        yield Federation(listener.getsockname()[1], ca_pem, server, listener, context)


def _serve_one(node: Federation) -> str:
    """Accept one connection; answer with the client's agency read from its certificate.
    Returns what happened, for the test to assert on."""
    connection, _ = node.listener.accept()
    with connection:
        connection.settimeout(10)
        try:
            with node.server_context.wrap_socket(connection, server_side=True) as tls:
                peer = tls.getpeercert(binary_form=True)
                assert peer is not None
                agency = agency_of_certificate(peer)
                tls.sendall(agency.encode("ascii"))
                return f"accepted {agency}"
        except ssl.SSLError as exc:
            return f"refused {exc.reason}"


def _client_context(node: Federation, identity: tuple[Path, Path] | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=node.ca_pem)
    if identity is not None:
        context.load_cert_chain(*identity)
    return context


def _connect(node: Federation, context: ssl.SSLContext) -> bytes:
    """Connect, then read what the server says; b"" when the server refused us (with TLS
    1.3 a client learns of a refused certificate only on its first read)."""
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                return tls.recv(256)
        except (ssl.SSLError, ConnectionError):
            return b""


def test_mtls_client_with_federation_certificate_is_accepted_and_identified(
    federation_node: Federation, ca: Authority, tmp_path: Path
) -> None:
    served = federation_node.server.submit(_serve_one, federation_node)
    client = _client_context(federation_node, _write_identity(tmp_path, "customs-be", ca))
    assert _connect(federation_node, client) == b"customs-be"
    assert served.result(timeout=10) == "accepted customs-be"


def test_mtls_client_without_certificate_is_refused(federation_node: Federation) -> None:
    served = federation_node.server.submit(_serve_one, federation_node)
    assert _connect(federation_node, _client_context(federation_node, None)) == b""
    outcome = served.result(timeout=10)
    assert outcome.startswith("refused"), outcome
    assert "CERTIFICATE" in outcome.upper()


def test_mtls_client_with_certificate_from_another_ca_is_refused(
    federation_node: Federation, rogue_ca: Authority, tmp_path: Path
) -> None:
    served = federation_node.server.submit(_serve_one, federation_node)
    client = _client_context(federation_node, _write_identity(tmp_path, "customs-be", rogue_ca))
    assert _connect(federation_node, client) == b""
    outcome = served.result(timeout=10)
    assert outcome.startswith("refused"), outcome
    assert "CERTIFICATE_VERIFY_FAILED" in outcome

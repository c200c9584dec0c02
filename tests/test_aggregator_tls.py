"""Nodes served over HTTPS: the certificate is checked against the node's name, sent in SNI and Host.

The harvester connects to the address the SSRF guard checked, so the name travels separately from the
address: these tests make sure it still reaches the TLS handshake (SNI and the certificate check) and
the request (Host). A test authority issues the certificates; the aggregator trusts it through the
``ca_file`` setting. No DNS here: the guard resolves the test names to 127.0.0.1.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from agg_helpers import FakeNode, LoopbackNames, aggregator, fake_nodes, make_due
from ogp_federation.aggregator.registry import Node
from ogp_federation.aggregator.runtime import AggregatorRuntime
from ogp_federation.core.errors import ConfigurationError, OGPError

NAME = "nodo.penalolen.test"
CUT = "13122"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
    """A certificate of ``key`` valid from five minutes ago for a day."""
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
    )


def _authority(directory: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path]:
    """A certificate authority: its key, its certificate and the PEM file holding the certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"ogp-federation test CA {directory.name}")
    certificate = (
        _builder(name, name, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    path = directory / "ca.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key, certificate, path


Issuer = tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None


def _issue(directory: Path, issuer: Issuer, dns_name: str) -> tuple[Path, Path]:
    """A server certificate for ``dns_name`` issued by ``issuer`` (None: self-signed), as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    signer_key, signer_name = (issuer[0], issuer[1].subject) if issuer else (key, _name(dns_name))
    certificate = (
        _builder(_name(dns_name), signer_name, key)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
        .sign(signer_key, hashes.SHA256())
    )
    stem = f"{dns_name}-{x509.random_serial_number()}"
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _server_context(chain: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*chain)
    return context


async def _stored(runtime: AggregatorRuntime) -> Node:
    async with runtime.db.sessions() as session:
        node = await session.scalar(select(Node).where(Node.cut == CUT))
    assert node is not None
    return node


async def test_a_node_over_https_is_harvested_with_its_name_in_sni_and_host(tmp_path: Path, database_url: str) -> None:
    ca_key, ca_cert, ca_file = _authority(tmp_path)
    tls = _server_context(_issue(tmp_path, (ca_key, ca_cert), NAME))
    async with fake_nodes(tls, NAME) as server, aggregator(database_url, ca_file=str(ca_file)) as runtime:
        runtime.fetcher.guard = LoopbackNames(["127.0.0.0/8"])
        server.add(FakeNode(CUT))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        (result,) = (await runtime.scheduler.tick()).results
        node = await _stored(runtime)
    assert (result.outcome, node.state, node.sequence) == ("accepted", "ok", 1)
    assert node.feed_url.startswith(f"https://{NAME}:")
    assert set(server.server_names) == {NAME}  # SNI names the node, never the address connected to
    assert set(server.hosts) == {f"{NAME}:{server.port}"}


CERTIFICATES = ["self_signed", "issued_for_another_name", "issued_by_an_untrusted_authority"]


def _bad_chain(kind: str, directory: Path, trusted: Issuer) -> tuple[Path, Path]:
    if kind == "self_signed":
        return _issue(directory, None, NAME)
    if kind == "issued_for_another_name":
        return _issue(directory, trusted, "otro.municipio.test")
    (directory / "other").mkdir()
    other_key, other_cert, _ = _authority(directory / "other")
    return _issue(directory, (other_key, other_cert), NAME)


@pytest.mark.parametrize("certificate", CERTIFICATES)
async def test_a_certificate_that_fails_is_a_tls_error_and_the_last_version_stays(
    certificate: str, tmp_path: Path, database_url: str
) -> None:
    """A commune's certificate expires or is replaced badly: its polls fail with ``tls.failed``, nothing is lost."""
    ca_key, ca_cert, ca_file = _authority(tmp_path)
    tls = _server_context(_issue(tmp_path, (ca_key, ca_cert), NAME))
    async with fake_nodes(tls, NAME) as server, aggregator(database_url, ca_file=str(ca_file)) as runtime:
        runtime.fetcher.guard = LoopbackNames(["127.0.0.0/8"])
        fake = server.add(FakeNode(CUT))
        await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        assert [r.outcome for r in (await runtime.scheduler.tick()).results] == ["accepted"]
        tls.load_cert_chain(*_bad_chain(certificate, tmp_path, (ca_key, ca_cert)))  # new handshakes get it
        await runtime.fetcher.close()  # (no connection kept from the first poll)
        fake.publish(2)
        await make_due(runtime, CUT)
        served = len(server.requests)
        (result,) = (await runtime.scheduler.tick()).results
        node = await _stored(runtime)
    assert (result.outcome, result.code) == ("error", "tls.failed")
    assert (node.state, node.last_error_code, node.sequence) == ("failing", "tls.failed", 1)
    assert len(server.requests) == served  # nothing was sent over a connection whose certificate failed


async def test_registering_a_node_whose_certificate_fails_is_refused(tmp_path: Path, database_url: str) -> None:
    tls = _server_context(_issue(tmp_path, None, NAME))
    async with fake_nodes(tls, NAME) as server, aggregator(database_url) as runtime:
        runtime.fetcher.guard = LoopbackNames(["127.0.0.0/8"])
        server.add(FakeNode(CUT))
        with pytest.raises(OGPError) as refused:
            await runtime.registry.add_node(CUT, server.base(CUT), trust_fetched_keys=True)
        async with runtime.db.sessions() as session:
            registered = await session.scalar(select(Node).where(Node.cut == CUT))
    assert refused.value.code == "tls.failed"
    assert registered is None
    assert server.requests == []


async def test_a_ca_file_that_cannot_be_read_is_a_configuration_error(tmp_path: Path, database_url: str) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    for path in (bad, tmp_path / "missing.pem"):
        with pytest.raises(ConfigurationError, match="ca_file"):
            async with aggregator(database_url, ca_file=str(path)):
                pass

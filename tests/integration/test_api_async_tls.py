"""The async client over HTTPS on 127.0.0.1 with a private CA bundle given as ``verify``.

A throwaway CA signs the scripted server's certificate, so the handshake is real: the CA path is what
makes it succeed, and loading that bundle must happen in a worker thread, not in the event loop.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from scripted_server import Reply, ScriptedServer, scripted_server

from airflow_provider.api import endpoints
from airflow_provider.api.client import AsyncPostHogClient
from airflow_provider.api.config import ClientConfig
from airflow_provider.api.errors import PostHogConnectionError

KEY = "phx_demo_all_scopes"


def certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey] | None
) -> x509.Certificate:
    """A certificate for ``subject``, self-signed (a CA) or signed by ``issuer`` (for 127.0.0.1).

    Both carry the key usage Python 3.13's strict X.509 checks (``VERIFY_X509_STRICT``) require.
    """
    issuer_name, issuer_key = issuer or (subject, key)
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=issuer is not None,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=issuer is None,
            crl_sign=issuer is None,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    if issuer is None:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def ca_bundle_and_server(tmp_path: Path) -> Iterator[tuple[Path, ScriptedServer]]:
    """A private CA's bundle file, and an HTTPS scripted server whose certificate that CA signed."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    server_key = ec.generate_private_key(ec.SECP256R1())
    ca_file = tmp_path / "private-ca.pem"
    ca_file.write_bytes(certificate("Test CA", ca_key, None).public_bytes(serialization.Encoding.PEM))
    cert_file = tmp_path / "server.pem"
    cert_file.write_bytes(
        certificate("127.0.0.1", server_key, ("Test CA", ca_key)).public_bytes(serialization.Encoding.PEM)
    )
    key_file = tmp_path / "server.key"
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    with scripted_server(tls) as server:
        server.fallback = lambda seen: Reply(200, {"id": 7, "name": "Demo"})
        yield ca_file, server


def config(server: ScriptedServer, verify: str) -> ClientConfig:
    return ClientConfig.from_connection_fields(
        host=server.url, api_key=KEY, extra={"project_id": "7", "verify": verify, "max_retries": 0}
    )


def test_a_ca_bundle_is_loaded_once_in_a_worker_thread_not_in_the_event_loop(
    ca_bundle_and_server: tuple[Path, ScriptedServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    ca_file, server = ca_bundle_and_server
    create_default_context = ssl.create_default_context
    loads: list[threading.Thread] = []

    def recording(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        if kwargs.get("cafile") == str(ca_file):
            loads.append(threading.current_thread())
        return create_default_context(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", recording)

    async def two_concurrent_first_calls() -> tuple[list[Any], threading.Thread]:
        async with AsyncPostHogClient(config(server, str(ca_file))) as client:
            answers = await asyncio.gather(client.call(endpoints.project()), client.call(endpoints.project()))
        return answers, threading.current_thread()

    answers, loop_thread = asyncio.run(two_concurrent_first_calls())

    assert answers == [{"id": 7, "name": "Demo"}] * 2
    assert [seen.path for seen in server.seen] == ["/api/projects/7/"] * 2
    assert len(loads) == 1, "one load of the bundle for both first requests"
    assert loads[0] is not loop_thread


def test_without_the_ca_bundle_the_same_server_is_refused(
    ca_bundle_and_server: tuple[Path, ScriptedServer],
) -> None:
    _, server = ca_bundle_and_server

    async def call_with_system_cas() -> Any:
        async with AsyncPostHogClient(config(server, "true")) as client:
            return await client.call(endpoints.project())

    with pytest.raises(PostHogConnectionError, match=r"TLS handshake failed.*'verify' extra"):
        asyncio.run(call_with_system_cas())
    assert server.seen == []

"""SASL EXTERNAL with a TLS client certificate (CertFP): the server sees our
certificate in the handshake and the engine authenticates with ``AUTHENTICATE +``."""

from __future__ import annotations

import hashlib
import ssl

import pytest

from backchannel.irc.status import SaslOutcome
from backchannel.protocol.sasl import SaslConfig
from tests.irc.engine_helpers import SERVER, Cert, config, make_self_signed, running
from tests.support.fakeircd import FakeIrcServer


@pytest.fixture(scope="module")
def server_cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    return make_self_signed(tmp_path_factory.mktemp("server"))


@pytest.fixture(scope="module")
def client_cert(tmp_path_factory: pytest.TempPathFactory) -> Cert:
    return make_self_signed(tmp_path_factory.mktemp("client"))


async def test_external_authenticates_with_the_client_certificate(
    server_cert: Cert, client_cert: Cert
) -> None:
    context = server_cert.server_context()
    context.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no handshake
    context.load_verify_locations(client_cert.cert)
    async with FakeIrcServer(ssl=context) as srv:
        cfg = config(
            srv.port,
            tls=True,
            fingerprint=server_cert.fingerprint,
            client_cert=client_cert.cert,
            client_key=client_cert.key,
            sasl=SaslConfig("EXTERNAL"),
        )
        async with running(cfg) as eng:
            fc = await srv.accept()
            tls = fc.extra_info("ssl_object")
            assert isinstance(tls, ssl.SSLObject)
            peer = tls.getpeercert(binary_form=True)
            assert peer is not None
            assert hashlib.sha256(peer).hexdigest() == client_cert.fingerprint
            await fc.expect("CAP LS 302")
            fc.send(f":{SERVER} CAP * LS :sasl=EXTERNAL,PLAIN")
            assert await fc.expect(lambda line: line.startswith("CAP REQ")) == "CAP REQ :sasl"
            fc.send(f":{SERVER} CAP * ACK :sasl")
            assert await fc.expect("AUTHENTICATE") == "AUTHENTICATE EXTERNAL"
            fc.send("AUTHENTICATE +")
            assert await fc.expect("AUTHENTICATE") == "AUTHENTICATE +"
            fc.send(f":{SERVER} 900 me me!u@h certuser :You are now logged in as certuser")
            fc.send(f":{SERVER} 903 me :SASL authentication successful")
            await fc.expect("CAP END")
            await fc.welcome("me")
            await eng.wait_status("registered")
            [outcome] = eng.of(SaslOutcome)
            assert (outcome.success, outcome.mechanism, outcome.account) == (
                True,
                "EXTERNAL",
                "certuser",
            )


async def test_without_the_certificate_the_server_refuses_the_handshake(
    server_cert: Cert, client_cert: Cert
) -> None:
    context = server_cert.server_context()
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(client_cert.cert)
    async with FakeIrcServer(ssl=context) as srv:
        cfg = config(srv.port, tls=True, fingerprint=server_cert.fingerprint, reconnect=False)
        async with running(cfg, retry_until_registered=False) as eng:
            error = await eng.outcome(timeout=10)
            assert error is not None
            assert not eng.statuses("registered")

"""SASL during registration against the scripted server: PLAIN (incl. 400-byte
chunking), a mechanism the server does not offer, SCRAM-SHA-256 with the
server side played by scramp, and failures that must stop the engine."""

from __future__ import annotations

import base64
import contextlib

from scramp import ScramException, ScramMechanism  # type: ignore[import-untyped]

from backchannel.irc.client import EngineFailure
from backchannel.irc.status import SaslOutcome
from backchannel.protocol.sasl import SaslConfig
from tests.irc.engine_helpers import SERVER, Engine, config, lines_after, running
from tests.support.fakeircd import FakeClient, FakeIrcServer


async def start_sasl(fc: FakeClient, mechanisms: str = "PLAIN,SCRAM-SHA-256") -> None:
    """Offer sasl and ACK the request (which must include it)."""
    await fc.expect("CAP LS 302")
    fc.send(f":{SERVER} CAP * LS :multi-prefix sasl={mechanisms}")
    req = await fc.expect("CAP REQ")
    caps = req.removeprefix("CAP REQ :")
    assert "sasl" in caps.split()
    fc.send(f":{SERVER} CAP * ACK :{caps}")


async def read_payload(fc: FakeClient) -> bytes:
    """One client payload, reassembled from its 400-byte AUTHENTICATE chunks."""
    encoded = ""
    while True:
        line = await fc.expect("AUTHENTICATE ")
        chunk = line.removeprefix("AUTHENTICATE ")
        if chunk == "+":
            break
        assert len(chunk) <= 400
        encoded += chunk
        if len(chunk) < 400:
            break
    return base64.b64decode(encoded)


def send_payload(fc: FakeClient, payload: bytes) -> None:
    encoded = base64.b64encode(payload).decode()
    chunks = [encoded[i : i + 400] for i in range(0, len(encoded), 400)]
    if not encoded or len(encoded) % 400 == 0:
        chunks.append("+")
    for chunk in chunks:
        fc.send(f"AUTHENTICATE {chunk}")


async def finish(fc: FakeClient, eng: Engine, account: str) -> None:
    fc.send(f":{SERVER} 900 me me!u@h {account} :You are now logged in as {account}")
    fc.send(f":{SERVER} 903 me :SASL authentication successful")
    assert await fc.expect(lambda line: not line.startswith("AUTHENTICATE")) == "CAP END"
    await fc.welcome("me")
    await eng.wait_status("registered")


async def test_plain_success() -> None:
    sasl = SaslConfig("PLAIN", "jilles", "sesame")
    async with FakeIrcServer() as srv, running(config(srv.port, sasl=sasl)) as eng:
        fc = await srv.accept()
        await start_sasl(fc)
        assert await fc.readline() == "AUTHENTICATE PLAIN"
        fc.send("AUTHENTICATE +")
        assert await read_payload(fc) == b"jilles\0jilles\0sesame"
        await finish(fc, eng, "jilles")
        [outcome] = eng.of(SaslOutcome)
        assert outcome.success and outcome.mechanism == "PLAIN"
        assert outcome.account == "jilles"


async def test_plain_with_a_long_password_is_chunked_with_a_final_plus() -> None:
    password = "p" * 592  # 600 bytes of payload → exactly 800 base64 characters
    sasl = SaslConfig("PLAIN", "acc", password)
    async with FakeIrcServer() as srv, running(config(srv.port, sasl=sasl)) as eng:
        fc = await srv.accept()
        await start_sasl(fc)
        assert await fc.readline() == "AUTHENTICATE PLAIN"
        fc.send("AUTHENTICATE +")
        lines = [await fc.readline() for _ in range(3)]
        assert [len(line.removeprefix("AUTHENTICATE ")) for line in lines] == [400, 400, 1]
        assert lines[2] == "AUTHENTICATE +"
        payload = base64.b64decode("".join(line[13:] for line in lines[:2]))
        assert payload == b"acc\0acc\0" + password.encode()
        await finish(fc, eng, "acc")
        assert eng.of(SaslOutcome)[0].success


async def test_plain_not_offered_aborts_cleanly_and_is_fatal() -> None:
    sasl = SaslConfig("PLAIN", "jilles", "sesame")
    async with FakeIrcServer() as srv, running(config(srv.port, sasl=sasl)) as eng:
        fc = await srv.accept()
        await start_sasl(fc, mechanisms="EXTERNAL")
        error = await eng.outcome()
        assert isinstance(error, EngineFailure)
        assert "SASL" in str(error) and "PLAIN" in str(error)
        await fc.closed.wait()
        after_ack = fc.received[fc.received.index(next(iter(lines_after(fc, "CAP REQ")))) + 1 :]
        assert "AUTHENTICATE PLAIN" not in after_ack  # 3.2: the list said no
        assert after_ack[0] == "CAP END"
        assert after_ack[-1].startswith("QUIT")
        [outcome] = eng.of(SaslOutcome)
        assert not outcome.success
        assert eng.statuses("failed")
        assert len(srv.clients) == 1  # no reconnect


async def test_904_is_fatal_with_a_clear_reason() -> None:
    sasl = SaslConfig("PLAIN", "jilles", "wrong")
    async with FakeIrcServer() as srv, running(config(srv.port, sasl=sasl)) as eng:
        fc = await srv.accept()
        await start_sasl(fc)
        await fc.expect("AUTHENTICATE PLAIN")
        fc.send("AUTHENTICATE +")
        await read_payload(fc)
        fc.send(f":{SERVER} 904 me :SASL authentication failed")
        error = await eng.outcome()
        assert isinstance(error, EngineFailure)
        assert "SASL authentication failed" in str(error)
        assert "bad credentials" in str(error)
        await fc.closed.wait()
        assert lines_after(fc, "QUIT")
        assert not eng.statuses("registered")
        assert len(srv.clients) == 1


# -- SCRAM-SHA-256 ---------------------------------------------------------------


def scram_server(account: str, password: str) -> object:
    mechanism = ScramMechanism("SCRAM-SHA-256")
    info = mechanism.make_auth_info(password, iteration_count=4096)

    def auth(username: str) -> tuple[bytes, bytes, bytes, int]:
        assert username == account
        return info

    return mechanism.make_server(auth)


async def scram_exchange(fc: FakeClient, server: object) -> str:
    """Play the server up to its final message; returns that message (or an
    ``e=`` error when the client's proof is wrong)."""
    assert await fc.readline() == "AUTHENTICATE SCRAM-SHA-256"
    fc.send("AUTHENTICATE +")
    server.set_client_first((await read_payload(fc)).decode())  # type: ignore[attr-defined]
    send_payload(fc, server.get_server_first().encode())  # type: ignore[attr-defined]
    client_final = (await read_payload(fc)).decode()
    with contextlib.suppress(ScramException):  # a wrong proof: get_server_final says e=
        server.set_client_final(client_final)  # type: ignore[attr-defined]
    return str(server.get_server_final())  # type: ignore[attr-defined]


async def test_scram_sha_256_success() -> None:
    sasl = SaslConfig("SCRAM-SHA-256", "jilles", "sesame")
    async with FakeIrcServer() as srv, running(config(srv.port, sasl=sasl)) as eng:
        fc = await srv.accept()
        await start_sasl(fc)
        server_final = await scram_exchange(fc, scram_server("jilles", "sesame"))
        assert server_final.startswith("v=")
        send_payload(fc, server_final.encode())
        assert await fc.readline() == "AUTHENTICATE +"  # nothing more to say
        await finish(fc, eng, "jilles")
        [outcome] = eng.of(SaslOutcome)
        assert outcome.success and outcome.mechanism == "SCRAM-SHA-256"


async def test_scram_with_a_bad_password_fails() -> None:
    sasl = SaslConfig("SCRAM-SHA-256", "jilles", "wrong")
    async with FakeIrcServer() as srv, running(config(srv.port, sasl=sasl)) as eng:
        fc = await srv.accept()
        await start_sasl(fc)
        server_final = await scram_exchange(fc, scram_server("jilles", "sesame"))
        assert server_final.startswith("e=")
        send_payload(fc, server_final.encode())
        fc.send(f":{SERVER} 904 me :SASL authentication failed")
        error = await eng.outcome()
        assert isinstance(error, EngineFailure)
        assert not any(o.success for o in eng.of(SaslOutcome))
        assert not eng.statuses("registered")


async def test_scram_with_a_wrong_server_signature_never_succeeds() -> None:
    sasl = SaslConfig("SCRAM-SHA-256", "jilles", "sesame")
    async with FakeIrcServer() as srv, running(config(srv.port, sasl=sasl)) as eng:
        fc = await srv.accept()
        await start_sasl(fc)
        # an impostor that does not know the password: its own verifier
        server_final = await scram_exchange(fc, scram_server("jilles", "sesame"))
        forged = "v=" + base64.b64encode(b"\x00" * 32).decode()
        assert forged != server_final
        send_payload(fc, forged.encode())
        assert await fc.readline() == "AUTHENTICATE *"
        # and it claims success anyway
        fc.send(f":{SERVER} 900 me me!u@h jilles :You are now logged in as jilles")
        fc.send(f":{SERVER} 903 me :SASL authentication successful")
        error = await eng.outcome()
        assert isinstance(error, EngineFailure)
        assert "signature" in str(error)
        assert not any(o.success for o in eng.of(SaslOutcome))
        assert not eng.statuses("registered")


async def test_scram_server_claiming_success_without_its_proof_fails() -> None:
    sasl = SaslConfig("SCRAM-SHA-256", "jilles", "sesame")
    async with FakeIrcServer() as srv, running(config(srv.port, sasl=sasl)) as eng:
        fc = await srv.accept()
        await start_sasl(fc)
        await fc.expect("AUTHENTICATE SCRAM-SHA-256")
        fc.send("AUTHENTICATE +")
        await read_payload(fc)
        fc.send(f":{SERVER} 903 me :SASL authentication successful")  # skips the exchange
        error = await eng.outcome()
        assert isinstance(error, EngineFailure)
        assert not any(o.success for o in eng.of(SaslOutcome))

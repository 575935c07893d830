"""The real-server fixtures work: registration, channels, TLS, IRCv3 caps, SASL."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import uuid

import pytest

from tests.support.ircclient import IRCClient
from tests.support.ircd import InspIRCd, NgIRCd

pytestmark = pytest.mark.ircd


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6]}"


async def _exchange_privmsg(host: str, port: int) -> None:
    channel = "#" + _unique("chan")
    nick_a, nick_b = _unique("a"), _unique("b")
    a = await IRCClient.connect(host, port)
    b = await IRCClient.connect(host, port)
    try:
        await asyncio.gather(a.register(nick_a), b.register(nick_b))  # ~1 s each on inspircd
        await a.send(f"JOIN {channel}")
        await a.expect(lambda m: m.command == "366" and m.param(1) == channel)
        await b.send(f"JOIN {channel}")
        await b.expect(lambda m: m.command == "366" and m.param(1) == channel)
        await a.expect(lambda m: m.command == "JOIN" and m.nick == nick_b)
        await a.send(f"PRIVMSG {channel} :hello from a")
        got = await b.expect("PRIVMSG")
        assert got.nick == nick_a
        assert got.params == [channel, "hello from a"]
        await b.send(f"PRIVMSG {nick_a} :hi a, it is b")
        got = await a.expect("PRIVMSG")
        assert got.nick == nick_b
        assert got.params == [nick_a, "hi a, it is b"]
    finally:
        await a.close()
        await b.close()


async def test_inspircd_channel_privmsg(inspircd: InspIRCd) -> None:
    assert inspircd.alive()
    await _exchange_privmsg(inspircd.host, inspircd.port)


async def test_ngircd_channel_privmsg(ngircd: NgIRCd) -> None:
    assert ngircd.alive()
    await _exchange_privmsg(ngircd.host, ngircd.port)


async def test_inspircd_tls_with_generated_ca(inspircd: InspIRCd) -> None:
    assert inspircd.tls_port is not None and inspircd.cert_path is not None
    context = ssl.create_default_context(cafile=str(inspircd.cert_path))
    for name in ("localhost", "127.0.0.1"):  # both names are in the certificate's SAN
        client = await IRCClient.connect(
            inspircd.host, inspircd.tls_port, ssl=context, server_hostname=name
        )
        try:
            ssl_object = client.writer.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True)
            assert hashlib.sha256(der).hexdigest() == inspircd.cert_sha256
            welcome = await client.register(_unique("tls"))
            assert welcome.source == inspircd.server_name
        finally:
            await client.close()


async def test_inspircd_tls_rejects_unknown_ca(inspircd: InspIRCd) -> None:
    assert inspircd.tls_port is not None
    with pytest.raises(ssl.SSLCertVerificationError):
        await IRCClient.connect(inspircd.host, inspircd.tls_port, ssl=ssl.create_default_context())


async def test_inspircd_cap_ls_302(inspircd: InspIRCd) -> None:
    client = await IRCClient.connect(inspircd.host, inspircd.port)
    try:
        await client.send("CAP LS 302")
        caps = await client.read_cap_ls()
        for cap in ("server-time", "echo-message", "message-tags", "batch", "labeled-response"):
            assert cap in caps, caps
        assert "sasl" not in caps  # no services on this instance
        welcome = await client.register(_unique("cap"), caps=["server-time", "echo-message"])
        assert {"server-time", "echo-message"} <= client.caps
        assert "time" in welcome.tags
        assert client.isupport.get("CASEMAPPING") == "rfc1459"
    finally:
        await client.close()


async def test_services_sasl_plain(inspircd_services: InspIRCd) -> None:
    account, password = _unique("acct"), "correct-horse"
    await inspircd_services.register_account_async(account, password)

    client = await IRCClient.connect(inspircd_services.host, inspircd_services.port)
    try:
        await client.send("CAP LS 302")
        caps = await client.read_cap_ls()
        assert "sasl" in caps, caps
        assert "PLAIN" in caps["sasl"].split(","), caps["sasl"]
        await client.send(f"NICK {_unique('s')}")
        await client.send("USER s 0 * :s")
        await client.send("CAP REQ :sasl")
        await client.expect(lambda m: m.command == "CAP" and m.param(1) == "ACK")
        result = await client.authenticate_plain(account, password)
        assert result.command == "903"
        await client.send("CAP END")
        await client.expect("001")
    finally:
        await client.close()

    wrong = await IRCClient.connect(inspircd_services.host, inspircd_services.port)
    try:
        await wrong.send("CAP REQ :sasl")
        await wrong.send(f"NICK {_unique('w')}")
        await wrong.send("USER w 0 * :w")
        await wrong.expect(lambda m: m.command == "CAP" and m.param(1) == "ACK")
        result = await wrong.authenticate_plain(account, "wrong-password", require=False)
        assert result.command == "904"
    finally:
        await wrong.close()

    # The register() shortcut does the same negotiation.
    again = await IRCClient.connect(inspircd_services.host, inspircd_services.port)
    try:
        await again.register(_unique("r"), sasl=(account, password))
        assert "sasl" in again.caps
    finally:
        await again.close()

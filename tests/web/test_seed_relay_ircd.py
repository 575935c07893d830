"""The seed gateway against real packaged IRC servers: one client speaks IRC
through Backchannel's connect/push/pull, the other over a plain socket."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.ircclient import IRCClient
from tests.support.seed_client import SeedClient
from tests.web.conftest import AppFactory

pytestmark = pytest.mark.ircd



@pytest.fixture
def make_server(make_server: AppFactory) -> AppFactory:
    """The seed API as anonymous visitors use it: public (gateway) mode."""

    async def start(**settings: object):  # type: ignore[no-untyped-def]
        settings.setdefault("public", True)
        return await make_server(**settings)

    return start

async def _conversation(
    make_server: AppFactory,
    make_client: Callable[..., SeedClient],
    host: str,
    port: int,
    tag: str,
) -> None:
    server = await make_server(allowed_servers=[f"{host}:{port}"])
    web = make_client(server)
    conn_id = await web.connect(f"{host}:{port}")
    web_nick, sock_nick, channel = f"web{tag}", f"sock{tag}", f"#seed{tag}"
    await web.register(conn_id, web_nick)
    plain = await IRCClient.connect(host, port)
    try:
        await plain.register(sock_nick)
        await plain.send(f"JOIN {channel}")
        await plain.expect(lambda m: m.command == "366")
        assert await web.push(conn_id, f"JOIN {channel}") == ["", "PUSH_OK", ""]
        await web.expect(conn_id, lambda e: e[1] == "366", timeout=15)
        await plain.expect(lambda m: m.command == "JOIN" and m.nick == web_nick)

        # channel message, browser -> socket
        await web.push(conn_id, f"PRIVMSG {channel} :hello from the web ünïcode")
        got = await plain.expect(lambda m: m.command == "PRIVMSG" and m.nick == web_nick)
        assert got.params == [channel, "hello from the web ünïcode"]
        # channel message, socket -> browser
        await plain.send(f"PRIVMSG {channel} :hello from a socket")
        event = await web.expect(conn_id, lambda e: e[1] == "PRIVMSG" and e[2][0] == channel)
        assert event[0].startswith(f"{sock_nick}!")
        assert event[2] == [channel, "hello from a socket"]
        # private messages both ways
        await web.push(conn_id, f"PRIVMSG {sock_nick} :psst")
        got = await plain.expect(lambda m: m.command == "PRIVMSG" and m.params[0] == sock_nick)
        assert got.params[1] == "psst"
        await plain.send(f"PRIVMSG {web_nick} :psst back")
        event = await web.expect(conn_id, lambda e: e[1] == "PRIVMSG" and e[2][0] == web_nick)
        assert event[2][1] == "psst back"
        # numerics stay three digits, e.g. a WHOIS reply
        await web.push(conn_id, f"WHOIS {sock_nick}")
        whois = await web.expect(conn_id, lambda e: e[1] == "311", timeout=15)
        assert whois[2][1] == sock_nick
        await web.push(conn_id, "QUIT :bye")
        await plain.expect(lambda m: m.command == "QUIT" and m.nick == web_nick)
        final = await web.expect(conn_id, lambda e: e[1] == "ERROR" and isinstance(e[2], str))
        assert final[2]
    finally:
        await plain.close()


async def test_conversation_through_inspircd(make_server, make_client, inspircd):
    await _conversation(make_server, make_client, inspircd.host, inspircd.port, "I")


async def test_conversation_through_ngircd(make_server, make_client, ngircd):
    await _conversation(make_server, make_client, ngircd.host, ngircd.port, "N")

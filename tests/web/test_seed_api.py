"""The seed API's contract, case by case, against a scripted IRC server."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable

import aiohttp
import pytest

from backchannel.web.keys import GATEWAY
from tests.support.fakeircd import FakeIrcServer
from tests.support.seed_client import SeedClient
from tests.web.conftest import AppFactory

INVALID = ["", "ERROR", "Invalid connection id."]



@pytest.fixture
def make_server(make_server: AppFactory) -> AppFactory:
    """The seed API as anonymous visitors use it: public (gateway) mode."""

    async def start(**settings: object):  # type: ignore[no-untyped-def]
        settings.setdefault("public", True)
        return await make_server(**settings)

    return start

@pytest.fixture
async def fake() -> FakeIrcServer:
    async with FakeIrcServer() as server:
        yield server  # type: ignore[misc]


async def _open(
    make_server: AppFactory,
    make_client: Callable[..., SeedClient],
    fake: FakeIrcServer,
    **settings: object,
) -> tuple[SeedClient, str]:
    server = await make_server(allowed_servers=[f"127.0.0.1:{fake.port}"], **settings)
    client = make_client(server)
    conn_id = await client.connect(f"127.0.0.1:{fake.port}")
    await client.expect(conn_id, lambda e: e[1] == "CONNECTED")
    return client, conn_id


async def test_connect_returns_plain_id_and_session_cookie(make_server, make_client, fake):
    server = await make_server(allowed_servers=[f"127.0.0.1:{fake.port}"])
    client = make_client(server)
    async with client.http.get(f"{client.base_url}/irc/connect/127.0.0.1:{fake.port}") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        assert await resp.text() == "0"
        cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here
    events = await client.pull("0")
    assert events[0] == ["", "CONNECTING", ""]
    await client.expect("0", lambda e: e == ["", "CONNECTED", ""])
    await fake.accept()
    # a second connection in the same session gets the next id
    assert await client.connect(f"127.0.0.1:{fake.port}") == "1"


async def test_server_lines_reach_pull_as_triples(make_server, make_client, fake):
    client, conn_id = await _open(make_server, make_client, fake)
    irc = await fake.accept()
    irc.send(":nick!u@h PRIVMSG #chan :hello world")
    irc.send("@time=2026-01-01T00:00:00.000Z :srv 001 me :Welcome")
    irc.send("NOTICE * :no source")
    event = await client.expect(conn_id, lambda e: e[1] == "PRIVMSG")
    assert event == ["nick!u@h", "PRIVMSG", ["#chan", "hello world"]]
    assert await client.expect(conn_id, lambda e: e[1] == "001") == [
        "srv",
        "001",
        ["me", "Welcome"],
    ]
    assert await client.expect(conn_id, lambda e: e[1] == "NOTICE") == [
        "",
        "NOTICE",
        ["*", "no source"],
    ]


async def test_everything_queued_comes_at_once(make_server, make_client, fake):
    client, conn_id = await _open(make_server, make_client, fake)
    irc = await fake.accept()
    for i in range(50):
        irc.send(f":s NOTICE me :{i}")
    irc.send(":s NOTICE me :done")
    await irc.drain()
    await asyncio.sleep(0.3)
    events = await client.pull(conn_id)
    assert [e[2][1] for e in events] == [str(i) for i in range(50)] + ["done"]


async def test_pull_with_nothing_queued_waits_then_returns_empty(make_server, make_client, fake):
    client, conn_id = await _open(make_server, make_client, fake, poll_timeout=0.5)
    await fake.accept()
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await client.pull(conn_id) == []
    assert loop.time() - started >= 0.45


async def test_waiting_pull_returns_as_soon_as_a_line_arrives(make_server, make_client, fake):
    client, conn_id = await _open(make_server, make_client, fake, poll_timeout=20)
    irc = await fake.accept()
    pending = asyncio.create_task(client.pull(conn_id))
    await asyncio.sleep(0.2)
    assert not pending.done()
    irc.send(":a PRIVMSG me :wake")
    events = await asyncio.wait_for(pending, 5)
    assert events == [["a", "PRIVMSG", ["me", "wake"]]]


async def test_unknown_and_foreign_ids_are_invalid(make_server, make_client, fake):
    server = await make_server(allowed_servers=[f"127.0.0.1:{fake.port}"])
    owner = make_client(server)
    other = make_client(server)
    conn_id = await owner.connect(f"127.0.0.1:{fake.port}")
    for client in (owner, other):
        for bad in ("99", "abc"):
            assert await client.pull(bad) == INVALID
            assert await client.push(bad, "PRIVMSG x :y") == INVALID
    # another session cannot read or write the owner's connection
    assert await other.pull(conn_id) == INVALID
    assert await other.push(conn_id, "PRIVMSG x :y") == INVALID


async def test_push_sends_the_line_and_answers_push_ok(make_server, make_client, fake):
    client, conn_id = await _open(make_server, make_client, fake)
    irc = await fake.accept()
    assert await client.push(conn_id, "NICK alice") == ["", "PUSH_OK", ""]
    assert await client.push(conn_id, "PRIVMSG #c :with crlf\r\n") == ["", "PUSH_OK", ""]
    assert await client.push(conn_id, "PRIVMSG #c :with lf\n") == ["", "PUSH_OK", ""]
    assert await irc.readline() == "NICK alice"
    assert await irc.readline() == "PRIVMSG #c :with crlf"
    assert await irc.readline() == "PRIVMSG #c :with lf"


@pytest.mark.parametrize(
    "body",
    [
        b"PRIVMSG #c :hi\r\nQUIT :injected",
        b"PRIVMSG #c :hi\nQUIT",
        b"PRIVMSG #c :hi\rQUIT",
        b"PRIVMSG #c :a\x00b",
        b"PRIVMSG #c :two endings\r\n\r\n",
        b"",
        b"   ",
        b"PRIVMSG #c :" + b"x" * 501,  # 513 bytes
        b"PRIVMSG #c :\xff\xfe not utf-8",
    ],
)
async def test_bad_pushed_lines_are_refused_and_nothing_sent(make_server, make_client, fake, body):
    client, conn_id = await _open(make_server, make_client, fake)
    irc = await fake.accept()
    answer = await client.push(conn_id, body)
    assert answer[:2] == ["", "ERROR"]
    assert answer[2]  # a reason is given
    assert await client.push(conn_id, "PING :after") == ["", "PUSH_OK", ""]
    assert await irc.readline() == "PING :after"  # nothing else reached the server


async def test_a_512_byte_line_is_accepted(make_server, make_client, fake):
    client, conn_id = await _open(make_server, make_client, fake)
    irc = await fake.accept()
    line = "PRIVMSG #c :" + "x" * 500
    assert len(line) == 512
    assert await client.push(conn_id, line + "\r\n") == ["", "PUSH_OK", ""]
    assert await irc.readline() == line


async def test_server_ping_is_answered_and_still_delivered(make_server, make_client, fake):
    client, conn_id = await _open(make_server, make_client, fake)
    irc = await fake.accept()
    irc.send("PING :token123")
    assert await irc.readline() == "PONG :token123"  # before the browser pulled anything
    assert await client.expect(conn_id, lambda e: e[1] == "PING") == ["", "PING", ["token123"]]


async def test_hostile_server_lines_arrive_decoded_and_bounded(make_server, make_client, fake):
    client, conn_id = await _open(make_server, make_client, fake)
    irc = await fake.accept()
    irc.send_raw(b":n!u@h PRIVMSG #c :caf\xe9 \x93quoted\x94\r\n")  # cp1252
    irc.send_raw(b":n!u@h PRIVMSG #c :" + b"y" * 100_000 + b"\r\n")
    irc.send_raw(b":only-a-source\r\n")
    irc.send_raw(b"\r\n\n:n!u@h PRIVMSG #c :after\n")
    latin = await client.expect(conn_id, lambda e: e[1] == "PRIVMSG")
    assert latin[2] == ["#c", "café “quoted”"]
    huge = await client.expect(conn_id, lambda e: e[1] == "PRIVMSG" and e[2][1].startswith("y"))
    assert 8000 < len(huge[2][1]) <= 8191 + 512
    malformed = await client.expect(conn_id, lambda e: e[1] == "MALFORMED")
    assert malformed == ["", "MALFORMED", ":only-a-source"]
    after = await client.expect(conn_id, lambda e: e[1] == "PRIVMSG" and e[2][1] == "after")
    assert after == ["n!u@h", "PRIVMSG", ["#c", "after"]]


async def test_server_closing_is_an_error_and_ends_the_connection(make_server, make_client, fake):
    client, conn_id = await _open(make_server, make_client, fake)
    irc = await fake.accept()
    irc.send("ERROR :Closing link")
    await irc.close()
    await client.expect(
        conn_id, lambda e: e[1] == "ERROR" and e[0] == "" and e[2] == ["Closing link"]
    )
    final = await client.expect(conn_id, lambda e: e[1] == "ERROR" and isinstance(e[2], str))
    assert "closed" in final[2].lower()
    answer = await client.push(conn_id, "PRIVMSG x :late")
    assert answer[:2] == ["", "ERROR"] and "closed" in answer[2].lower()
    # once drained, a pull answers at once with the reason instead of waiting
    assert await asyncio.wait_for(client.pull(conn_id), 2) == [["", "ERROR", final[2]]]


async def test_abrupt_disconnect_is_an_error(make_server, make_client, fake):
    client, conn_id = await _open(make_server, make_client, fake)
    irc = await fake.accept()
    irc.abort()
    final = await client.expect(conn_id, lambda e: e[1] == "ERROR")
    assert isinstance(final[2], str) and final[2]


async def test_connection_refused_is_an_error(make_server, make_client):
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = await make_server(allowed_servers=[f"127.0.0.1:{port}"])
    client = make_client(server)
    conn_id = await client.connect(f"127.0.0.1:{port}")
    final = await client.expect(conn_id, lambda e: e[1] == "ERROR")
    assert "refused" in final[2].lower()
    assert (await client.push(conn_id, "NICK x"))[1] == "ERROR"


async def test_connect_timeout_is_reported_and_retried(make_server, make_client):
    # a listener whose accept backlog is full: the kernel drops further SYNs,
    # so a connection attempt hangs until our timeout
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        await asyncio.sleep(0.2)
        server = await make_server(
            allowed_servers=[f"127.0.0.1:{port}"], connect_timeout=0.5, reconnect_interval=0.3
        )
        client = make_client(server)
        conn_id = await client.connect(f"127.0.0.1:{port}")
        answer = await client.push(conn_id, "NICK early")
        assert answer[:2] == ["", "ERROR"] and "not connected" in answer[2].lower()
        timeout = await client.expect(conn_id, lambda e: e[1] == "CONNECT_TIMEOUT")
        assert isinstance(timeout[2], str) and timeout[2]
        # it tries again after the reconnect interval
        await client.expect(
            conn_id, lambda e: e[1] == "CONNECTING" and e is not client.events[conn_id][0]
        )
        await client.expect(conn_id, lambda e: e[1] == "CONNECT_TIMEOUT" and e is not timeout)
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_connections_of_one_session_have_their_own_queues(make_server, make_client, fake):
    server = await make_server(allowed_servers=[f"127.0.0.1:{fake.port}"])
    client = make_client(server)
    first = await client.connect(f"127.0.0.1:{fake.port}")
    irc1 = await fake.accept()
    second = await client.connect(f"127.0.0.1:{fake.port}")
    irc2 = await fake.accept()
    irc1.send(":s NOTICE me :one")
    irc2.send(":s NOTICE me :two")
    assert (await client.expect(first, lambda e: e[1] == "NOTICE"))[2] == ["me", "one"]
    assert (await client.expect(second, lambda e: e[1] == "NOTICE"))[2] == ["me", "two"]
    assert all(e[2] != ["me", "two"] for e in client.events[first])
    await client.push(second, "PRIVMSG x :to two")
    assert await irc2.readline() == "PRIVMSG x :to two"


async def test_concurrent_pulls_neither_lose_nor_duplicate(make_server, make_client, fake):
    client, conn_id = await _open(make_server, make_client, fake, poll_timeout=2)
    irc = await fake.accept()
    await client.pull(conn_id)  # drain CONNECTING/CONNECTED
    total = 300
    received: list[str] = []

    async def puller() -> None:
        while len(received) < total:
            for event in await client.pull(conn_id):
                received.append(event[2][1])

    async def sender() -> None:
        for i in range(total):
            irc.send(f":s NOTICE me :{i}")
            if i % 7 == 0:
                await irc.drain()
                await asyncio.sleep(0.001)

    await asyncio.wait_for(asyncio.gather(puller(), puller(), puller(), sender()), 30)
    assert sorted(received, key=int) == [str(i) for i in range(total)]
    assert len(set(received)) == total


async def test_flood_reaches_the_browser_complete_in_order_with_bounded_buffer(
    make_server, make_client, fake
):
    limit = 500
    server = await make_server(
        allowed_servers=[f"127.0.0.1:{fake.port}"], buffer_events=limit, poll_timeout=2
    )
    client = make_client(server)
    conn_id = await client.connect(f"127.0.0.1:{fake.port}")
    irc = await fake.accept()
    total = 100_000
    gateway_conn = next(iter(server.app[GATEWAY]._sessions.values())).get(conn_id)

    async def flood() -> None:
        chunk: list[str] = []
        for i in range(total):
            chunk.append(f":s PRIVMSG #flood :{i}\r\n")
            if len(chunk) == 1000:
                irc.send_raw("".join(chunk).encode())
                chunk.clear()
                await irc.drain()
        await irc.drain()

    flooding = asyncio.create_task(flood())
    await asyncio.sleep(0.5)
    # the reader stopped at the bound: socket buffers hold the rest (TCP back-pressure)
    assert gateway_conn.queued <= limit + 65536 // 20
    got: list[int] = []
    peak = 0
    async with asyncio.timeout(60):
        while len(got) < total:
            peak = max(peak, gateway_conn.queued)
            for event in await client.pull(conn_id):
                if event[1] == "PRIVMSG":
                    got.append(int(event[2][1]))
    await flooding
    assert got == list(range(total))
    assert peak <= limit + 65536 // 20  # one read chunk of short lines past the bound at most


async def test_idle_session_is_closed_with_quit(make_server, make_client, fake):
    client, conn_id = await _open(make_server, make_client, fake, idle_timeout=0.5)
    irc = await fake.accept()
    quit_line = await irc.expect(lambda line: line.startswith("QUIT"), timeout=5)
    assert quit_line.startswith("QUIT :")
    await asyncio.wait_for(irc.closed.wait(), 5)
    assert await client.pull(conn_id) == INVALID


async def test_a_pulling_session_stays_open(make_server, make_client, fake):
    client, conn_id = await _open(
        make_server, make_client, fake, idle_timeout=0.6, poll_timeout=0.3
    )
    irc = await fake.accept()
    for _ in range(6):
        await client.pull(conn_id)
    irc.send(":s NOTICE me :still here")
    assert (await client.expect(conn_id, lambda e: e[1] == "NOTICE"))[2] == ["me", "still here"]
    assert not any(line.startswith("QUIT") for line in irc.received)


async def test_session_connection_limit(make_server, make_client, fake):
    server = await make_server(
        allowed_servers=[f"127.0.0.1:{fake.port}"], max_connections_per_session=2
    )
    client = make_client(server)
    await client.connect(f"127.0.0.1:{fake.port}")
    await client.connect(f"127.0.0.1:{fake.port}")
    status, body = await client.connect_raw(f"127.0.0.1:{fake.port}")
    assert status == 403
    assert body.startswith('["", "ERROR", ') and "limit" in body


async def test_cross_site_requests_are_refused(make_server, make_client, fake):
    client, conn_id = await _open(make_server, make_client, fake)
    irc = await fake.accept()
    evil = {"Origin": "https://evil.example"}
    answer = await client.push(conn_id, "QUIT :csrf", headers=evil)
    assert answer[:2] == ["", "ERROR"] and "cross-site" in answer[2].lower()
    answer = await client.push(
        conn_id, "QUIT :csrf", headers={"Referer": "https://evil.example/page"}
    )
    assert answer[:2] == ["", "ERROR"]
    own = {"Origin": client.base_url}
    assert await client.push(conn_id, "PING :same-origin", headers=own) == ["", "PUSH_OK", ""]
    assert await irc.readline() == "PING :same-origin"
    async with client.http.get(
        f"{client.base_url}/irc/connect/127.0.0.1:{fake.port}",
        headers={"Sec-Fetch-Site": "cross-site"},
    ) as resp:
        assert resp.status == 403


async def test_http_errors(make_server, make_client):
    server = await make_server(max_body_bytes=1024)
    client = make_client(server)
    async with client.http.get(f"{client.base_url}/no/such/route") as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "not_found"
    async with client.http.get(f"{client.base_url}/irc/push/0") as resp:
        assert resp.status == 405
    async with client.http.post(f"{client.base_url}/irc/push/0", data=b"x" * 5000) as resp:
        assert resp.status == 413
    async with client.http.get(f"{client.base_url}/") as resp:
        assert resp.status == 200
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def test_server_survives_a_client_that_disappears_mid_pull(make_server, make_client, fake):
    client, conn_id = await _open(make_server, make_client, fake, poll_timeout=10)
    irc = await fake.accept()
    async with aiohttp.ClientSession(cookie_jar=client.http.cookie_jar) as other:
        task = asyncio.create_task(other.get(f"{client.base_url}/irc/pull/{conn_id}"))
        await asyncio.sleep(0.2)
        task.cancel()
    await asyncio.sleep(0.2)
    irc.send(":s NOTICE me :kept")
    assert (await client.expect(conn_id, lambda e: e[1] == "NOTICE"))[2] == ["me", "kept"]


@pytest.mark.parametrize(
    "target",
    [
        "127.0.0.1",
        "localhost:6667",
        "[::1]:6667",
        "10.1.2.3:6667",
        "169.254.169.254",
        "0.0.0.0",
        "[fd00::1]",
        "not a host",
        "example.org:25",
    ],
)
async def test_refused_connect_is_403_with_an_error_triple(make_server, make_client, target):
    server = await make_server()
    client = make_client(server)
    status, body = await client.connect_raw(target)
    assert status == 403
    prefix, command, reason = json.loads(body)
    assert (prefix, command) == ("", "ERROR") and reason
    assert len(server.app[GATEWAY]) == 0 or all(
        not s.connections for s in server.app[GATEWAY]._sessions.values()
    )


async def test_public_mode_reaches_only_listed_servers(make_server, make_client, fake):
    server = await make_server(public=True, allowed_servers=[f"127.0.0.1:{fake.port}"])
    client = make_client(server)
    status, body = await client.connect_raw("irc.example.org:6667")
    assert status == 403 and "allowed servers" in body
    assert await client.connect(f"127.0.0.1:{fake.port}") == "0"
    await fake.accept()


async def test_a_server_that_accepts_and_never_speaks(make_server, make_client, fake):
    client, conn_id = await _open(make_server, make_client, fake, poll_timeout=0.3)
    irc = await fake.accept()
    assert await client.pull(conn_id) == []  # waits, then answers empty, no error
    assert await client.push(conn_id, "NICK quiet") == ["", "PUSH_OK", ""]
    assert await irc.readline() == "NICK quiet"
    assert await client.pull(conn_id) == []


async def test_private_mode_needs_a_login_and_scopes_ids_to_the_user(
    make_server, make_client, fake, tmp_path
):
    from backchannel.store.accounts import Accounts
    from backchannel.web.keys import DATABASE

    server = await make_server(public=False, allowed_servers=[f"127.0.0.1:{fake.port}"])
    anonymous = make_client(server)
    status, body = await anonymous.connect_raw(f"127.0.0.1:{fake.port}")
    assert status == 401 and json.loads(body) == ["", "ERROR", "Log in first."]
    async with anonymous.http.get(f"{anonymous.base_url}/irc/pull/0") as resp:
        assert resp.status == 401
    accounts = Accounts(server.app[DATABASE])
    await accounts.create_user("alice", "correct horse")
    await accounts.create_user("bob", "battery staple")
    browser = make_client(server)

    async def login(name: str, password: str) -> None:
        async with browser.http.post(
            f"{browser.base_url}/api/login", json={"username": name, "password": password}
        ) as resp:
            assert resp.status == 200, await resp.text()

    await login("alice", "correct horse")
    conn_id = await browser.connect(f"127.0.0.1:{fake.port}")
    await browser.expect(conn_id, lambda e: e[1] == "CONNECTED")
    await fake.accept()
    # the same browser, now logged in as someone else, cannot use alice's connection
    await login("bob", "battery staple")
    assert await browser.pull(conn_id) == INVALID
    assert await browser.push(conn_id, "PRIVMSG x :y") == INVALID

"""The fake IRC server, exercised with a plain asyncio client."""

from __future__ import annotations

import asyncio
import socket

import pytest

from tests.support.fakeircd import FakeClient, FakeIrcServer


async def _connect(srv: FakeIrcServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", srv.port)


async def _read_lines(reader: asyncio.StreamReader, count: int) -> list[bytes]:
    return [await asyncio.wait_for(reader.readline(), 5) for _ in range(count)]


async def test_listens_on_a_free_local_port() -> None:
    async with FakeIrcServer() as srv:
        assert srv.port > 0
        _, writer = await _connect(srv)
        client = await srv.accept()
        assert isinstance(client, FakeClient)
        assert srv.clients == [client]
        writer.close()
    # stopped: nothing listens on the port any more
    with pytest.raises(OSError):
        await _connect(srv)


async def test_readline_and_received() -> None:
    async with FakeIrcServer() as srv:
        _, writer = await _connect(srv)
        client = await srv.accept()
        writer.write(b"NICK me\r\nUSER u 0 * :Real\nPING :x")
        await writer.drain()
        assert await client.readline() == "NICK me"
        assert await client.readline() == "USER u 0 * :Real"
        writer.write(b"\r\n")
        assert await client.readline() == "PING :x"
        assert client.received == ["NICK me", "USER u 0 * :Real", "PING :x"]
        writer.close()


async def test_readline_times_out_with_a_clear_message() -> None:
    async with FakeIrcServer() as srv:
        _, writer = await _connect(srv)
        client = await srv.accept()
        writer.write(b"HELLO\r\n")
        await client.readline()
        with pytest.raises(TimeoutError, match=r"within 0.1s.*HELLO"):
            await client.readline(timeout=0.1)
        writer.close()


async def test_readline_raises_eof_after_disconnect_and_closed_is_set() -> None:
    async with FakeIrcServer() as srv:
        _, writer = await _connect(srv)
        client = await srv.accept()
        writer.write(b"QUIT :bye\r\n")
        writer.close()
        await writer.wait_closed()
        assert await client.readline() == "QUIT :bye"
        await asyncio.wait_for(client.closed.wait(), 5)
        for _ in range(2):  # EOF is sticky
            with pytest.raises(EOFError, match="disconnected"):
                await client.readline()


async def test_expect_skips_to_a_prefix_or_predicate() -> None:
    async with FakeIrcServer() as srv:
        _, writer = await _connect(srv)
        client = await srv.accept()
        writer.write(b"CAP LS 302\r\nNICK a\r\nUSER u 0 * :r\r\nJOIN #x\r\nPRIVMSG #x :hi\r\n")
        assert await client.expect("USER ") == "USER u 0 * :r"
        assert await client.expect(lambda line: line.endswith(":hi")) == "PRIVMSG #x :hi"
        with pytest.raises(TimeoutError, match="expected 'PART'"):
            await client.expect("PART", timeout=0.1)
        writer.close()


async def test_expect_reports_eof() -> None:
    async with FakeIrcServer() as srv:
        _, writer = await _connect(srv)
        client = await srv.accept()
        writer.write(b"PING :1\r\n")
        writer.close()
        with pytest.raises(EOFError, match=r"expected 'PONG'.*PING :1"):
            await client.expect("PONG")


async def test_send_and_send_raw() -> None:
    async with FakeIrcServer() as srv:
        reader, writer = await _connect(srv)
        client = await srv.accept()
        client.send("PING :tok")
        client.send("PRIVMSG me :café")
        client.send_raw(b":evil PRIVMSG me :caf\xe9\n\x00\xff")
        await client.drain()
        assert await _read_lines(reader, 3) == [
            b"PING :tok\r\n",
            b"PRIVMSG me :caf\xc3\xa9\r\n",
            b":evil PRIVMSG me :caf\xe9\n",
        ]
        assert await asyncio.wait_for(reader.readexactly(2), 5) == b"\x00\xff"
        writer.close()


async def test_register_ignores_cap_and_pass_and_welcomes() -> None:
    async with FakeIrcServer(server_name="irc.test") as srv:
        reader, writer = await _connect(srv)
        client = await srv.accept()
        writer.write(b"CAP LS 302\r\nPASS secret\r\nNICK wanted\r\nUSER u 0 * :Real Name\r\n")
        assert await client.register() == "wanted"
        lines = [line.decode().rstrip("\r\n") for line in await _read_lines(reader, 6)]
        assert [line.split(" ")[1] for line in lines] == ["001", "002", "003", "004", "005", "376"]
        assert all(line.startswith(":irc.test ") for line in lines)
        assert all(line.split(" ")[2] == "wanted" for line in lines)
        assert "CASEMAPPING=" in lines[4]
        writer.close()


async def test_register_with_given_nick_and_no_motd() -> None:
    async with FakeIrcServer() as srv:
        reader, writer = await _connect(srv)
        client = await srv.accept()
        writer.write(b"USER u 0 * :r\r\nNICK :asked\r\n")
        assert await client.register("forced", motd=False) == "forced"
        lines = await _read_lines(reader, 6)
        assert lines[0].startswith(b":fake.irc 001 forced ")
        assert lines[-1].startswith(b":fake.irc 422 forced ")
        writer.close()


async def test_abort_resets_the_connection() -> None:
    async with FakeIrcServer() as srv:
        reader, writer = await _connect(srv)
        client = await srv.accept()
        client.abort()
        with pytest.raises(ConnectionResetError):
            while await asyncio.wait_for(reader.read(1024), 5):
                pass
        await asyncio.wait_for(client.closed.wait(), 5)
        writer.close()


async def test_close_flushes_then_sends_eof() -> None:
    async with FakeIrcServer() as srv:
        reader, writer = await _connect(srv)
        client = await srv.accept()
        client.send("ERROR :Closing link")
        await client.close()
        assert await asyncio.wait_for(reader.read(), 5) == b"ERROR :Closing link\r\n"
        await asyncio.wait_for(client.closed.wait(), 5)
        writer.close()


async def test_pause_reading_backs_up_the_client_then_resume_delivers_everything() -> None:
    async with FakeIrcServer() as srv:
        _, writer = await _connect(srv)
        client = await srv.accept()
        client.pause_reading()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        line = b"PRIVMSG #x :" + b"y" * 1000 + b"\r\n"
        sent = 0
        with pytest.raises(TimeoutError):
            # the server no longer reads: the client's buffers fill and drain blocks
            while sent < 100_000:
                writer.write(line)
                sent += 1
                await asyncio.wait_for(writer.drain(), 0.5)
        assert sent < 100_000
        assert len(client.received) < sent
        client.resume_reading()
        await asyncio.wait_for(writer.drain(), 10)
        for _ in range(sent - len(client.received)):
            await client.readline()
        assert len(client.received) == sent
        assert client.received[-1] == line.decode().rstrip("\r\n")
        writer.close()


async def test_accept_times_out_and_returns_connections_in_order() -> None:
    async with FakeIrcServer() as srv:
        with pytest.raises(TimeoutError, match="no connection"):
            await srv.accept(timeout=0.1)
        _, w1 = await _connect(srv)
        _, w2 = await _connect(srv)
        first = await srv.accept()
        second = await srv.accept()
        assert srv.clients == [first, second]
        w1.write(b"ONE\r\n")
        w2.write(b"TWO\r\n")
        assert await first.readline() == "ONE"
        assert await second.readline() == "TWO"
        w1.close()
        w2.close()


async def test_exit_closes_open_connections() -> None:
    async with FakeIrcServer() as srv:
        reader, writer = await _connect(srv)
        client = await srv.accept()
        client.pause_reading()
    assert client.closed.is_set()
    with pytest.raises(ConnectionResetError):
        while await asyncio.wait_for(reader.read(1024), 5):
            pass
    writer.close()

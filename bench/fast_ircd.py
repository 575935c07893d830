"""A fast scripted IRC server for the benchmarks (not a real ircd).

It registers clients at once (``CAP LS`` answered with no caps, then 001-005
and the end of the MOTD as soon as NICK and USER arrived), answers PING,
joins channels and serves NAMES (also for big channels, in 353 chunks; a
channel can hold synthetic members that exist only in its NAMES), relays
PRIVMSG/NOTICE between real members of small channels, and, driven by the
benchmark, sends a line to one client, broadcasts a line to every member of
a channel, or floods a channel's members with N PRIVMSG lines as fast as their
sockets take them.

Joins and parts are not announced to the other members of channels with more
than ``announce_limit`` members (10,000 clients joining one channel would
otherwise cost 10^8 lines), and NAMES lists at most ``names_limit`` nicks.

In-process use::

    ircd = FastIrcd()
    await ircd.start()            # ircd.port
    await ircd.wait_members("#bench", 10)
    sent_at = ircd.send_to("alice", ":bot!b@h PRIVMSG #bench :hi")

As a subprocess (``python bench/fast_ircd.py [--port P]``) it prints
``{"port": P}`` on stdout, then reads JSON commands from stdin, one per line,
and answers each with one JSON line (see :meth:`FastIrcd.command`);
:class:`IrcdProcess` drives it from another asyncio program. It stops on EOF
of stdin, ``{"op": "quit"}`` or SIGTERM. Times it reports are
``time.monotonic()``, comparable across processes on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Iterable
from typing import Any

__all__ = ["FastIrcd", "IrcdProcess"]

SERVER = "fast.ircd"
_CHUNK_BYTES = 64 * 1024
_HIGH_WATER = 256 * 1024


class Client(asyncio.Protocol):
    """One connection: the server's end."""

    def __init__(self, server: FastIrcd) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.nick: str | None = None
        self.user: str | None = None
        self.registered = False
        self.channels: set[str] = set()
        self._can_write = asyncio.Event()
        self._can_write.set()
        self.closed = False

    # -- transport callbacks -------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=_HIGH_WATER)
        self.server.clients.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._can_write.set()
        self.server.forget(self)

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        *lines, self.buf = buf.split(b"\n")
        for raw in lines:
            line = raw.rstrip(b"\r").decode("utf-8", "replace")
            if line:
                self.server.handle(self, line)

    # -- writing ----------------------------------------------------------------
    @property
    def mask(self) -> str:
        return f"{self.nick}!{self.user or self.nick}@127.0.0.1"

    def send(self, line: str) -> None:
        self.send_bytes(line.encode("utf-8") + b"\r\n")

    def send_bytes(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not self.closed and not transport.is_closing():
            transport.write(data)

    async def drain(self) -> None:
        await self._can_write.wait()

    def numeric(self, code: str, *params: str) -> None:
        self.send(f":{SERVER} {code} {self.nick or '*'} " + " ".join(params))


class Channel:
    def __init__(self, name: str) -> None:
        self.name = name
        self.members: dict[Client, None] = {}  # ordered set
        self.synthetic: list[str] = []  # nicks that exist only in NAMES
        self.joined = asyncio.Event()  # set whenever someone joins


def _key(name: str) -> str:
    return name.lower()


class FastIrcd:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        names_limit: int = 5000,
        announce_limit: int = 50,
        synthetic: dict[str, int] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.names_limit = names_limit
        self.announce_limit = announce_limit
        self.clients: set[Client] = set()
        self.nicks: dict[str, Client] = {}
        self.channels: dict[str, Channel] = {}
        self._server: asyncio.Server | None = None
        for name, count in (synthetic or {}).items():
            self.add_synthetic(name, count)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: Client(self), self.host, self.port, backlog=4096, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for client in list(self.clients):
            if client.transport is not None:
                client.transport.abort()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    # -- state ----------------------------------------------------------------
    def channel(self, name: str) -> Channel:
        key = _key(name)
        chan = self.channels.get(key)
        if chan is None:
            chan = self.channels[key] = Channel(name)
        return chan

    def add_synthetic(self, name: str, count: int) -> None:
        """``count`` members that exist only in the channel's NAMES."""
        self.channel(name).synthetic = [f"member{i}" for i in range(count)]

    def forget(self, client: Client) -> None:
        self.clients.discard(client)
        if client.nick is not None and self.nicks.get(_key(client.nick)) is client:
            del self.nicks[_key(client.nick)]
        for name in client.channels:
            chan = self.channels.get(name)
            if chan is not None:
                chan.members.pop(client, None)
                self._announce(chan, f":{client.mask} QUIT :Client quit")

    def _announce(self, chan: Channel, line: str, exclude: Client | None = None) -> None:
        if len(chan.members) <= self.announce_limit:
            for member in chan.members:
                if member is not exclude:
                    member.send(line)

    # -- commands from clients -------------------------------------------------
    def handle(self, client: Client, line: str) -> None:
        if line.startswith(":"):  # a source from a client is ignored
            line = line.partition(" ")[2]
        head, sep, trailing = line.partition(" :")
        words = head.split()
        if not words:
            return
        params = words[1:] + ([trailing] if sep else [])
        command = words[0].upper()
        handler = getattr(self, f"_on_{command.lower()}", None)
        if handler is not None:
            handler(client, params)
        elif command not in ("MODE", "WHO", "USERHOST", "ISON", "AWAY"):
            client.numeric("421", command, ":Unknown command")

    def _on_cap(self, client: Client, params: list[str]) -> None:
        sub = params[0].upper() if params else ""
        if sub == "LS":
            client.send(f":{SERVER} CAP * LS :")
        elif sub == "REQ":
            client.send(f":{SERVER} CAP * NAK :{params[-1] if len(params) > 1 else ''}")

    def _on_nick(self, client: Client, params: list[str]) -> None:
        if not params:
            client.numeric("431", ":No nickname given")
            return
        nick = params[0]
        owner = self.nicks.get(_key(nick))
        if owner is not None and owner is not client:
            client.numeric("433", nick, ":Nickname is already in use")
            return
        if client.nick is not None:
            self.nicks.pop(_key(client.nick), None)
            if client.registered:
                client.send(f":{client.mask} NICK :{nick}")
        client.nick = nick
        self.nicks[_key(nick)] = client
        self._maybe_register(client)

    def _on_user(self, client: Client, params: list[str]) -> None:
        client.user = params[0] if params else "user"
        self._maybe_register(client)

    def _maybe_register(self, client: Client) -> None:
        if client.registered or client.nick is None or client.user is None:
            return
        client.registered = True
        nick = client.nick
        client.send(
            f":{SERVER} 001 {nick} :Welcome to FastNet {client.mask}\r\n"
            f":{SERVER} 002 {nick} :Your host is {SERVER}\r\n"
            f":{SERVER} 003 {nick} :This server was created today\r\n"
            f":{SERVER} 004 {nick} {SERVER} fast-1 io ntklimsov\r\n"
            f":{SERVER} 005 {nick} CASEMAPPING=ascii CHANTYPES=# PREFIX=(ov)@+ "
            f"NETWORK=FastNet NICKLEN=32 :are supported by this server\r\n"
            f":{SERVER} 422 {nick} :MOTD File is missing"
        )

    def _on_ping(self, client: Client, params: list[str]) -> None:
        client.send(f":{SERVER} PONG {SERVER} :{params[-1] if params else ''}")

    def _on_pong(self, client: Client, params: list[str]) -> None:
        pass

    def _on_join(self, client: Client, params: list[str]) -> None:
        if not client.registered or not params:
            return
        for name in params[0].split(","):
            if not name.startswith("#") or _key(name) in client.channels:
                continue
            chan = self.channel(name)
            chan.members[client] = None
            client.channels.add(_key(name))
            line = f":{client.mask} JOIN {chan.name}"
            client.send(line)
            self._announce(chan, line, exclude=client)
            self._names(client, chan)
            chan.joined.set()

    def _names(self, client: Client, chan: Channel) -> None:
        names = self._name_list(chan)
        out: list[str] = []
        batch: list[str] = []
        size = 0
        head = f":{SERVER} 353 {client.nick} = {chan.name} :"
        for nick in names:
            if batch and size + len(nick) + 1 > 400:
                out.append(head + " ".join(batch))
                batch, size = [], 0
            batch.append(nick)
            size += len(nick) + 1
        if batch:
            out.append(head + " ".join(batch))
        out.append(f":{SERVER} 366 {client.nick} {chan.name} :End of /NAMES list.")
        client.send("\r\n".join(out))

    def _name_list(self, chan: Channel) -> Iterable[str]:
        limit = self.names_limit
        count = 0
        for member in chan.members:
            if count >= limit:
                return
            if member.nick is not None:
                count += 1
                yield ("@" if count == 1 else "") + member.nick
        for nick in chan.synthetic:
            if count >= limit:
                return
            count += 1
            yield nick

    def _on_names(self, client: Client, params: list[str]) -> None:
        if params:
            self._names(client, self.channel(params[0]))

    def _on_part(self, client: Client, params: list[str]) -> None:
        for name in params[0].split(",") if params else ():
            chan = self.channels.get(_key(name))
            if chan is None or client not in chan.members:
                continue
            line = f":{client.mask} PART {chan.name}"
            client.send(line)
            self._announce(chan, line, exclude=client)
            del chan.members[client]
            client.channels.discard(_key(name))

    def _on_privmsg(self, client: Client, params: list[str], verb: str = "PRIVMSG") -> None:
        if len(params) < 2 or not client.registered:
            return
        target, text = params[0], params[1]
        line = f":{client.mask} {verb} {target} :{text}"
        if target.startswith("#"):
            chan = self.channels.get(_key(target))
            if chan is not None:
                self._announce(chan, line, exclude=client)
        else:
            other = self.nicks.get(_key(target))
            if other is not None:
                other.send(line)

    def _on_notice(self, client: Client, params: list[str]) -> None:
        self._on_privmsg(client, params, "NOTICE")

    def _on_quit(self, client: Client, params: list[str]) -> None:
        client.send(f"ERROR :Closing link ({params[-1] if params else 'Quit'})")
        if client.transport is not None:
            client.transport.close()

    # -- driven by the benchmark ------------------------------------------------
    def members(self, channel: str) -> int:
        chan = self.channels.get(_key(channel))
        return 0 if chan is None else len(chan.members)

    async def wait_members(self, channel: str, count: int, timeout: float = 60.0) -> int:
        """Wait until ``channel`` has ``count`` real members; returns how many it has."""
        chan = self.channel(channel)
        async with asyncio.timeout(timeout):
            while len(chan.members) < count:
                chan.joined.clear()
                await chan.joined.wait()
        return len(chan.members)

    def send_to(self, nick: str, line: str) -> float:
        """Write ``line`` to the client ``nick``; returns the monotonic time
        just before the write. KeyError when there is no such client."""
        client = self.nicks[_key(nick)]
        data = line.encode("utf-8") + b"\r\n"
        sent_at = time.monotonic()
        client.send_bytes(data)
        return sent_at

    def broadcast(self, channel: str, line: str) -> tuple[float, float, int]:
        """Write ``line`` to every real member of ``channel``; returns the
        monotonic times before the first and after the last write, and the
        number of members written to."""
        chan = self.channels[_key(channel)]
        data = line.encode("utf-8") + b"\r\n"
        members = list(chan.members)
        first = time.monotonic()
        for member in members:
            member.send_bytes(data)
        return first, time.monotonic(), len(members)

    async def flood(
        self, channel: str, count: int, *, senders: int = 50, text: str = "flood", start: int = 0
    ) -> dict[str, Any]:
        """Send ``count`` PRIVMSG lines to every member of ``channel`` (from
        ``senders`` different nicks), each text ``"<seq> <text>"`` with seq
        from ``start``, as fast as the sockets take them. Lines are built
        before the clock starts."""
        chan = self.channels[_key(channel)]
        masks = [f":user{i}!u{i}@host{i}.example" for i in range(senders)]
        chunks: list[bytes] = []
        part: list[str] = []
        size = 0
        for seq in range(start, start + count):
            line = f"{masks[seq % senders]} PRIVMSG {chan.name} :{seq} {text}\r\n"
            part.append(line)
            size += len(line)
            if size >= _CHUNK_BYTES:
                chunks.append("".join(part).encode("utf-8"))
                part, size = [], 0
        if part:
            chunks.append("".join(part).encode("utf-8"))
        members = list(chan.members)
        total = sum(len(c) for c in chunks)
        first = time.monotonic()
        for chunk in chunks:
            for member in members:
                member.send_bytes(chunk)
            for member in members:
                await member.drain()
        written = time.monotonic()
        return {
            "lines": count,
            "bytes": total,
            "members": len(members),
            "first": first,
            "written": written,
        }

    async def command(self, request: dict[str, Any]) -> dict[str, Any]:
        """One control command (the subprocess protocol):

        - ``{"op": "members", "channel"}`` → ``{"members": N}``
        - ``{"op": "wait_members", "channel", "count", "timeout"}`` → ``{"members": N}``
        - ``{"op": "send", "nick", "line"}`` → ``{"sent_at": T}``
        - ``{"op": "broadcast", "channel", "line"}`` → ``{"first", "last", "members"}``
        - ``{"op": "flood", "channel", "count", "senders"?, "text"?, "start"?}``
          → ``{"lines", "bytes", "members", "first", "written"}``
        - ``{"op": "synthetic", "channel", "count"}`` → ``{}``
        - ``{"op": "stats"}`` → ``{"clients", "registered", "channels"}``
        Errors: ``{"error": "..."}``."""
        op = request.get("op")
        try:
            if op == "members":
                return {"members": self.members(request["channel"])}
            if op == "wait_members":
                n = await self.wait_members(
                    request["channel"], int(request["count"]), float(request.get("timeout", 60))
                )
                return {"members": n}
            if op == "send":
                return {"sent_at": self.send_to(request["nick"], request["line"])}
            if op == "broadcast":
                first, last, n = self.broadcast(request["channel"], request["line"])
                return {"first": first, "last": last, "members": n}
            if op == "flood":
                return await self.flood(
                    request["channel"],
                    int(request["count"]),
                    senders=int(request.get("senders", 50)),
                    text=str(request.get("text", "flood")),
                    start=int(request.get("start", 0)),
                )
            if op == "synthetic":
                self.add_synthetic(request["channel"], int(request["count"]))
                return {}
            if op == "stats":
                return {
                    "clients": len(self.clients),
                    "registered": sum(1 for c in self.clients if c.registered),
                    "channels": {c.name: len(c.members) for c in self.channels.values()},
                }
        except (KeyError, ValueError, TimeoutError) as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}
        return {"error": f"unknown op {op!r}"}


class IrcdProcess:
    """Runs ``fast_ircd.py`` in a subprocess (asyncio) and sends it commands."""

    def __init__(self, args: list[str] | None = None, cpus: set[int] | None = None) -> None:
        self.args = args or []
        self.cpus = cpus
        self.port = 0
        self.proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        from common import child_setup

        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            *self.args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            preexec_fn=child_setup(self.cpus),
            limit=1 << 20,
        )
        assert self.proc.stdout is not None
        hello = json.loads(await asyncio.wait_for(self.proc.stdout.readline(), 30))
        self.port = int(hello["port"])

    async def command(self, op: str, **fields: Any) -> dict[str, Any]:
        proc = self.proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        async with self._lock:
            proc.stdin.write(json.dumps({"op": op, **fields}).encode() + b"\n")
            await proc.stdin.drain()
            line = await proc.stdout.readline()
        if not line:
            raise RuntimeError("fast_ircd exited")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"fast_ircd {op}: {answer['error']}")
        return answer

    async def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(Exception):
            assert proc.stdin is not None
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def _serve(args: argparse.Namespace) -> None:
    synthetic = dict((name, int(n)) for name, n in (s.split("=", 1) for s in args.synthetic))
    ircd = FastIrcd(
        args.host,
        args.port,
        names_limit=args.names_limit,
        announce_limit=args.announce_limit,
        synthetic=synthetic,
    )
    await ircd.start()
    print(json.dumps({"port": ircd.port}), flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def control() -> None:
        while True:
            line = await reader.readline()
            if not line:
                break
            try:
                request = json.loads(line)
            except ValueError:
                answer: dict[str, Any] = {"error": "bad json"}
            else:
                if request.get("op") == "quit":
                    print("{}", flush=True)
                    break
                answer = await ircd.command(request)
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()

    task = asyncio.create_task(control())
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    task.cancel()
    stopper.cancel()
    await ircd.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--names-limit", type=int, default=5000)
    parser.add_argument("--announce-limit", type=int, default=50)
    parser.add_argument(
        "--synthetic",
        action="append",
        default=[],
        metavar="#CHAN=N",
        help="N members of #CHAN that exist only in its NAMES",
    )
    args = parser.parse_args()
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()

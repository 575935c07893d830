"""``backchannel connect``: the IRC engine in a terminal, without the web layer.

Standard output carries only JSON events, one per line; logs and messages for
people go to standard error. Lines read from standard input are commands
(``/join #x``, ``/msg nick text``, ``/me``, ``/nick``, ``/part``, ``/quit``,
``/raw LINE``) or text for the last joined channel.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import threading
from pathlib import Path

from backchannel.irc.client import EngineFailure, IrcClient
from backchannel.irc.config import NetworkConfig
from backchannel.irc.sts_store import StsStore
from backchannel.irc.targets import TargetError, TargetPolicy, parse_server
from backchannel.irc.tls import normalize_fingerprint
from backchannel.protocol.sasl import SaslConfig
from backchannel.session.commands import (
    CommandError,
    Join,
    Nick,
    Part,
    Quit,
    Raw,
    Say,
    parse_input,
)
from backchannel.state.events import Event
from backchannel.state.events.channels import Joined

__all__ = ["add_connect_parser", "run_connect"]

log = logging.getLogger("backchannel.connect")


def add_connect_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "connect",
        help="connect to an IRC network in this terminal (events as JSON lines)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("server", metavar="HOST[:PORT]", help="port 6667, or 6697 with --tls")
    p.add_argument("--tls", action="store_true", help="connect with TLS")
    p.add_argument("--insecure", action="store_true", help="do not verify the TLS certificate")
    p.add_argument(
        "--fingerprint",
        metavar="SHA256",
        help="accept exactly this server certificate (SHA-256, hex, colons optional) "
        "whenever TLS is used; does not switch TLS on by itself",
    )
    p.add_argument("--nick", default="backchannel")
    p.add_argument("--alt-nick", action="append", default=[], metavar="NICK")
    p.add_argument("--username", help="user name (default: the nick)")
    p.add_argument("--realname", default="Backchannel user")
    p.add_argument("--password-env", metavar="VAR", help="server password (PASS) from $VAR")
    p.add_argument("--sasl", choices=["PLAIN", "EXTERNAL", "SCRAM-SHA-256"])
    p.add_argument("--sasl-user", metavar="U")
    p.add_argument("--sasl-password-env", metavar="VAR", help="SASL password from $VAR")
    p.add_argument("--client-cert", type=Path, metavar="FILE", help="PEM certificate and key")
    p.add_argument("--join", default="", metavar="'#a,#b'", help="channels to join")
    p.add_argument("--data-dir", type=Path, help="where learned state (STS policies) persists")
    p.add_argument("--no-reconnect", action="store_true", help="exit when the link is lost")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logs on stderr")


def _config(args: argparse.Namespace) -> NetworkConfig:
    spec = parse_server(args.server, default_port=6697 if args.tls else 6667)
    assert spec.port is not None
    sasl = None
    if args.sasl:
        secret = os.environ.get(args.sasl_password_env, "") if args.sasl_password_env else ""
        sasl = SaslConfig(args.sasl, args.sasl_user or args.nick, secret)
    password = os.environ.get(args.password_env) if args.password_env else None
    channels = tuple((name, None) for name in args.join.split(",") if name.strip())
    return NetworkConfig(
        host=spec.host,
        port=spec.port,
        tls=args.tls,
        tls_verify=not args.insecure,
        fingerprint=normalize_fingerprint(args.fingerprint) if args.fingerprint else None,
        client_cert=args.client_cert,
        nick=args.nick,
        alt_nicks=tuple(args.alt_nick),
        username=args.username,
        realname=args.realname,
        password=password,
        sasl=sasl,
        channels=channels,
        reconnect=not args.no_reconnect,
    )


def _stdin_lines(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    """Read stdin in a daemon thread (works for ttys, pipes and files alike)."""

    def pump() -> None:
        try:
            for line in sys.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\r\n"))
            loop.call_soon_threadsafe(queue.put_nowait, None)
        except RuntimeError:  # the loop closed first: the command is ending anyway
            pass

    threading.Thread(target=pump, name="stdin", daemon=True).start()


class _Terminal:
    def __init__(self, client: IrcClient) -> None:
        self.client = client
        self.current: str | None = None
        #: set when standard output was closed by its reader (``| head``)
        self.output_closed = asyncio.Event()

    def on_event(self, event: Event) -> None:
        if isinstance(event, Joined) and self.client.state.is_me(event.nick):
            self.current = event.channel
        if self.output_closed.is_set():
            return
        try:
            sys.stdout.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            # Never raise into the engine. Point stdout at /dev/null so the flush at
            # exit cannot fail again, and let the main loop quit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            self.output_closed.set()

    async def handle(self, line: str) -> bool:
        """Carry out one input line; False when it asked to quit."""
        if not line.strip():
            return True
        try:
            command = parse_input(line, self.current)
            if isinstance(command, Quit):
                await self.client.quit(command.message)
                return False
            if isinstance(command, Say):
                self.client.say(
                    command.target, command.text, action=command.action, notice=command.notice
                )
            elif isinstance(command, Join):
                self.client.join(command.channel, command.key)
                self.current = command.channel  # plain text typed next goes there
            elif isinstance(command, Part):
                self.client.send_raw(
                    f"PART {command.channel} :{command.reason}"
                    if command.reason
                    else f"PART {command.channel}"
                )
            elif isinstance(command, Nick):
                self.client.send_raw(f"NICK {command.nick}")
            elif isinstance(command, Raw):
                self.client.send_raw(command.line)
        except (CommandError, ValueError) as exc:
            print(f"backchannel: {exc}", file=sys.stderr, flush=True)
        return True


async def _main(args: argparse.Namespace) -> int:
    config = _config(args)
    sts = StsStore(args.data_dir / "sts.json" if args.data_dir else None)
    terminal: _Terminal | None = None
    client = IrcClient(
        config,
        emit=lambda event: terminal.on_event(event) if terminal else None,
        policy=TargetPolicy(unrestricted=True),
        sts=sts,
        retry_until_registered=False,
    )
    terminal = _Terminal(client)
    engine = asyncio.create_task(client.run(), name="engine")
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    _stdin_lines(asyncio.get_running_loop(), queue)
    closed = asyncio.create_task(terminal.output_closed.wait())
    try:
        while True:
            getter = asyncio.create_task(queue.get())
            done, _ = await asyncio.wait(
                {engine, getter, closed}, return_when=asyncio.FIRST_COMPLETED
            )
            if engine in done:
                getter.cancel()
                engine.result()  # raises EngineFailure when it gave up
                return 0
            if closed in done:
                getter.cancel()
                print("backchannel: standard output closed; quitting", file=sys.stderr, flush=True)
                await client.quit("Leaving", timeout=2)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(engine, 5)
                return 1
            line = getter.result()
            if line is None or not await terminal.handle(line):
                if line is None:
                    await client.quit("Leaving")
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(engine, 10)
                return 0
    except EngineFailure as exc:
        print(f"backchannel: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        closed.cancel()
        if not engine.done():
            engine.cancel()
            with contextlib.suppress(asyncio.CancelledError, EngineFailure):
                await engine


def run_connect(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return asyncio.run(_main(args))
    except (TargetError, ValueError) as exc:
        print(f"backchannel: {exc}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        return 130

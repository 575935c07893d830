"""The ``backchannel`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING

from backchannel import __version__
from backchannel.cli_connect import add_connect_parser, run_connect
from backchannel.cli_ops import OPS_COMMANDS, add_ops_parsers, run_ops
from backchannel.cli_user import add_user_parser, run_user
from backchannel.settings import SETTINGS, Settings, SettingsError, load_settings
from backchannel.store.datadir_lock import DataDirBusy, DataDirLock

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["main"]

_BOOL_FIELDS = {f.name for f in fields(Settings) if f.type == "bool"}


def _add_setting_flags(parser: argparse.ArgumentParser) -> None:
    defaults = Settings()
    for setting in SETTINGS:
        default = getattr(defaults, setting.name)
        env = f"env {setting.env}"
        if setting.name in _BOOL_FIELDS:
            parser.add_argument(
                setting.flag,
                dest=setting.name,
                action="store_true",
                default=None,
                help=f"{setting.help} ({env})",
            )
        elif setting.repeatable:
            parser.add_argument(
                setting.flag,
                dest=setting.name,
                action="append",
                metavar=setting.metavar,
                help=f"{setting.help} ({env}, comma-separated)",
            )
        else:
            parser.add_argument(
                setting.flag,
                dest=setting.name,
                metavar=setting.metavar,
                help=f"{setting.help} (default: {default}; {env})",
            )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backchannel",
        description="Backchannel: a self-hosted web IRC client. The server holds IRC "
        "connections and relays them to web pages.",
    )
    parser.add_argument("--version", action="version", version=f"backchannel {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the web server",
        description="Run the web server. Settings come from --config FILE (TOML, keys named "
        "like the flags with '_' for '-'), then BACKCHANNEL_* environment variables, "
        "then these flags.",
    )
    serve.add_argument("--config", type=Path, metavar="FILE", help="TOML configuration file")
    _add_setting_flags(serve)
    add_connect_parser(commands)
    add_user_parser(commands)
    add_ops_parsers(commands)
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    return {
        setting.name: getattr(args, setting.name)
        for setting in SETTINGS
        if getattr(args, setting.name, None) is not None
    }


# settings SIGHUP applies to a running server; the others need a restart
RELOADABLE = ("log_level", "log_format", "trusted_proxies", "tls_cert", "tls_key")


def _reload_on_sighup(
    app: web.Application,
    args: argparse.Namespace,
    running: Settings,
    ssl_context: ssl.SSLContext | None,
) -> None:
    """On SIGHUP read the settings again (file, environment, the same flags) and
    apply the RELOADABLE ones: log level and format, trusted proxies, and the
    TLS certificate and key, reread into the same SSL context (HTTPS cannot be
    switched on or off without a restart)."""
    from backchannel.logging_setup import configure_logging
    from backchannel.web.proxy import TRUSTED_PROXIES
    from backchannel.web.tls import TlsError, reload_certificate

    log = logging.getLogger("backchannel.reload")
    reloadable = RELOADABLE if ssl_context is not None else RELOADABLE[:3]

    def reload() -> None:
        try:
            new = load_settings(args.config, overrides=_overrides(args))
        except SettingsError as exc:
            log.error("SIGHUP: settings not reloaded: %s", exc)
            return
        configure_logging(new.log_level, new.log_format)
        app[TRUSTED_PROXIES].update(new.trusted_proxies)
        if ssl_context is not None and new.tls_cert is not None and new.tls_key is not None:
            try:
                reload_certificate(ssl_context, new.tls_cert, new.tls_key)
            except TlsError as exc:
                log.error("SIGHUP: keeping the old certificate: %s", exc)
        stale = [
            f.name
            for f in fields(Settings)
            if f.name not in reloadable and getattr(new, f.name) != getattr(running, f.name)
        ]
        if stale:
            log.warning("SIGHUP: changes to %s take effect at the next start", ", ".join(stale))
        log.info("SIGHUP: settings reloaded")

    async def install(app: web.Application) -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)

    app.on_startup.append(install)


def serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from backchannel.logging_setup import configure_logging
    from backchannel.web.app import serving_app
    from backchannel.web.tls import TlsError, server_context

    try:
        settings = load_settings(args.config, overrides=_overrides(args))
        ssl_context = None
        if settings.tls_cert is not None and settings.tls_key is not None:
            ssl_context = server_context(settings.tls_cert, settings.tls_key)
    except (SettingsError, TlsError) as exc:
        print(f"backchannel: {exc}", file=sys.stderr)
        return 2
    try:  # one server per data dir, until it exits; restore refuses while it runs
        lock = None if settings.public else DataDirLock.acquire(settings.data_dir, "serve")
    except (DataDirBusy, OSError) as exc:
        print(f"backchannel: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    mode = "public gateway" if settings.public else "private"
    scheme = "http" if ssl_context is None else "https"
    print(
        f"Backchannel {__version__} ({mode} mode) on "
        f"{scheme}://{settings.host}:{settings.port}{settings.base_path}",
        file=sys.stderr,
        flush=True,
    )
    app = serving_app(settings)
    _reload_on_sighup(app, args, settings, ssl_context)
    web.run_app(
        app,
        ssl_context=ssl_context,
        host=settings.host,
        port=settings.port,
        handler_cancellation=True,
        # aiohttp closes a connection whose request head has not fully arrived this long
        # after it opened (or after its last response): slow-loris trickles included
        keepalive_timeout=settings.head_timeout,
        shutdown_timeout=5,
        print=None,
        access_log=None,
    )
    if lock is not None:
        lock.release()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "connect":
        return run_connect(args)
    if args.command == "user":
        return run_user(args)
    if args.command in OPS_COMMANDS:
        return run_ops(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())

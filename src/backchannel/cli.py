"""The ``backchannel`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path

from backchannel import __version__
from backchannel.cli_connect import add_connect_parser, run_connect
from backchannel.cli_user import add_user_parser, run_user
from backchannel.settings import SETTINGS, Settings, SettingsError, load_settings

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
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    _add_setting_flags(serve)
    add_connect_parser(commands)
    add_user_parser(commands)
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    return {
        setting.name: getattr(args, setting.name)
        for setting in SETTINGS
        if getattr(args, setting.name, None) is not None
    }


def serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from backchannel.web.app import create_app

    try:
        settings = load_settings(args.config, overrides=_overrides(args))
    except SettingsError as exc:
        print(f"backchannel: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    mode = "public gateway" if settings.public else "private"
    print(
        f"Backchannel {__version__} ({mode} mode) on http://{settings.host}:{settings.port}/",
        file=sys.stderr,
        flush=True,
    )
    web.run_app(
        create_app(settings),
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
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""``backchannel user``: add, list, change the password of, and remove accounts.

The commands open the database in the data dir (``--data-dir``, else
``BACKCHANNEL_DATA_DIR``, else the configuration file's ``data_dir``) and work
while the server runs: SQLite in WAL mode lets both write in turn.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from backchannel.settings import SettingsError, load_settings
from backchannel.store.accounts import AccountError, Accounts
from backchannel.store.db import Database, StoreError

__all__ = ["add_user_parser", "run_user"]

T = TypeVar("T")


class _Refused(Exception):
    """The command cannot go on; the message says why."""


def add_user_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = commands.add_parser(
        "user",
        help="manage accounts (add, passwd, list, remove)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    def action(name: str, help: str) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help, description=help)
        p.add_argument(
            "--data-dir",
            type=Path,
            metavar="DIR",
            help="Backchannel's data dir (env BACKCHANNEL_DATA_DIR)",
        )
        p.add_argument("--config", type=Path, metavar="FILE", help="TOML configuration file")
        return p

    stdin_help = "read the password from the first line of standard input instead of prompting"
    add = action("add", "create an account")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--password-stdin", action="store_true", help=stdin_help)
    passwd = action("passwd", "set an account's password (its browsers are logged out)")
    passwd.add_argument("name", metavar="NAME")
    passwd.add_argument("--password-stdin", action="store_true", help=stdin_help)
    action("list", "list the accounts")
    remove = action("remove", "remove an account with all its networks, scrollback and sessions")
    remove.add_argument("name", metavar="NAME")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise _Refused("no password on standard input")
        return password
    try:
        first = getpass.getpass("Password: ")
        second = getpass.getpass("Password again: ")
    except EOFError:
        raise _Refused("no password given") from None
    if first != second:
        raise _Refused("the passwords differ")
    return first


def _confirm(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in {"y", "yes"}


async def _add(accounts: Accounts, args: argparse.Namespace) -> str:
    user = await accounts.create_user(args.name, _read_password(args))
    return f"created user {user.name}"


async def _passwd(accounts: Accounts, args: argparse.Namespace) -> str:
    password = _read_password(args)
    if not await accounts.set_password(args.name, password):
        raise _Refused(f"no user {args.name!r}")
    return f"password of {args.name} changed; their browsers have to log in again"


async def _list(accounts: Accounts, args: argparse.Namespace) -> str:
    users = await accounts.list_users()
    if not users:
        return "no users"
    lines = []
    for user in users:
        created = datetime.fromtimestamp(user.created_at).strftime("%Y-%m-%d %H:%M")
        lines.append(f"{user.name}\t(id {user.id}, created {created})")
    return "\n".join(lines)


async def _remove(accounts: Accounts, args: argparse.Namespace) -> str:
    user = await accounts.find_user(args.name)
    if user is None:
        raise _Refused(f"no user {args.name!r}")
    question = f"Remove user {user.name} with all their networks, scrollback and sessions? [y/N] "
    if not args.yes and not _confirm(question):
        raise _Refused("nothing removed")
    if not await accounts.remove_user(user.name):
        raise _Refused(f"no user {args.name!r}")
    return f"removed user {user.name}"


_ACTIONS: dict[str, Callable[[Accounts, argparse.Namespace], Awaitable[str]]] = {
    "add": _add,
    "passwd": _passwd,
    "list": _list,
    "remove": _remove,
}


async def _run(db: Database, args: argparse.Namespace) -> str:
    return await _ACTIONS[args.user_command](Accounts(db), args)


def run_user(args: argparse.Namespace) -> int:
    overrides = {} if args.data_dir is None else {"data_dir": str(args.data_dir)}
    try:
        settings = load_settings(args.config, overrides=overrides)
        db = Database.in_data_dir(settings.data_dir)
    except (SettingsError, StoreError) as exc:
        print(f"backchannel: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"backchannel: cannot open the data dir: {exc}", file=sys.stderr)
        return 2
    try:
        message = asyncio.run(_run(db, args))
    except AccountError as exc:
        print(f"backchannel: {exc.message}", file=sys.stderr)
        return 1
    except _Refused as exc:
        print(f"backchannel: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    finally:
        db.close()
    print(message)
    return 0

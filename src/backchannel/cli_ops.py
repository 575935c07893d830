"""``backchannel backup``, ``restore`` and ``doctor``: looking after a data dir.

Like ``user``, they find the data dir from ``--data-dir``, else
``BACKCHANNEL_DATA_DIR``, else the configuration file's ``data_dir``.
See docs/backup.md and docs/install.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backchannel.settings import Settings, SettingsError, load_settings
from backchannel.store.backup import BackupError, backup, restore
from backchannel.store.datadir_lock import DataDirBusy

__all__ = ["OPS_COMMANDS", "add_ops_parsers", "run_ops"]

OPS_COMMANDS = ("backup", "restore", "doctor")

_BACKUP = """Copy the database (accounts, networks, scrollback, sessions, read markers)
and the STS policies into one SQLite file, consistently, while the server runs.
The file is written next to DEST under a temporary name, fsynced, then renamed."""
_RESTORE = """Check the backup SRC (integrity, schema version, tables) and put it in place
of the data dir's database, atomically. The current database is kept as
backchannel.sqlite3.before-restore-<time>. Refused while a server runs on the
data dir: stop it first; its next start migrates the schema if the backup is older."""
_DOCTOR = """Check the installation and the data dir and print one line per check:
OK, WARN or FAIL, with what to do. Exits 1 when a check fails. Changes nothing."""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="Backchannel's data dir (env BACKCHANNEL_DATA_DIR)",
    )
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML configuration file")


def add_ops_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    b = commands.add_parser(
        "backup",
        help="back up the data dir to one file (while serving)",
        description=_BACKUP,
        formatter_class=raw,
    )
    b.add_argument("dest", type=Path, metavar="DEST", help="file to write (or a directory)")
    b.add_argument("--force", action="store_true", help="overwrite DEST if it exists")
    _common(b)
    r = commands.add_parser(
        "restore",
        help="restore a backup into the data dir (server stopped)",
        description=_RESTORE,
        formatter_class=raw,
    )
    r.add_argument("src", type=Path, metavar="SRC", help="a file made by 'backchannel backup'")
    _common(r)
    d = commands.add_parser(
        "doctor",
        help="check the installation and the data dir",
        description=_DOCTOR,
        formatter_class=raw,
    )
    _common(d)


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {} if args.data_dir is None else {"data_dir": str(args.data_dir)}
    return load_settings(args.config, overrides=overrides)


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    dest, summary = backup(settings.data_dir, args.dest.expanduser(), force=args.force)
    print(f"backed up {settings.data_dir} to {dest} ({summary})")
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    done = restore(settings.data_dir, args.src.expanduser())
    created = f", taken {done.summary.created_at}" if done.summary.created_at else ""
    print(f"restored {args.src} into {settings.data_dir} ({done.summary}{created})")
    if done.previous is not None:
        print(f"the replaced database is kept as {done.previous}")
    if done.sts_restored:
        print("STS policies restored")
    return 0


def _doctor(settings: Settings, args: argparse.Namespace) -> int:
    from backchannel.doctor import run_checks

    failed = False
    for check in run_checks(settings):
        print(check, flush=True)
        failed = failed or check.status == "FAIL"
    return 1 if failed else 0


def run_ops(args: argparse.Namespace) -> int:
    try:
        settings = _settings(args)
    except SettingsError as exc:
        if args.command == "doctor":
            print(f"FAIL config: {exc}; fix: correct the file or the BACKCHANNEL_* variables")
            return 1
        print(f"backchannel: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "backup":
            return _backup(settings, args)
        if args.command == "restore":
            return _restore(settings, args)
        return _doctor(settings, args)
    except DataDirBusy as exc:
        print(
            f"backchannel: {exc}: stop the server first (e.g. systemctl stop backchannel)",
            file=sys.stderr,
        )
        return 1
    except BackupError as exc:
        print(f"backchannel: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"backchannel: {exc}", file=sys.stderr)
        return 1

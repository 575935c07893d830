"""Settings: one frozen object, loaded from defaults, a TOML file, environment
variables and command-line flags (later ones win), then passed down.

Every setting is declared once in :data:`SETTINGS`; the CLI flags, the
environment variable names and the configuration docs are derived from it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from backchannel.irc.targets import TargetError, parse_port_ranges, parse_server

__all__ = ["ENV_PREFIX", "SETTINGS", "Setting", "Settings", "SettingsError", "load_settings"]

ENV_PREFIX = "BACKCHANNEL_"


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message says which and why."""


MODE_DEFAULT = -1
#: (private, public) defaults of the limits whose default depends on the mode
MODE_DEFAULTS: dict[str, tuple[int, int]] = {
    "max_networks": (50, 3),
    "max_channels": (500, 20),
    "max_stored_bytes": (0, 16 * 1024 * 1024),
}


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "backchannel"


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = field(default_factory=_default_data_dir)
    public: bool = False
    allowed_servers: tuple[str, ...] = ()
    allowed_ports: str = "6660-6669,6697,7000-7001,7070,9999"
    poll_timeout: float = 30.0
    buffer_events: int = 10_000
    buffer_bytes: int = 4 * 1024 * 1024
    idle_timeout: float = 120.0
    connect_timeout: float = 15.0
    reconnect_interval: float = 60.0
    connect_rate: float = 10.0
    max_connections_per_session: int = 10
    max_body_bytes: int = 1024 * 1024
    max_ws_message_bytes: int = 1024 * 1024
    # abuse limits (0: none); MODE_DEFAULT takes the private or public default below
    max_networks: int = MODE_DEFAULT
    max_channels: int = MODE_DEFAULT
    max_lines_per_second: float = 5.0
    max_public_sessions_per_address: int = 5
    max_streams_per_user: int = 20
    max_streams_per_address: int = 100
    max_stored_bytes: int = MODE_DEFAULT
    head_timeout: float = 30.0
    body_timeout: float = 30.0
    retention_days: float = 0.0
    retention_max_events: int = 0
    log_level: str = "info"
    log_format: str = "text"
    trusted_proxies: tuple[str, ...] = ()
    frame_ancestors: tuple[str, ...] = ()
    base_path: str = "/"
    tls_cert: Path | None = None
    tls_key: Path | None = None

    def __post_init__(self) -> None:
        # limits left at MODE_DEFAULT take the default of the mode: a public
        # gateway's visitors are strangers, a private instance's users are not
        for name, (private, public) in MODE_DEFAULTS.items():
            if getattr(self, name) == MODE_DEFAULT:
                object.__setattr__(self, name, public if self.public else private)


@dataclass(frozen=True, slots=True)
class Setting:
    """How one field of :class:`Settings` is documented and read from text."""

    name: str
    help: str
    metavar: str | None = None
    repeatable: bool = False
    flag_name: str | None = None  # when the flag is not the setting's name

    @property
    def flag(self) -> str:
        return "--" + (self.flag_name or self.name.replace("_", "-"))

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "address to listen on", "ADDR"),
    Setting("port", "TCP port to listen on", "PORT"),
    Setting("data_dir", "directory for Backchannel's data", "DIR"),
    Setting("public", "public gateway mode: anonymous sessions, only allowed servers"),
    Setting(
        "allowed_servers",
        "an IRC server that may be reached, HOST or HOST:PORT (repeatable); listed servers "
        "may be on private addresses; in public mode only listed servers can be reached",
        "HOST[:PORT]",
        repeatable=True,
        flag_name="allow-server",
    ),
    Setting(
        "allowed_ports",
        "ports that unlisted servers may be reached on, e.g. '6660-6669,6697' ('*' for any)",
        "PORTS",
    ),
    Setting("poll_timeout", "seconds a pull waits for events before answering []", "SECONDS"),
    Setting("buffer_events", "events buffered per connection before reading pauses", "N"),
    Setting("buffer_bytes", "bytes buffered per connection before reading pauses", "BYTES"),
    Setting(
        "idle_timeout",
        "seconds without a pull after which a session's connections are closed",
        "SECONDS",
    ),
    Setting("connect_timeout", "seconds to wait for a TCP connection to an IRC server", "SECONDS"),
    Setting(
        "reconnect_interval", "seconds to wait before retrying after CONNECT_TIMEOUT", "SECONDS"
    ),
    Setting(
        "connect_rate",
        "IRC connection attempts per second for the whole server (always-on networks, "
        "at start and on reconnects), so a restart does not flood a network; 0 for no limit",
        "N",
    ),
    Setting("max_connections_per_session", "IRC connections one browser session may open", "N"),
    Setting("max_body_bytes", "largest request body accepted (413 above)", "BYTES"),
    Setting(
        "max_ws_message_bytes",
        "largest WebSocket message accepted (the socket is closed with 1009 above)",
        "BYTES",
    ),
    Setting("max_networks", "networks one user may have (0: no limit)", "N"),
    Setting(
        "max_channels",
        "channels one user may be in, over all their networks (0: no limit)",
        "N",
    ),
    Setting(
        "max_lines_per_second",
        "lines one user may send to IRC per second, over all their networks and the seed "
        "API, in bursts of up to four seconds' worth (at least 10); a long paste goes out "
        "whole, then the next send waits (0: no limit)",
        "N",
    ),
    Setting(
        "max_public_sessions_per_address",
        "public mode: guest accounts and anonymous seed sessions one client address may "
        "hold at once (IPv6 counted by /64; 0: no limit)",
        "N",
    ),
    Setting(
        "max_streams_per_user",
        "open event streams (long-polls, SSE, WebSockets, seed pulls) one user or public "
        "session may hold at once (0: no limit)",
        "N",
    ),
    Setting(
        "max_streams_per_address",
        "open event streams one client address may hold at once (IPv6 counted by /64; "
        "0: no limit)",
        "N",
    ),
    Setting(
        "max_stored_bytes",
        "scrollback one user may keep, in bytes of stored event JSON; past it the oldest "
        "events are deleted, as with the retention limits (0: no limit)",
        "BYTES",
    ),
    Setting(
        "retention_days",
        "delete stored events older than this many days (0: keep everything)",
        "DAYS",
    ),
    Setting(
        "retention_max_events",
        "keep at most this many events per user, deleting the oldest (0: no limit)",
        "N",
    ),
    Setting(
        "head_timeout",
        "seconds a client has to send a whole request head (a trickle does not extend it); "
        "also how long an idle keep-alive connection stays open",
        "SECONDS",
    ),
    Setting(
        "body_timeout",
        "seconds a client has to send a whole request body after its head (408 and the "
        "connection closed after that)",
        "SECONDS",
    ),
    Setting("log_level", "log verbosity: debug, info, warning or error", "LEVEL"),
    Setting(
        "log_format", "log lines as 'text' (for people) or 'json' (one object a line)", "FORMAT"
    ),
    Setting(
        "trusted_proxies",
        "a reverse proxy's network, e.g. 127.0.0.1/32 (repeatable): only requests from these "
        "take the client address, scheme and host from X-Forwarded-For/-Proto/-Host or Forwarded",
        "CIDR",
        repeatable=True,
        flag_name="trusted-proxy",
    ),
    Setting(
        "frame_ancestors",
        "an origin whose pages may show Backchannel in a frame, e.g. https://www.example.org, "
        "or 'self' (repeatable); none by default (frame-ancestors 'none')",
        "ORIGIN",
        repeatable=True,
        flag_name="frame-ancestor",
    ),
    Setting("base_path", "URL path everything is served under, e.g. /irc/", "PATH"),
    Setting("tls_cert", "certificate chain (PEM) to serve HTTPS with; reread on SIGHUP", "FILE"),
    Setting("tls_key", "private key (PEM) of TLS_CERT; reread on SIGHUP", "FILE"),
)

LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
# scheme://host[:port] with nothing that could end the CSP directive (; , space, quotes)
_ORIGIN = re.compile(
    r"https?://(?:(?:\*\.)?[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?"
)
_BASE_PATH = re.compile(r"/(?:[A-Za-z0-9._~!$&'()*+,;=:@%-]+/)*")

_FIELD_TYPES: dict[str, Any] = {f.name: f.type for f in fields(Settings)}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _to_bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(f"{name}: expected true or false, got {value!r}")


def _to_number(kind: Callable[[str], Any], name: str, value: object) -> Any:
    if isinstance(value, bool):
        raise SettingsError(f"{name}: expected a number, got {value!r}")
    try:
        number = kind(str(value).strip())
    except ValueError:
        raise SettingsError(f"{name}: expected a number, got {value!r}") from None
    if number < 0:
        raise SettingsError(f"{name}: must not be negative, got {value!r}")
    return number


def _to_list(name: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
    elif isinstance(value, list | tuple):
        items = [str(item).strip() for item in value]
    else:
        raise SettingsError(f"{name}: expected a list of strings, got {value!r}")
    return tuple(item for item in items if item)


def coerce(name: str, value: object) -> Any:
    """Convert text (or TOML values) to the type of setting ``name``."""
    kind = _FIELD_TYPES.get(name)
    if kind is None:
        raise SettingsError(f"unknown setting {name!r}")
    if kind == "bool":
        return _to_bool(name, value)
    if kind == "int":
        return _to_number(int, name, value)
    if kind == "float":
        return _to_number(float, name, value)
    if kind == "Path":
        return Path(str(value)).expanduser()
    if kind == "Path | None":
        return Path(str(value)).expanduser() if str(value).strip() else None
    if kind == "tuple[str, ...]":
        return _to_list(name, value)
    return str(value)


def _from_mapping(source: str, data: Mapping[str, object]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in _FIELD_TYPES:
            raise SettingsError(f"{source}: unknown setting {key!r}")
        out[name] = coerce(name, value)
    return out


def load_settings(
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Settings:
    """Defaults, then the TOML file, then ``BACKCHANNEL_*`` variables, then
    ``overrides`` (the command-line flags that were given)."""
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            with open(config_file, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise SettingsError(f"cannot read {config_file}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{config_file}: invalid TOML: {exc}") from None
        values.update(_from_mapping(str(config_file), data))
    environ = os.environ if env is None else env
    for setting in SETTINGS:
        if setting.env in environ:
            values[setting.name] = coerce(setting.name, environ[setting.env])
    if overrides:
        values.update(_from_mapping("command line", overrides))
    if "base_path" in values:  # "/irc" and "/irc/" alike
        values["base_path"] = "/" + values["base_path"].strip("/") + "/"
        values["base_path"] = values["base_path"].replace("//", "/")
    # built whole (not replaced into the defaults), so that limits left at their
    # mode's default take the default of the mode asked for
    settings = Settings(**values)
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    if not 0 < settings.port < 65536:
        raise SettingsError(f"port: must be 1-65535, got {settings.port}")
    positive = (
        "poll_timeout",
        "buffer_events",
        "buffer_bytes",
        "max_body_bytes",
        "max_ws_message_bytes",
        "head_timeout",
        "body_timeout",
    )
    for name in positive:
        if getattr(settings, name) <= 0:
            raise SettingsError(f"{name}: must be greater than 0")
    # parse the server and port lists now so a typo fails at start, not at first use
    try:
        parse_port_ranges(settings.allowed_ports)
        for spec in settings.allowed_servers:
            parse_server(spec, default_port=None)
    except TargetError as exc:
        raise SettingsError(str(exc)) from None
    if settings.log_level not in LOG_LEVELS:
        raise SettingsError(
            f"log_level: one of {', '.join(LOG_LEVELS)}, got {settings.log_level!r}"
        )
    if settings.log_format not in LOG_FORMATS:
        raise SettingsError(
            f"log_format: one of {', '.join(LOG_FORMATS)}, got {settings.log_format!r}"
        )
    for cidr in settings.trusted_proxies:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise SettingsError(f"trusted_proxies: not an address or network: {cidr!r}") from None
    for origin in settings.frame_ancestors:
        if origin != "'self'" and not _ORIGIN.fullmatch(origin):
            raise SettingsError(
                f"frame_ancestors: not an origin like https://www.example.org: {origin!r}"
            )
    if not _BASE_PATH.fullmatch(settings.base_path):
        raise SettingsError(f"base_path: not a URL path like /irc/: {settings.base_path!r}")
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise SettingsError("tls_cert and tls_key: give both or neither")


def settings_markdown() -> str:
    """The table of settings in docs/configuration.md (a test keeps it in sync)."""
    defaults = Settings()
    rows = [
        "| TOML key | flag | environment | default | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in SETTINGS:
        default = getattr(defaults, s.name)
        if s.name == "data_dir":
            default = "$XDG_DATA_HOME/backchannel (~/.local/share/backchannel)"
        elif isinstance(default, tuple):
            default = ", ".join(default) or "(none)"
        elif default is None:
            default = "(none)"
        cell = f"`{default}`"
        if s.name in MODE_DEFAULTS:
            cell += f" (public mode: `{MODE_DEFAULTS[s.name][1]}`)"
        rows.append(f"| `{s.name}` | `{s.flag}` | `{s.env}` | {cell} | {s.help} |")
    return "\n".join(rows) + "\n"

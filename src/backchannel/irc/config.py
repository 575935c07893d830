"""What the engine needs to know about one network."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from backchannel.protocol.sasl import SaslConfig

__all__ = ["NetworkConfig"]


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    host: str
    port: int = 6667
    tls: bool = False
    tls_verify: bool = True
    fingerprint: str | None = None  # SHA-256 pin, hex
    client_cert: Path | None = None
    client_key: Path | None = None
    nick: str = "backchannel"
    alt_nicks: tuple[str, ...] = ()
    username: str | None = None
    realname: str = "Backchannel user"
    password: str | None = field(default=None, repr=False)  # server PASS
    sasl: SaslConfig | None = None
    channels: tuple[tuple[str, str | None], ...] = ()  # (name, key)
    auto_commands: tuple[str, ...] = ()  # raw lines sent after registration
    reconnect: bool = True
    flood_burst: int = 5
    flood_rate: float = 1.0  # lines per second after the burst
    ping_interval: float = 60.0  # idle seconds before we PING
    ping_timeout: float = 120.0  # seconds without any line before the link is dead
    register_timeout: float = 60.0
    connect_timeout: float = 15.0
    ctcp_version: str | None = None  # None: "Backchannel <version>"
    ctcp_replies: bool = True
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.host

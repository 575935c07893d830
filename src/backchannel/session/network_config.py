"""A stored network's settings (plain JSON data) as the engine's config."""

from __future__ import annotations

from typing import Any

from backchannel.irc.config import NetworkConfig
from backchannel.protocol.sasl import SaslConfig

__all__ = ["engine_config"]


def engine_config(data: dict[str, Any]) -> NetworkConfig:
    sasl = data.get("sasl")
    return NetworkConfig(
        name=str(data.get("name", "")),
        host=str(data["host"]),
        port=int(data.get("port") or (6697 if data.get("tls") else 6667)),
        tls=bool(data.get("tls", False)),
        tls_verify=bool(data.get("tls_verify", True)),
        fingerprint=data.get("fingerprint") or None,
        nick=str(data.get("nick") or "backchannel"),
        alt_nicks=tuple(data.get("alt_nicks") or ()),
        username=data.get("username") or None,
        realname=str(data.get("realname") or "Backchannel user"),
        password=data.get("password") or None,
        sasl=SaslConfig(sasl["mechanism"], sasl.get("account", ""), sasl.get("password", ""))
        if sasl
        else None,
        channels=tuple((c["name"], c.get("key") or None) for c in data.get("channels") or ()),
        auto_commands=tuple(data.get("auto_commands") or ()),
    )

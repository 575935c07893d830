"""Typed keys for what the application object holds."""

from __future__ import annotations

from aiohttp import web

from backchannel.session.gateway import GatewaySessions
from backchannel.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
GATEWAY = web.AppKey("gateway", GatewaySessions)

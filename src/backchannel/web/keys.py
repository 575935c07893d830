"""Typed keys for what the application object holds."""

from __future__ import annotations

from aiohttp import web

from backchannel.bus.hub import Hub
from backchannel.session.gateway import GatewaySessions
from backchannel.session.limits import Limits
from backchannel.session.manager import Runtimes
from backchannel.session.once import OnceStore
from backchannel.settings import Settings
from backchannel.store.db import Database
from backchannel.store.events import EventStore
from backchannel.store.markers import MarkerStore
from backchannel.store.networks import NetworkStore

SETTINGS = web.AppKey("settings", Settings)
GATEWAY = web.AppKey("gateway", GatewaySessions)
DATABASE = web.AppKey("database", Database)
EVENTS = web.AppKey("events", EventStore)
NETWORKS = web.AppKey("networks", NetworkStore)
MARKERS = web.AppKey("markers", MarkerStore)
HUB = web.AppKey("hub", Hub)
RUNTIMES = web.AppKey("runtimes", Runtimes)
LIMITS = web.AppKey("limits", Limits)
ONCE = web.AppKey("once", OnceStore)

"""The application factory: wires settings, sessions and routes together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

from aiohttp import web

from backchannel import __version__
from backchannel.bus.hub import Hub
from backchannel.irc.relay import RelayLimits
from backchannel.irc.sts_store import StsStore
from backchannel.irc.targets import TargetPolicy
from backchannel.session.gateway import GatewaySessions
from backchannel.session.limits import AddressQuota
from backchannel.session.manager import Runtimes
from backchannel.session.once import OnceStore
from backchannel.session.pacing import ConnectPacer
from backchannel.session.user import Publish
from backchannel.settings import Settings
from backchannel.store.accounts import Accounts
from backchannel.store.db import Database
from backchannel.store.events import EventStore
from backchannel.store.markers import MarkerStore
from backchannel.store.networks import NetworkStore
from backchannel.store.retention import RetentionPolicy, prune
from backchannel.web.api import add_api_routes
from backchannel.web.api_events import add_event_routes
from backchannel.web.api_settings import add_settings_routes, load_highlight_words
from backchannel.web.api_ws import add_ws_routes
from backchannel.web.auth import CLIENT_ADDRESS, add_auth_routes
from backchannel.web.body_deadline import body_deadline_middleware
from backchannel.web.csrf import csrf_middleware
from backchannel.web.errors import api_error_middleware
from backchannel.web.guests import add_guest_routes, reap_forever
from backchannel.web.keys import (
    DATABASE,
    EVENTS,
    GATEWAY,
    HUB,
    LIMITS,
    MARKERS,
    NETWORKS,
    ONCE,
    RUNTIMES,
    SETTINGS,
)
from backchannel.web.limits import build_limits
from backchannel.web.proxy import (
    TRUSTED_PROXIES,
    TrustedProxies,
    base_path_middleware,
    client_address,
    forwarded_middleware,
    page_base_middleware,
)
from backchannel.web.security import security_middleware_for
from backchannel.web.seed_api import add_seed_routes
from backchannel.web.setup import add_setup_routes, setup_link, setup_token_if_needed
from backchannel.web.streams import STREAMS, add_stream_shutdown

__all__ = ["create_app", "serving_app"]

log = logging.getLogger(__name__)


def create_gateway(settings: Settings, quota: AddressQuota | None = None) -> GatewaySessions:
    policy = TargetPolicy(
        settings.allowed_servers, settings.allowed_ports, only_listed=settings.public
    )
    limits = RelayLimits(
        buffer_events=settings.buffer_events,
        buffer_bytes=settings.buffer_bytes,
        connect_timeout=settings.connect_timeout,
        reconnect_interval=settings.reconnect_interval,
    )
    return GatewaySessions(
        policy, limits, settings.idle_timeout, settings.max_connections_per_session, quota=quota
    )


STATIC_DIR = Path(str(resources.files("backchannel.web").joinpath("static")))


async def _index(request: web.Request) -> web.StreamResponse:
    """The web page: one shell for every view (the page routes itself); the
    base path is filled in on the way out (``page_base_middleware``)."""
    page = await asyncio.to_thread((STATIC_DIR / "index.html").read_text, "utf-8")
    return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-cache"})


async def _config(request: web.Request) -> web.StreamResponse:
    """What the page needs to know before anyone logs in."""
    settings = request.app[SETTINGS]
    return web.json_response(
        {
            "mode": "public" if settings.public else "private",
            "servers": list(settings.allowed_servers),
            "version": __version__,
        }
    )


async def _healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok"})


def _private_services(app: web.Application, settings: Settings) -> None:
    """Accounts, always-on networks and scrollback, in SQLite in the data dir."""
    # public mode keeps guests' data in memory only: it vanishes with them
    db = Database(":memory:") if settings.public else Database.in_data_dir(settings.data_dir)
    events = EventStore(db, max_bytes_per_user=settings.max_stored_bytes)
    hub = Hub(events)
    app[DATABASE] = db
    app[EVENTS] = events
    app[NETWORKS] = NetworkStore(db)
    app[MARKERS] = MarkerStore(db)
    app[HUB] = hub
    policy = TargetPolicy(
        settings.allowed_servers, settings.allowed_ports, only_listed=settings.public
    )

    async def publisher(user_id: int) -> Publish:
        return (await hub.for_user(user_id)).publish

    app[RUNTIMES] = Runtimes(
        app[NETWORKS],
        events,
        publisher,
        policy,
        StsStore(settings.data_dir / "sts.json"),
        pacer=ConnectPacer(settings.connect_rate),
    )


async def _apply_retention(app: web.Application, every: float = 3600.0) -> None:
    """Retention limits, when the operator set any: pruned at start, then hourly."""
    settings = app[SETTINGS]
    policy = RetentionPolicy(settings.retention_days, settings.retention_max_events)
    while not policy.unlimited:
        try:
            removed = await prune(app[DATABASE], policy)
            if removed:
                log.info("retention: removed %d old event(s)", removed)
        except Exception:
            log.exception("applying the retention limits failed")
        await asyncio.sleep(every)


async def _watch_removed_users(app: web.Application, every: float = 5.0) -> None:
    """Users can be removed from the command line while the server runs."""
    accounts = Accounts(app[DATABASE])
    while True:
        await asyncio.sleep(every)
        try:
            existing = {user.id for user in await accounts.list_users()}
            await app[RUNTIMES].reconcile(existing)
        except Exception:
            log.exception("checking for removed users failed")


def create_app(settings: Settings) -> web.Application:
    trusted = TrustedProxies(settings.trusted_proxies)
    app = web.Application(
        middlewares=[
            forwarded_middleware(trusted),
            security_middleware_for(settings.frame_ancestors),
            api_error_middleware,
            body_deadline_middleware(settings.body_timeout),
            csrf_middleware,
            page_base_middleware(settings.base_path),
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[TRUSTED_PROXIES] = trusted
    app[CLIENT_ADDRESS] = client_address
    limits = build_limits(settings)
    gateway = create_gateway(settings, limits.public_sessions)
    app[GATEWAY] = gateway
    app[LIMITS] = limits
    app[ONCE] = OnceStore()
    _private_services(app, settings)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        gateway.start_reaper()
        token = None if settings.public else await setup_token_if_needed(app)
        if token is not None:
            scheme = "http" if settings.tls_cert is None else "https"
            base = f"{scheme}://{settings.host}:{settings.port}{settings.base_path}"
            print(
                "No account exists yet. Open this one-time link to create the first one:\n"
                f"  {setup_link(base, token)}",
                file=sys.stderr,
                flush=True,
            )
        runtimes = app[RUNTIMES]
        await load_highlight_words(app)
        # networks connect in the background: the web page is up at once, however many
        starting = asyncio.create_task(runtimes.start_all(), name="start networks")
        watcher = asyncio.create_task(
            reap_forever(app) if settings.public else _watch_removed_users(app),
            name="guest reaper" if settings.public else "removed users",
        )
        retention = asyncio.create_task(_apply_retention(app), name="retention")
        yield
        retention.cancel()
        watcher.cancel()
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
        loop = asyncio.get_running_loop()
        began = loop.time()
        await gateway.close_all()
        relays = loop.time()
        await runtimes.stop_all()
        networks = loop.time()
        app[DATABASE].close()
        shutdown_at = app[STREAMS].shutdown_at or began
        took = loop.time() - shutdown_at
        # a slow stop is worth a line in the log, with where the time went
        log.log(
            logging.WARNING if took > 3 else logging.INFO,
            "stopped in %.1f s: open requests %.1f s, seed connections %.1f s, "
            "networks %.1f s, database %.1f s",
            took,
            began - shutdown_at,
            relays - began,
            networks - relays,
            loop.time() - networks,
        )

    app.cleanup_ctx.append(lifecycle)
    add_seed_routes(app, settings)
    add_auth_routes(app)
    add_setup_routes(app)
    add_stream_shutdown(app)
    add_event_routes(app)
    add_ws_routes(app)
    add_api_routes(app)
    add_guest_routes(app)
    add_settings_routes(app)
    app.router.add_get("/", _index)
    app.router.add_get("/api/config", _config)
    app.router.add_static("/static/", STATIC_DIR, append_version=False)
    app.router.add_get("/healthz", _healthz)
    return app


def serving_app(settings: Settings) -> web.Application:
    """What ``backchannel serve`` runs: :func:`create_app`, mounted under
    ``settings.base_path`` when that is not ``/`` (``/irc`` redirects to
    ``/irc/``; nothing else is served outside it)."""
    app = create_app(settings)
    if settings.base_path == "/":
        return app
    prefix = settings.base_path.rstrip("/")
    root = web.Application(
        middlewares=[
            security_middleware_for(settings.frame_ancestors),
            base_path_middleware(prefix),
        ],
        client_max_size=settings.max_body_bytes,
    )
    root[SETTINGS] = settings
    root[TRUSTED_PROXIES] = app[TRUSTED_PROXIES]

    async def to_base(request: web.Request) -> web.StreamResponse:
        raise web.HTTPPermanentRedirect(settings.base_path)

    root.router.add_get(prefix, to_base)
    root.add_subapp(prefix, app)
    return root

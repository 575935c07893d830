"""``/api/networks``: a user's networks — list, create (and connect at once),
read, change (and reconnect), delete (QUIT, then its scrollback goes too),
connect and disconnect. Stored secrets are never sent back, only
``*_set`` flags. Another user's network is 404, as if it did not exist."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from backchannel.irc.targets import ServerSpec, TargetError
from backchannel.session.user import NetworkRunner
from backchannel.store.networks import NetworkRecord
from backchannel.web.api_models import NetworkCreate, NetworkPatch, Route
from backchannel.web.auth import AuthedUser, require_user
from backchannel.web.errors import ApiError, describe, read_json
from backchannel.web.keys import LIMITS, NETWORKS, RUNTIMES

__all__ = [
    "ROUTES",
    "ChannelView",
    "NetworkList",
    "NetworkView",
    "SaslView",
    "check_channel_room",
    "fold_target",
    "network_of",
    "owned_network",
    "remember_channel",
    "runner_of",
]

_LIVE_STATES = frozenset({"connecting", "connected", "registered"})


class SaslView(BaseModel):
    mechanism: str
    account: str
    password_set: bool


class ChannelView(BaseModel):
    name: str
    key_set: bool


class NetworkView(BaseModel):
    """A network as the API shows it: secrets only as ``*_set`` flags."""

    id: int
    name: str
    enabled: bool
    running: bool = Field(description="an engine holds (or is trying to hold) the connection")
    status: dict[str, Any] | None = Field(description="the last `status` event, if any")
    host: str
    port: int
    tls: bool
    tls_verify: bool
    fingerprint: str | None
    nick: str
    alt_nicks: list[str]
    username: str | None
    realname: str | None
    password_set: bool
    sasl: SaslView | None
    channels: list[ChannelView]
    auto_commands: list[str]


class NetworkList(BaseModel):
    networks: list[NetworkView]


# --- helpers the other API modules share ---------------------------------------------


async def network_of(app: web.Application, user_id: int, network_id: object) -> NetworkRecord:
    """The user's network ``network_id`` (an int or digits); 404 otherwise,
    also when it is another user's."""
    text = str(network_id) if isinstance(network_id, int | str) else ""
    record = None
    if text.isascii() and text.isdigit() and len(text) <= 18:
        record = await app[NETWORKS].get(user_id, int(text))
    if record is None:
        raise ApiError(404, "not_found", "no such network")
    return record


async def owned_network(request: web.Request) -> tuple[AuthedUser, NetworkRecord]:
    """The logged-in user and the network ``{id}`` of theirs; 404 otherwise."""
    user = await require_user(request)
    return user, await network_of(request.app, user.id, request.match_info["id"])


def runner_of(app: web.Application, user_id: int, network_id: int) -> NetworkRunner | None:
    """The running engine of a network, None when it is not running."""
    runtime = app[RUNTIMES].get(user_id)
    return runtime.networks.get(network_id) if runtime is not None else None


def fold_target(runner: NetworkRunner | None, name: str) -> str:
    """A conversation's key: folded with the network's casemapping when it
    runs, else lower-cased."""
    return runner.client.state.fold(name) if runner is not None else name.lower()


async def remember_channel(
    app: web.Application, record: NetworkRecord, name: str, key: str | None, *, keep: bool
) -> None:
    """Add (``keep``) or remove a channel in the stored settings, so that it
    is joined again (or not) when the network next starts."""
    fresh = await app[NETWORKS].get(record.user_id, record.id) or record
    config = dict(fresh.config)
    folded = name.lower()
    old = [c for c in config.get("channels") or () if str(c.get("name", "")).lower() == folded]
    channels = [c for c in config.get("channels") or () if c not in old]
    if keep:
        channels.append({"name": name, "key": key or (old[0].get("key") if old else None)})
    config["channels"] = channels
    if config != fresh.config:
        await app[NETWORKS].update(record.user_id, record.id, config=config)


async def check_channel_room(
    app: web.Application,
    user_id: int,
    network_id: int | None,
    names: list[str],
    *,
    replacing: bool = False,
) -> None:
    """409 ``too_many_channels`` when joining ``names`` on ``network_id``
    (None: a new network) would put the user in more channels than allowed,
    over all their networks. Counted: the channels each network is in now
    and those it will join at start. ``replacing``: ``names`` become the
    network's whole stored list."""
    limit = app[LIMITS].max_channels
    if not limit or not names:
        return
    used: set[tuple[int | None, str]] = set()
    for record in await app[NETWORKS].list(user_id):
        runner = runner_of(app, user_id, record.id)
        held = list(runner.client.state.channels) if runner is not None else []
        if not (replacing and record.id == network_id):
            held += [str(c.get("name", "")) for c in record.config.get("channels") or ()]
        used.update((record.id, fold_target(runner, name)) for name in held)
    runner = runner_of(app, user_id, network_id) if network_id is not None else None
    wanted = {(network_id, fold_target(runner, name)) for name in names}
    if len(used | wanted) > limit:
        raise ApiError(
            409,
            "too_many_channels",
            f"at most {limit} channels per user, over all networks; part some first",
        )


# --- views ---------------------------------------------------------------------------


def network_view(app: web.Application, record: NetworkRecord) -> NetworkView:
    config = record.config
    sasl = config.get("sasl")
    tls = bool(config.get("tls", False))
    return NetworkView(
        id=record.id,
        name=record.name,
        enabled=record.enabled,
        running=runner_of(app, record.user_id, record.id) is not None,
        status=app[RUNTIMES].status(record.user_id, record.id) or None,
        host=str(config.get("host", "")),
        port=int(config.get("port") or (6697 if tls else 6667)),
        tls=tls,
        tls_verify=bool(config.get("tls_verify", True)),
        fingerprint=config.get("fingerprint"),
        nick=str(config.get("nick", "")),
        alt_nicks=list(config.get("alt_nicks") or ()),
        username=config.get("username"),
        realname=config.get("realname"),
        password_set=bool(config.get("password")),
        sasl=SaslView(
            mechanism=str(sasl.get("mechanism", "")),
            account=str(sasl.get("account", "")),
            password_set=bool(sasl.get("password")),
        )
        if sasl
        else None,
        channels=[
            ChannelView(name=str(c.get("name", "")), key_set=bool(c.get("key")))
            for c in config.get("channels") or ()
        ],
        auto_commands=list(config.get("auto_commands") or ()),
    )


def _json(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(model.model_dump(mode="json"), status=status)


async def _check_target(app: web.Application, settings: NetworkCreate) -> None:
    """The SSRF policy: refused servers are 403 ``target_refused``."""
    assert settings.port is not None
    try:
        await app[RUNTIMES].policy.resolve(ServerSpec(settings.host.lower(), settings.port))
    except TargetError as exc:
        raise ApiError(403, "target_refused", str(exc)) from None


def _merge(old: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Stored settings with ``changes`` on top; secrets left out of a changed
    ``sasl`` or channel are kept from the stored ones."""
    merged = {k: v for k, v in old.items() if k in NetworkCreate.model_fields}
    merged.update(changes)
    sasl = changes.get("sasl")
    old_sasl = old.get("sasl") or {}
    if isinstance(sasl, dict) and "password" not in sasl and old_sasl.get("password"):
        merged["sasl"] = {**sasl, "password": old_sasl["password"]}
    if isinstance(changes.get("channels"), list):
        keys = {str(c.get("name", "")).lower(): c.get("key") for c in old.get("channels") or ()}
        merged["channels"] = [
            {**c, "key": keys.get(str(c.get("name", "")).lower())}
            if isinstance(c, dict) and "key" not in c
            else c
            for c in changes["channels"]
        ]
    return merged


def _is_live(runner: NetworkRunner | None) -> bool:
    """Connected, or on its way (a reconnect waiting for its backoff is not)."""
    if runner is None or runner.task is None or runner.task.done():
        return False
    return runner.status.get("state", "connecting") in _LIVE_STATES


def _engine_part(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "name"}


# --- handlers ------------------------------------------------------------------------


async def list_networks(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    records = await request.app[NETWORKS].list(user.id)
    return _json(NetworkList(networks=[network_view(request.app, r) for r in records]))


async def create_network(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    body = await read_json(request, NetworkCreate)
    app = request.app
    limit = app[LIMITS].max_networks
    if limit and len(await app[NETWORKS].list(user.id)) >= limit:
        raise ApiError(409, "too_many_networks", f"at most {limit} networks per user")
    await check_channel_room(app, user.id, None, [c.name for c in body.channels])
    await _check_target(app, body)
    record = await app[NETWORKS].create(user.id, body.name, body.model_dump(mode="json"))
    await app[RUNTIMES].start(record)
    return _json(network_view(app, record), status=201)


async def get_network(request: web.Request) -> web.StreamResponse:
    _user, record = await owned_network(request)
    return _json(network_view(request.app, record))


async def patch_network(request: web.Request) -> web.StreamResponse:
    user, record = await owned_network(request)
    patch = await read_json(request, NetworkPatch)
    try:
        settings = NetworkCreate.model_validate(
            _merge(record.config, patch.model_dump(exclude_unset=True))
        )
    except ValidationError as exc:
        raise ApiError(422, "invalid", describe(exc)) from None
    app = request.app
    config = settings.model_dump(mode="json")
    if patch.channels is not None:
        names = [c.name for c in settings.channels]
        await check_channel_room(app, user.id, record.id, names, replacing=True)
    if (config["host"], config["port"]) != (record.config.get("host"), record.config.get("port")):
        await _check_target(app, settings)
    updated = await app[NETWORKS].update(user.id, record.id, name=settings.name, config=config)
    if updated is None:
        raise ApiError(404, "not_found", "no such network")
    if updated.enabled and _engine_part(config) != _engine_part(record.config):
        await app[RUNTIMES].start(updated)
    return _json(network_view(app, updated))


async def delete_network(request: web.Request) -> web.StreamResponse:
    user, record = await owned_network(request)
    runtimes = request.app[RUNTIMES]
    await runtimes.stop(user.id, record.id, "Leaving")
    runtime = runtimes.get(user.id)
    if runtime is not None:
        await runtime.flush()  # its last events are stored before they are deleted
    await request.app[NETWORKS].delete(user.id, record.id)
    return web.json_response({"ok": True})


async def connect_network(request: web.Request) -> web.StreamResponse:
    user, record = await owned_network(request)
    app = request.app
    updated = await app[NETWORKS].update(user.id, record.id, enabled=True) or record
    if not _is_live(runner_of(app, user.id, record.id)):
        await app[RUNTIMES].start(updated)
    return _json(network_view(app, updated))


async def disconnect_network(request: web.Request) -> web.StreamResponse:
    user, record = await owned_network(request)
    app = request.app
    updated = await app[NETWORKS].update(user.id, record.id, enabled=False) or record
    await app[RUNTIMES].stop(user.id, record.id, "Leaving")
    return _json(network_view(app, updated))


_ONE = "/api/networks/{id:\\d+}"
ROUTES: list[Route] = [
    ("GET", "/api/networks", list_networks),
    ("POST", "/api/networks", create_network),
    ("GET", _ONE, get_network),
    ("PATCH", _ONE, patch_network),
    ("DELETE", _ONE, delete_network),
    ("POST", _ONE + "/connect", connect_network),
    ("POST", _ONE + "/disconnect", disconnect_network),
]

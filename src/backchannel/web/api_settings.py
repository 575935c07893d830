"""The user's preferences: ``GET /api/settings`` and ``PATCH /api/settings``.

Today: ``highlight_words``, the words besides the user's nick that make a
message a highlight (a mention)."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import AfterValidator, Field

from backchannel.store.accounts import Accounts
from backchannel.web.api_models import StrictModel
from backchannel.web.auth import require_user
from backchannel.web.errors import read_json
from backchannel.web.keys import DATABASE, RUNTIMES

__all__ = ["SettingsBody", "add_settings_routes", "load_highlight_words"]


def _word(value: str) -> str:
    value = value.strip()
    if not value or any(ch in value for ch in "\r\n\0"):
        raise ValueError("a highlight word is one line of text")
    return value


Word = Annotated[str, Field(max_length=64), AfterValidator(_word)]


class SettingsBody(StrictModel):
    highlight_words: Annotated[list[Word], Field(max_length=50)] | None = None


def _view(settings: dict[str, object]) -> dict[str, object]:
    return {"highlight_words": list(settings.get("highlight_words") or [])}  # type: ignore[call-overload]


async def get_settings(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    return web.json_response(_view(await Accounts(request.app[DATABASE]).get_settings(user.id)))


async def patch_settings(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    body = await read_json(request, SettingsBody)
    changes = body.model_dump(exclude_none=True)
    settings = await Accounts(request.app[DATABASE]).update_settings(user.id, changes)
    if body.highlight_words is not None:
        request.app[RUNTIMES].highlight_words[user.id] = list(body.highlight_words)
    return web.json_response(_view(settings))


async def load_highlight_words(app: web.Application) -> None:
    """At start: every user's highlight words, for their runtimes."""
    for user_id, settings in (await Accounts(app[DATABASE]).all_settings()).items():
        words = settings.get("highlight_words")
        if isinstance(words, list) and words:
            app[RUNTIMES].highlight_words[user_id] = [str(w) for w in words]


def add_settings_routes(app: web.Application) -> None:
    app.router.add_get("/api/settings", get_settings)
    app.router.add_patch("/api/settings", patch_settings)

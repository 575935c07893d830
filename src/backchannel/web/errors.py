"""JSON errors for the v1 API: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

import json

from aiohttp import web

__all__ = ["json_error"]


def json_error(status: int, code: str, message: str) -> web.HTTPException:
    """An exception to raise from a handler; aiohttp answers with it."""
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)
    exc = web.HTTPException(text=body, content_type="application/json")
    exc.set_status(status)
    return exc

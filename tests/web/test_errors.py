"""Request bodies from strangers: depth, size and shape limits."""

from __future__ import annotations

import aiohttp
import pytest

from backchannel.web.errors import ApiError, json_depth, parse_json


@pytest.mark.parametrize(
    ("raw", "depth"),
    [
        (b"1", 0),
        (b"{}", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'{"a": "[[[[[[{{{{"}', 1),  # brackets inside strings do not count
        (b'["\\"[[[", [[]]]', 3),  # nor after an escaped quote
    ],
)
def test_json_depth(raw: bytes, depth: int) -> None:
    assert json_depth(raw) == depth


def test_deep_json_is_refused_before_parsing() -> None:
    with pytest.raises(ApiError) as caught:
        parse_json(b"[" * 100_000 + b"]" * 100_000)
    assert (caught.value.status, caught.value.code) == (400, "too_deep")
    assert isinstance(parse_json(b"[" * 64 + b"]" * 64), list)  # 64 levels are fine


def test_bad_json_is_a_clear_400() -> None:
    for raw in (b"{", b"\xff\xfe", b"[1,]"):
        with pytest.raises(ApiError) as caught:
            parse_json(raw)
        assert (caught.value.status, caught.value.code) == (400, "bad_json")


async def test_a_deep_body_on_a_route_is_400(make_server) -> None:
    server = await make_server()
    async with aiohttp.ClientSession() as http, http.post(
        str(server.make_url("/api/login")),
        data=b'{"username": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        headers={"Content-Type": "application/json"},
    ) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "too_deep"

"""The shutdown's bookkeeping of open streams: what registers after the
shutdown began is ended too (the end-to-end cases are in tests/test_shutdown.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from backchannel.web.streams import OpenStreams


class Socket:
    """Stands in for a WebSocketResponse: records its close, and how many
    closes were waiting for their client's answer at once."""

    closing = 0
    most_at_once = 0

    def __init__(self, answer_after: float = 0.0) -> None:
        self.closed_with: Any = None
        self.answer_after = answer_after

    async def close(self, *, code: int, message: bytes) -> bool:
        Socket.closing += 1
        Socket.most_at_once = max(Socket.most_at_once, Socket.closing)
        try:
            await asyncio.sleep(self.answer_after)
        finally:
            Socket.closing -= 1
        self.closed_with = code
        return True


async def test_a_poll_that_starts_after_the_shutdown_began_is_cancelled_at_once() -> None:
    streams = OpenStreams()
    waiting = asyncio.Event()

    async def poll() -> None:
        with streams.stream():
            waiting.set()
            await asyncio.sleep(30)

    early = asyncio.create_task(poll())
    await waiting.wait()
    await streams.close_all()
    with pytest.raises(asyncio.CancelledError):
        await early
    late = asyncio.create_task(poll())  # on its way while the others were cancelled
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(late, 1)
    assert not streams.tasks


async def test_sockets_are_closed_together_and_late_ones_too() -> None:
    streams = OpenStreams()
    slow = [Socket(answer_after=0.5) for _ in range(10)]
    for ws in slow:
        streams.sockets.add(ws)  # type: ignore[arg-type]
    await streams.close_all()
    assert Socket.most_at_once == 10  # together, not one after another
    assert all(ws.closed_with == 1001 for ws in slow)
    late = Socket()
    with streams.socket(late):  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
    assert late.closed_with == 1001

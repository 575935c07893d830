"""The handler table: one module per family, no command claimed twice."""

from __future__ import annotations

from backchannel.state.handlers import HANDLERS, MODULES, handler_for
from backchannel.state.handlers.replies import server_reply


def test_every_module_handler_is_in_the_table() -> None:
    total = sum(len(module.HANDLERS) for module in MODULES)
    assert total == len(HANDLERS)
    for module in MODULES:
        for command, handler in module.HANDLERS.items():
            assert HANDLERS[command] is handler


def test_lookup() -> None:
    assert handler_for("PRIVMSG") is HANDLERS["PRIVMSG"]
    assert handler_for("404") is server_reply
    assert handler_for("600") is None
    assert handler_for("PING") is None

"""Where ``backchannel serve`` logs go and how they look.

Logs go to standard error, one line per record: readable text by default
(``2024-05-01 12:00:00,123 INFO backchannel.web.auth: ...``), or with
``log_format = "json"`` one JSON object per line with the keys ``time`` (ISO
8601, UTC), ``level``, ``logger``, ``message`` and, for an exception,
``exception``. :func:`configure_logging` can be called again (SIGHUP) to
change the level or the format of a running server.

At info level and above Backchannel logs what happens (logins refused,
networks started, connections closed) but never what people say or their
passwords.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

__all__ = ["JsonFormatter", "configure_logging"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_HANDLER_NAME = "backchannel"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        out: dict[str, object] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(level: str, log_format: str) -> None:
    """Send the root logger's records to standard error at ``level``
    (``debug``, ``info``, ...) as ``text`` or ``json``; calling it again
    replaces what an earlier call set up."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == _HANDLER_NAME), None)
    if handler is None:
        handler = logging.StreamHandler()  # sys.stderr, looked up when it writes
        handler.set_name(_HANDLER_NAME)
        root.addHandler(handler)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root.setLevel(level.upper())

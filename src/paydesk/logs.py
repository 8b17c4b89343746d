"""Structured logs: one JSON object per line, with secrets masked before they are written,
and the id of the HTTP request being answered when there is one."""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

# Stripe and paydesk secrets, client secrets and anything shaped like a card number.
_SECRET = re.compile(
    r"(sk|rk|pk)_(test|live)_[A-Za-z0-9]+|whsec_[A-Za-z0-9+/=]+|pd_(sk|ct)_[\w-]+"
    r"|pi_[A-Za-z0-9]+_secret_[A-Za-z0-9]+|\b(?:\d[ -]?){13,19}\b"
)


# Set by the HTTP edge for the request it is answering; every line logged meanwhile names it.
request_id: ContextVar[str | None] = ContextVar("paydesk_request_id", default=None)


def redact(text: str) -> str:
    return _SECRET.sub("[redacted]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        current = request_id.get()
        if current is not None:
            entry["request_id"] = current
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return orjson.dumps(entry).decode()


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)

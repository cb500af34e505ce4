"""Credentials out of uvicorn's log lines. uvicorn logs each request's path with its query string:
HTTP requests on `uvicorn.access` (with `platehub serve --access-log`), WebSocket handshakes on
`uvicorn.error`. TS-API clients sign in by query string (`/api/auth?login=<base64 user:password>`,
`auth=` on any request, `session=` on the event socket), so those lines would hold passwords and
session tokens. `install()` masks them (core.redact.redact_target) before any handler sees them."""

from __future__ import annotations

import logging

from platehub.core.redact import redact_target

LOGGERS = ("uvicorn.access", "uvicorn.error")


class CredentialFilter(logging.Filter):
    """Rewrites a record's string arguments that hold a query string; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact_target(a) if isinstance(a, str) and "?" in a else a for a in record.args)
        return True


def install() -> None:
    """Add the filter to uvicorn's loggers (idempotent; after uvicorn configured its logging)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, CredentialFilter) for f in logger.filters):
            logger.addFilter(CredentialFilter())

"""What the domain raises when it refuses a request: one base, so each door turns them into its own
protocol's error in one place (platehub's `/v1` API: `protocols/manage/errors.py`). The CLI prints
the message. The message says why, in words a user can act on."""

from __future__ import annotations


class DomainError(ValueError):
    """Bad input or a broken rule (HTTP 400)."""


class NotFound(DomainError):
    """No such thing (HTTP 404)."""


class Conflict(DomainError):
    """It exists already (HTTP 409)."""

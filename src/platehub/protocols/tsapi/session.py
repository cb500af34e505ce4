"""TS-API sessions: a cookie after /api/auth?login=…, ended by /api/auth?logout.

The sessions themselves live in the database (`core/store/sessions.py`, `store.sessions`), so a
password change or a removed user ends them in every process, the CLI's included. Blocking:
call the store off the event loop."""

from __future__ import annotations

COOKIE = "platehub_session"

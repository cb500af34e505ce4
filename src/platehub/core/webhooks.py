"""Webhook targets as settings: the rules shared by `platehub webhook` (cli/webhooks.py) and the HTTP API
(`/v1/webhooks/`, protocols/snapshot/routes.py), and how a target is shown.

A target URL may carry credentials (`https://user:password@host/`, `?api_key=…`), so it is shown
only to admins and then redacted (`core.redact.redact_url`): `shown` is that view, `health` what
anyone may see (counts, no URLs). The event log records each change with the target redacted: it
never stores the secret. Blocking (database): call off the event loop."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from platehub.core.bus import Bus
from platehub.core.errors import DomainError
from platehub.core.eventlog import record_setting
from platehub.core.redact import redact_url
from platehub.core.store.hooks import EVENTS, Webhook


class WebhookError(DomainError):
    """The change is refused; the message says why."""


def check_target(target: str) -> str:
    target = (target or "").strip()
    if not target.startswith(("http://", "https://")):
        raise WebhookError("the target must be an http(s) URL")
    return target


def shown(hook: Webhook) -> dict[str, Any]:
    """A target as admins see it (the API, the console, the CLI): its URL redacted."""
    return {"id": hook.id, "target": redact_url(hook.target), "with_image": hook.with_image, "events": hook.events,
            "enabled": hook.enabled, "failures": hook.failures, "last_error": hook.last_error}


def health(hooks: Iterable[Webhook]) -> dict[str, int]:
    """What anyone may know of the targets: how many, how many enabled, how many failing now."""
    hooks = list(hooks)
    return {"targets": len(hooks), "enabled": sum(h.enabled for h in hooks),
            "failing": sum(1 for h in hooks if h.enabled and h.failures)}


def add_webhook(store, target: str, *, with_image: bool = False, events: str = "recognition", by: str | None = None,
                bus: Bus | None = None) -> Webhook:
    target = check_target(target)
    if events not in EVENTS:
        raise WebhookError(f"events must be one of {', '.join(EVENTS)}")
    hook = store.webhooks.add(target, with_image, events)
    record_setting(store, "webhook", user=by, bus=bus,
                   after={"id": hook.id, "target": redact_url(hook.target), "with_image": hook.with_image,
                          "events": hook.events})
    return hook


def remove_webhook(store, hook_id: int, *, by: str | None = None, bus: Bus | None = None) -> bool:
    """False when there is no such target."""
    if not store.webhooks.remove(hook_id):
        return False
    record_setting(store, "webhook", user=by, before={"id": hook_id}, bus=bus)
    return True

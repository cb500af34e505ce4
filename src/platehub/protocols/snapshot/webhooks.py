"""Webhook delivery (spec 002 "WebHooks"): one POST per recognition call, even with no plate.

Data-only targets get the JSON payload; with-image targets get multipart/form-data with
`upload` (the image) and `json` (the payload). A delivery is retried with exponential backoff;
a target whose deliveries keep failing is disabled and the reason logged and shown by /info/.

Targets added for `alert` events instead get one JSON POST per gate alert (a deny-list vehicle, an
unknown vehicle where the policy asks for it: `core.gate.Alert.as_json`), with the same retries.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import httpx
from starlette.concurrency import run_in_threadpool

from platehub.config import Settings
from platehub.core.bus import SNAPSHOT_DONE, Bus
from platehub.core.gate import GATE_ALERT, Alert
from platehub.core.recognition import Recognition
from platehub.core.redact import redact_url
from platehub.core.store.hooks import Webhook, WebhookRepo
from platehub.core.tasks import cancel
from platehub.protocols.snapshot.codec import webhook_payload

log = logging.getLogger("platehub.webhooks")


class RedactedUrls(logging.Filter):
    """httpx logs every request's URL at INFO ("HTTP Request: POST https://user:password@…"): redact
    it (core.redact.redact_url), so a webhook target's secrets never reach the server log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(str(a)) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


REDACTED_URLS = RedactedUrls()


class WebhookDispatcher:
    def __init__(self, settings: Settings, repo: WebhookRepo, bus: Bus, max_parallel: int = 8,
                 failed: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self._failed = failed  # told the event kind of each delivery that failed after all retries (core.metrics)
        self.repo = repo
        self.bus = bus
        self._sem = asyncio.Semaphore(max_parallel)
        self._task: asyncio.Task | None = None
        self._deliveries: set[asyncio.Task] = set()
        self._client: httpx.AsyncClient | None = None

    def depths(self) -> dict[str, int]:
        """Events not yet dispatched, and deliveries in flight (retries included), for core.metrics."""
        sub = getattr(self, "_sub", None)
        return {"webhook_events": sub.queue.qsize() if sub is not None else 0,
                "webhook_deliveries": len(self._deliveries)}

    def start(self) -> None:
        logging.getLogger("httpx").addFilter(REDACTED_URLS)  # once: a filter is added only if missing
        self._client = httpx.AsyncClient(timeout=self.settings.webhook_timeout, follow_redirects=False)
        self._sub = self.bus.subscribe(SNAPSHOT_DONE, GATE_ALERT, maxsize=10_000)
        self._task = asyncio.create_task(self._run(), name="webhooks")

    async def stop(self) -> None:
        if self._task:
            await cancel(self._task)
            self._sub.close()
        for t in list(self._deliveries):
            await cancel(t)
        if self._client:
            await self._client.aclose()

    async def _run(self) -> None:
        async for event in self._sub:
            wanted = "alert" if event.topic == GATE_ALERT else "recognition"
            hooks = [h for h in await run_in_threadpool(self.repo.list, True) if h.events == wanted]
            for hook in hooks:
                task = asyncio.create_task(self.deliver(hook, event.payload))
                self._deliveries.add(task)
                task.add_done_callback(self._deliveries.discard)

    async def _post(self, hook: Webhook, rec: Recognition | Alert) -> None:
        assert self._client is not None
        if isinstance(rec, Alert):
            resp = await self._client.post(hook.target, json=rec.as_json())
            if not 200 <= resp.status_code < 300:
                raise RuntimeError(f"HTTP {resp.status_code}")
            return
        payload = webhook_payload(rec, hook.id, hook.target)
        if hook.with_image:
            files = {"upload": (rec.filename or "image.jpg", rec.image, "application/octet-stream")}
            resp = await self._client.post(hook.target, data={"json": json.dumps(payload)}, files=files)
        else:
            resp = await self._client.post(hook.target, json=payload)
        if not 200 <= resp.status_code < 300:
            raise RuntimeError(f"HTTP {resp.status_code}")

    async def deliver(self, hook: Webhook, rec: Recognition | Alert) -> bool:
        delay = self.settings.webhook_backoff
        error = ""
        async with self._sem:
            for attempt in range(1, self.settings.webhook_retries + 1):
                try:
                    await self._post(hook, rec)
                    if hook.failures:
                        await run_in_threadpool(self.repo.record_success, hook.id)
                    log.info("webhook %s delivered %s to %s", hook.id,
                             f"alert for read {rec.read.id}" if isinstance(rec, Alert) else f"recognition {rec.id}",
                             redact_url(hook.target))
                    return True
                except Exception as e:  # network errors, timeouts, non-2xx answers
                    error = f"{type(e).__name__}: {e}"
                    log.warning("webhook %s attempt %d/%d to %s failed: %s", hook.id, attempt,
                                self.settings.webhook_retries, redact_url(hook.target), error)
                if attempt < self.settings.webhook_retries:
                    await asyncio.sleep(delay)
                    delay *= 2
        if self._failed is not None:
            self._failed(hook.events)
        updated = await run_in_threadpool(
            self.repo.record_failure, hook.id, error, self.settings.webhook_disable_after
        )
        if updated is not None and not updated.enabled:
            log.error("webhook %s to %s disabled after %d failed deliveries; last error: %s",
                      hook.id, redact_url(hook.target), updated.failures, error)
        return False

"""Webhook delivery (spec 002 "WebHooks"): one POST per recognition call, even with no plate.

Data-only targets get the JSON payload; with-image targets get multipart/form-data with
`upload` (the image) and `json` (the payload). A delivery is retried with exponential backoff;
a target whose deliveries keep failing is disabled and the reason logged and shown by /info/.

Targets added for `alert` events instead get one JSON POST per gate alert (a deny-list vehicle, an
unknown vehicle where the policy asks for it: `core.gate.Alert.as_json`), with the same retries.

The deliveries are rows of the webhook outbox (core/store/outbox.py), stored where the event happened
(core/outbox.py) before it was acknowledged. `WebhookDispatcher` delivers them: woken when this process
adds rows, it also looks every second for due rows (retries, rows another process added, rows whose
process died), claims them for a lease, posts, and deletes each row once its target answered 2xx, or
schedules the next attempt in the row, so retries survive a crash and several processes running a
dispatcher post each delivery once. At least once: a process that dies between the target's 2xx and the
row's deletion leaves the row to be posted again when its lease ends; every attempt of a delivery
carries the same `Idempotency-Key` header, for targets that want to drop repeats.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import os
import secrets
import socket
from collections.abc import Callable

import httpx
from starlette.concurrency import run_in_threadpool

from platehub.config import Settings
from platehub.core.outbox import Outbox
from platehub.core.redact import redact_url
from platehub.core.store.hooks import WebhookRepo
from platehub.core.store.outbox import Delivery
from platehub.core.tasks import cancel

log = logging.getLogger("platehub.webhooks")

POLL = 1.0  # seconds between looks for due rows (retries, other processes' rows, ended leases)
LEASE_MARGIN = 10.0  # seconds a claim outlives the attempt's timeout (time to record the outcome)


class RedactedUrls(logging.Filter):
    """httpx logs every request's URL at INFO ("HTTP Request: POST https://user:password@…"): redact
    it (core.redact.redact_url), so a webhook target's secrets never reach the server log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_url(str(a)) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


REDACTED_URLS = RedactedUrls()


class WebhookDispatcher:
    def __init__(self, settings: Settings, outbox: Outbox, repo: WebhookRepo, max_parallel: int = 8,
                 failed: Callable[[str], None] | None = None, poll: float = POLL) -> None:
        self.settings = settings
        self._failed = failed  # told the event kind of each delivery that failed after all retries (core.metrics)
        self.outbox = outbox
        self.rows = outbox.repo
        self.repo = repo
        self.max_parallel = max_parallel
        self.poll = poll
        self.lease = settings.webhook_timeout + LEASE_MARGIN
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"  # whose claims (this run)
        self._task: asyncio.Task | None = None
        self._deliveries: set[asyncio.Task] = set()
        self._client: httpx.AsyncClient | None = None
        self._wake: asyncio.Event | None = None
        self._unlisten: Callable[[], None] | None = None
        self._retries: list[float] = []  # heap: loop times at which retries this process scheduled are due

    def depths(self) -> dict[str, int]:
        """Deliveries owed (rows in the outbox, of every process) and being posted by this process, for
        core.metrics. Blocking (database)."""
        return {"webhook_events": self.rows.pending(), "webhook_deliveries": len(self._deliveries)}

    def start(self) -> None:
        logging.getLogger("httpx").addFilter(REDACTED_URLS)  # once: a filter is added only if missing
        self._client = httpx.AsyncClient(timeout=self.settings.webhook_timeout, follow_redirects=False)
        loop = asyncio.get_running_loop()
        self._wake = wake = asyncio.Event()
        self._unlisten = self.outbox.listen(lambda: loop.call_soon_threadsafe(wake.set))
        self._task = asyncio.create_task(self._run(), name="webhooks")

    async def stop(self) -> None:
        if self._unlisten:
            self._unlisten()
        if self._task:
            await cancel(self._task)
        for t in list(self._deliveries):
            await cancel(t)
        if self._task:  # what it held is free for the other processes (or the next start) at once
            await run_in_threadpool(self.rows.release, self.owner)
        if self._client:
            await self._client.aclose()

    async def _run(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            while self._retries and self._retries[0] <= loop.time():
                heapq.heappop(self._retries)  # due now: this claim takes it
            free = self.max_parallel - len(self._deliveries)
            if free > 0:
                try:
                    rows = await run_in_threadpool(self.rows.claim, self.owner, free, self.lease)
                except Exception:  # the database is away: look again at the next poll
                    log.exception("webhook outbox: claiming deliveries failed")
                    rows = []
                for row in rows:
                    task = asyncio.create_task(self._deliver(row))
                    self._deliveries.add(task)
                    task.add_done_callback(self._finished)
            timeout = min(self.poll, self._retries[0] - loop.time() if self._retries else self.poll)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    def _finished(self, task: asyncio.Task) -> None:
        self._deliveries.discard(task)
        if self._wake is not None:
            self._wake.set()  # a slot is free (and a retry may have been scheduled)

    async def _post(self, row: Delivery) -> None:
        assert self._client is not None
        headers = {"Idempotency-Key": row.key}
        if row.image is not None:
            files = {"upload": (row.filename or "image.jpg", row.image, "application/octet-stream")}
            resp = await self._client.post(row.target, data={"json": row.body}, files=files, headers=headers)
        else:
            resp = await self._client.post(row.target, content=row.body.encode(),
                                           headers={**headers, "Content-Type": "application/json"})
        if not 200 <= resp.status_code < 300:
            raise RuntimeError(f"HTTP {resp.status_code}")

    async def _deliver(self, row: Delivery) -> bool:
        """One attempt at `row` (claimed by this process), and its outcome written to the outbox."""
        try:
            await asyncio.wait_for(self._post(row), self.settings.webhook_timeout)
        except Exception as e:  # network errors, timeouts, non-2xx answers
            error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            await self._recorded(self._attempt_failed(row, error), row)
            return False
        await self._recorded(self._delivered(row), row)
        return True

    async def _recorded(self, outcome, row: Delivery) -> None:
        try:
            await outcome
        except Exception:  # the database is away: the row is tried again when its lease ends
            log.exception("webhook outbox: recording the outcome of delivery %s failed", row.key)

    async def _delivered(self, row: Delivery) -> None:
        await run_in_threadpool(self.rows.done, row.id)
        if row.failures:
            await run_in_threadpool(self.repo.record_success, row.webhook_id)
        log.info("webhook %s delivered %s %s to %s", row.webhook_id, row.kind, row.key, redact_url(row.target))

    async def _attempt_failed(self, row: Delivery, error: str) -> None:
        attempts, retries = row.attempts + 1, self.settings.webhook_retries
        log.warning("webhook %s attempt %d/%d to %s failed: %s", row.webhook_id, attempts, retries,
                    redact_url(row.target), error)
        if attempts < retries:
            delay = self.settings.webhook_backoff * 2 ** (attempts - 1)
            await run_in_threadpool(self.rows.retry, row.id, attempts, delay, error)
            heapq.heappush(self._retries, asyncio.get_running_loop().time() + delay + 0.01)
            return
        if self._failed is not None:
            self._failed(row.kind)
        updated = await run_in_threadpool(self.rows.give_up, row.id, row.webhook_id, error,
                                          self.settings.webhook_disable_after)
        if updated is not None and not updated.enabled:
            log.error("webhook %s to %s disabled after %d failed deliveries; last error: %s",
                      row.webhook_id, redact_url(row.target), updated.failures, error)

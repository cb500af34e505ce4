"""Prometheus metrics (`/metrics`, text exposition format): what is counted, and who may scrape it.

Cheap on the ingest path: a stored read only increments a counter (`on_read`, an observer of
`Ingestor` and `Recognizer`), a recognition call observes one histogram sample, a failed webhook
delivery increments a counter. Everything else (devices online, queue depths, the database probe)
is computed when scraped, never per read.

Labels are protocol, source (the device code or Snapshot API camera_id) and event kind, never a
plate. A source seen after MAX_SOURCES distinct ones is counted as `_other`, so a client sending
random camera_ids cannot grow the exposition without bound.

Access (PLATEHUB_METRICS): `local` (default) lets loopback clients scrape without credentials (a
Prometheus on the same machine) and asks every other client for an API token, as `token` does for
all; `open` answers anyone; `off` serves no /metrics and counts nothing. A request relayed by a
proxy (X-Forwarded-For / Forwarded) is not taken as local: the proxy's loopback address says
nothing about the client behind it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from platehub.core.read import Read
from platehub.core.store.hooks import EVENTS

disable_created_metrics()  # no `*_created` series: they double the exposition and no dashboard uses them
MODES = ("local", "open", "token", "off")
MAX_SOURCES = 500
OTHER = "_other"
LOOPBACK = ("127.0.0.1", "::1", "localhost")
CONTENT_TYPE = CONTENT_TYPE_LATEST
# engine time per recognition call: the CPU engine takes 50 ms to a few seconds per photo
RECOGNITION_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, float("inf"))


def allowed(mode: str, peer: str | None, proxied: bool, token_ok: Callable[[], bool]) -> bool:
    """May this request scrape? `token_ok` is called only when a token decides (it reads the database)."""
    if mode == "open":
        return True
    if mode == "local" and peer in LOOPBACK and not proxied:
        return True
    return mode in ("local", "token") and token_ok()


class Metrics:
    """One registry per app (two servers in one process, as the tests run them, keep apart)."""

    def __init__(self, store: Any, bus: Any, enabled: bool = True,
                 queues: dict[str, Callable[[], int]] | None = None) -> None:
        self.enabled = enabled
        self.store = store
        self.bus = bus
        self.registry = CollectorRegistry(auto_describe=False)
        self.reads = Counter("platehub_reads", "Reads stored (duplicates and updates of a stored pass excluded), "
                             "by door (protocol) and source (device code or camera_id)",
                             ["protocol", "source"], registry=self.registry)
        self.recognition = Histogram("platehub_recognition_seconds", "Engine time per Snapshot API recognition "
                                     "call (decode and recognise; storing and the HTTP exchange excluded)",
                                     buckets=RECOGNITION_BUCKETS, registry=self.registry)
        self.webhook_failures = Counter("platehub_webhook_failures", "Webhook deliveries that failed after all "
                                        "their retries, by event kind", ["event"], registry=self.registry)
        for event in EVENTS:  # exported at 0 from the start, so rate() sees the first failure
            self.webhook_failures.labels(event)
        self.queues = dict(queues or {})  # queue name -> its depth now
        self._sources: set[str] = set()
        self._sources_guard = threading.Lock()
        self.registry.register(_Scraped(self))

    def _source(self, source: str | None) -> str:
        source = source or ""
        if source in self._sources:
            return source
        with self._sources_guard:
            if len(self._sources) >= MAX_SOURCES:
                return OTHER
            self._sources.add(source)
        return source

    def on_read(self, read: Read) -> None:
        """An observer of every new stored read (any thread)."""
        self.reads.labels(read.protocol, self._source(read.source)).inc()

    def recognized(self, ms: float) -> None:
        self.recognition.observe(ms / 1000)

    def webhook_failed(self, event: str) -> None:
        self.webhook_failures.labels(event).inc()

    def render(self) -> bytes:
        """The exposition (blocking: the scrape reads the database once for devices, once for the probe)."""
        return generate_latest(self.registry)


class _Scraped:
    """The values computed at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def collect(self) -> Iterator[Metric]:
        devices = self.m.store.devices.list()
        online = GaugeMetricFamily("platehub_devices_online", "Devices online now, by door (protocol)",
                                   labels=["protocol"])
        known = GaugeMetricFamily("platehub_devices_known", "Devices known (online or not), by door (protocol)",
                                  labels=["protocol"])
        for protocol in sorted({d.protocol for d in devices}):
            of = [d for d in devices if d.protocol == protocol]
            online.add_metric([protocol], sum(d.online for d in of))
            known.add_metric([protocol], len(of))
        yield online
        yield known
        depth = GaugeMetricFamily("platehub_queue_depth", "Work waiting now, by queue: recognition (calls in the "
                                  "engine pool, running or waiting), webhook_events (deliveries owed: rows in the "
                                  "webhook outbox, of every process), webhook_deliveries (being posted by this "
                                  "process), bus_events (events queued for all bus subscribers)",
                                  labels=["queue"])
        for name, fn in sorted(self.m.queues.items()):
            depth.add_metric([name], fn())
        subscribers, queued, dropped = self.m.bus.stats()
        depth.add_metric(["bus_events"], queued)
        yield depth
        yield GaugeMetricFamily("platehub_bus_subscribers", "In-process bus subscribers now (WebSockets, comet "
                                "polls, the event log …)", value=subscribers)
        yield CounterMetricFamily("platehub_bus_dropped", "Events dropped for a subscriber whose queue was full "
                                  "(since start)", value=dropped)
        t0 = time.perf_counter()
        with self.m.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        yield GaugeMetricFamily("platehub_db_probe_seconds", "Time of one `SELECT 1` on a pooled database "
                                "connection, measured at this scrape (the round trip, not the time of the "
                                "server's own queries)", value=time.perf_counter() - t0)

"""The console's dashboard: reads per hour per source over the last day, parking occupancy now and
over the same day (every 15 minutes, then now: core/occupancy.py), devices with their last contact,
recent alerts and the latest reads, gathered in one call (GET /v1/dashboard/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from platehub.core import occupancy
from platehub.core.eventlog import ACCESS, DEVICE, PARKING
from platehub.core.occupancy import LotSeries
from platehub.core.read import Read, utcnow
from platehub.core.store import Store
from platehub.core.store.devices import Device
from platehub.core.store.eventlog import EventLogRepo, LogEntry
from platehub.core.store.parking import Lot

HOURS = 24
ALERT_KINDS = ((ACCESS, None), (DEVICE, "offline"), (DEVICE, "refused"), (DEVICE, "moved"), (PARKING, None))


@dataclass(frozen=True)
class SourceHours:
    source: str
    counts: tuple[int, ...]  # one per hour of `Dashboard.hours`, oldest first


@dataclass(frozen=True)
class Dashboard:
    hours: tuple[datetime, ...]  # the start of each hour (UTC), oldest first; the last is the current hour
    reads: tuple[SourceHours, ...]
    lots: tuple[Lot, ...]
    occupancy_times: tuple[datetime, ...]  # hours[0], every 15 minutes, then now
    occupancy: tuple[LotSeries, ...]  # per lot, its count at each of occupancy_times
    devices: tuple[Device, ...]
    alerts: tuple[LogEntry, ...]
    latest: tuple[Read, ...]


def gather(store: Store, now: datetime | None = None, *, hours: int = HOURS, alerts: int = 10,
           latest: int = 10) -> Dashboard:
    now = now or utcnow()
    last = now.replace(minute=0, second=0, microsecond=0)
    slots = tuple(last - timedelta(hours=hours - 1 - i) for i in range(hours))
    index = {h: i for i, h in enumerate(slots)}
    per_source: dict[str, list[int]] = {}
    for hour, source, n in store.reads.per_hour(slots[0]):
        if hour in index:  # a read stamped in the future stays out of the chart
            per_source.setdefault(source, [0] * hours)[index[hour]] += n
    _, entries = EventLogRepo(store.engine).find(kinds=ALERT_KINDS, max_count=alerts)
    times = occupancy.sample_times(slots[0], now)
    lots = tuple(store.lots.list())
    history = occupancy.series(lots, store.lots.changes(times[0]), times)
    return Dashboard(slots, tuple(SourceHours(s, tuple(c)) for s, c in sorted(per_source.items())), lots, times,
                     history, tuple(store.devices.list()), tuple(entries), tuple(store.reads.find(limit=latest)))

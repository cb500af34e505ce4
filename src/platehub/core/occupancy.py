"""Occupancy over time per parking lot, from the stored changes of its counter (core/store/parking.py:
each entry +1, exit -1, operator's correction after - before, at the time the vehicle moved).

Why stored changes rather than visits: visits miss what the counter counts (an operator's correction,
reads without a plate, an exit at 0 that changes nothing, a lost visit), so occupancy derived from them
drifts from the counter; the stored changes are written in the transaction that changes the count.

A counter's count at `t` is its current count minus its changes after `t`: anchored at the counter,
so the newest sample is the count the lot shows, an offline record that arrives late lands at its own
time, and changes older than the window (or pruned by retention) are never needed. Before the lot's
`history_since` (its creation, the migration that began the history, or retention's cutoff) the count
is not known: None. Records that arrive out of order can make a past sum dip below zero: shown as 0.
A group's count is the sum of its members' known counts (None when none is known). Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from platehub.core.store.parking import GROUP, Lot

STEP = timedelta(minutes=15)


@dataclass(frozen=True)
class LotSeries:
    lot: Lot
    counts: tuple[int | None, ...]  # the count at each sample time; None: not known then


def sample_times(start: datetime, now: datetime, step: timedelta = STEP) -> tuple[datetime, ...]:
    """`start`, then every `step` after it up to `now`, then `now` itself (the counter's current count)."""
    out = []
    t = start
    while t < now:
        out.append(t)
        t += step
    return (*out, now)


def counter_counts(current: int, since: datetime | None, changes: Sequence[tuple[datetime, int]],
                   times: Sequence[datetime]) -> tuple[int | None, ...]:
    """A counter's count at each of `times` (ascending) from its `current` count and its `changes`
    ((at, delta), ascending by `at`, at least those after times[0])."""
    out: list[int | None] = []
    later, j = 0, len(changes)
    for t in reversed(times):
        while j > 0 and changes[j - 1][0] > t:
            j -= 1
            later += changes[j][1]
        out.append(None if since is not None and t < since else max(0, current - later))
    return tuple(reversed(out))


def _sum(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def series(lots: Sequence[Lot], changes: Iterable[tuple[int, datetime, int]],
           times: Sequence[datetime]) -> tuple[LotSeries, ...]:
    """Each lot's counts at `times` (`changes`: (lot id, at, delta), ascending by `at`)."""
    per_lot: dict[int, list[tuple[datetime, int]]] = {}
    for lot_id, at, delta in changes:
        per_lot.setdefault(lot_id, []).append((at, delta))
    counters = {lot.id: counter_counts(lot.count, lot.history_since, per_lot.get(lot.id, []), times)
                for lot in lots if lot.type != GROUP}
    out = []
    for lot in lots:
        if lot.type == GROUP:
            members = [counters[m] for m in lot.members if m in counters]
            counts = tuple(_sum(m[i] for m in members) if members else 0 for i in range(len(times)))
        else:
            counts = counters[lot.id]
        out.append(LotSeries(lot, counts))
    return tuple(out)

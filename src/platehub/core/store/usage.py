"""Recognition call counters per calendar month (the SDK's `usage`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, select, update

from platehub.core.store.database import insert_ignore
from platehub.core.store.schema import usage


def period_of(when: datetime) -> str:
    return f"{when:%Y-%m}"


class UsageRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def count_call(self, when: datetime) -> int:
        """Add one call to the month of `when`; returns that month's total."""
        period = period_of(when)
        with self.engine.begin() as conn:
            conn.execute(insert_ignore(self.engine, usage), [{"period": period, "calls": 0}])
            conn.execute(update(usage).where(usage.c.period == period).values(calls=usage.c.calls + 1))
            return int(conn.execute(select(usage.c.calls).where(usage.c.period == period)).scalar_one())

    def calls(self, when: datetime) -> int:
        with self.engine.connect() as conn:
            v = conn.execute(select(usage.c.calls).where(usage.c.period == period_of(when))).scalar()
        return int(v or 0)

    def total(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.sum(usage.c.calls), 0))).scalar_one())

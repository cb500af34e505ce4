"""Group commit: the writes of many request threads in one transaction.

Under load every camera's read is a small write transaction, and SQLite takes one writer at a time: the
threads queue for the writer lock and each hand-over of the lock waits for the GIL (up to its 5 ms switch
interval), so the writes, not the work, set the pace. `BatchWriter.run(work)` hands `work(conn)` to one
writer thread, which runs whatever has queued meanwhile (up to `max_batch`) in one transaction and one
commit, then wakes each caller with its own result. A batch that fails is run again one job per
transaction, so one bad job fails alone (jobs must be safe to run again after a rollback, as inserts that
skip existing rows are). With one request at a time a batch is that request: nothing waits for company.
The writer keeps its connection between batches (a new one after a failure). With `durability` it
makes each batch durable (the group fsync) before it wakes the batch's callers: one wait for a caller,
not one for the commit and another for the fsync, and the fsync of one batch overlaps the gathering of
the next.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from platehub.core.store.database import Durability

log = logging.getLogger("platehub.store")

T = TypeVar("T")


class _Job:
    __slots__ = ("done", "error", "result", "work")

    def __init__(self, work: Callable[[Connection], Any]) -> None:
        self.work = work
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class BatchWriter:
    def __init__(self, engine: Engine, durability: Durability | None = None, max_batch: int = 64) -> None:
        self.engine = engine
        self.durability = durability
        self.max_batch = max_batch
        self._jobs: list[_Job] = []
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._conn: Connection | None = None  # the writer thread's
        self.batches = self.jobs = 0  # counted, for benchmarks and tests

    def run(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` inside a transaction shared with other callers' work (blocking; any thread);
        returns once that transaction is committed (and durable, with `durability`)."""
        job = _Job(work)
        with self._cond:
            if self._closing:
                raise RuntimeError("the store is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="db-batch-writer", daemon=True)
                self._thread.start()
            self._jobs.append(job)
            self._cond.notify()
        job.done.wait()
        if job.error is not None:
            raise job.error
        if self.durability is not None:
            self.durability.covered()  # the sync after the batch started after everything this thread did
        return job.result

    def close(self) -> None:
        """Write what is queued, then stop the writer and close its connection."""
        with self._cond:
            self._closing = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _loop(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._jobs and not self._closing:
                        self._cond.wait()
                    if not self._jobs:
                        return
                    batch, self._jobs = self._jobs[:self.max_batch], self._jobs[self.max_batch:]
                self._write(batch)
        finally:
            self._drop()

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self.engine.connect()
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.close()
            except Exception:
                conn.invalidate()

    def _write(self, batch: list[_Job]) -> None:
        self.batches += 1
        self.jobs += len(batch)
        try:
            conn = self._connection()
            with conn.begin():
                for job in batch:
                    job.result = job.work(conn)
        except Exception:
            self._drop()  # a new connection for the retries (this one may be broken: a database restart)
            if len(batch) > 1:
                log.warning("a batch of %d writes failed; writing them one by one", len(batch))
            for job in batch:
                try:
                    with self.engine.begin() as conn:
                        job.result = job.work(conn)
                except Exception as e:
                    job.error = e
        if self.durability is not None:
            try:
                self.durability.sync()
            except Exception as e:  # not known durable: the callers do not acknowledge (a camera sends again)
                log.exception("the group fsync after a batch of %d writes failed", len(batch))
                for job in batch:
                    job.error = job.error or e
        for job in batch:
            job.done.set()

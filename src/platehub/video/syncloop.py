"""The background loop shared by the channel runner and the recorders: apply the stored channels every
`every` seconds, and at once after `wake()` (the API calls it after a change; a change made by the CLI,
another process, is picked up by the next pass)."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("platehub.video")


class SyncLoop:
    """Subclasses say what one pass does (`tick`) and how their workers stop (`stop_workers`)."""

    name = "sync"
    join_timeout = 10.0  # seconds `stop()` waits for a pass in progress

    def __init__(self, every: float) -> None:
        self.every = every
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:
        raise NotImplementedError

    def stop_workers(self) -> None:
        raise NotImplementedError

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stop.clear()  # a leader that stepped down may lead again (core/leader.py)
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("%s: applying the stored channels failed", self.name)
            self._wake.wait(self.every)
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.join_timeout)
        self.stop_workers()

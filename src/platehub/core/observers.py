"""Domain reactions to each new stored read (parking occupancy …): run synchronously, after the read is
stored and before it is published. A failing reaction is logged and never loses the read. They are
fixed when their service is built (`app.build`): a tuple, nothing is added afterwards."""

from __future__ import annotations

import logging
from collections.abc import Callable

from platehub.core.read import Read

log = logging.getLogger("platehub.observers")


class Observers(tuple[Callable[[Read], None], ...]):
    def notify(self, read: Read) -> None:
        for observer in self:
            try:
                observer(read)
            except Exception:
                log.exception("read %s stored, but %s failed on it", read.id,
                              getattr(observer, "__qualname__", observer))

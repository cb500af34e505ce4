"""One event socket's `channelStatus` topic (spec 004, "Channel status change events"): the current
status of the channels asked for (`ch=`, else all) right after the subscriber id, then each change —
a channel added, removed, renamed, its source changed, or its status code changed (a change of
platehub's state that keeps the code, e.g. offline → offline with another error, sends nothing)."""

from __future__ import annotations

from typing import Any

from platehub.core.read import utcnow
from platehub.core.store.channels import Channel
from platehub.protocols.tsapi import channelcodec as codec
from platehub.video.status import ADDED, REMOVED, STATUS, ChannelEvent, ChannelStatus


class ChannelFeed:
    def __init__(self, wanted: frozenset[int] | None, verbose: bool, lang: str | None) -> None:
        self.wanted, self.verbose, self.lang = wanted, verbose, lang
        self._codes: dict[int, int] = {}  # the last code sent per channel

    def current(self, channels: list[tuple[Channel, ChannelStatus]]) -> dict[str, Any]:
        shown = [(c, s) for c, s in channels if self.wanted is None or c.id in self.wanted]
        self._codes = {c.id: codec.status_code(s) for c, s in shown}
        return codec.current_status(shown, utcnow(), self.verbose, self.lang)

    def message(self, event: ChannelEvent) -> dict[str, Any] | None:
        c = event.channel
        if self.wanted is not None and c.id not in self.wanted:
            return None
        if event.kind == STATUS or event.kind == ADDED:
            code = codec.status_code(event.status)
            if event.kind == STATUS and self._codes.get(c.id) == code:
                return None
            self._codes[c.id] = code
        elif event.kind == REMOVED:
            self._codes.pop(c.id, None)
        return codec.change(event.kind, c, event.status, utcnow(), self.verbose, self.lang)

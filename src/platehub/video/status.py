"""A channel's state (`ChannelStatus`), and what happens to channels as the runner sees it
(video/channel.py `ChannelRunner`): a channel added, removed, renamed, its source changed (from the
API, or the CLI in another process: the runner compares the store with what it saw last), and each
change of a channel's state. The app publishes each as a `channel.status` bus event (TS-API
`channelStatus`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from platehub.core.store.channels import Channel


@dataclass(frozen=True)
class ChannelStatus:
    state: str  # connecting | online | stalled | offline | disabled
    frames_read: int  # frames decoded from the source
    frames_offered: int  # of them, sampled for the engine
    frames_processed: int
    frames_dropped: int  # sampled, but replaced while the engine was busy
    reads: int  # vehicle passes reported
    last_error: str | None
    since: float  # epoch time of the last change of state

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "frames_read": self.frames_read, "frames_offered": self.frames_offered,
                "frames_processed": self.frames_processed, "frames_dropped": self.frames_dropped,
                "reads": self.reads, "last_error": self.last_error, "since": self.since}


DISABLED = ChannelStatus("disabled", 0, 0, 0, 0, 0, None, 0.0)
ADDED, REMOVED, RENAMED, SOURCE, STATUS = "added", "removed", "renamed", "source", "status"


@dataclass(frozen=True)
class ChannelEvent:
    kind: str  # added | removed | renamed | source | status
    channel: Channel  # as stored now (removed: as it was)
    status: ChannelStatus  # the channel's state after the change


def changes(before: dict[int, Channel], after: dict[int, Channel]) -> list[tuple[str, Channel]]:
    """The settings changes between two views of the store (by channel id), in id order. A change of
    `enabled` is not one of them: the worker's start or stop reports it as a change of state."""
    out: list[tuple[str, Channel]] = []
    for cid in sorted(before.keys() | after.keys()):
        old, new = before.get(cid), after.get(cid)
        if old is None and new is not None:
            out.append((ADDED, new))
        elif new is None and old is not None:
            out.append((REMOVED, old))
        elif old is not None and new is not None:
            if old.name != new.name:
                out.append((RENAMED, new))
            if old.url != new.url:
                out.append((SOURCE, new))
    return out

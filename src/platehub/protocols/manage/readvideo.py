"""Where a read's video is, for `/v1/reads/{id}/` (`video`): a read from a video channel (protocol
`video`, its source the channel's name) names the channel, the moment a player should start (a few
seconds before the vehicle was first seen) and whether a recording covers that moment (the channel
records, and retention has not deleted it). `None` for every other read. Pure but for the listing of
the recording's files."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from platehub.core.read import Read
from platehub.core.store.channels import Channel
from platehub.protocols.manage.common import iso_utc
from platehub.video.recordings import Recordings

LEAD = timedelta(seconds=3)  # the player starts this long before the vehicle was first seen


def video_of(read: Read, channel: Channel | None, recordings: Recordings) -> dict[str, Any] | None:
    if read.protocol != "video" or channel is None:
        return None
    start = read.first_seen - LEAD
    end = max(read.last_seen or read.first_seen, read.first_seen) + timedelta(seconds=1)
    recorded = channel.recording != "off" and bool(recordings.segments(channel.id, start, end))
    return {"channel_id": channel.id, "channel": channel.name, "recording": channel.recording,
            "start": iso_utc(start), "recorded": recorded}

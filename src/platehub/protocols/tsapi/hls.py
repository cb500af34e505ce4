"""HLS playlists for /watch (pure: text out, no I/O), and the short-lived tokens their segment links carry.

Recorded video: each recorded segment (a fragmented MP4 file) is served as it is, by byte ranges: its
`ftyp` + `moov` is the segment's initialisation (`EXT-X-MAP` with a `BYTERANGE`), its complete fragments
the media (`EXT-X-BYTERANGE`), so a segment cut short by a crash is served up to its last complete
fragment. Each file starts its timestamps at zero, so every segment after the first follows an
`EXT-X-DISCONTINUITY`; `EXT-X-START` puts the player at the requested moment. Live video: ffmpeg's
own live playlist (video/recorder.py) with its segment names turned into links.

A player fetches the segments by itself, without the credentials the playlist was asked with (`auth=`
is in the playlist's URL only), so each link carries `t=`: the channel, an expiry and an HMAC of both
(`LinkSigner`) under the site's key `watch-links` (core/store/keys.py), so that a link made by one platehub
process works on every other behind the same load balancer, and after a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Sequence
from urllib.parse import quote, urlencode

from platehub.video.recordings import Segment

TOKEN_TTL = 6 * 3600.0  # seconds a playlist's links work
KEY_NAME = "watch-links"  # the site's key that signs them (core/store/keys.py)
MIME = "application/vnd.apple.mpegurl"


class LinkSigner:
    """The `t=` tokens of a channel's links: an expiry and an HMAC of channel and expiry under `key`."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, channel_id: int, expires: int) -> str:
        return hmac.new(self._key, f"{channel_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def token(self, channel_id: int, now: float | None = None, ttl: float = TOKEN_TTL) -> str:
        expires = int((now or time.time()) + ttl)
        return f"{expires}.{self._mac(channel_id, expires)}"

    def valid(self, channel_id: int, value: str | None, now: float | None = None) -> bool:
        """Whether `value` is a token for this channel that has not expired."""
        expires, _, mac = (value or "").partition(".")
        if not expires.isdigit() or int(expires) < (now or time.time()):
            return False
        return hmac.compare_digest(mac, self._mac(channel_id, int(expires)))


def watch_url(base_url: str, channel_id: int, **params: str) -> str:
    """A `/watch` link of the channel (`base_url`: the server's, with or without its trailing slash), e.g.
    `when=` a moment as the caller's convention writes it, or `protocol=`."""
    return f"{base_url.rstrip('/')}/watch?{urlencode({'ch': channel_id, **params})}"


def segment_url(segment: Segment, tok: str) -> str:
    return f"/watch/rec/{segment.channel_id}/{quote(segment.name)}?t={tok}"


def recorded(segments: Sequence[Segment], start_offset: float, tok: str) -> str:
    """A VOD playlist of `segments` (playable ones, in time order), starting `start_offset` seconds into
    the first."""
    target = max(1, math.ceil(max((s.layout.duration for s in segments), default=1.0)))
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", f"#EXT-X-TARGETDURATION:{target}", "#EXT-X-MEDIA-SEQUENCE:0",
             "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if start_offset > 0:
        lines.append(f"#EXT-X-START:TIME-OFFSET={start_offset:.3f},PRECISE=YES")
    for i, s in enumerate(segments):
        url, layout = segment_url(s, tok), s.layout
        if i:
            lines.append("#EXT-X-DISCONTINUITY")
        lines += [f'#EXT-X-MAP:URI="{url}",BYTERANGE="{layout.init_end}@0"',
                  f"#EXT-X-PROGRAM-DATE-TIME:{s.start.isoformat(timespec='milliseconds')}",
                  f"#EXTINF:{layout.duration:.3f},",
                  f"#EXT-X-BYTERANGE:{layout.media_end - layout.init_end}@{layout.init_end}", url]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def live(playlist: str, channel_id: int, tok: str) -> str:
    """ffmpeg's live playlist with each segment name made a link (`/watch/live/<ch>/<name>?t=…`)."""
    out = []
    for line in playlist.splitlines():
        if line and not line.startswith("#"):
            line = f"/watch/live/{channel_id}/{quote(line.strip())}?t={tok}"
        out.append(line)
    return "\n".join(out) + "\n"

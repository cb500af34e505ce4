"""The page `/watch` answers a browser (the guide's iframe player): a `<video>` and an `<img>` driven by
the console's shared player module (console/static/player.js, loaded through watch.js; no script
library): HLS where the browser plays HLS itself (Chromium, Safari, iOS, Android), else live video as
MJPEG in the `<img>` (also when the channel has no live HLS because it does not record), recorded video
as the segment files (fragmented MP4, which every browser plays) one after the other, found with
`/api/vod`. A Content-Security-Policy allows only platehub's own script files. `showTitle` shows the
channel's name."""

from __future__ import annotations

import html

_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>html,body{{margin:0;height:100%;background:#000;color:#fff;font:14px sans-serif}}
video,img{{width:100%;height:100%;object-fit:contain}}#t{{position:absolute;left:8px;top:6px}}</style>
<script type="module" src="/console/watch.js"></script></head>
<body><div id="t"{title_hidden}>{title}</div><video id="v" controls autoplay muted playsinline hidden></video>
<img id="i" alt="" hidden></body></html>
"""
CSP = ("default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self'; "
       "media-src 'self' blob:; connect-src 'self'")


def page(channel_name: str, show_title: bool) -> tuple[str, dict[str, str]]:
    """The page and its headers."""
    body = _PAGE.format(title=html.escape(channel_name), title_hidden="" if show_title else " hidden")
    return body, {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                  "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}

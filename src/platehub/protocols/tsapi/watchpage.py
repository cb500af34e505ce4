"""The page `/watch` answers a browser (the guide's iframe player): a `<video>` that plays the HLS
playlist where the browser plays HLS itself (Safari, iOS, Android), else a fallback without any
script library: live video as MJPEG in an `<img>`, recorded video as the segment files (fragmented
MP4, which every browser plays) one after the other, found with `/api/vod`. Its one script comes with
a nonce under a Content-Security-Policy that allows nothing else. `showTitle` shows the channel's name."""

from __future__ import annotations

import html
import secrets

_SCRIPT = """
const q = new URLSearchParams(location.search), v = document.getElementById('v'), img = document.getElementById('i');
const live = !q.get('when') || q.get('when').toLowerCase() === 'now';
q.delete('protocol');
if (v.canPlayType('application/vnd.apple.mpegurl')) {
  v.src = '/watch?' + q + '&protocol=hls'; v.hidden = false;
} else if (live) {
  img.src = '/watch?' + q + '&protocol=mjpeg'; img.hidden = false;
} else {
  const a = new URLSearchParams({ch: q.get('ch'), when: q.get('when'), duration: q.get('duration') || '1h',
                                 limit: '50', otherwise: 'nearAfter'});
  if (q.get('auth')) a.set('auth', q.get('auth'));
  fetch('/api/vod?' + a, {credentials: 'same-origin'}).then(r => r.json()).then(items => {
    let i = 0; const auth = q.get('auth') ? '?auth=' + encodeURIComponent(q.get('auth')) : '';
    const when = new Date(q.get('when'));
    const play = () => { if (i >= items.length) return; const s = items[i++].src[0];
      v.src = s.src + auth; v.hidden = false;
      v.onloadedmetadata = () => { const off = (when - new Date(s.timeRange[0])) / 1000;
        if (i === 1 && off > 0) v.currentTime = off; v.play().catch(() => {}); };
    };
    v.onended = play; play();
  });
}
"""

_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>html,body{{margin:0;height:100%;background:#000;color:#fff;font:14px sans-serif}}
video,img{{width:100%;height:100%;object-fit:contain}}#t{{position:absolute;left:8px;top:6px}}</style></head>
<body><div id="t"{title_hidden}>{title}</div><video id="v" controls autoplay muted playsinline hidden></video>
<img id="i" alt="" hidden><script nonce="{nonce}">{script}</script></body></html>
"""


def page(channel_name: str, show_title: bool) -> tuple[str, dict[str, str]]:
    """The page and its headers."""
    nonce = secrets.token_urlsafe(16)
    body = _PAGE.format(title=html.escape(channel_name), title_hidden="" if show_title else " hidden",
                        nonce=nonce, script=_SCRIPT)
    csp = (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; img-src 'self'; "
           "media-src 'self' blob:; connect-src 'self'")
    return body, {"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff",
                  "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


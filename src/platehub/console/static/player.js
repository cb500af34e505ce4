// The video player of a channel, shared by the console (pages/channels.js) and the TS-API `/watch`
// page (watch.js): no library, no inline script. Live: the HLS playlist where the browser plays HLS
// itself (Chromium, Safari, iOS, Android), else (or when the channel does not record, so has no live
// HLS) MJPEG in an <img>. Recorded: the HLS playlist likewise, or (`files`, or a browser without HLS)
// the segment files (fragmented MP4, which every browser plays) one after the other, found with
// /api/vod: then `position()` is the wall-clock time of the frame shown.

const LIVE_RETRY_MS = 5000;

// play(video, img, {ch, when, duration, auth, files}) → {stop(), position()}; `when` absent or 'now': live
export function play(v, img, {ch, when = null, duration = null, auth = null, files = false} = {}) {
  const live = !when || String(when).toLowerCase() === 'now';
  const q = new URLSearchParams({ch: String(ch)});
  if (!live) q.set('when', when);
  if (duration) q.set('duration', duration);
  if (auth) q.set('auth', auth);
  let stopped = false;
  let retry = null;
  let segStart = null;  // the recorded file playing: its start (Date)
  const show = (el) => { v.hidden = el !== v; img.hidden = el !== img; };
  const mjpeg = () => {
    img.src = `/watch?${q}&protocol=mjpeg`;
    show(img);
  };
  const hls = () => {
    v.src = `/watch?${q}&protocol=hls`;
    v.play().catch(() => {});
  };
  if (v.canPlayType('application/vnd.apple.mpegurl') && !(files && !live)) {
    show(v);
    if (live) {
      // no live HLS (the channel does not record, or its recorder is restarting): MJPEG meanwhile, and
      // the HLS again every few seconds; the video is shown again once it plays
      v.onerror = () => {
        if (stopped || !v.error) return;
        v.dataset.error = `${v.error.code} ${v.error.message}`;
        if (img.hidden) mjpeg();
        retry = setTimeout(hls, LIVE_RETRY_MS);
      };
      v.onloadeddata = () => { if (!img.hidden) { img.removeAttribute('src'); show(v); } };
    }
    hls();
  } else if (live) {
    mjpeg();
  } else {
    const a = new URLSearchParams({ch: String(ch), when, duration: duration || '1h', limit: '50', otherwise: 'nearAfter'});
    if (auth) a.set('auth', auth);
    const token = auth ? `?auth=${encodeURIComponent(auth)}` : '';
    const at = new Date(when);
    fetch(`/api/vod?${a}`, {credentials: 'same-origin'}).then((r) => {
      if (!r.ok) throw new Error(r.status === 403 ? 'Playing recordings needs the Playback right.' : `HTTP ${r.status}`);
      return r.json();
    }).then((items) => {
      if (stopped) return;
      if (!items.length) { v.dispatchEvent(new CustomEvent('player-error', {detail: 'No recording there.'})); return; }
      let i = 0;
      const next = () => {
        if (stopped || i >= items.length) return;
        const s = items[i++].src[0];
        segStart = new Date(s.timeRange[0]);
        v.src = s.src + token;
        show(v);
        v.onloadedmetadata = () => {
          const off = (at - segStart) / 1000;
          if (i === 1 && off > 0) v.currentTime = off;
          v.play().catch(() => {});
        };
      };
      v.onended = next;
      next();
    }).catch((err) => v.dispatchEvent(new CustomEvent('player-error', {detail: err.message})));
  }
  return {
    stop() {
      stopped = true;
      clearTimeout(retry);
      v.onended = v.onerror = v.onloadedmetadata = v.onloadeddata = null;
      v.pause();
      v.removeAttribute('src');
      v.load();
      img.removeAttribute('src');
    },
    position() { return segStart && !v.hidden ? new Date(segStart.getTime() + v.currentTime * 1000) : null; },
  };
}

// Shared helpers of the console pages: DOM building (text only, never HTML from data), API calls.

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

// h('a', {href: '#', class: 'x', onclick: fn}, 'text', child…): an element; strings become text nodes.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function messageOf(body, status) {
  if (body && typeof body === 'object') {
    if (typeof body.detail === 'string') return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg || JSON.stringify(d)).join('; ');
    if (body.message) return body.message;
  }
  return `HTTP ${status}`;
}

// fetch same-origin; JSON in and out; throws ApiError (401 → the app shows the sign-in form).
export async function api(path, {method = 'GET', json, body, signal} = {}) {
  const init = {method, credentials: 'same-origin', headers: {Accept: 'application/json'}, signal};
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers['Content-Type'] = 'application/json';
  } else if (body !== undefined) {
    init.body = body;
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!r.ok) {
    const err = new ApiError(r.status, messageOf(data, r.status), data);
    if (r.status === 401) window.dispatchEvent(new CustomEvent('platehub:signed-out'));
    throw err;
  }
  return data;
}

// A 404/405 on a whole API (not a missing item) means the server has not got it yet.
export function missingApi(err) {
  return err instanceof ApiError && (err.status === 404 || err.status === 405) &&
    (!err.body || err.body.detail === 'Not Found' || err.body.detail === 'Method Not Allowed');
}

export function notAvailable(what) {
  return h('div', {class: 'notice', role: 'status'},
    h('strong', {}, `${what} is not available on this server yet.`),
    ' This platehub version has no API for it; the page will work once it has.');
}

export function errorBox(err) {
  return h('p', {class: 'error', role: 'alert'}, err instanceof Error ? err.message : String(err));
}

const two = (n) => String(n).padStart(2, '0');

// "2026-11-21 08:40:12" in the browser's time zone (operators read local time).
export function fmtTime(value) {
  if (!value) return '';
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export function ago(value) {
  if (!value) return 'never';
  const s = Math.round((Date.now() - new Date(value).getTime()) / 1000);
  if (s < 60) return `${Math.max(0, s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return fmtTime(value);
}

// value of <input type=datetime-local> → ISO with the browser's offset (TS-API takes offsets)
export function localInputToIso(value) {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '';
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  return `${value.length === 16 ? value + ':00' : value}${sign}${two(Math.floor(Math.abs(off) / 60))}:${two(Math.abs(off) % 60)}`;
}

// ISO (or a Date) → the value of <input type=datetime-local> in the browser's time zone
export function isoToLocalInput(iso, seconds = false) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const s = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}T${two(d.getHours())}:${two(d.getMinutes())}`;
  return seconds ? `${s}:${two(d.getSeconds())}` : s;
}

export function plate(text, extra = '') {
  return h('span', {class: `plate ${extra}`.trim()}, text || '—');
}

export function badge(text, kind = '') {
  return h('span', {class: `badge ${kind}`.trim()}, text);
}

export function decisionBadge(decision) {
  if (!decision) return badge('no decision', 'muted');
  const action = decision.action || decision;
  return badge(String(action), action === 'open' ? 'ok' : action === 'closed' ? 'bad' : '');
}

// a read's id from its image URL (/api/image/{id}/plate): LPR events carry no id of their own
export function readIdFromImage(url) {
  if (!url) return null;
  const m = /\/api\/image\/([0-9a-fA-F]{1,32})\//.exec(url);
  return m ? m[1] : null;
}

// an absolute URL of this server (the API builds them from its base URL) → a same-origin path
export function localPath(url) {
  if (!url) return url;
  try {
    const u = new URL(url, location.href);
    return u.pathname + u.search;
  } catch { return url; }
}

// reads seen in a list, kept for their detail page when the server has no /v1/reads/{id}/ yet
export function remember(id, item) {
  if (!id) return;
  try { sessionStorage.setItem(`read:${id}`, JSON.stringify(item)); } catch { /* full: ignore */ }
}

export function recalled(id) {
  try { return JSON.parse(sessionStorage.getItem(`read:${id}`) || 'null'); } catch { return null; }
}

export function params() {
  const q = location.hash.split('?')[1] || '';
  return new URLSearchParams(q);
}

export function setParams(page, values) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  const hash = `#/${page}${s ? '?' + s : ''}`;
  if (location.hash !== hash) location.hash = hash;
  else window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function field(label, input, hint) {
  return h('label', {class: 'field'}, h('span', {}, label), input, hint ? h('small', {class: 'muted'}, hint) : null);
}

export function wsUrl(path) {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

// the signed-in user (set by app.js from /api/info?whoAmI)
export const session = {user: null};

export function hasRight(right) {
  const u = session.user;
  return !!u && (!!u.accessRights2?.[right] || u.admin === true);
}

export function download(name, blob) {
  const a = h('a', {href: URL.createObjectURL(blob), download: name});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// A stacked bar chart drawn as inline SVG (no chart library, nothing from a CDN): `labels` along the
// x axis, `series` [{name, values}] stacked per label, one <rect class="bar"> per non-zero value.
const SVG = 'http://www.w3.org/2000/svg';
const COLOURS = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#4b5563', '#db2777'];

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : String(c));
  return el;
}

export function barChart(labels, series, {title = '', height = 160} = {}) {
  const width = 600;
  const left = 32;
  const bottom = 18;
  const totals = labels.map((_, i) => series.reduce((t, x) => t + (x.values[i] || 0), 0));
  const max = Math.max(1, ...totals);
  const slot = (width - left) / Math.max(1, labels.length);
  const scale = (height - bottom - 6) / max;
  const svg = s('svg', {class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title,
    preserveAspectRatio: 'none'}, s('title', {}, title));
  for (const y of [0, max]) {
    const top = height - bottom - y * scale;
    svg.append(s('line', {x1: left, x2: width, y1: top, y2: top, class: 'grid'}),
      s('text', {x: left - 4, y: top + 4, 'text-anchor': 'end', class: 'axis'}, y));
  }
  labels.forEach((label, i) => {
    let base = height - bottom;
    series.forEach((x, k) => {
      const v = x.values[i] || 0;
      if (!v) return;
      const bar = s('rect', {class: 'bar', x: left + i * slot + 1, y: base - v * scale, width: Math.max(1, slot - 2),
        height: v * scale, fill: COLOURS[k % COLOURS.length], 'data-series': x.name, 'data-index': i, 'data-value': v},
      s('title', {}, `${label}: ${x.name} ${v}`));
      base -= v * scale;
      svg.append(bar);
    });
    if (i % Math.ceil(labels.length / 8) === 0) {
      svg.append(s('text', {x: left + i * slot + slot / 2, y: height - 4, 'text-anchor': 'middle', class: 'axis'}, label));
    }
  });
  const legend = h('ul', {class: 'legend'}, series.map((x, k) => {
    const dot = h('span', {class: 'dot'});
    dot.style.background = COLOURS[k % COLOURS.length];
    return h('li', {}, dot, ` ${x.name} (${x.values.reduce((a, b) => a + b, 0)})`);
  }));
  return h('figure', {class: 'chart-box'}, svg, series.length ? legend : h('p', {class: 'muted'}, 'No reads in this period.'));
}

// A step chart of values over time: `times` (ISO strings, ascending; x is proportional to time), each
// series {name, values} with one value per time (null: not known then, a gap). A value holds until the
// next time. One <path class="step"> per series, its values in data-values.
export function stepChart(times, series, {title = '', height = 160, label = (t) => t} = {}) {
  const width = 600;
  const left = 32;
  const bottom = 18;
  const ts = times.map((t) => new Date(t).getTime());
  const span = Math.max(1, ts[ts.length - 1] - ts[0]);
  const max = Math.max(1, ...series.flatMap((x) => x.values.filter((v) => v !== null)));
  const x = (i) => left + ((ts[i] - ts[0]) / span) * (width - left - 2);
  const y = (v) => height - bottom - v * ((height - bottom - 6) / max);
  const svg = s('svg', {class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': title,
    preserveAspectRatio: 'none'}, s('title', {}, title));
  for (const v of [0, max]) {
    svg.append(s('line', {x1: left, x2: width, y1: y(v), y2: y(v), class: 'grid'}),
      s('text', {x: left - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'axis'}, v));
  }
  let shown = -Infinity;
  ts.forEach((t, i) => {  // a label on whole hours, at least 3 hours apart
    if (new Date(t).getMinutes() === 0 && t - shown >= 3 * 3600e3 && x(i) < width - 20) {
      svg.append(s('text', {x: x(i), y: height - 4, 'text-anchor': 'middle', class: 'axis'}, label(times[i])));
      shown = t;
    }
  });
  series.forEach((line, k) => {
    let d = '';
    line.values.forEach((v, i) => {
      if (v === null) return;
      const prev = i > 0 ? line.values[i - 1] : null;
      d += prev === null ? `M${x(i).toFixed(1)} ${y(v).toFixed(1)}` : `H${x(i).toFixed(1)}V${y(v).toFixed(1)}`;
    });
    const last = line.values[line.values.length - 1];
    svg.append(s('path', {class: 'step', d: d || 'M0 0', stroke: COLOURS[k % COLOURS.length], 'data-series': line.name,
      'data-values': line.values.map((v) => (v === null ? '' : v)).join(',')},
    s('title', {}, `${line.name}: ${last === null ? 'not known' : last} now`)));
    if (last !== null) {
      svg.append(s('circle', {class: 'now', cx: x(ts.length - 1), cy: y(last), r: 3, fill: COLOURS[k % COLOURS.length]}));
    }
  });
  const legend = h('ul', {class: 'legend'}, series.map((line, k) => {
    const dot = h('span', {class: 'dot'});
    dot.style.background = COLOURS[k % COLOURS.length];
    const last = line.values[line.values.length - 1];
    return h('li', {}, dot, ` ${line.name} (${last === null ? '–' : last} now)`);
  }));
  return h('figure', {class: 'chart-box'}, svg, legend);
}

// "Video": a link to a read's recorded video in the Channels page's player, `lead` seconds before `when`
// (the moment the vehicle was first seen); `when` may already be the start (lead 0)
export const VIDEO_LEAD_S = 3;
export function videoLink(channelId, when, lead = VIDEO_LEAD_S) {
  const t = new Date(when);
  if (channelId === null || channelId === undefined || Number.isNaN(t.getTime())) return null;
  const at = new Date(t.getTime() - lead * 1000).toISOString();
  return h('a', {href: `#/channels?ch=${encodeURIComponent(channelId)}&at=${encodeURIComponent(at)}`,
    class: 'video-link', title: 'Play the recorded video of this moment'}, 'Video');
}

// the `when` of a TS-API video link (carNo `vod[].videoSrc`, an LPR event's channel `src`)
export function whenOf(url) {
  try { return new URL(url, location.href).searchParams.get('when'); } catch { return null; }
}

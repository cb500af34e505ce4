// Live: LPR reads as they happen, over the TS-API WebSocket (the session cookie signs it in).
import {ago, api, badge, decisionBadge, fmtTime, h, localPath, plate, readIdFromImage, remember, videoLink, whenOf,
  wsUrl} from '../lib.js';

const MAX_ROWS = 200;

function row(msg) {
  const img = localPath(msg.image);
  const id = readIdFromImage(img);
  remember(id, {id, plateNo: msg.plateNo, score: msg.score, roi: msg.roi, image: img ? [img] : [],
    timeRange: [msg.timeBegin, msg.timestamp], srcCode: msg.deviceCode, srcName: msg.deviceName,
    direction: msg.direction, decision: msg.decision});
  const thumb = img
    ? h('img', {src: img, alt: `plate ${msg.plateNo}`, loading: 'lazy', class: 'thumb',
      onerror: (e) => {
        const full = img.replace(/\/plate$/, '/full');
        if (e.target.src.endsWith('/plate')) e.target.src = full; else e.target.replaceWith(h('span', {class: 'thumb none'}, 'no image'));
      }})
    : h('span', {class: 'thumb none'}, 'no image');
  const text = `${msg.plateNo} ${msg.deviceName || ''} ${msg.deviceCode || ''} ${msg.direction || ''}`.toLowerCase();
  const link = id ? `#/read/${id}` : null;
  return h('li', {class: 'read', dataset: {text, plate: msg.plateNo || ''}},
    link ? h('a', {href: link, class: 'thumb-link'}, thumb) : thumb,
    h('div', {class: 'read-main'},
      link ? h('a', {href: link}, plate(msg.plateNo)) : plate(msg.plateNo),
      msg.score !== undefined ? h('span', {class: 'muted score'}, `${msg.score} %`) : null,
      h('div', {class: 'meta'},
        h('span', {class: 'src'}, msg.deviceName || msg.deviceCode || '—'),
        msg.direction ? badge(msg.direction, msg.direction) : null,
        h('span', {class: 'decision'}),
        msg.chid?.src ? videoLink(msg.chid.chid, whenOf(msg.chid.src)) : null)),
    h('time', {datetime: msg.timestamp, title: msg.timestamp}, fmtTime(msg.timestamp)));
}

export function render(root) {
  let paused = false;
  let buffered = [];
  let filter = '';
  let ws = null;
  let closed = false;
  let retry = null;
  let lastAt = null;

  const status = h('span', {class: 'status', id: 'live-status'}, 'connecting…');
  const pauseBtn = h('button', {type: 'button', id: 'live-pause'}, 'Pause');
  const filterInput = h('input', {type: 'search', id: 'live-filter', placeholder: 'Filter: plate, source, direction',
    'aria-label': 'Filter'});
  const list = h('ol', {class: 'reads', id: 'live-reads'});
  const empty = h('p', {class: 'muted empty'}, 'Waiting for reads… they appear here as cameras send them.');
  const info = h('span', {class: 'muted', id: 'live-buffered'});

  const applyFilter = (li) => { li.hidden = !!filter && !li.dataset.text.includes(filter); };
  // the gate decision of a read is not in the LPR event: ask for it (once more a moment later when the
  // decision is still being made); a server without /v1/reads/ just shows none
  let decisions = true;
  const decide = async (li, id, again = true) => {
    if (!decisions || !id) return;
    try {
      const read = await api(`/v1/reads/${id}/`);
      if (read.decision) li.querySelector('.decision').replaceChildren(decisionBadge(read.decision));
      else if (again) setTimeout(() => decide(li, id, false), 1500);
    } catch (err) {
      if (err.status === 404 || err.status === 403) decisions = err.status !== 403 && !!err.body?.detail?.startsWith('No read');
    }
  };
  const add = (msg) => {
    const li = row(msg);
    decide(li, readIdFromImage(localPath(msg.image)));
    applyFilter(li);
    list.prepend(li);
    while (list.children.length > MAX_ROWS) list.lastElementChild.remove();
    empty.hidden = true;
    lastAt = msg.timestamp;
  };

  pauseBtn.addEventListener('click', () => {
    paused = !paused;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    pauseBtn.classList.toggle('primary', paused);
    if (!paused) {
      for (const m of buffered.slice(-MAX_ROWS)) add(m);
      buffered = [];
      info.textContent = '';
    }
  });
  filterInput.addEventListener('input', () => {
    filter = filterInput.value.trim().toLowerCase();
    for (const li of list.children) applyFilter(li);
  });

  root.append(
    h('div', {class: 'page-head'}, h('h1', {}, 'Live'), status),
    h('div', {class: 'toolbar'}, filterInput, pauseBtn, info),
    empty, list);

  const connect = () => {
    ws = new WebSocket(wsUrl('/wsapi/subscribeEvents?topics=LPR'));
    ws.onopen = () => { status.textContent = 'connected'; status.className = 'status ok'; };
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      if (msg.subscriberId) { root.dataset.subscribed = '1'; return; }
      if (msg.topic !== 'LPR') return;
      if (paused) {
        buffered.push(msg);
        if (buffered.length > MAX_ROWS) buffered.shift();
        info.textContent = `${buffered.length} new while paused`;
      } else {
        add(msg);
      }
    };
    ws.onclose = (e) => {
      delete root.dataset.subscribed;
      if (closed) return;
      status.className = 'status bad';
      status.textContent = e.code === 1008 ? `refused: ${e.reason}` : `disconnected${lastAt ? ', last read ' + ago(lastAt) : ''}; reconnecting…`;
      if (e.code !== 1008) retry = setTimeout(connect, 3000);
    };
  };
  connect();
  return () => {
    closed = true;
    clearTimeout(retry);
    if (ws) ws.close();
  };
}

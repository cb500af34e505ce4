// Parking: lots with live occupancy (WebSocket topic parkingCount), open visits, history, count correction.
import {api, clear, errorBox, fmtTime, h, missingApi, notAvailable, params, plate, wsUrl} from '../lib.js';

function lotCard(lot, onSelect, selected) {
  const max = lot.max_count ?? lot.maxCount ?? 0;
  const count = lot.count ?? 0;
  const full = max && count >= max;
  const meter = h('div', {class: 'meter'}, h('div', {class: `fill ${full ? 'bad' : ''}`}));
  meter.firstChild.style.width = `${max ? Math.min(100, (100 * count) / max) : 0}%`;
  const input = h('input', {type: 'number', min: 0, value: count, 'aria-label': 'Count', class: 'count-input'});
  const msg = h('span', {class: 'muted', role: 'status'});
  const fix = h('form', {class: 'inline'}, input, h('button', {type: 'submit'}, 'Set count'), msg);
  fix.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api(`/v1/lots/${lot.id}/count/`, {method: 'PUT', json: {count: parseInt(input.value, 10)}});
      msg.textContent = 'saved';
    } catch (err) { msg.textContent = err.message; }
  });
  return h('article', {class: `card lot ${selected ? 'selected' : ''}`, dataset: {id: lot.id}},
    h('header', {}, h('h2', {}, h('a', {href: `#/parking?lot=${lot.id}`, onclick: onSelect}, lot.name)),
      h('span', {class: 'muted'}, lot.type || '')),
    h('p', {class: 'occupancy'}, h('strong', {class: 'count'}, String(count)), ` / ${max || '∞'} `,
      h('span', {class: 'muted'}, max ? `${Math.max(0, max - count)} free` : '')),
    meter, lot.type === 'group' ? null : fix);
}

function visitsTable(visits, id) {
  if (!visits.length) return h('p', {class: 'muted', id}, 'None.');
  return h('div', {class: 'table-wrap'}, h('table', {class: 'results', id},
    h('thead', {}, h('tr', {}, ['Plate', 'Entered', 'Left', 'Status'].map((t) => h('th', {}, t)))),
    h('tbody', {}, visits.map((v) => h('tr', {},
      h('td', {}, (v.entryRead ?? v.entry_read) ? h('a', {href: `#/read/${v.entryRead ?? v.entry_read}`}, plate(v.plate)) : plate(v.plate)),
      h('td', {}, fmtTime(v.enteredAt ?? v.entered_at) || '—'), h('td', {}, fmtTime(v.exitedAt ?? v.exited_at) || '—'),
      h('td', {}, v.status))))));
}

function addLotForm() {
  const msg = h('span', {class: 'error', role: 'alert'});
  const f = h('form', {class: 'inline', id: 'lot-add'},
    h('input', {name: 'name', required: true, placeholder: 'lot name', 'aria-label': 'Lot name'}),
    h('input', {name: 'max', type: 'number', min: 0, required: true, placeholder: 'spaces', 'aria-label': 'Spaces', class: 'count-input'}),
    h('button', {type: 'submit'}, 'Add lot'), msg);
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('/v1/lots/', {method: 'POST', json: {name: f.name.value.trim(), type: 'counter', maxCount: parseInt(f.max.value, 10)}});
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    } catch (err) { msg.textContent = err.message; }
  });
  return h('details', {class: 'card'}, h('summary', {}, 'Add a lot'), f);
}

export async function render(root) {
  root.append(h('div', {class: 'page-head'}, h('h1', {}, 'Parking')));
  let lots;
  try {
    lots = await api('/v1/lots/');
    if (!Array.isArray(lots)) lots = lots.lots || lots.items || [];
  } catch (err) {
    root.append(missingApi(err) ? notAvailable('Parking') : errorBox(err));
    return;
  }
  root.append(addLotForm());
  if (!lots.length) {
    root.append(h('p', {class: 'muted empty'}, 'No parking lots are set up. Add one, then map camera sources to its entrance and exit.'));
    return;
  }
  const chosen = params().get('lot') || String(lots[0].id);
  const grid = h('div', {class: 'cards', id: 'lots'});
  const drawLots = () => clear(grid, lots.map((l) => lotCard(l, null, String(l.id) === chosen)));
  drawLots();
  const visits = h('div', {id: 'visits'});
  root.append(grid, visits);

  const lot = lots.find((l) => String(l.id) === chosen) || lots[0];
  const q = (status) => api(`/v1/visits/?${new URLSearchParams({lot: String(lot.id), status, limit: '50'})}`)
    // open visits of the lot; history = the closed ones, newest first
    .then((r) => (Array.isArray(r) ? r : r.visits || r.items || []));
  try {
    const [open, closed] = await Promise.all([q('open'), q('closed').catch(() => [])]);
    visits.append(h('h2', {}, `Open visits in ${lot.name} (${open.length})`), visitsTable(open, 'visits-open'),
      h('h2', {}, 'History'), visitsTable(closed, 'visits-closed'));
  } catch (err) {
    visits.append(missingApi(err) ? notAvailable('Visits') : errorBox(err));
  }

  const ws = new WebSocket(wsUrl('/wsapi/subscribeEvents?topics=parkingCount'));
  ws.onmessage = (e) => {
    let msg;
    try { msg = JSON.parse(e.data); } catch { return; }
    if (msg.topic !== 'parkingCount' || !Array.isArray(msg.updated)) return;
    for (const u of msg.updated) {
      const l = lots.find((x) => x.id === u.id);
      if (l) { l.count = u.count; if (u.maxCount !== undefined) l.max_count = u.maxCount; }
    }
    drawLots();
  };
  return () => ws.close();
}

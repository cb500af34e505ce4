// Dashboard (first after sign-in): reads per hour per source over the last 24 h, parking occupancy now and
// over the last 24 h, devices with last seen, recent alerts, the latest reads, all from GET /v1/dashboard/.
import {ago, api, badge, barChart, clear, errorBox, fmtTime, h, plate, stepChart} from '../lib.js';

const POLL_MS = 15000;
const two = (n) => String(n).padStart(2, '0');

function readsChart(d) {
  const labels = d.hours.map((x) => `${two(new Date(x).getHours())}:00`);
  return barChart(labels, d.reads.map((r) => ({name: r.source, values: r.counts})),
    {title: 'Reads per hour per source, last 24 hours'});
}

function lots(d) {
  if (!d.lots.length) return h('p', {class: 'muted'}, 'No parking lots configured.');
  const chart = barChart(d.lots.map((l) => l.name), [
    {name: 'occupied', values: d.lots.map((l) => l.count)},
    {name: 'free', values: d.lots.map((l) => Math.max(0, (l.maxCount || 0) - l.count))}], {title: 'Occupancy per lot now', height: 120});
  const history = stepChart(d.occupancy.times, d.occupancy.lots.map((l) => ({name: l.name, values: l.counts})),
    {title: 'Occupancy per lot, last 24 hours (every 15 minutes)', label: (t) => `${two(new Date(t).getHours())}:00`});
  history.id = 'dash-occupancy';
  return [chart, history];
}

function devices(d) {
  if (!d.devices.length) return h('p', {class: 'muted'}, 'No devices yet.');
  return h('ul', {class: 'plain', id: 'dash-devices'}, d.devices.map((x) => h('li', {dataset: {code: x.code}},
    badge(x.online ? 'online' : 'offline', x.online ? 'ok' : 'bad'), ' ',
    h('a', {href: '#/devices'}, x.name || x.code), ' ', h('span', {class: 'muted', title: fmtTime(x.last_seen)}, ago(x.last_seen)))));
}

function alerts(d) {
  if (!d.alerts.length) return h('p', {class: 'muted'}, 'No alerts.');
  return h('ul', {class: 'plain', id: 'dash-alerts'}, d.alerts.map((a) => h('li', {},
    badge(`${a.type} ${a.code}`, a.type === 'access' ? 'bad' : 'warn'), ' ',
    a.details && a.details.plate ? plate(a.details.plate) : null, ' ', h('span', {class: 'muted'}, `${a.source || ''} ${ago(a.at)}`))));
}

function latest(d) {
  if (!d.latest.length) return h('p', {class: 'muted'}, 'No reads yet.');
  return h('ul', {class: 'plain', id: 'dash-latest'}, d.latest.map((r) => h('li', {dataset: {id: r.id}},
    h('a', {href: `#/read/${r.id}`}, plate(r.plate)), ' ', h('span', {class: 'muted'}, `${r.source || r.protocol} ${ago(r.first_seen)}`))));
}

export function render(root) {
  const body = h('div', {class: 'dashboard'}, h('p', {class: 'muted'}, 'Loading…'));
  root.append(h('div', {class: 'page-head'}, h('h1', {}, 'Dashboard')), body);
  let timer = null;
  let gone = false;
  const box = (title, id, ...content) => h('section', {class: 'card', id}, h('h2', {}, title), content);
  async function refresh() {
    try {
      const d = await api('/v1/dashboard/');
      if (gone) return;
      clear(body, box('Reads per hour', 'dash-reads', readsChart(d)), box('Parking', 'dash-lots', lots(d)),
        h('div', {class: 'cards two'}, box('Devices', 'dash-devices-box', devices(d)), box('Recent alerts', 'dash-alerts-box', alerts(d))),
        box('Latest reads', 'dash-latest-box', latest(d)));
    } catch (err) {
      if (!gone) clear(body, errorBox(err));
    }
    if (!gone) timer = setTimeout(refresh, POLL_MS);
  }
  return refresh().then(() => () => { gone = true; clearTimeout(timer); });
}

// Devices: every camera / source with protocol, status, last seen; commands and their delivery.
import {ago, api, badge, clear, errorBox, field, fmtTime, h, hasRight} from '../lib.js';

const COMMANDS = [['open_gate', 'Open gate'], ['trigger', 'Trigger recognition'], ['screenshot', 'Snapshot']];
const POLICIES = [['', 'server default'], ['allow_list', 'allow list only'], ['deny_list', 'all but the deny list'],
  ['always', 'always open'], ['never', 'never open'], ['manual', 'manual (open by hand)']];
const TAKES_COMMANDS = new Set(['allinone']);
const POLL_MS = 3000;

function commandItem(c) {
  const st = c.status === 'delivered' ? 'ok' : c.status === 'pending' ? 'warn' : 'muted';
  return h('li', {dataset: {id: c.id, kind: c.kind, status: c.status}},
    h('span', {class: 'kind'}, c.kind.replace('_', ' ')), ' ', badge(c.status, st), ' ',
    h('span', {class: 'muted'}, c.status === 'delivered'
      ? `by ${c.via || 'reply'}${c.delivered_to ? ` to ${c.delivered_to}` : ''} ${ago(c.delivered_at)}`
      : `queued ${ago(c.created_at)}`),
    c.status === 'pending' ? h('button', {type: 'button', class: 'link', onclick: async (e) => {
      e.target.disabled = true;
      try { await api(`/v1/commands/${c.id}/`, {method: 'DELETE'}); } catch { /* shown on refresh */ }
    }}, 'cancel') : null);
}

export function render(root) {
  const list = h('div', {class: 'cards', id: 'devices'});
  const status = h('span', {class: 'muted'});
  root.append(h('div', {class: 'page-head'}, h('h1', {}, 'Devices'), status), list);
  const cards = new Map();
  let timer = null;
  let gone = false;
  const canControl = hasRight('Control');
  const canSet = hasRight('Settings');

  async function refreshCommands(code, ul) {
    try {
      const cmds = await api(`/v1/devices/${encodeURIComponent(code)}/commands/?limit=5`);
      clear(ul, cmds.length ? cmds.map(commandItem) : h('li', {class: 'muted'}, 'No commands sent yet.'));
    } catch (err) {
      clear(ul, h('li', {}, errorBox(err)));
    }
  }

  function card(d) {
    const ul = h('ul', {class: 'commands'});
    const msg = h('p', {class: 'error', role: 'alert'});
    const send = async (kind, label, btn) => {
      btn.disabled = true;
      msg.textContent = '';
      try {
        await api(`/v1/devices/${encodeURIComponent(d.code)}/commands/`, {method: 'POST', json: {kind}});
        await refreshCommands(d.code, ul);
      } catch (err) {
        msg.textContent = `${label}: ${err.message}`;
      } finally {
        btn.disabled = false;
      }
    };
    const takes = TAKES_COMMANDS.has(d.protocol);
    const buttons = takes && canControl ? h('div', {class: 'buttons'}, COMMANDS.map(([kind, label]) => {
      const b = h('button', {type: 'button', class: kind === 'open_gate' ? 'primary' : '', dataset: {command: kind}}, label);
      b.addEventListener('click', () => send(kind, label, b));
      return b;
    })) : h('p', {class: 'muted'}, takes ? 'Sending commands needs the Control right.'
      : 'This kind of source takes no commands (all-in-one cameras do).');
    const facts = h('dl', {class: 'facts compact'});
    const policy = canSet ? h('select', {class: 'policy', 'aria-label': 'Gate policy'},
      POLICIES.map(([value, label]) => h('option', {value}, label))) : null;
    if (policy) {
      policy.value = d.gate_policy || '';
      policy.addEventListener('change', async () => {
        msg.textContent = '';
        try {
          await api(`/v1/devices/${encodeURIComponent(d.code)}/`, {method: 'PUT',
            json: {gate_policy: policy.value || 'default'}});
          policy.dataset.saved = policy.value || 'default';
        } catch (err) {
          msg.textContent = `Gate policy: ${err.message}`;
        }
      });
    }
    const el = h('article', {class: 'card device', dataset: {code: d.code, protocol: d.protocol}},
      h('header', {}, h('h2', {}, d.name || d.code), h('span', {class: 'state'})),
      facts, policy ? field('Gate policy', policy) : null, buttons, msg,
      takes ? h('h3', {}, 'Recent commands') : null, takes ? ul : null);
    cards.set(d.code, {el, ul, facts, takes, policy});
    if (takes) refreshCommands(d.code, ul);
    return el;
  }

  function update(d) {
    const c = cards.get(d.code);
    const state = c.el.querySelector('.state');
    clear(state, badge(d.protocol), ' ', badge(d.online ? 'online' : 'offline', d.online ? 'ok' : 'bad'));
    clear(c.facts,
      h('dt', {}, 'Code'), h('dd', {class: 'mono'}, d.code),
      h('dt', {}, 'Last seen'), h('dd', {title: fmtTime(d.last_seen)}, ago(d.last_seen)),
      d.address ? [h('dt', {}, 'Address'), h('dd', {class: 'mono'}, d.address)] : null,
      d.peer_address ? [h('dt', {}, 'Sends from'), h('dd', {class: 'mono'}, d.peer_address)] : null,
      d.pinned_address ? [h('dt', {}, 'Pinned to'), h('dd', {class: 'mono'}, d.pinned_address)] : null,
      h('dt', {}, 'Gate'), h('dd', {}, d.gate_policy || 'server default'),
      d.gate_device ? [h('dt', {}, 'Opened via'), h('dd', {class: 'mono'}, d.gate_device)] : null);
    if (c.policy && document.activeElement !== c.policy) c.policy.value = d.gate_policy || '';
  }

  async function refresh(first) {
    try {
      const devices = await api('/v1/devices/');
      if (gone) return;
      if (first) clear(list);
      if (!devices.length) {
        clear(list, h('p', {class: 'muted empty'}, 'No devices yet: cameras appear here when they first send something.'));
      }
      for (const d of devices) {
        if (!cards.has(d.code)) list.append(card(d));
        update(d);
      }
      for (const c of cards.values()) {
        if (!first && c.takes && c.ul.querySelector('[data-status="pending"]')) refreshCommands(c.el.dataset.code, c.ul);
      }
      status.textContent = `${devices.length} device${devices.length === 1 ? '' : 's'}, ${devices.filter((d) => d.online).length} online`;
    } catch (err) {
      if (first) clear(list, errorBox(err));
    }
    if (!gone) timer = setTimeout(() => refresh(false), POLL_MS);
  }
  list.append(h('p', {class: 'muted'}, 'Loading…'));
  refresh(true);
  return () => { gone = true; clearTimeout(timer); };
}

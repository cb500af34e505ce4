// Channels: video channels with their status (live over the TS-API channelStatus topic), adding and
// editing them through /v1/channels/, and the video of the chosen one (`#/channels?ch=ID`): a channel
// that records plays in the shared player (../player.js, as /watch does) live over HLS, or from a
// chosen moment of its recording (`&at=ISO`: where a read's "Video" link leads); a channel that does
// not record shows its newest frame, refreshed every second from /v1/channels/{id}/frame.jpg.
import {api, badge, clear, errorBox, field, fmtTime, h, hasRight, isoToLocalInput, localInputToIso, missingApi,
  notAvailable, params, setParams, wsUrl} from '../lib.js';
import {play} from '../player.js';

const REFRESH_MS = 1000;
const STATES = {online: 'ok', stalled: 'warn', offline: 'bad', connecting: 'warn', disabled: 'muted'};
const MODES = ['fast', 'regular', 'redaction'];
const DIRECTIONS = ['any', 'in', 'out'];

function stateBadge(status) {
  const state = status?.state || 'unknown';
  const b = badge(state, STATES[state] || '');
  b.classList.add('channel-state');
  if (status?.last_error && state !== 'online') b.title = status.last_error;
  return b;
}

function select(name, options, value) {
  return h('select', {name}, options.map((o) => h('option', {value: o, selected: o === value}, o)));
}

// the add/edit form; `channel` null adds one
function channelForm(channel, onSaved) {
  const c = channel || {};
  const msg = h('p', {class: 'error', role: 'alert'});
  const f = h('form', {class: 'filters channel-form', id: channel ? 'channel-edit' : 'channel-add'},
    field('Name', h('input', {name: 'name', required: true, value: c.name || '', maxlength: 128})),
    field('Source', h('input', {name: 'url', required: !channel, value: '', placeholder: channel ? c.url : 'rtsp://camera/stream'}),
      channel ? 'Leave empty to keep the current source (its password is not shown).' : 'rtsp://…, http(s)://… (MJPEG) or a video file on the server'),
    field('Frames read a second', h('input', {name: 'sample_rate', type: 'number', min: 0.1, max: 30, step: 0.1,
      value: c.sample_rate ?? 5})),
    field('Engine mode', select('mode', MODES, c.mode || 'fast')),
    field('Direction', select('direction', DIRECTIONS, c.direction || 'any'), 'report only vehicles going this way'),
    field('Minimum plate width (px)', h('input', {name: 'min_plate_width', type: 'number', min: 0, max: 7680,
      value: c.min_plate_width ?? 0})),
    field('Text formats', h('input', {name: 'text_formats', value: (c.text_formats || []).join(' '),
      placeholder: 'regular expressions, space-separated'})),
    h('details', {class: 'more'}, h('summary', {}, 'Zones and masks'),
      h('div', {class: 'more-fields'},
        field('Recognition zones', h('textarea', {name: 'zones', rows: 2, spellcheck: false},
          JSON.stringify(c.zones || [])), 'polygons in 8K coordinates (7680×4320), e.g. [[[0,2160],[7680,2160],[7680,4320],[0,4320]]]; [] = the whole view'),
        field('Masks', h('textarea', {name: 'masks', rows: 2, spellcheck: false}, JSON.stringify(c.masks || [])),
          'areas never read, as the zones'))),
    h('label', {class: 'check'}, h('input', {type: 'checkbox', name: 'enabled', checked: c.enabled ?? true}), 'Enabled'),
    h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, channel ? 'Save' : 'Add channel')),
    msg);
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    msg.textContent = '';
    const body = {
      name: f.elements.name.value.trim(), sample_rate: parseFloat(f.elements.sample_rate.value),
      mode: f.elements.mode.value, direction: f.elements.direction.value,
      min_plate_width: parseInt(f.elements.min_plate_width.value || '0', 10),
      text_formats: f.elements.text_formats.value.split(/\s+/).filter(Boolean), enabled: f.elements.enabled.checked,
    };
    for (const name of ['zones', 'masks']) {
      try {
        body[name] = JSON.parse(f.elements[name].value.trim() || '[]');
      } catch {
        msg.textContent = `${name}: not JSON (a list of polygons, each a list of [x, y] points)`;
        return;
      }
    }
    const url = f.elements.url.value.trim();
    if (url || !channel) body.url = url;
    try {
      const saved = channel
        ? await api(`/v1/channels/${channel.id}/`, {method: 'PATCH', json: body})
        : await api('/v1/channels/', {method: 'POST', json: body});
      onSaved(saved);
    } catch (err) { msg.textContent = err.message; }
  });
  return f;
}

// the frame view of a channel without live video: the newest frame, fetched into a hidden Image first
// so the shown one never flickers
function frameView(channel) {
  const img = h('img', {id: 'channel-frame', alt: `live view of ${channel.name}`, hidden: true});
  const note = h('p', {class: 'muted', id: 'channel-frame-note'}, 'Waiting for a frame…');
  const time = h('span', {class: 'muted', id: 'channel-frame-time'});
  let timer = null;
  let gone = false;
  const next = () => {
    if (gone) return;
    const loader = new Image();
    loader.onload = () => {
      if (gone) return;
      img.src = loader.src;
      img.hidden = false;
      img.dataset.loaded = String(Number(img.dataset.loaded || 0) + 1);
      note.hidden = true;
      time.textContent = `as of ${fmtTime(new Date())}`;
      timer = setTimeout(next, REFRESH_MS);
    };
    loader.onerror = () => {
      if (gone) return;
      note.hidden = false;
      note.textContent = channel.enabled ? 'No frame yet (the channel is connecting or its source is down)…'
        : 'The channel is disabled: enable it to see its video.';
      timer = setTimeout(next, REFRESH_MS * 2);
    };
    loader.src = `/v1/channels/${channel.id}/frame.jpg?t=${Date.now()}`;
  };
  next();
  return {els: [time, h('div', {class: 'frame live'}, img), note], stop: () => { gone = true; clearTimeout(timer); }};
}

// the player of a recording channel: live (HLS, else MJPEG) or its recording from a chosen moment
function videoPlayer(channel, at) {
  const video = h('video', {id: 'channel-video', controls: true, muted: true, autoplay: true, playsInline: true,
    hidden: true});
  const img = h('img', {id: 'channel-mjpeg', alt: `live video of ${channel.name}`, hidden: true});
  const info = h('p', {class: 'muted', id: 'channel-player-info'});
  const from = h('input', {type: 'datetime-local', step: 1, name: 'at', id: 'channel-player-at',
    value: isoToLocalInput(at || new Date(Date.now() - 60000), true)});
  const form = h('form', {class: 'filters player-controls', id: 'channel-player-form'},
    field('Recorded, from', from),
    h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary', id: 'channel-play-at'}, 'Play'),
      h('button', {type: 'button', id: 'channel-play-live', onclick: () => setParams('channels', {ch: channel.id})},
        'Live')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const iso = localInputToIso(from.value);
    if (iso) setParams('channels', {ch: channel.id, at: new Date(iso).toISOString()});
  });
  const wrap = h('div', {class: 'frame live player', dataset: {mode: at ? 'recorded' : 'live'}}, video, img);
  const player = play(video, img, at ? {ch: channel.id, when: at, files: true} : {ch: channel.id});
  info.textContent = at ? `Recorded video from ${fmtTime(at)}` : 'Live';
  const onTime = () => {
    const pos = player.position();
    if (!pos) return;
    wrap.dataset.position = pos.toISOString();
    info.textContent = `Recorded video: ${fmtTime(pos)}`;
  };
  video.addEventListener('timeupdate', onTime);
  video.addEventListener('player-error', (e) => {
    info.textContent = e.detail;
    info.className = 'error';
  });
  return {els: [wrap, info, form], stop: () => { video.removeEventListener('timeupdate', onTime); player.stop(); }};
}

// the chosen channel's video: the player when it records, else the frame view
function channelView(channel, at) {
  const records = channel.recording && channel.recording !== 'off';
  const view = records ? videoPlayer(channel, at) : frameView(channel);
  const slot = h('div', {id: 'channel-player', class: 'channel-player', dataset: {channel: channel.id,
    slot: 'recorded-player', records: records ? '1' : ''}},
  records ? view.els : [...view.els, h('p', {class: 'muted'},
    'This channel does not record (recording: off), so it has no recorded video to play.')]);
  const el = h('section', {class: 'card channel-view', id: 'channel-view', dataset: {id: channel.id}},
    h('header', {}, h('h2', {}, `${at && records ? 'Recorded' : 'Live'}: ${channel.name}`)), slot);
  return {el, stop: view.stop};
}

function channelCard(c, {canEdit, chosen, onView, onEdit, onToggle, onDelete}) {
  const s = c.status || {};
  return h('article', {class: `card channel ${chosen ? 'selected' : ''}`, dataset: {id: c.id, name: c.name}},
    h('header', {}, h('h2', {}, h('a', {href: `#/channels?ch=${c.id}`, onclick: onView}, c.name)), stateBadge(s)),
    h('p', {class: 'mono wrap muted'}, c.url),
    h('p', {class: 'muted counters'},
      `${c.sample_rate} frames/s · ${c.mode} · read ${s.frames_processed ?? 0}, dropped ${s.frames_dropped ?? 0}, ` +
      `vehicles ${s.reads ?? 0}${s.since ? ` · ${s.state} since ${fmtTime(new Date(s.since * 1000))}` : ''}`),
    s.last_error && s.state !== 'online' ? h('p', {class: 'error'}, s.last_error) : null,
    h('div', {class: 'buttons'},
      h('button', {type: 'button', class: 'view', onclick: onView}, 'Video'),
      canEdit ? h('button', {type: 'button', class: 'edit', onclick: onEdit}, 'Edit') : null,
      canEdit ? h('button', {type: 'button', class: 'toggle', onclick: onToggle}, c.enabled ? 'Disable' : 'Enable') : null,
      canEdit ? h('button', {type: 'button', class: 'danger delete', onclick: onDelete}, 'Delete') : null));
}

export async function render(root) {
  const canEdit = hasRight('Settings');
  const status = h('span', {class: 'status', id: 'channels-status'}, 'connecting…');
  root.append(h('div', {class: 'page-head'}, h('h1', {}, 'Channels'), status));
  const grid = h('div', {class: 'cards', id: 'channels'});
  const editor = h('div', {id: 'channel-editor'});
  const viewer = h('div', {id: 'channel-viewer'});
  let channels = [];
  let view = null;
  let editing = null;
  try {
    channels = (await api('/v1/channels/')).channels;
  } catch (err) {
    root.append(missingApi(err) ? notAvailable('Video channels') : errorBox(err));
    return;
  }
  const chosen = () => params().get('ch');
  const show = (id) => setParams('channels', {ch: id});
  const reload = async () => {
    try {
      channels = (await api('/v1/channels/')).channels;
      draw();
    } catch (err) { status.textContent = err.message; }
  };
  const openView = () => {
    const c = channels.find((x) => String(x.id) === chosen());
    if (view && (!c || view.el.dataset.id !== String(c.id))) { view.stop(); view = null; viewer.replaceChildren(); }
    if (c && !view) { view = channelView(c, params().get('at')); viewer.append(view.el); }
  };
  const edit = (c) => {
    editing = c;
    clear(editor, c ? h('section', {class: 'card'}, h('h2', {}, `Edit ${c.name}`),
      channelForm(c, () => { clear(editor); editing = null; reload(); }),
      h('button', {type: 'button', class: 'link', onclick: () => { clear(editor); editing = null; }}, 'Cancel')) : null);
  };
  const draw = () => {
    clear(grid, channels.length ? channels.map((c) => channelCard(c, {
      canEdit, chosen: String(c.id) === chosen(),
      onView: (e) => { e.preventDefault(); show(c.id); },
      onEdit: () => edit(c),
      onToggle: async () => {
        try { await api(`/v1/channels/${c.id}/`, {method: 'PATCH', json: {enabled: !c.enabled}}); } catch (err) { status.textContent = err.message; }
        reload();
      },
      onDelete: async () => {
        if (!window.confirm(`Delete channel ${c.name}? Its reads stay.`)) return;
        try { await api(`/v1/channels/${c.id}/`, {method: 'DELETE'}); } catch (err) { status.textContent = err.message; }
        if (String(c.id) === chosen()) setParams('channels', {}); else reload();
      },
    })) : h('p', {class: 'muted empty'}, 'No channels yet. Add a camera\'s RTSP or MJPEG address to read plates from its video.'));
    if (editing && !channels.some((c) => c.id === editing.id)) edit(null);
  };
  draw();
  if (canEdit) {
    root.append(h('details', {class: 'card', id: 'channel-add-box', open: !channels.length},
      h('summary', {}, 'Add a channel'), channelForm(null, (saved) => { show(saved.id); })));
  }
  root.append(viewer, editor, grid);
  openView();

  // live status: the TS-API channelStatus topic (the first message is every channel's status now)
  let ws = null;
  let closed = false;
  let retry = null;
  let pending = null;
  const soon = () => { clearTimeout(pending); pending = setTimeout(reload, 250); };
  const connect = () => {
    ws = new WebSocket(wsUrl('/wsapi/subscribeEvents?topics=channelStatus&verbose=true'));
    ws.onopen = () => { status.textContent = 'live'; status.className = 'status ok'; };
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      if (msg.subscriberId) { root.dataset.subscribed = '1'; return; }
      if (msg.topic !== 'channelStatus') return;
      root.dataset.events = String(Number(root.dataset.events || 0) + 1);
      soon();  // the /v1 list has platehub's own state, counters and last error
    };
    ws.onclose = (e) => {
      delete root.dataset.subscribed;
      if (closed) return;
      status.className = 'status bad';
      status.textContent = e.code === 1008 ? `refused: ${e.reason}` : 'disconnected; reconnecting…';
      if (e.code !== 1008) retry = setTimeout(connect, 3000);
    };
  };
  connect();
  return () => {
    closed = true;
    clearTimeout(retry);
    clearTimeout(pending);
    if (view) view.stop();
    if (ws) ws.close();
  };
}

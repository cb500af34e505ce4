// Settings: users and rights, API tokens, webhooks (admins; the APIs say so when not).
import {ApiError, ago, api, badge, clear, errorBox, field, h, missingApi, notAvailable} from '../lib.js';

const RIGHTS = ['LPR', 'DataExport', 'Control', 'Settings', 'Playback', 'Remote'];

function section(title, id) {
  const body = h('div', {class: 'section-body'}, h('p', {class: 'muted'}, 'Loading…'));
  return [h('section', {class: 'card settings', id}, h('h2', {}, title), body), body];
}

function failed(body, err, what) {
  if (missingApi(err)) return clear(body, notAvailable(what));
  if (err instanceof ApiError && err.status === 403) return clear(body, h('p', {class: 'muted'}, `${err.message}`));
  return clear(body, errorBox(err));
}

function rightsBoxes(selected, admin) {
  return h('fieldset', {class: 'rights'}, h('legend', {}, 'Rights'),
    h('label', {class: 'check'}, h('input', {type: 'checkbox', name: 'admin', checked: !!admin}), ' administrator (all rights)'),
    RIGHTS.map((r) => h('label', {class: 'check'}, h('input', {type: 'checkbox', name: 'right', value: r,
      checked: selected.includes(r)}), ` ${r}`)));
}

function readRights(form) {
  return {admin: form.querySelector('[name=admin]').checked,
    rights: [...form.querySelectorAll('[name=right]:checked')].map((i) => i.value)};
}

async function users(body) {
  let list;
  try { list = await api('/v1/users/'); } catch (err) { return failed(body, err, 'User management'); }
  const reload = () => users(body);
  const msg = h('p', {class: 'error', role: 'alert'});
  const add = h('form', {class: 'filters', id: 'user-add'},
    field('Login', h('input', {name: 'login', required: true, autocomplete: 'off'})),
    field('Password', h('input', {name: 'password', type: 'password', required: true, minlength: 8, autocomplete: 'new-password'})),
    rightsBoxes(['LPR'], false),
    h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, 'Add user')), msg);
  add.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('/v1/users/', {method: 'POST', json: {login: add.login.value.trim(), password: add.password.value, ...readRights(add)}});
      reload();
    } catch (err) { msg.textContent = err.message; }
  });
  clear(body, h('ul', {class: 'rows', id: 'users'}, list.map((u) => {
    const edit = h('form', {class: 'inline-edit'}, rightsBoxes(u.rights, u.admin),
      h('label', {class: 'field'}, h('span', {}, 'New password'), h('input', {type: 'password', name: 'password', minlength: 8,
        autocomplete: 'new-password', placeholder: 'unchanged'})),
      h('div', {class: 'actions'}, h('button', {type: 'submit'}, 'Save'),
        h('button', {type: 'button', class: 'danger', onclick: async () => {
          if (!confirm(`Remove user ${u.login}?`)) return;
          try { await api(`/v1/users/${encodeURIComponent(u.login)}/`, {method: 'DELETE'}); reload(); } catch (err) { alert(err.message); }
        }}, 'Remove')));
    edit.addEventListener('submit', async (e) => {
      e.preventDefault();
      const change = readRights(edit);
      if (edit.password.value) change.password = edit.password.value;
      try { await api(`/v1/users/${encodeURIComponent(u.login)}/`, {method: 'PUT', json: change}); reload(); } catch (err) { alert(err.message); }
    });
    return h('li', {dataset: {login: u.login}}, h('details', {},
      h('summary', {}, h('strong', {}, u.login), ' ', u.admin ? badge('admin', 'ok') : (u.rights.join(', ') || 'no rights')),
      edit));
  })), h('details', {}, h('summary', {}, 'Add a user'), add));
}

async function tokens(body) {
  let list;
  try { list = await api('/v1/tokens/'); } catch (err) { return failed(body, err, 'API tokens'); }
  const shown = h('div', {role: 'status'});
  const add = h('form', {class: 'inline', id: 'token-add'},
    h('input', {name: 'name', required: true, placeholder: 'name, e.g. gate-script', 'aria-label': 'Token name'}),
    h('button', {type: 'submit', class: 'primary'}, 'Create token'));
  add.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const t = await api('/v1/tokens/', {method: 'POST', json: {name: add.name.value.trim()}});
      await tokens(body);
      body.prepend(h('div', {class: 'notice', id: 'token-key'}, h('p', {}, `Token “${t.name}” — copy the key now, it is shown only once:`),
        h('code', {class: 'key'}, t.key)));
    } catch (err) { shown.textContent = err.message; }
  });
  clear(body, h('ul', {class: 'rows', id: 'tokens'}, list.length ? list.map((t) => h('li', {dataset: {id: t.id}},
    h('strong', {}, t.name), ' ', h('code', {}, `${t.prefix}…`), ' ',
    t.revoked_at ? badge('revoked', 'muted') : badge('active', 'ok'),
    h('span', {class: 'muted'}, ` last used ${ago(t.last_used_at)}`),
    t.revoked_at ? null : h('button', {type: 'button', class: 'link danger', onclick: async () => {
      if (!confirm(`Revoke token ${t.name}?`)) return;
      try { await api(`/v1/tokens/${t.id}/`, {method: 'DELETE'}); tokens(body); } catch (err) { alert(err.message); }
    }}, 'revoke'))) : h('li', {class: 'muted'}, 'No tokens.')), add, shown);
}

async function webhooks(body) {
  let list;
  try { list = await api('/v1/webhooks/'); } catch (err) { return failed(body, err, 'Webhooks'); }
  const msg = h('span', {class: 'error', role: 'alert'});
  const add = h('form', {class: 'inline', id: 'webhook-add'},
    h('input', {name: 'target', type: 'url', required: true, placeholder: 'https://example.org/hook', 'aria-label': 'Target URL'}),
    h('label', {class: 'check'}, h('input', {type: 'checkbox', name: 'with_image'}), ' with image'),
    h('button', {type: 'submit', class: 'primary'}, 'Add webhook'), msg);
  add.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('/v1/webhooks/', {method: 'POST', json: {target: add.target.value.trim(), with_image: add.with_image.checked}});
      webhooks(body);
    } catch (err) { msg.textContent = err.message; }
  });
  clear(body, h('ul', {class: 'rows', id: 'webhooks'}, list.length ? list.map((w) => h('li', {},
    h('code', {class: 'wrap'}, w.target), ' ', w.with_image ? badge('image') : null, ' ',
    w.failures ? badge(`${w.failures} failures`, 'bad') : badge('ok', 'ok'),
    w.last_error ? h('span', {class: 'muted'}, ` ${w.last_error}`) : null,
    h('button', {type: 'button', class: 'link danger', onclick: async () => {
      if (!confirm(`Remove webhook ${w.target}?`)) return;
      try { await api(`/v1/webhooks/${w.id}/`, {method: 'DELETE'}); webhooks(body); } catch (err) { alert(err.message); }
    }}, 'remove'))) : h('li', {class: 'muted'}, 'No webhooks.')), add);
}

export async function render(root) {
  root.append(h('div', {class: 'page-head'}, h('h1', {}, 'Settings')));
  const [u, ub] = section('Users and rights', 'settings-users');
  const [t, tb] = section('API tokens', 'settings-tokens');
  const [w, wb] = section('Webhooks', 'settings-webhooks');
  const info = h('p', {class: 'muted', id: 'server-info'});
  root.append(info, u, t, w);
  api('/api/info?apiVersion&product&siteName&timezone').then((i) => {
    info.textContent = `${i.product?.name || 'platehub'} ${i.product?.version || ''} · ${decodeURIComponent(i.siteName || '')} · ${i.timezone?.name || ''} · ${i.apiVersion}`;
  }).catch(() => {});
  await Promise.all([users(ub), tokens(tb), webhooks(wb)]);
}

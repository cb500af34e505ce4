// Lists: allow/deny list entries (/v1/lists/entries/), edit, import, export.
import {api, errorBox, field, fmtTime, h, missingApi, notAvailable, params, plate, setParams} from '../lib.js';

const PAGE = 50;

function toInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function fromInput(value) {
  return value ? new Date(value).toISOString() : null;
}

function entryForm(entry, onSave, onCancel) {
  const f = h('form', {class: 'entry-form filters', id: entry ? `edit-${entry.id}` : 'entry-add'},
    field('List', h('select', {name: 'list'}, h('option', {value: 'allow'}, 'allow'), h('option', {value: 'deny'}, 'deny'))),
    field('Plate', h('input', {name: 'plate', required: true, value: entry?.plate || '', autocomplete: 'off', spellcheck: false})),
    field('Valid from', h('input', {type: 'datetime-local', name: 'valid_from', value: toInput(entry?.valid_from)})),
    field('Valid until', h('input', {type: 'datetime-local', name: 'valid_until', value: toInput(entry?.valid_until)})),
    field('Tag', h('input', {name: 'tag', value: entry?.tag || ''})),
    field('Comment', h('input', {name: 'comment', value: entry?.comment || ''})),
    h('p', {class: 'error', role: 'alert'}),
    h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, entry ? 'Save' : 'Add'),
      onCancel ? h('button', {type: 'button', onclick: onCancel}, 'Cancel') : null));
  f.list.value = entry?.list || 'allow';
  f.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {list: f.list.value, plate: f.plate.value.trim(), valid_from: fromInput(f.valid_from.value),
      valid_until: fromInput(f.valid_until.value), tag: f.tag.value.trim() || null, comment: f.comment.value.trim() || null};
    try {
      await onSave(body);
    } catch (err) {
      f.querySelector('.error').textContent = err.message;
    }
  });
  return f;
}

export async function render(root) {
  const q = params();
  const state = {list: q.get('list') || '', q: q.get('q') || '', offset: Math.max(0, parseInt(q.get('offset') || '0', 10) || 0)};
  root.append(h('div', {class: 'page-head'}, h('h1', {}, 'Lists')));
  let page;
  try {
    page = await api(`/v1/lists/entries/?${new URLSearchParams({list: state.list, q: state.q, offset: String(state.offset), limit: String(PAGE)})}`);
  } catch (err) {
    root.append(missingApi(err) ? notAvailable('Access lists') : errorBox(err));
    return;
  }
  const reload = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
  const search = h('form', {class: 'filters', id: 'lists-filter'},
    field('List', h('select', {name: 'list'}, h('option', {value: ''}, 'Both'), h('option', {value: 'allow'}, 'allow'),
      h('option', {value: 'deny'}, 'deny'))),
    field('Plate, tag or comment', h('input', {type: 'search', name: 'q', value: state.q})),
    h('div', {class: 'actions'}, h('button', {type: 'submit'}, 'Filter')));
  search.list.value = state.list;
  search.addEventListener('submit', (e) => {
    e.preventDefault();
    setParams('lists', {list: search.list.value, q: search.q.value.trim()});
  });
  const addBox = h('details', {class: 'card', id: 'lists-add'}, h('summary', {}, 'Add an entry'),
    entryForm(null, async (body) => { await api('/v1/lists/entries/', {method: 'POST', json: body}); reload(); }));
  const file = h('input', {type: 'file', name: 'file', accept: '.csv,.xlsx,text/csv', id: 'lists-file'});
  const importMsg = h('span', {class: 'muted', role: 'status'});
  const importForm = h('form', {class: 'inline', id: 'lists-import'}, file,
    h('button', {type: 'submit'}, 'Import (merge)'), importMsg);
  importForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!file.files.length) { importMsg.textContent = 'Choose a CSV or XLSX file first.'; return; }
    const body = new FormData();
    body.append('file', file.files[0]);
    importMsg.textContent = 'Importing…';
    try {
      const res = await api('/v1/lists/import/?mode=merge', {method: 'POST', body});
      importMsg.textContent = `Imported: ${JSON.stringify(res)}`;
      setTimeout(reload, 800);
    } catch (err) {
      importMsg.textContent = err.message;
    }
  });
  root.append(search,
    h('div', {class: 'toolbar'}, importForm,
      h('span', {class: 'exports'}, 'Export: ', h('a', {href: '/v1/lists/export/?format=csv', download: ''}, 'CSV'), ' · ',
        h('a', {href: '/v1/lists/export/?format=xlsx', download: ''}, 'XLSX'))),
    addBox);

  const rows = page.entries.map((e) => {
    const tr = h('tr', {dataset: {id: e.id, plate: e.plate}},
      h('td', {}, h('span', {class: `badge ${e.list === 'allow' ? 'ok' : 'bad'}`}, e.list)),
      h('td', {}, plate(e.plate)),
      h('td', {}, e.valid_from || e.valid_until ? `${e.valid_from ? fmtTime(e.valid_from) : '…'} – ${e.valid_until ? fmtTime(e.valid_until) : '…'}` : 'always'),
      h('td', {}, e.tag || ''), h('td', {class: 'wrap'}, e.comment || ''),
      h('td', {class: 'row-actions'},
        h('button', {type: 'button', class: 'link', dataset: {action: 'edit'}, onclick: () => {
          const edit = h('tr', {class: 'editing'}, h('td', {colspan: 6}, entryForm(e, async (body) => {
            await api(`/v1/lists/entries/${e.id}/`, {method: 'PUT', json: body});
            reload();
          }, () => { edit.replaceWith(tr); })));
          tr.replaceWith(edit);
        }}, 'edit'),
        h('button', {type: 'button', class: 'link danger', dataset: {action: 'delete'}, onclick: async () => {
          if (!confirm(`Delete ${e.plate} from the ${e.list} list?`)) return;
          try { await api(`/v1/lists/entries/${e.id}/`, {method: 'DELETE'}); reload(); } catch (err) { alert(err.message); }
        }}, 'delete')));
    return tr;
  });
  const last = Math.min(page.total, state.offset + page.entries.length);
  const go = (n) => setParams('lists', {list: state.list, q: state.q, offset: n || ''});
  root.append(h('div', {class: 'pager'},
    h('span', {id: 'lists-total'}, page.total ? `${state.offset + 1}–${last} of ${page.total}` : 'No entries'),
    h('button', {type: 'button', disabled: state.offset === 0, onclick: () => go(Math.max(0, state.offset - PAGE))}, '‹ Previous'),
    h('button', {type: 'button', disabled: last >= page.total, onclick: () => go(state.offset + PAGE)}, 'Next ›')));
  if (rows.length) {
    root.append(h('div', {class: 'table-wrap'}, h('table', {class: 'results', id: 'lists-table'},
      h('thead', {}, h('tr', {}, ['List', 'Plate', 'Valid', 'Tag', 'Comment', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows))));
  }
}

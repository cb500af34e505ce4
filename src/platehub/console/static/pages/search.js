// Search: the vehicle number log (TS-API /api/find?what=carNo, with platehub's direction and decision
// filters), similar plates, paging, export.
import {api, badge, clear, errorBox, field, fmtTime, h, isoToLocalInput, localInputToIso, localPath, params, plate,
  remember, setParams, videoLink, whenOf} from '../lib.js';

const PAGE = 50;

function resultRow(item) {
  const img = localPath(item.image?.[0]);
  remember(item.id, {...item, image: img ? [img] : []});
  const src = decodeURIComponent(item.srcName || item.srcCode || '');
  return h('tr', {dataset: {id: item.id}},
    h('td', {class: 'c-img'}, img ? h('a', {href: `#/read/${item.id}`},
      h('img', {src: img, alt: '', loading: 'lazy', class: 'thumb small'})) : null),
    h('td', {}, h('a', {href: `#/read/${item.id}`, class: 'plate-link'}, plate(item.plateNo)),
      item.score !== undefined ? h('span', {class: 'muted score'}, ` ${item.score} %`) : null),
    h('td', {}, h('time', {datetime: item.timeRange?.[0]}, fmtTime(item.timeRange?.[0]))),
    h('td', {}, src),
    h('td', {}, item.direction ? badge(item.direction, item.direction) : h('span', {class: 'muted'}, '—')),
    h('td', {class: 'c-video'}, item.vod?.length ? videoLink(item.vod[0].chid, whenOf(item.vod[0].videoSrc)) : null));
}

export async function render(root) {
  const q = params();
  const sources = h('select', {name: 'src', id: 'search-src'}, h('option', {value: ''}, 'All sources'));
  const form = h('form', {class: 'filters', id: 'search-form'},
    field('Plate', h('input', {name: 'keyword', id: 'search-plate', value: q.get('keyword') || '',
      placeholder: 'e.g. AB123 (part of a plate)', autocomplete: 'off', spellcheck: false})),
    field('Match', h('select', {name: 'mode', id: 'search-mode'},
      h('option', {value: 'exact'}, 'contains'), h('option', {value: 'similar'}, 'similar plates'))),
    h('details', {class: 'more', open: matchMedia('(min-width: 700px)').matches ||
      ['from', 'to', 'src', 'direction', 'decision'].some((k) => q.get(k))},
    h('summary', {}, 'Time, source, direction, decision'),
    h('div', {class: 'more-fields'},
      field('From', h('input', {type: 'datetime-local', name: 'from', value: isoToLocalInput(q.get('from'))})),
      field('To', h('input', {type: 'datetime-local', name: 'to', value: isoToLocalInput(q.get('to'))})),
      field('Source', sources),
      field('Direction', h('select', {name: 'direction'}, h('option', {value: ''}, 'Any'),
        h('option', {value: 'entry'}, 'entry'), h('option', {value: 'exit'}, 'exit'))),
      field('Decision', h('select', {name: 'decision', id: 'search-decision'}, h('option', {value: ''}, 'Any'),
        ['open', 'closed', 'allowed', 'denied', 'unknown', 'inactive', 'manual', 'offline'].map(
          (d) => h('option', {value: d}, d)))))),
    h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, 'Search'),
      h('button', {type: 'button', id: 'search-export'}, 'Export')));
  form.mode.value = q.get('mode') === 'similar' ? 'similar' : 'exact';
  form.direction.value = q.get('direction') || '';
  form.decision.value = q.get('decision') || '';
  const out = h('div', {id: 'search-results'});
  const exportOut = h('div', {class: 'export'});
  root.append(h('div', {class: 'page-head'}, h('h1', {}, 'Search')), form, exportOut, out);

  api('/api/enum?what=lprSrc').then((list) => {
    for (const s of list || []) sources.append(h('option', {value: s.code}, s.name || s.code));
    sources.value = q.get('src') || '';
  }).catch(() => {});

  const values = () => ({
    keyword: form.keyword.value.trim(), mode: form.mode.value === 'similar' ? 'similar' : '',
    from: localInputToIso(form.from.value), to: localInputToIso(form.to.value), src: form.src.value,
    direction: form.direction.value, decision: form.decision.value,
  });
  const carNoQuery = (v, at) => {
    const p = new URLSearchParams({what: 'carNo', maxCount: String(PAGE), at: String(at)});
    if (v.keyword) p.set('keyword', v.keyword);
    if (v.from) p.set('timeBegin', v.from);
    if (v.to) p.set('timeEnd', v.to);
    if (v.src) p.set('src', v.src);
    if (v.direction) p.set('direction', v.direction);
    if (v.decision) p.set('decision', v.decision);
    return p;
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setParams('search', values());
  });
  form.querySelector('#search-export').addEventListener('click', async () => {
    const v = values();
    const p = carNoQuery(v, 0);
    p.delete('at');
    p.delete('maxCount');
    p.set('export', 'true');
    clear(exportOut, h('p', {class: 'muted'}, 'Exporting…'));
    try {
      const urls = await api(`/api/find?${p}`);
      clear(exportOut, h('p', {}, 'Download: ',
        (urls || []).map((u) => h('a', {href: localPath(u), class: 'download'}, decodeURIComponent(u.split('/').pop())))));
    } catch (err) {
      clear(exportOut, errorBox(err));
    }
  });

  const v = {keyword: q.get('keyword') || '', mode: q.get('mode') || '', from: q.get('from') || '',
    to: q.get('to') || '', src: q.get('src') || '', direction: q.get('direction') || '',
    decision: q.get('decision') || ''};
  const at = Math.max(0, parseInt(q.get('at') || '0', 10) || 0);

  if (v.mode === 'similar') {
    if (!v.keyword) {
      out.append(h('p', {class: 'muted'}, 'Type a plate to find similar ones (look-alike characters, one missing, extra or changed character).'));
      return;
    }
    try {
      const plates = await api(`/api/find?what=similarCarNo&keyword=${encodeURIComponent(v.keyword)}&maxCount=100`);
      out.append(h('h2', {}, `${plates.length} similar plate${plates.length === 1 ? '' : 's'}`),
        h('ul', {class: 'chips', id: 'similar-plates'}, plates.map((p) => h('li', {},
          h('a', {href: `#/search?keyword=${encodeURIComponent(p)}`}, plate(p))))));
    } catch (err) {
      out.append(errorBox(err));
    }
    return;
  }

  out.append(h('p', {class: 'muted'}, 'Searching…'));
  try {
    const res = await api(`/api/find?${carNoQuery(v, at)}`);
    const rows = res.data;
    const last = Math.min(res.totalCount, at + res.data.length);
    const go = (n) => setParams('search', {...v, at: n || ''});
    clear(out,
      h('div', {class: 'pager'},
        h('span', {id: 'search-total'}, res.totalCount ? `${at + 1}–${last} of ${res.totalCount.toLocaleString()}` : 'No reads found'),
        h('button', {type: 'button', disabled: at === 0, onclick: () => go(Math.max(0, at - PAGE))}, '‹ Newer'),
        h('button', {type: 'button', disabled: last >= res.totalCount, onclick: () => go(at + PAGE)}, 'Older ›')),
      rows.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'results', id: 'search-table'},
        h('thead', {}, h('tr', {}, h('th', {class: 'c-img'}, ''), h('th', {}, 'Plate'), h('th', {}, 'Time'),
          h('th', {}, 'Source'), h('th', {}, 'Direction'), h('th', {class: 'c-video'}, ''))),
        h('tbody', {}, rows.map(resultRow)))) : null);
  } catch (err) {
    clear(out, errorBox(err));
  }
}

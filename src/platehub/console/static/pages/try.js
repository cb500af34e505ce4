// Try it: upload an image, see the Snapshot API's result drawn on it.
import {api, clear, errorBox, field, h, plate} from '../lib.js';

function overlay(frame, img, results) {
  for (const r of results) {
    const b = r.box;
    const s = (v, total) => `${(100 * v / total).toFixed(3)}%`;
    const box = h('div', {class: 'box'}, h('span', {class: 'box-label'}, `${r.plate.toUpperCase()} ${(r.score * 100).toFixed(0)}%`));
    Object.assign(box.style, {left: s(b.xmin, img.naturalWidth), top: s(b.ymin, img.naturalHeight),
      width: s(b.xmax - b.xmin, img.naturalWidth), height: s(b.ymax - b.ymin, img.naturalHeight)});
    frame.append(box);
  }
}

export function render(root) {
  let objectUrl = null;
  const file = h('input', {type: 'file', name: 'upload', accept: 'image/*', required: true, id: 'try-file'});
  const regions = h('input', {name: 'regions', placeholder: 'e.g. hr, de (optional)', autocomplete: 'off'});
  const form = h('form', {class: 'filters', id: 'try-form'}, field('Image', file), field('Regions', regions),
    h('div', {class: 'actions'}, h('button', {type: 'submit', class: 'primary'}, 'Read plates')));
  const out = h('div', {id: 'try-result'});
  root.append(h('div', {class: 'page-head'}, h('h1', {}, 'Try it')),
    h('p', {class: 'muted'}, 'Send an image to the Snapshot API (/v1/plate-reader/) and see what it reads. The read is stored like any other.'),
    form, out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!file.files.length) return;
    const body = new FormData();
    body.append('upload', file.files[0]);
    for (const r of regions.value.split(/[\s,]+/).filter(Boolean)) body.append('regions', r);
    clear(out, h('p', {class: 'muted'}, 'Reading…'));
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const res = await api('/v1/plate-reader/', {method: 'POST', body});
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = URL.createObjectURL(file.files[0]);
      const img = h('img', {src: objectUrl, alt: 'uploaded image'});
      const frame = h('div', {class: 'frame', id: 'try-frame'}, img);
      img.addEventListener('load', () => { overlay(frame, img, res.results || []); frame.dataset.boxed = '1'; });
      clear(out, h('div', {class: 'detail'}, frame, h('div', {class: 'side'},
        h('h2', {}, `${res.results.length} plate${res.results.length === 1 ? '' : 's'} in ${Math.round(res.processing_time)} ms`),
        res.results.length ? h('ol', {class: 'plates', id: 'try-plates'}, res.results.map((r) => h('li', {},
          plate(r.plate.toUpperCase(), 'big'), ` ${(r.score * 100).toFixed(1)} %`,
          r.region?.code ? h('span', {class: 'muted'}, ` region ${r.region.code}`) : null,
          h('ul', {class: 'cands'}, (r.candidates || []).slice(1, 5).map((c) => h('li', {}, plate(c.plate.toUpperCase()), ` ${(c.score * 100).toFixed(1)} %`))))))
          : h('p', {class: 'muted'}, 'No plate found.'))),
      h('details', {}, h('summary', {}, 'Raw response'), h('pre', {class: 'raw'}, JSON.stringify(res, null, 2))));
    } catch (err) {
      clear(out, errorBox(err));
    } finally {
      button.disabled = false;
    }
  });
  return () => { if (objectUrl) URL.revokeObjectURL(objectUrl); };
}

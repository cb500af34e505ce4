// A read's detail: the full image with the plate box, candidates and scores, the raw payload, the
// decision and why. From /v1/reads/{id}/ when the server has it, else what the list showed.
import {ApiError, api, badge, decisionBadge, errorBox, fmtTime, h, missingApi, plate, recalled, videoLink,
  whenOf} from '../lib.js';

function pct(score) {
  if (score === null || score === undefined) return '—';
  return `${(score <= 1 ? score * 100 : score).toFixed(1)} %`;
}

// the read in one shape, whichever source it came from
function normalise(id, read, cached) {
  if (read) {
    const box = read.box && read.box.xmax > read.box.xmin ? read.box : null;
    let cands = (read.candidates || []).map((c) => Array.isArray(c) ? {plate: c[0], score: c[1]} : c);
    if (!cands.length && read.plate) cands = [{plate: read.plate, score: read.score}];  // a camera's one reading
    return {id, plate: read.plate, raw_plate: read.plate_raw, score: read.score, box, candidates: cands,
      source: read.source_name || read.source, protocol: read.protocol, direction: read.direction,
      first: read.first_seen, last: read.last_seen, region: read.region, raw: read.raw, decision: read.decision,
      hasFull: read.image_full !== null && read.image_full !== undefined ? !!read.image_full : true, full: true,
      video: read.video?.recorded ? videoLink(read.video.channel_id, read.video.start, 0) : null,
      noVideo: read.video && !read.video.recorded ? (read.video.recording === 'off'
        ? `Channel ${read.video.channel} does not record video.` : 'No recording covers this moment (any more).') : null};
  }
  const roi = cached?.roi;
  return {id, plate: cached?.plateNo, score: cached?.score !== undefined ? cached.score / 100 : null,
    box: roi ? {xmin: roi.offset[0], ymin: roi.offset[1], xmax: roi.offset[0] + roi.size[0], ymax: roi.offset[1] + roi.size[1]} : null,
    candidates: cached?.plateNo ? [{plate: cached.plateNo, score: cached.score !== undefined ? cached.score / 100 : null}] : [],
    source: cached ? decodeURIComponent(cached.srcName || cached.srcCode || '') : null, direction: cached?.direction,
    first: cached?.timeRange?.[0], last: cached?.timeRange?.[1], raw: undefined, decision: cached?.decision,
    hasFull: true, partial: true,
    video: cached?.vod?.length ? videoLink(cached.vod[0].chid, whenOf(cached.vod[0].videoSrc)) : null};
}

function figure(r) {
  const wrap = h('div', {class: 'frame', id: 'read-frame'});
  const img = h('img', {src: `/api/image/${r.id}/full`, alt: `frame of ${r.plate}`, id: 'read-image'});
  wrap.append(img);
  img.addEventListener('load', () => {
    if (!r.box || !img.naturalWidth) return;
    const b = r.box;
    const s = (v, total) => `${(100 * v / total).toFixed(3)}%`;
    const box = h('div', {class: 'box', id: 'read-box', title: `${b.xmin},${b.ymin} – ${b.xmax},${b.ymax}`},
      h('span', {class: 'box-label'}, r.plate));
    Object.assign(box.style, {left: s(b.xmin, img.naturalWidth), top: s(b.ymin, img.naturalHeight),
      width: s(b.xmax - b.xmin, img.naturalWidth), height: s(b.ymax - b.ymin, img.naturalHeight)});
    wrap.append(box);
    wrap.dataset.boxed = '1';
  });
  img.addEventListener('error', () => {
    const crop = h('img', {src: `/api/image/${r.id}/plate`, alt: `plate crop of ${r.plate}`, class: 'crop'});
    crop.addEventListener('error', () => {
      wrap.classList.add('empty');
      crop.replaceWith(h('p', {class: 'muted'}, 'No image was kept for this read.'));
    });
    img.replaceWith(crop);
  });
  return wrap;
}

function decisionBlock(d) {
  if (!d) return h('p', {class: 'muted', id: 'read-decision'}, 'No decision: no gate decision was made for this read.');
  const rows = [['Action', decisionBadge(d)], ['Reason', d.reason], ['Why', d.why || d.detail], ['Policy', d.policy],
    ['List', d.list], ['Matched entry', d.entry_plate ? plate(d.entry_plate) : null],
    ['Distance', d.distance !== null && d.distance !== undefined ? String(d.distance) : null]];
  return h('dl', {class: 'facts', id: 'read-decision'}, rows.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

export async function render(root, id) {
  root.append(h('p', {}, h('button', {type: 'button', class: 'link back', onclick: () => history.back()}, '‹ Back')));
  if (!/^[0-9a-fA-F]{1,32}$/.test(id || '')) {
    root.append(errorBox('No such read.'));
    return;
  }
  let read = null;
  let note = null;
  try {
    read = await api(`/v1/reads/${id}/`);
  } catch (err) {
    if (missingApi(err)) note = 'This server has no read detail API yet: showing what the list had.';
    else if (err instanceof ApiError && err.status === 404) note = 'The server does not know this read.';
    else note = err.message;
  }
  const r = normalise(id, read, recalled(id));
  root.append(h('div', {class: 'page-head'}, h('h1', {}, 'Read ', plate(r.plate, 'big')),
    r.direction ? badge(r.direction, r.direction) : null, decisionBadge(r.decision),
    r.video ? Object.assign(r.video, {id: 'read-video'}) : null));
  if (note) root.append(h('p', {class: 'notice'}, note));
  const facts = [['Time', fmtTime(r.first)], ['Last seen', r.last && r.last !== r.first ? fmtTime(r.last) : null],
    ['Source', r.source], ['Protocol', r.protocol], ['Video', r.noVideo], ['Direction', r.direction], ['Score', pct(r.score)],
    ['Region', r.region], ['As received', r.raw_plate && r.raw_plate !== r.plate ? r.raw_plate : null], ['Read id', id]];
  root.append(h('div', {class: 'detail'},
    figure(r),
    h('div', {class: 'side'},
      h('dl', {class: 'facts'}, facts.filter(([, v]) => v).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      h('h2', {}, 'Candidates'),
      r.candidates.length ? h('table', {class: 'candidates', id: 'read-candidates'},
        h('thead', {}, h('tr', {}, h('th', {}, 'Plate'), h('th', {}, 'Score'))),
        h('tbody', {}, r.candidates.map((c, i) => h('tr', {class: i === 0 ? 'best' : ''},
          h('td', {}, plate(c.plate)), h('td', {}, pct(c.score))))))
        : h('p', {class: 'muted'}, 'No candidates.'),
      h('h2', {}, 'Decision'), decisionBlock(r.decision))),
    h('h2', {}, 'Raw payload received'),
    r.raw === undefined ? h('p', {class: 'muted'}, 'Not available here.')
      : h('pre', {class: 'raw', id: 'read-raw'}, r.raw === null ? 'none kept' : JSON.stringify(r.raw, null, 2)));
}

// The gallery: outputs of recent successful jobs, newest first, paged with
// the API's cursor as the user scrolls, and kept live: new results are
// put in front as they come (the first page is asked again every few
// seconds while the page is visible). A tile opens its job.

import { h, replace, fmtAgo, fmtTime, clip, icon } from './dom.js';
import { request, query, outputURL } from './api.js';
import { MediaScope, isImage } from './media.js';

const PAGE = 24;
const FRESH_EVERY = 4000;

/** mount draws the gallery into root; it returns the cleanup. */
export function mount(root, _params, signal) {
  document.title = 'Gallery · comfygate';
  const media = new MediaScope();
  const grid = h('ul', { class: 'gallery', 'aria-label': 'Outputs of recent jobs' });
  const status = h('p', { class: 'muted gallery-status', role: 'status' }, 'Loading…');
  const more = h('button', { type: 'button', class: 'btn ghost', hidden: true }, 'Load more');
  const st = { cursor: '', busy: false, done: false, tiles: 0, seen: new Set(), loaded: false };
  const page = () => loadPage({ grid, status, more, st, media, signal });
  more.addEventListener('click', page);
  // Load the next page as the end of the grid comes near.
  const observer = new IntersectionObserver((es) => {
    if (es.some((e) => e.isIntersecting) && !st.busy && !st.done && st.tiles > 0) page();
  }, { rootMargin: '600px' });
  observer.observe(more);
  replace(root, h('section', { class: 'gallery-page' },
    h('header', { class: 'page-head' }, h('h1', {}, 'Gallery'), h('span', { class: 'muted small' }, 'New results appear here as they finish.')),
    grid, status, more));
  page();
  const timer = setInterval(() => { if (!document.hidden && st.loaded) freshen({ grid, status, st, media, signal }); }, FRESH_EVERY);
  return () => { clearInterval(timer); observer.disconnect(); media.dispose(); };
}

// freshen puts jobs that finished since the first page in front.
async function freshen({ grid, status, st, media, signal }) {
  try {
    const list = await request('/v1/jobs' + query({ state: 'succeeded', limit: PAGE }), { signal });
    const fresh = (list.jobs ?? []).filter((j) => !st.seen.has(j.id));
    for (const job of fresh.reverse()) {
      st.seen.add(job.id);
      const tiles = (job.outputs ?? []).map((o, i) => tile(job, o, i, media));
      grid.prepend(...tiles);
      st.tiles += tiles.length;
    }
    if (fresh.length) status.textContent = countText(st);
  } catch { /* the next round tries again */ }
}

function countText(st) {
  return st.tiles ? `${st.tiles} output${st.tiles === 1 ? '' : 's'}${st.done ? '' : ' so far'}`
    : 'No results yet: run a workflow and its outputs appear here.';
}

async function loadPage({ grid, status, more, st, media, signal }) {
  if (st.busy || st.done) return;
  st.busy = true;
  more.disabled = true;
  try {
    const list = await request('/v1/jobs' + query({ state: 'succeeded', limit: PAGE, cursor: st.cursor }), { signal });
    for (const job of list.jobs ?? []) {
      if (st.seen.has(job.id)) continue; // put in front by freshen already
      st.seen.add(job.id);
      (job.outputs ?? []).forEach((o, i) => { grid.append(tile(job, o, i, media)); st.tiles++; });
    }
    st.cursor = list.next_cursor ?? '';
    st.done = !st.cursor;
    st.loaded = true;
    status.textContent = countText(st);
  } catch (err) {
    if (err.name === 'AbortError') return;
    status.textContent = `Cannot load the gallery: ${err.message}`;
  } finally {
    st.busy = false;
    more.disabled = false;
    more.hidden = st.done;
  }
}

function tile(job, o, i, media) {
  const prompt = typeof job.params?.prompt === 'string' ? job.params.prompt : '';
  const label = prompt || job.workflow || job.id;
  const url = outputURL(o);
  let art;
  if (url && isImage(o.content_type)) {
    art = h('img', { alt: clip(label, 140), decoding: 'async', dataset: { artifact: o.artifact_id ?? '' } });
    media.show(art, url, { lazy: true });
  } else {
    art = h('div', { class: 'file-tile' }, icon('external'), h('span', {}, o.filename || o.kind || 'output'));
  }
  return h('li', { class: 'tile' },
    h('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, dataset: { jobId: job.id, output: i }, title: label },
      art,
      h('span', { class: 'tile-caption' },
        h('span', { class: 'tile-title' }, clip(label, 80)),
        h('time', { class: 'muted', datetime: job.finished_at ?? job.created_at, title: fmtTime(job.finished_at ?? job.created_at) },
          fmtAgo(job.finished_at ?? job.created_at)))));
}

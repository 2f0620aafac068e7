// Pieces of the job view that only draw: the state badge, progress, an
// output, the error report. Everything from the API goes in as text.

import { h, icon, fmtBytes, fmtDuration } from './dom.js';
import { outputURL } from './api.js';
import { isImage } from './media.js';

export const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

const STATE_LABELS = {
  queued: 'Queued', dispatched: 'Dispatched', running: 'Running', retrying: 'Retrying',
  succeeded: 'Succeeded', failed: 'Failed', cancelled: 'Cancelled',
};

/** stateBadge is a coloured label of a job state. */
export function stateBadge(state) {
  const s = String(state ?? 'unknown');
  return h('span', { class: `badge state-${/^[a-z]+$/.test(s) ? s : 'unknown'}` }, STATE_LABELS[s] ?? s);
}


/** positionText turns the API's 0-based queue position into words. */
export function positionText(pos) {
  if (!Number.isInteger(pos) || pos < 0) return 'Waiting in the queue';
  return pos === 0 ? 'Next in the queue' : `Queue position ${pos + 1} (${pos} ahead)`;
}

/** progressText describes the current node and step. */
export function progressText(p) {
  if (!p) return '';
  const parts = [];
  if (p.node_type || p.node) parts.push(`${p.node_type || 'node'}${p.node ? ` (node ${p.node})` : ''}`);
  if (p.max > 0) parts.push(`step ${p.value} / ${p.max}`);
  if (p.nodes_total > 0) parts.push(`${p.nodes_done} of ${p.nodes_total} nodes done`);
  return parts.join(' · ');
}

/** timings says how long the job waited and ran. */
export function timings(job, now = Date.now()) {
  const t = (s) => (s ? Date.parse(s) : NaN);
  const created = t(job.created_at), started = t(job.started_at), finished = t(job.finished_at);
  const out = [];
  if (!Number.isNaN(started)) out.push(`waited ${fmtDuration(started - created)}`);
  else if (!TERMINAL.has(job.state)) out.push(`waiting ${fmtDuration(now - created)}`);
  if (!Number.isNaN(started)) {
    const end = Number.isNaN(finished) ? now : finished;
    out.push(`${Number.isNaN(finished) ? 'running' : 'ran'} ${fmtDuration(end - started)}`);
  }
  return out.join(' · ');
}

/** previewSrc turns a preview event's data into a data: URL, or null. */
export function previewSrc(d) {
  const type = /^image\/(png|jpeg|webp|gif)$/.test(d?.image_type) ? d.image_type : 'image/jpeg';
  if (typeof d?.image !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(d.image)) return null;
  return `data:${type};base64,${d.image}`;
}

/** outputKey tells outputs apart, to show each once. */
export function outputKey(o) {
  return o.artifact_id || `${o.node_id}/${o.filename}/${o.text ?? ''}`;
}

/** outputFigure draws one output; media loads and frees the file. */
export function outputFigure(o, i, media) {
  const url = outputURL(o);
  const name = o.filename || `output ${i + 1}`;
  const caption = h('figcaption', {}, h('span', { class: 'fname', title: name }, name),
    o.size ? h('span', { class: 'muted' }, fmtBytes(o.size)) : null);
  if (o.kind === 'text' || (!url && o.text != null)) {
    return h('figure', { class: 'output text-output' }, h('pre', {}, String(o.text ?? '')), caption);
  }
  if (!url) return h('figure', { class: 'output' }, caption);
  const type = String(o.content_type ?? '');
  let body;
  if (isImage(type)) {
    const img = h('img', { class: 'output-img', alt: `Output ${i + 1}: ${name}`, decoding: 'async', dataset: { artifact: o.artifact_id ?? '' } });
    media.show(img, url);
    body = h('a', { class: 'output-link', title: 'Open full size' }, img);
    media.link(body, url);
  } else if (/^(video|audio)\//.test(type)) {
    body = h(type.startsWith('video') ? 'video' : 'audio', { controls: true, preload: 'metadata' });
    media.show(body, url);
  } else {
    body = h('a', { class: 'file-link' }, icon('external'), h('span', {}, `Open ${name}`));
    media.link(body, url);
  }
  const dl = h('a', { class: 'btn ghost small', 'aria-label': `Download ${name}` }, icon('download'));
  media.link(dl, url, { download: name });
  caption.append(dl);
  return h('figure', { class: 'output' }, body, caption);
}

/** errorReport draws a failed job's error: type, message, node, details. */
export function errorReport(e) {
  if (!e) return null;
  const where = e.node_id ? `node ${e.node_id}${e.node_type ? ` (${e.node_type})` : ''}` : '';
  return h('div', { class: 'job-error-body' },
    h('p', { class: 'err-title' }, h('code', {}, e.type || 'error'), where ? h('span', {}, ` in ${where}`) : null),
    h('p', { class: 'err-message' }, e.message || 'no message'),
    e.traceback?.length ? h('details', {}, h('summary', {}, 'Traceback'), h('pre', {}, e.traceback.join(''))) : null,
    e.attempts?.length ? h('details', {}, h('summary', {}, `Attempts (${e.attempts.length})`),
      h('ol', {}, e.attempts.map((a) => h('li', {}, h('code', {}, a.backend || '?'), `: ${a.message}`)))) : null);
}

// The live view of one job: state, queue position, progress, previews,
// outputs, errors and a cancel button. It loads the job, then follows its
// event stream until a terminal event; the stream resumes after a drop
// from the last event seen, so nothing is missed or shown twice.

import { h, icon, fmtAgo, fmtTime, replace, shortID } from './dom.js';
import { request, jobPath } from './api.js';
import { openStream } from './sse.js';
import { MediaScope } from './media.js';
import { DeliveriesBox } from './deliveries.js';
import {
  TERMINAL, stateBadge, positionText, progressText, timings, previewSrc,
  outputKey, outputFigure, errorReport,
} from './jobparts.js';

const LINK_TEXT = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', closed: 'offline' };

/** JobPanel shows one job; call dispose() when it leaves the page. */
export class JobPanel {
  constructor({ linkToPage = false, headingLevel = 'h2' } = {}) {
    this.linkToPage = linkToPage;
    this.headingLevel = headingLevel;
    this.media = new MediaScope();
    this.el = h('section', { class: 'job card', 'aria-live': 'off' });
    this.previews = 0;
  }

  /** show loads a job by id (or takes a Job) and follows it if it runs. */
  async show(jobOrID) {
    this.#stop();
    try {
      this.job = typeof jobOrID === 'string' ? await request(jobPath(jobOrID)) : jobOrID;
    } catch (err) {
      replace(this.el, h('p', { class: 'form-error', role: 'alert' }, `Cannot load the job: ${err.message}`));
      return;
    }
    this.outputs = new Map();
    this.#build();
    this.#render();
    if (!TERMINAL.has(this.job.state)) this.#follow();
    else if (this.job.webhook) this.deliveries.load();
  }

  #build() {
    const j = this.job;
    this.el.dataset.jobId = j.id;
    this.badge = stateBadge(j.state);
    this.link = h('span', { class: 'link-status', hidden: true });
    this.cancelBtn = h('button', { type: 'button', class: 'btn danger small', onclick: () => this.cancel() }, icon('stop'), h('span', {}, 'Cancel'));
    this.meta = h('p', { class: 'job-meta muted' });
    this.status = h('p', { class: 'job-status', role: 'status' });
    this.bar = h('progress', { class: 'bar', max: 1, value: 0, 'aria-label': 'Overall progress' });
    this.stepBar = h('progress', { class: 'bar step', max: 1, value: 0, 'aria-label': 'Steps of the current node' });
    this.pct = h('span', { class: 'pct' });
    this.detail = h('p', { class: 'progress-detail muted' });
    this.progressBox = h('div', { class: 'progress' }, h('div', { class: 'bar-row' }, this.bar, this.pct), this.stepBar, this.detail);
    this.preview = h('img', { class: 'preview', alt: 'Live preview', hidden: true });
    this.outputsEl = h('div', { class: 'outputs' });
    this.errorEl = h('div', { class: 'job-error', role: 'alert', hidden: true });
    this.deliveries?.dispose();
    this.deliveries = new DeliveriesBox(j.id);
    const title = h(this.headingLevel, { class: 'job-title' }, 'Job ', h('code', { title: j.id }, shortID(j.id)));
    replace(this.el,
      h('header', { class: 'job-head' }, title, this.badge, this.link, h('span', { class: 'spacer' }),
        this.linkToPage ? h('a', { class: 'btn ghost small', href: `#/jobs/${encodeURIComponent(j.id)}` }, 'Details') : null,
        this.cancelBtn),
      this.meta, this.status, this.progressBox, this.preview, this.outputsEl, this.errorEl, this.deliveries.el,
      j.params ? h('details', { class: 'params' }, h('summary', {}, 'Parameters'), h('pre', {}, JSON.stringify(j.params, null, 2))) : null);
  }

  #follow() {
    this.stream = openStream(jobPath(this.job.id, 'events'), {
      onEvent: (ev) => this.#apply(ev),
      onStatus: (s, err) => {
        this.link.hidden = false;
        this.link.className = `link-status ${s}`;
        this.link.textContent = LINK_TEXT[s] ?? s;
        if (err) this.link.title = err.message;
      },
    });
    this.ticker = setInterval(() => this.#renderMeta(), 1000);
  }

  #apply(ev) {
    const j = this.job, d = ev.data ?? {};
    switch (ev.type) {
      case 'queued': case 'position':
        j.state = 'queued'; j.queue_position = d.position; break;
      case 'dispatched':
        j.state = 'dispatched'; j.backend = d.backend; j.attempts = d.attempt; j.queue_position = undefined; break;
      case 'started':
        j.state = 'running'; j.backend = d.backend; j.attempts = d.attempt; j.started_at ??= ev.time; break;
      case 'node':
        j.progress = { ...(j.progress ?? {}), node: d.node, node_type: d.node_type, value: 0, max: 0 }; break;
      case 'progress':
        j.progress = d; break;
      case 'preview': {
        const src = previewSrc(d);
        if (src) { this.preview.src = src; this.previews++; this.el.dataset.previews = this.previews; }
        return;
      }
      case 'output':
        this.#addOutput(d); return;
      case 'retrying':
        j.state = 'retrying'; j.retryReason = d.reason; j.progress = null; break;
      case 'succeeded': case 'failed': case 'cancelled':
        this.#stop();
        if (d && d.id === j.id) this.job = d; else j.state = ev.type;
        if (this.job.webhook) this.deliveries.load(); // the message was stored with the end
        break;
      default:
        return;
    }
    this.#render();
  }

  #addOutput(o) {
    const key = outputKey(o);
    if (this.outputs.has(key)) return;
    const fig = outputFigure(o, this.outputs.size, this.media);
    this.outputs.set(key, fig);
    this.outputsEl.append(fig);
    this.preview.hidden = true;
  }

  #render() {
    const j = this.job;
    const done = TERMINAL.has(j.state);
    this.el.dataset.jobState = j.state;
    const badge = stateBadge(j.state);
    this.badge.replaceWith(badge);
    this.badge = badge;
    this.cancelBtn.hidden = done;
    this.cancelBtn.disabled = !!j.cancel_requested;
    this.status.textContent = this.#statusText();
    const p = j.progress;
    const fraction = j.state === 'succeeded' ? 1 : Math.min(1, Math.max(0, p?.fraction ?? 0));
    this.progressBox.hidden = !(j.state === 'running' || (done && p));
    this.bar.value = fraction;
    this.pct.textContent = `${Math.round(fraction * 100)}%`;
    this.stepBar.hidden = !(p?.max > 0) || done;
    this.stepBar.value = p?.max > 0 ? p.value / p.max : 0;
    this.detail.textContent = done ? '' : progressText(p);
    this.preview.hidden = done || !this.preview.src || this.outputs.size > 0;
    for (const o of j.outputs ?? []) this.#addOutput(o);
    this.errorEl.hidden = !j.error;
    if (j.error) replace(this.errorEl, errorReport(j.error));
    this.#renderMeta();
  }

  #statusText() {
    const j = this.job;
    switch (j.state) {
      case 'queued': return positionText(j.queue_position);
      case 'dispatched': return `Sent to ${j.backend || 'a backend'}, waiting for it to start`;
      case 'running': return j.cancel_requested ? 'Cancelling…' : `Running on ${j.backend || 'a backend'}`;
      case 'retrying': return `Retrying: ${j.retryReason || 'the last attempt failed'}`;
      case 'succeeded': return `Done: ${(j.outputs ?? []).length} output${(j.outputs ?? []).length === 1 ? '' : 's'}`;
      case 'failed': return j.attempts > 1 ? `Failed after ${j.attempts} attempts` : 'Failed';
      case 'cancelled': return 'Cancelled';
      default: return j.state;
    }
  }

  #renderMeta() {
    const j = this.job;
    const parts = [j.workflow, j.backend, j.attempts > 1 ? `attempt ${j.attempts}` : '', timings(j)].filter(Boolean);
    replace(this.meta, h('time', { datetime: j.created_at, title: fmtTime(j.created_at) }, fmtAgo(j.created_at)),
      parts.length ? ' · ' + parts.join(' · ') : '');
  }

  /** cancel asks the API to cancel; the stream then says when it is. */
  async cancel() {
    this.cancelBtn.disabled = true;
    let j;
    try {
      j = await request(jobPath(this.job.id, 'cancel'), { method: 'POST' });
    } catch (err) {
      this.status.textContent = `Cannot cancel: ${err.message}`;
      this.cancelBtn.disabled = false;
      return;
    }
    // The answer may come after the stream's terminal event: never let
    // it take the job back from its end.
    if (j?.id !== this.job.id || TERMINAL.has(this.job.state)) return;
    if (TERMINAL.has(j.state)) {
      this.#stop();
      this.job = j;
    } else {
      this.job.cancel_requested = true;
    }
    this.#render();
  }

  #stop() {
    this.stream?.close();
    this.stream = null;
    clearInterval(this.ticker);
    if (this.link) this.link.hidden = true;
  }

  dispose() {
    this.#stop();
    this.media.dispose();
    this.deliveries?.dispose();
  }
}

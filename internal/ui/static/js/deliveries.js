// The webhook deliveries of one job: each message (job.succeeded, …) with
// every attempt at it, and a button that sends it again with the same
// webhook-id. Hidden while the job has no webhook message. While a message
// is pending, the box reads the deliveries again when its next try is due
// (between 1 and 30 s), so an open page follows the retries.

import { h, fmtTime, replace } from './dom.js';
import { request, jobPath } from './api.js';

export class DeliveriesBox {
  constructor(jobID) {
    this.jobID = jobID;
    this.el = h('details', { class: 'deliveries params', hidden: true });
    this.note = h('p', { class: 'muted', role: 'status' });
  }

  /** load reads the job's deliveries; a failure shows in the box. */
  async load() {
    clearTimeout(this.timer);
    try {
      const d = await request(jobPath(this.jobID, 'deliveries'));
      if (!this.disposed) this.#render(d.deliveries ?? []);
    } catch (err) {
      this.note.textContent = `Cannot load the webhook deliveries: ${err.message}`;
    }
  }

  /** dispose stops following the retries (the page left the job). */
  dispose() {
    this.disposed = true;
    clearTimeout(this.timer);
  }

  /** #followPending reads again when the first pending message's next try is due. */
  #followPending(list) {
    clearTimeout(this.timer);
    const due = list.filter((m) => m.state === 'pending')
      .map((m) => (m.next_attempt_at ? Date.parse(m.next_attempt_at) : Date.now()));
    if (due.length === 0 || this.disposed) return;
    const wait = Math.min(Math.max(Math.min(...due) - Date.now() + 250, 1000), 30000);
    this.timer = setTimeout(() => this.load(), wait);
  }

  #render(list) {
    this.#followPending(list);
    this.el.hidden = list.length === 0;
    replace(this.el,
      h('summary', {}, `Webhook deliveries (${list.length})`),
      h('button', { type: 'button', class: 'btn ghost small', onclick: () => this.load() }, 'Refresh'),
      this.note,
      h('ul', { class: 'delivery-list' }, list.map((m) => this.#item(m))));
  }

  #item(m) {
    return h('li', { class: 'delivery', 'data-id': m.id, 'data-state': m.state },
      h('p', {},
        h('code', {}, m.type), ` ${m.state} · `, h('code', { title: 'webhook-id' }, m.id), ' ',
        h('button', { type: 'button', class: 'btn ghost small redeliver', onclick: () => this.redeliver(m.id) }, 'Redeliver')),
      h('ol', { class: 'attempts' }, (m.attempts ?? []).map((a) => h('li', { 'data-status': a.status_code ?? 0 },
        `${fmtTime(a.at)}: ${a.status_code ? `answered ${a.status_code}` : a.error} in ${a.duration_ms.toFixed(1)} ms`,
        a.next_attempt_at ? `; next try ${fmtTime(a.next_attempt_at)}` : ''))));
  }

  /** redeliver sends message id again and shows the deliveries after. */
  async redeliver(id) {
    try {
      const d = await request(jobPath(this.jobID, 'deliveries/redeliver'), { method: 'POST', json: { message_id: id } });
      if (!this.disposed) this.#render(d.deliveries ?? []);
      this.note.textContent = 'Queued for delivery again.';
    } catch (err) {
      this.note.textContent = `Cannot redeliver: ${err.message}`;
    }
  }
}

// The webhook deliveries of one job: each message (job.succeeded, …) with
// every attempt at it, and a button that sends it again with the same
// webhook-id. Hidden while the job has no webhook message.

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
    try {
      const d = await request(jobPath(this.jobID, 'deliveries'));
      this.#render(d.deliveries ?? []);
    } catch (err) {
      this.note.textContent = `Cannot load the webhook deliveries: ${err.message}`;
    }
  }

  #render(list) {
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
      this.#render(d.deliveries ?? []);
      this.note.textContent = 'Queued for delivery again.';
    } catch (err) {
      this.note.textContent = `Cannot redeliver: ${err.message}`;
    }
  }
}

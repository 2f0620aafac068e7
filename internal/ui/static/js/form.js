// The run form of one workflow: its parameter fields, priority, and the
// Run button. It checks what it can before sending, and puts the API's
// own complaints (error.field "params.<name>") next to the field named.

import { h, icon } from './dom.js';
import { makeField, specsOf } from './fields.js';
import { loadJSON, saveJSON } from './prefs.js';

/** ParamForm is the form; onSubmit(body) does the POST and may throw. */
export class ParamForm {
  constructor(wf, { models = {}, onSubmit }) {
    this.wf = wf;
    this.onSubmit = onSubmit;
    this.busyUploads = 0;
    const ctx = { models, onBusy: (b) => { this.busyUploads += b ? 1 : -1; this.#sync(); } };
    this.fields = specsOf(wf).map((s) => makeField(s, ctx));
    this.seed = this.fields.find((f) => f.randomize);
    this.#build();
    this.#restore();
  }

  #build() {
    this.error = h('div', { class: 'form-error', role: 'alert', hidden: true });
    this.runBtn = h('button', { type: 'submit', class: 'btn primary', id: 'run' }, icon('play'), h('span', {}, 'Run'));
    this.priority = h('input', { type: 'number', id: 'priority', min: -100, max: 100, step: 1, value: '0', inputmode: 'numeric' });
    this.reseed = this.seed ? h('input', { type: 'checkbox', id: 'reseed', checked: loadJSON('reseed', false),
      onchange: () => saveJSON('reseed', this.reseed.checked) }) : null;
    const advanced = h('details', { class: 'advanced' }, h('summary', {}, 'Advanced'),
      h('div', { class: 'field' }, h('label', { for: 'priority' }, 'Priority'), this.priority,
        h('p', { class: 'hint' }, 'Higher runs first, from -100 to 100.')));
    this.el = h('form', { class: 'param-form', novalidate: true, 'aria-label': `Parameters of ${this.wf.name}`,
      onsubmit: (e) => { e.preventDefault(); this.submit(); },
      onkeydown: (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); this.submit(); } } },
    this.fields.length ? this.fields.map((f) => f.el) : h('p', { class: 'muted' }, 'This workflow has no parameters.'),
    advanced, this.error,
    h('div', { class: 'actions' }, this.runBtn,
      h('button', { type: 'button', class: 'btn ghost', title: 'Reset every field to its default', onclick: () => this.reset() }, icon('reset'), h('span', {}, 'Defaults')),
      this.reseed ? h('label', { class: 'inline-check' }, this.reseed, 'New seed after each run') : null,
      h('span', { class: 'kbd-hint muted' }, 'Ctrl+Enter runs')));
  }

  #sync() {
    this.runBtn.disabled = this.sending || this.busyUploads > 0;
    this.runBtn.lastChild.textContent = this.sending ? 'Queuing…' : 'Run';
  }

  /** collect reads every field; null (with errors shown) if one is bad. */
  collect() {
    this.clearErrors();
    const params = {};
    let bad = null;
    for (const f of this.fields) {
      const { value, error } = f.read();
      if (error) { f.setError(error); bad ??= f; continue; }
      if (value !== undefined) params[f.spec.name] = value;
    }
    const prio = Number(this.priority.value || 0);
    if (!Number.isInteger(prio) || prio < -100 || prio > 100) {
      this.showError('Priority must be a whole number from -100 to 100.');
      return null;
    }
    if (bad) { bad.control.focus(); return null; }
    return { workflow: this.wf.name, params, ...(prio ? { priority: prio } : {}) };
  }

  async submit() {
    if (this.sending || this.busyUploads > 0) return;
    const body = this.collect();
    if (!body) return;
    this.sending = true;
    this.#sync();
    try {
      await this.onSubmit(body);
      this.#remember();
      if (this.reseed?.checked) this.seed.randomize();
    } catch (err) {
      this.showAPIError(err);
    } finally {
      this.sending = false;
      this.#sync();
    }
  }

  /** showAPIError puts err next to the field it names, else above Run. */
  showAPIError(err) {
    const name = (err.field ?? '').replace(/^params\./, '');
    const f = this.fields.find((x) => x.spec.name === name);
    if (f) { f.setError(err.message); f.control.focus(); return; }
    const where = err.field && err.field !== 'params' ? `${err.field}: ` : '';
    this.showError(where + err.message + (err.requestID ? ` (request ${err.requestID})` : ''));
  }

  showError(msg) {
    this.error.textContent = msg;
    this.error.hidden = !msg;
  }

  clearErrors() {
    this.showError('');
    for (const f of this.fields) f.setError('');
  }

  reset() {
    for (const f of this.fields) f.reset();
    this.priority.value = '0';
    this.clearErrors();
    saveJSON(this.#memoryKey(), null);
  }

  #memoryKey() { return `params.${this.wf.name}`; }

  // The last values sent are kept per workflow, as a demanding user would
  // expect after a reload; Defaults forgets them.
  #remember() {
    const raw = {};
    for (const f of this.fields) raw[f.spec.name] = f.raw();
    saveJSON(this.#memoryKey(), { version: this.wf.version, raw });
  }

  #restore() {
    const saved = loadJSON(this.#memoryKey(), null);
    if (!saved?.raw) return;
    for (const f of this.fields) if (saved.raw[f.spec.name] !== undefined) f.setRaw(saved.raw[f.spec.name]);
  }
}

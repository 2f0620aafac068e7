// The Run page: the workflows, the form of the chosen one, and the live
// panel of the last job run from here (with the session's earlier ones).

import { h, replace, shortID, clip } from './dom.js';
import { request } from './api.js';
import { ParamForm } from './form.js';
import { JobPanel } from './job.js';

const SESSION_KEY = 'comfygate.sessionJobs';
const SESSION_MAX = 12;

/** mount draws the page into root; it returns the cleanup. */
export function mount(root, { name = '' }, signal) {
  const list = h('nav', { class: 'wf-list card', 'aria-label': 'Workflows' }, h('h2', {}, 'Workflows'), h('p', { class: 'muted' }, 'Loading…'));
  const formBox = h('div', { class: 'run-form card' });
  const panel = new JobPanel({ linkToPage: true });
  const recent = h('div', { class: 'session-jobs' });
  const side = h('div', { class: 'run-side' }, panel.el, recent);
  panel.el.hidden = true;
  replace(root, h('div', { class: 'run-layout' }, list, formBox, side));
  load(name, { list, formBox, panel, recent, signal });
  return () => panel.dispose();
}

async function load(name, ui) {
  let wfs, models = {};
  try {
    const [wl, bl] = await Promise.all([
      request('/v1/workflows', { signal: ui.signal }),
      request('/v1/backends', { signal: ui.signal }).catch(() => null),
    ]);
    wfs = wl.workflows ?? [];
    models = modelsOf(bl?.backends ?? []);
  } catch (err) {
    if (err.name === 'AbortError') return;
    replace(ui.list, h('h2', {}, 'Workflows'), h('p', { class: 'form-error', role: 'alert' }, `Cannot list workflows: ${err.message}`));
    return;
  }
  if (!name && wfs.length) {
    name = wfs[0].name;
    history.replaceState(null, '', `#/run/${encodeURIComponent(name)}`);
  }
  drawList(ui.list, wfs, name);
  const wf = wfs.find((w) => w.name === name);
  drawForm(ui, wf, name, models);
  drawSession(ui);
  const last = sessionJobs()[0];
  if (last && wf && last.workflow === wf.name) {
    ui.panel.el.hidden = false;
    ui.panel.show(last.id);
  }
}

// modelsOf unions the model lists of the backends, by input name
// (ckpt_name → [files]), so text fields can suggest them.
function modelsOf(backends) {
  const out = {};
  for (const b of backends) {
    for (const [input, names] of Object.entries(b.models ?? {})) {
      out[input] = [...new Set([...(out[input] ?? []), ...names])].sort();
    }
  }
  return out;
}

function drawList(list, wfs, current) {
  const items = wfs.map((w) => h('li', {},
    h('a', { href: `#/run/${encodeURIComponent(w.name)}`, dataset: { workflow: w.name }, 'aria-current': w.name === current ? 'page' : null },
      h('span', { class: 'wf-name' }, w.name),
      w.description ? h('span', { class: 'wf-desc muted' }, clip(w.description, 90)) : null)));
  replace(list, h('h2', {}, 'Workflows'), wfs.length ? h('ul', {}, items)
    : h('p', { class: 'muted' }, 'No workflows yet. Store one with PUT /v1/workflows/{name} (a ComfyUI graph, API or UI format), then reload.'));
}

function drawForm(ui, wf, name, models) {
  if (!wf) {
    replace(ui.formBox, name ? h('p', { class: 'form-error', role: 'alert' }, `There is no workflow named “${name}”.`)
      : h('p', { class: 'muted' }, 'Pick a workflow.'));
    return;
  }
  document.title = `${wf.name} · comfygate`;
  const form = new ParamForm(wf, {
    models,
    onSubmit: async (body) => {
      const job = await request('/v1/jobs', { method: 'POST', json: body });
      remember(job);
      ui.panel.el.hidden = false;
      await ui.panel.show(job);
      drawSession(ui);
      reveal(ui.panel.el);
    },
  });
  replace(ui.formBox,
    h('header', { class: 'form-head' }, h('h1', {}, wf.name),
      wf.version ? h('code', { class: 'muted', title: 'Workflow version (content hash)' }, shortID(wf.version)) : null),
    wf.description ? h('p', { class: 'muted wf-description' }, wf.description) : null,
    form.el);
}

// reveal brings the job's panel into view when its head is not: below
// the form on one-column screens, above the view when the person scrolled
// down a long form to Run on wide ones.
function reveal(el) {
  const r = el.getBoundingClientRect();
  const bar = document.querySelector('.topbar')?.getBoundingClientRect().bottom ?? 0;
  if (r.top >= bar && r.top + Math.min(r.height, 120) <= innerHeight) return;
  el.scrollIntoView({ block: 'start', behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
}

function sessionJobs() {
  try { return JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? '[]'); } catch { return []; }
}

function remember(job) {
  const jobs = [{ id: job.id, workflow: job.workflow, at: job.created_at }, ...sessionJobs().filter((j) => j.id !== job.id)];
  try { sessionStorage.setItem(SESSION_KEY, JSON.stringify(jobs.slice(0, SESSION_MAX))); } catch { /* not kept */ }
}

function drawSession(ui) {
  const jobs = sessionJobs().slice(1);
  replace(ui.recent, jobs.length ? [h('h2', { class: 'small-heading' }, 'Earlier this session'),
    h('ul', { class: 'plain-list' }, jobs.map((j) => h('li', {},
      h('a', { href: `#/jobs/${encodeURIComponent(j.id)}` }, h('code', {}, shortID(j.id))), ` ${j.workflow ?? ''}`)))] : []);
}

// Queue and fleet: the jobs waiting or running, with their positions and
// progress, and the backends, refreshed every two seconds while the page
// is visible (a hidden tab asks nothing).

import { h, replace, fmtAgo, shortID } from './dom.js';
import { request, query } from './api.js';
import { stateBadge } from './jobparts.js';
import { backendCards } from './fleet.js';

const EVERY = 2000;
const ACTIVE = ['queued', 'dispatched', 'running', 'retrying'];
const LIMIT = 200;

/** mount draws the page into root and keeps it fresh; it returns the cleanup. */
export function mount(root, _params, signal) {
  document.title = 'Queue & fleet · comfygate';
  const summary = h('p', { class: 'summary', role: 'status' }, 'Loading…');
  const jobsBox = h('div', { class: 'queue-jobs' });
  const fleetBox = h('div', { class: 'fleet-box' });
  const updated = h('span', { class: 'muted small' });
  replace(root, h('section', { class: 'queue-page' },
    h('header', { class: 'page-head' }, h('h1', {}, 'Queue & fleet'), updated),
    summary,
    h('section', { class: 'card', 'aria-labelledby': 'q-h' }, h('h2', { id: 'q-h' }, 'Jobs in flight'), jobsBox),
    h('section', { 'aria-labelledby': 'f-h' }, h('h2', { id: 'f-h' }, 'Backends'), fleetBox)));

  let timer = 0;
  const tick = async () => {
    clearTimeout(timer);
    if (signal.aborted) return;
    if (!document.hidden) await refresh({ summary, jobsBox, fleetBox, updated, signal });
    if (!signal.aborted) timer = setTimeout(tick, EVERY);
  };
  const onVisible = () => { if (!document.hidden) tick(); };
  document.addEventListener('visibilitychange', onVisible);
  tick();
  return () => { clearTimeout(timer); document.removeEventListener('visibilitychange', onVisible); };
}

async function refresh({ summary, jobsBox, fleetBox, updated, signal }) {
  try {
    const [jl, bl] = await Promise.all([
      request('/v1/jobs' + query({ state: ACTIVE.join(','), limit: LIMIT }), { signal }),
      request('/v1/backends', { signal }),
    ]);
    const jobs = sortJobs(jl.jobs ?? []);
    const backends = bl.backends ?? [];
    replace(jobsBox, jobTable(jobs, !!jl.next_cursor));
    replace(fleetBox, backendCards(backends));
    replace(summary, summaryText(jobs, backends));
    updated.textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    if (err.name === 'AbortError') return;
    summary.textContent = `Cannot refresh: ${err.message}`;
  }
}

// sortJobs puts running work first, then the queue in its order.
function sortJobs(jobs) {
  const rank = (j) => (j.state === 'queued' ? 1 : 0);
  return jobs.sort((a, b) => rank(a) - rank(b)
    || (a.queue_position ?? 0) - (b.queue_position ?? 0)
    || Date.parse(a.created_at) - Date.parse(b.created_at));
}

function summaryText(jobs, backends) {
  const n = (s) => jobs.filter((j) => j.state === s).length;
  const healthy = backends.filter((b) => b.state === 'healthy').length;
  return [
    h('strong', {}, String(n('queued'))), ' queued · ',
    h('strong', {}, String(jobs.length - n('queued'))), ' running or starting · ',
    h('strong', {}, `${healthy}/${backends.length}`), ' backends healthy',
  ];
}

function jobTable(jobs, truncated) {
  if (!jobs.length) return h('p', { class: 'muted' }, 'Nothing queued or running.');
  const rows = jobs.map((j) => {
    const p = j.progress;
    const frac = Math.min(1, Math.max(0, p?.fraction ?? 0));
    return h('tr', { dataset: { jobId: j.id, state: j.state } },
      h('td', {}, h('a', { href: `#/jobs/${encodeURIComponent(j.id)}` }, h('code', { title: j.id }, shortID(j.id)))),
      h('td', {}, j.workflow || '—'),
      h('td', {}, stateBadge(j.state)),
      h('td', { class: 'num' }, Number.isInteger(j.queue_position) ? String(j.queue_position + 1) : '—'),
      h('td', {}, j.backend || '—'),
      h('td', {}, j.state === 'running'
        ? h('span', { class: 'mini-progress' }, h('progress', { class: 'bar thin', max: 1, value: frac, 'aria-label': 'Progress' }), ` ${Math.round(frac * 100)}%`)
        : '—'),
      h('td', { class: 'muted' }, fmtAgo(j.created_at)));
  });
  return [
    h('div', { class: 'table-wrap' }, h('table', { class: 'jobs-table' },
      h('thead', {}, h('tr', {}, ['Job', 'Workflow', 'State', 'Position', 'Backend', 'Progress', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows))),
    truncated ? h('p', { class: 'muted small' }, `Showing the newest ${LIMIT}.`) : null,
  ];
}

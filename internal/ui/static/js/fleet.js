// The fleet: one card per backend with its health, load, counters and
// devices. Pure drawing; queue.js fetches and refreshes.

import { h, fmtBytes, shortID } from './dom.js';

const HEALTH = { healthy: 'ok', degraded: 'warn', down: 'err', draining: 'warn' };

/** backendCards draws the backends as a grid of cards. */
export function backendCards(backends) {
  if (!backends.length) {
    return h('p', { class: 'muted' }, 'No backends. Add ComfyUI servers with --backend, or start simulators with --sim.');
  }
  return h('ul', { class: 'fleet' }, backends.map(card));
}

function card(b) {
  const running = b.running ?? [], pre = b.prefetched ?? [];
  return h('li', { class: 'backend card', dataset: { backend: b.id } },
    h('header', { class: 'backend-head' },
      h('h3', {}, b.id),
      h('span', { class: `badge health-${HEALTH[b.state] ?? 'unknown'}` }, b.state || 'unknown')),
    h('p', { class: 'muted backend-url', title: b.url }, b.url),
    h('p', { class: 'muted backend-info' }, [b.version ? `ComfyUI ${b.version}` : '',
      Number.isFinite(b.latency_ms) ? `${b.latency_ms.toFixed(1)} ms probe` : '',
      b.node_count ? `${b.node_count} node types` : ''].filter(Boolean).join(' · ')),
    h('dl', { class: 'stats' },
      stat('Running', running.length), stat('Prefetched', pre.length),
      stat('Done', b.jobs_done ?? 0), stat('Failed', b.jobs_failed ?? 0)),
    running.length || pre.length ? h('p', { class: 'backend-jobs' },
      [...running.map((id) => jobLink(id, 'running')), ...pre.map((id) => jobLink(id, 'prefetched'))]) : null,
    (b.devices ?? []).map(device),
    b.last_error ? h('p', { class: 'backend-error', title: b.last_error_at ?? '' },
      b.last_error_at ? `${b.last_error} (${new Date(b.last_error_at).toLocaleString()})` : b.last_error) : null);
}

function stat(label, value) {
  return h('div', {}, h('dt', {}, label), h('dd', {}, String(value)));
}

function jobLink(id, kind) {
  return h('a', { class: `chip ${kind}`, href: `#/jobs/${encodeURIComponent(id)}`, title: `${kind}: ${id}` }, shortID(id));
}

function device(d) {
  const total = d.vram_total ?? 0, free = d.vram_free ?? 0;
  const used = Math.max(0, total - free);
  return h('div', { class: 'device' },
    h('p', {}, h('span', {}, d.name || 'device'), d.type && d.type !== d.name ? h('span', { class: 'muted' }, ` (${d.type})`) : null),
    total > 0 ? h('div', { class: 'vram' },
      h('progress', { class: 'bar thin', max: total, value: used, 'aria-label': `${d.name} memory used` }),
      h('span', { class: 'muted' }, `${d.type === 'cpu' ? 'RAM' : 'VRAM'}: ${fmtBytes(used)} of ${fmtBytes(total)} used`)) : null);
}

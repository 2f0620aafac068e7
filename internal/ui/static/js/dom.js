// DOM building without markup strings: every text from the API goes in
// through text nodes or attribute values, never through an HTML parser
// (the page's CSP enforces Trusted Types, so innerHTML would throw anyway).

/**
 * h creates an element. props: class, dataset, on<event> handlers, value,
 * checked, and any other attribute (true → present, false/null → absent).
 * Children may be nodes, strings (as text), arrays, or null (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked') el[k] = v;
    else if (k.startsWith('on')) throw new Error(`inline handler ${k} refused`);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/** append adds children (nodes, strings, arrays, null) to el. */
export function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** replace swaps el's children for the given ones. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

// Icons as path data: each entry is [d, filled]. Drawn as DOM, not markup.
const ICONS = {
  dice: [['M5 3h14a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z', false],
    [dot(8, 8) + dot(16, 8) + dot(12, 12) + dot(8, 16) + dot(16, 16), true]],
  play: [['M7 5l12 7-12 7z', true]],
  stop: [['M6 6h12v12H6z', true]],
  reset: [['M4 4v6h6M4.5 15a8 8 0 1 0 2-8.5L4 10', false]],
  external: [['M14 4h6v6M20 4l-9 9M18 14v6H4V6h6', false]],
  download: [['M12 4v12M7 11l5 5 5-5M4 20h16', false]],
};

function dot(x, y) {
  return `M${x - 1.4} ${y}a1.4 1.4 0 1 0 2.8 0a1.4 1.4 0 1 0-2.8 0`;
}

/** icon draws one of the few icons the UI uses (decorative: aria-hidden). */
export function icon(name) {
  const ns = 'http://www.w3.org/2000/svg'; // an XML namespace name, never fetched
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', `icon icon-${name}`);
  for (const [d, filled] of ICONS[name] ?? []) {
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    if (filled) p.setAttribute('class', 'filled');
    svg.append(p);
  }
  return svg;
}

/** fmtBytes gives a size in B, KiB, MiB or GiB. */
export function fmtBytes(n) {
  if (!Number.isFinite(n) || n < 0) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i === 0 || n >= 100 ? 0 : 1)} ${units[i]}`;
}

/** fmtDuration gives milliseconds as "850 ms", "12.3 s" or "4 min 05 s". */
export function fmtDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000), s = Math.floor((ms % 60_000) / 1000);
  return `${m} min ${String(s).padStart(2, '0')} s`;
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** fmtAgo gives a time as "5 minutes ago". */
export function fmtAgo(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((t - now) / 1000);
  const steps = [[60, 'second'], [60, 'minute'], [24, 'hour'], [7, 'day'], [Infinity, 'week']];
  let v = s;
  for (const [n, unit] of steps) {
    if (Math.abs(v) < n) return rtf.format(v, unit);
    v = Math.round(v / n);
  }
  return '';
}

/** fmtTime gives a full local date and time, for title attributes. */
export function fmtTime(iso) {
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? '' : t.toLocaleString();
}

/** shortID keeps the start of a long id for display. */
export function shortID(id) {
  return typeof id === 'string' && id.length > 12 ? id.slice(0, 8) : String(id ?? '');
}

/** clip shortens text for a caption. */
export function clip(s, n = 120) {
  s = String(s ?? '');
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

// The page's entry point: a hash router over the views (#/run/<workflow>,
// #/jobs/<id>, #/gallery, #/queue, #/settings), the navigation state, and
// the banner that asks for an API key when the server wants one. Each view
// gets an AbortSignal and returns its cleanup, so leaving a page stops its
// streams, timers and downloads.

import { h, replace, shortID } from './dom.js';
import { apiKey, onAPIKeyChange } from './prefs.js';
import { JobPanel } from './job.js';
import * as run from './run.js';
import * as gallery from './gallery.js';
import * as queue from './queue.js';
import * as settings from './settings.js';

const main = document.getElementById('main');
const banner = document.getElementById('banner');

const routes = [
  { re: /^#\/run(?:\/([^/]+))?$/, nav: 'run', mount: (m, s) => run.mount(main, { name: m[1] ? decodeURIComponent(m[1]) : '' }, s) },
  { re: /^#\/jobs\/([^/]+)$/, nav: '', mount: (m) => jobPage(decodeURIComponent(m[1])) },
  { re: /^#\/gallery$/, nav: 'gallery', mount: (_, s) => gallery.mount(main, {}, s) },
  { re: /^#\/queue$/, nav: 'queue', mount: (_, s) => queue.mount(main, {}, s) },
  { re: /^#\/settings$/, nav: 'settings', mount: (_, s) => settings.mount(main, {}, s) },
];

let current = null;
let first = true;

function route() {
  const hash = location.hash || '#/run';
  if (!hash.startsWith('#/')) return; // an in-page anchor, not a route
  let m = null;
  const r = routes.find((x) => (m = x.re.exec(hash)));
  if (!r) { location.replace('#/run'); return; }
  current?.ctl.abort();
  current?.dispose?.();
  const ctl = new AbortController();
  document.title = 'comfygate';
  main.replaceChildren();
  current = { ctl, dispose: r.mount(m, ctl.signal) };
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === r.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // Keyboard and screen reader users land on the new content.
  if (!first) main.focus({ preventScroll: false });
  first = false;
}

function jobPage(id) {
  document.title = `Job ${shortID(id)} · comfygate`;
  const panel = new JobPanel({ headingLevel: 'h1' });
  replace(main, h('div', { class: 'job-page' },
    h('p', {}, h('a', { href: '#/gallery', class: 'back' }, '← Gallery'), ' ', h('a', { href: '#/queue', class: 'back' }, '← Queue')),
    panel.el));
  panel.show(id);
  return () => panel.dispose();
}

function showBanner(show) {
  if (!show) { banner.hidden = true; return; }
  replace(banner, apiKey() ? 'The server refused the API key. ' : 'The server wants an API key. ',
    h('a', { href: '#/settings' }, 'Set it in Settings'), '.');
  banner.hidden = false;
}

function showKeyDot() {
  const dot = document.querySelector('[data-key-dot]');
  if (dot) dot.hidden = !apiKey();
}

window.addEventListener('comfygate:unauthorized', () => showBanner(true));
onAPIKeyChange(() => { showBanner(false); showKeyDot(); });
window.addEventListener('hashchange', route);
document.querySelector('[data-skip]')?.addEventListener('click', (e) => { e.preventDefault(); main.focus(); });
showKeyDot();
route();

// Settings: the API key. It is kept in this browser's localStorage and
// sent as "Authorization: Bearer" on every API call (and, since
// EventSource cannot send headers, event streams are then read with fetch).

import { h, replace } from './dom.js';
import { request } from './api.js';
import { apiKey, setAPIKey } from './prefs.js';

/** mount draws the settings into root. */
export function mount(root) {
  document.title = 'Settings · comfygate';
  const input = h('input', { type: 'password', id: 'api-key', autocomplete: 'off', spellcheck: 'false', value: apiKey(), 'aria-describedby': 'api-key-hint' });
  const show = h('input', { type: 'checkbox', id: 'api-key-show', onchange: () => { input.type = show.checked ? 'text' : 'password'; } });
  const result = h('p', { class: 'check-result', role: 'status' });
  const check = async () => {
    result.textContent = 'Checking…';
    result.className = 'check-result';
    try {
      const bl = await request('/v1/backends');
      result.textContent = `The API answers: ${(bl.backends ?? []).length} backend(s) visible.`;
      result.classList.add('ok');
    } catch (err) {
      result.textContent = err.status === 401 ? `Refused: ${err.message}` : `Cannot check: ${err.message}`;
      result.classList.add('bad');
    }
  };
  const form = h('form', { class: 'settings card', onsubmit: (e) => { e.preventDefault(); setAPIKey(input.value); check(); } },
    h('h1', {}, 'Settings'),
    h('div', { class: 'field' },
      h('label', { for: 'api-key' }, 'API key'),
      input,
      h('label', { class: 'inline-check' }, show, 'Show key'),
      h('p', { class: 'hint', id: 'api-key-hint' },
        'Needed when the server was started with --api-key. It stays in this browser (localStorage) and is sent only to this server. ' +
        'Each key sees only its own jobs and outputs.')),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn primary', id: 'save-key' }, 'Save and check'),
      h('button', { type: 'button', class: 'btn ghost', onclick: () => { input.value = ''; setAPIKey(''); check(); } }, 'Forget key')),
    result);
  replace(root, form);
  return () => {};
}

// Preferences kept in localStorage: the API key and small per-workflow
// memories. Storage may be unavailable (private modes, quotas): every
// access degrades to "nothing stored" rather than breaking the page.

const KEY = 'comfygate.apiKey';
const listeners = new Set();

function read(name) {
  try { return localStorage.getItem(name); } catch { return null; }
}

function write(name, value) {
  try {
    if (value == null || value === '') localStorage.removeItem(name);
    else localStorage.setItem(name, value);
  } catch { /* storage unavailable: keep going without it */ }
}

/** apiKey is the stored API key, '' when none. */
export function apiKey() {
  return read(KEY) ?? '';
}

/** setAPIKey stores (or, when empty, forgets) the key and tells listeners. */
export function setAPIKey(key) {
  write(KEY, key.trim());
  for (const fn of listeners) fn(apiKey());
}

/** onAPIKeyChange calls fn with the new key; it returns an unsubscribe. */
export function onAPIKeyChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** loadJSON reads a stored JSON value, or fallback. */
export function loadJSON(name, fallback) {
  const raw = read('comfygate.' + name);
  if (raw == null) return fallback;
  try { return JSON.parse(raw); } catch { return fallback; }
}

/** saveJSON stores a JSON value (null removes it). */
export function saveJSON(name, value) {
  write('comfygate.' + name, value == null ? null : JSON.stringify(value));
}

// Another tab changing the key applies here too.
window.addEventListener('storage', (e) => {
  if (e.key === KEY) for (const fn of listeners) fn(apiKey());
});

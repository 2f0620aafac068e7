// The REST API client: one place that adds the API key, turns error
// bodies into APIError (with the field the server blames), and encodes
// integers beyond 2^53 exactly.

import { apiKey } from './prefs.js';

/** APIError is a non-2xx answer, with the API's code, field and request id. */
export class APIError extends Error {
  constructor(status, body) {
    const e = body?.error ?? {};
    super(e.message || `the server answered ${status}`);
    this.name = 'APIError';
    this.status = status;
    this.code = e.code ?? '';
    this.field = e.field ?? '';
    this.requestID = e.request_id ?? '';
    this.nodeErrors = e.node_errors ?? null;
  }
}

/** authHeaders returns headers with Authorization added when a key is set. */
export function authHeaders(extra = {}) {
  const key = apiKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : { ...extra };
}

/**
 * request calls the API and returns the decoded JSON answer. opts: method,
 * json (a value to send as JSON), body (sent as is), signal.
 */
export async function request(path, { method = 'GET', json, body, signal } = {}) {
  const init = { method, signal, cache: 'no-store', headers: authHeaders({ Accept: 'application/json' }) };
  if (json !== undefined) {
    init.body = toJSON(json);
    init.headers['Content-Type'] = 'application/json';
  } else if (body !== undefined) {
    init.body = body;
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new APIError(0, { error: { code: 'network', message: `cannot reach the server (${err.message})` } });
  }
  if (!res.ok) throw await errorFrom(res);
  return res.status === 204 ? null : res.json();
}

/** errorFrom reads an error answer; a 401 is also announced to the page. */
export async function errorFrom(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON: keep the status */ }
  const err = new APIError(res.status, body);
  if (res.status === 401) {
    window.dispatchEvent(new CustomEvent('comfygate:unauthorized', { detail: err }));
  }
  return err;
}

/**
 * toJSON is JSON.stringify that writes BigInt values as exact integers
 * (seeds go up to 2^64-1), using JSON.rawJSON where the browser has it.
 */
export function toJSON(value) {
  return JSON.stringify(value, (_, v) => {
    if (typeof v !== 'bigint') return v;
    return typeof JSON.rawJSON === 'function' ? JSON.rawJSON(v.toString()) : Number(v);
  });
}

/** query builds "?a=1&b=2" from an object, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v != null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

/** jobPath is the API path of a job, or of one of its sub-resources. */
export function jobPath(id, sub = '') {
  return `/v1/jobs/${encodeURIComponent(id)}${sub ? '/' + sub : ''}`;
}

/** upload stores a file and returns the API's Upload (id, url, ...). */
export function upload(file, signal) {
  const form = new FormData();
  form.append('file', file, file.name);
  return request('/v1/uploads', { method: 'POST', body: form, signal });
}

/**
 * outputURL is where an output can be downloaded: built from its artifact
 * id, or its url when that stays on this origin. Anything else is refused
 * (null), so an API string can never become a javascript: or foreign link.
 */
export function outputURL(o) {
  if (typeof o?.artifact_id === 'string' && o.artifact_id !== '') {
    return '/v1/artifacts/' + encodeURIComponent(o.artifact_id);
  }
  return sameOrigin(o?.url);
}

/** sameOrigin returns u as a path if it points at this origin, else null. */
export function sameOrigin(u) {
  if (typeof u !== 'string' || u === '') return null;
  try {
    const url = new URL(u, location.href);
    return url.origin === location.origin ? url.pathname + url.search : null;
  } catch {
    return null;
  }
}

// Event streams of the API (GET /v1/jobs/{id}/events). Without an API key
// the browser's EventSource does the work, resuming with Last-Event-ID by
// itself. EventSource cannot send an Authorization header, so with a key
// the stream is read with fetch and a ReadableStream, and resumed the same
// way by hand. Either way a refused or broken stream is reopened with
// backoff from the last event seen, unless the refusal is final (4xx).

import { APIError, authHeaders, errorFrom } from './api.js';
import { apiKey } from './prefs.js';

/** EVENT_TYPES are the job event types the API sends. */
export const EVENT_TYPES = ['queued', 'position', 'dispatched', 'started', 'node', 'progress',
  'preview', 'output', 'retrying', 'succeeded', 'failed', 'cancelled'];

const MIN_DELAY = 1000;
const MAX_DELAY = 15000;

/**
 * openStream follows url. onEvent gets each event (the API's Event
 * object); onStatus gets 'connecting', 'live', 'reconnecting', or 'closed'
 * with the APIError that ended it. Call close() when done (at the latest
 * on the terminal event: the server then ends the stream).
 */
export function openStream(url, { onEvent, onStatus = () => {} }) {
  const ctl = new AbortController();
  let lastID = '';
  let delay = MIN_DELAY;
  const deliver = (data, id) => {
    if (id) lastID = id;
    let ev;
    try { ev = JSON.parse(data); } catch { return; } // not ours: skip
    if (ev && typeof ev.type === 'string') onEvent(ev);
  };
  const status = (s, err) => {
    if (s === 'live') delay = MIN_DELAY;
    if (!ctl.signal.aborted) onStatus(s, err);
  };
  (async () => {
    status('connecting');
    while (!ctl.signal.aborted) {
      const target = lastID ? withParam(url, 'last_event_id', lastID) : url;
      const read = apiKey() ? readFetch : readNative;
      const err = await read(target, lastID, deliver, status, ctl.signal);
      if (ctl.signal.aborted) return;
      if (err && !retryable(err)) { status('closed', err); return; }
      status('reconnecting');
      await sleep(delay, ctl.signal);
      delay = Math.min(delay * 2, MAX_DELAY);
    }
  })();
  return { close: () => ctl.abort() };
}

function retryable(err) {
  return err.status === 0 || err.status === 429 || err.status >= 500;
}

function withParam(url, k, v) {
  const u = new URL(url, location.href);
  u.searchParams.set(k, v);
  return u.pathname + u.search;
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

// readNative resolves when the EventSource gives up (with why) or on abort.
function readNative(url, _lastID, deliver, status, signal) {
  return new Promise((resolve) => {
    const es = new EventSource(url);
    const finish = (err) => {
      es.close();
      signal.removeEventListener('abort', onAbort);
      resolve(err);
    };
    const onAbort = () => finish(null);
    signal.addEventListener('abort', onAbort);
    const handler = (m) => deliver(m.data, m.lastEventId);
    for (const t of EVENT_TYPES) es.addEventListener(t, handler);
    es.onopen = () => status('live');
    es.onerror = () => {
      if (es.readyState === EventSource.CONNECTING) { status('reconnecting'); return; }
      es.close();
      whyRefused(url, signal).then(finish);
    };
  });
}

// whyRefused asks once with fetch, since EventSource hides the answer.
async function whyRefused(url, signal) {
  const ctl = new AbortController();
  signal.addEventListener('abort', () => ctl.abort(), { once: true });
  try {
    const res = await fetch(url, { headers: authHeaders({ Accept: 'text/event-stream' }), signal: ctl.signal });
    if (!res.ok) return await errorFrom(res);
    return new APIError(0, { error: { code: 'network', message: 'the event stream was interrupted' } });
  } catch (err) {
    return new APIError(0, { error: { code: 'network', message: `cannot reach the server (${err.message})` } });
  } finally {
    ctl.abort();
  }
}

// readFetch reads one connection; null means it ended (resume it).
async function readFetch(url, lastID, deliver, status, signal) {
  const headers = authHeaders({ Accept: 'text/event-stream' });
  if (lastID) headers['Last-Event-ID'] = lastID;
  let res;
  try {
    res = await fetch(url, { headers, cache: 'no-store', signal });
  } catch (err) {
    return signal.aborted ? null : new APIError(0, { error: { code: 'network', message: err.message } });
  }
  if (!res.ok) return errorFrom(res);
  status('live');
  try {
    await parseSSE(res.body, deliver);
  } catch (err) {
    if (signal.aborted) return null;
    return new APIError(0, { error: { code: 'network', message: `the event stream broke (${err.message})` } });
  }
  return null;
}

/**
 * parseSSE reads a text/event-stream body and calls deliver(data, lastID)
 * for each event, as the HTML standard's parsing rules say.
 */
export async function parseSSE(body, deliver) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const st = { data: [], lastID: '' };
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    buf += done ? '' : value;
    let i;
    while ((i = buf.search(/[\r\n]/)) >= 0) {
      // A CR last in a chunk may be half of a CRLF: wait for the next one.
      if (buf[i] === '\r' && i === buf.length - 1 && !done) break;
      const line = buf.slice(0, i);
      buf = buf.slice(buf[i] === '\r' && buf[i + 1] === '\n' ? i + 2 : i + 1);
      sseLine(line, st, deliver);
    }
    if (done) return; // an unfinished line or event is dropped, as the standard says
  }
}

function sseLine(line, st, deliver) {
  if (line === '') {
    if (st.data.length) deliver(st.data.join('\n'), st.lastID);
    st.data = [];
    return;
  }
  if (line.startsWith(':')) return;
  const colon = line.indexOf(':');
  const field = colon < 0 ? line : line.slice(0, colon);
  let value = colon < 0 ? '' : line.slice(colon + 1);
  if (value.startsWith(' ')) value = value.slice(1);
  if (field === 'data') st.data.push(value);
  else if (field === 'id' && !value.includes('\0')) st.lastID = value;
}

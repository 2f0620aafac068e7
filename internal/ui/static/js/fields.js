// One form control per workflow parameter, chosen from its JSON Schema:
// strings → textarea (prompts) or text input, integer/number → number
// input with bounds (and a dice for seeds), enum → select, boolean →
// checkbox, image → a file picker that uploads at once. Every field has
// the same small interface (see base), so the form needs no type switch.

import { h, icon } from './dom.js';
import { upload } from './api.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** specsOf lists a workflow's parameters in the workflow's own order. */
export function specsOf(wf) {
  const props = wf.schema?.properties ?? {};
  const names = (wf.params ?? []).map((p) => p.name);
  for (const n of Object.keys(props)) if (!names.includes(n)) names.push(n);
  return names.map((name) => {
    const p = (wf.params ?? []).find((x) => x.name === name) ?? {};
    const s = props[name] ?? {};
    const image = p.type === 'image' || s.format === 'image';
    return {
      name, type: image ? 'image' : (s.type ?? p.type ?? 'string'),
      default: s.default ?? p.default, min: s.minimum ?? p.minimum, max: s.maximum ?? p.maximum,
      step: p.step ?? s.multipleOf, enum: s.enum ?? p.enum, description: s.description ?? p.description ?? '',
      input: String(p.target ?? '').split('.').pop(),
    };
  });
}

/** makeField builds the control for spec; ctx.models maps input → names. */
export function makeField(spec, ctx = {}) {
  if (Array.isArray(spec.enum) && spec.enum.length) return enumField(spec);
  switch (spec.type) {
    case 'boolean': return boolField(spec);
    case 'integer': case 'number': return numberField(spec);
    case 'image': return imageField(spec, ctx);
    default: return textField(spec, ctx);
  }
}

const ACRONYMS = new Set(['cfg', 'vae', 'id', 'url', 'clip', 'lora', 'fps', 'ip']);

function label(name) {
  const words = name.replace(/[_-]+/g, ' ').trim().split(/\s+/)
    .map((w) => (ACRONYMS.has(w.toLowerCase()) ? w.toUpperCase() : w));
  const s = words.join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// base wraps a control with its label, hint and error slot, and gives the
// field its interface: read() → {value, error}; raw()/setRaw() for
// remembering; reset(); setError(msg).
function base(spec, control, { read, raw, setRaw, extra = null }) {
  const id = `param-${spec.name}`;
  control.id ||= id;
  const hint = spec.description ? h('p', { class: 'hint', id: `${id}-hint` }, spec.description) : null;
  const error = h('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  control.setAttribute('aria-describedby', [hint?.id, error.id].filter(Boolean).join(' '));
  const short = control.type === 'text' && String(spec.default ?? '').length < 24 && !control.getAttribute('list');
  const longChoice = (spec.enum ?? []).some((v) => String(v).length > 22);
  const wide = control.tagName === 'TEXTAREA' || spec.type === 'image' || longChoice
    || (spec.type === 'string' && !short && !spec.enum);
  const el = h('div', { class: `field field-${spec.type}${wide ? ' wide' : ''}`, dataset: { field: spec.name } },
    h('label', { for: control.id, title: spec.name }, label(spec.name)),
    extra ? h('div', { class: 'control-row' }, control, extra) : control, hint, error);
  const f = {
    spec, el, control, read, raw, setRaw,
    reset: () => setRaw(undefined),
    setError(msg) {
      error.textContent = msg ?? '';
      error.hidden = !msg;
      control.toggleAttribute('aria-invalid', !!msg);
      el.classList.toggle('invalid', !!msg);
    },
  };
  f.reset();
  return f;
}

function textField(spec, ctx) {
  const def = spec.default == null ? '' : String(spec.default);
  const long = /prompt|text|caption|positive|negative/i.test(spec.name) || def.length > 60 || def.includes('\n');
  const choices = ctx.models?.[spec.input];
  const control = long
    ? h('textarea', { name: spec.name, rows: /negative/i.test(spec.name) ? 2 : 4, spellcheck: 'true' })
    : h('input', { type: 'text', name: spec.name, autocomplete: 'off', list: choices?.length ? `list-${spec.name}` : null });
  const list = !long && choices?.length
    ? h('datalist', { id: `list-${spec.name}` }, choices.map((c) => h('option', { value: c }))) : null;
  return base(spec, control, {
    extra: list,
    read: () => ({ value: control.value }),
    raw: () => control.value,
    setRaw: (v) => { control.value = v ?? def; },
  });
}

function enumField(spec) {
  const control = h('select', { name: spec.name },
    spec.enum.map((v, i) => h('option', { value: String(i) }, String(v))));
  const indexOf = (v) => Math.max(0, spec.enum.findIndex((x) => String(x) === String(v)));
  return base(spec, control, {
    read: () => ({ value: spec.enum[Number(control.value)] }),
    raw: () => String(spec.enum[Number(control.value)]),
    setRaw: (v) => { control.value = String(indexOf(v ?? spec.default)); },
  });
}

function boolField(spec) {
  const control = h('input', { type: 'checkbox', name: spec.name, class: 'switch' });
  return base(spec, control, {
    read: () => ({ value: control.checked }),
    raw: () => control.checked,
    setRaw: (v) => { control.checked = typeof v === 'boolean' ? v : spec.default === true; },
  });
}

function numberField(spec) {
  const integer = spec.type === 'integer';
  // Bounds past 2^53 do not survive a number input: use text for those.
  const huge = [spec.min, spec.max].some((b) => typeof b === 'number' && Math.abs(b) > Number.MAX_SAFE_INTEGER);
  const control = h('input', {
    name: spec.name, inputmode: integer ? 'numeric' : 'decimal', autocomplete: 'off',
    type: huge ? 'text' : 'number', pattern: huge ? '-?[0-9]+' : null,
    min: huge ? null : spec.min, max: huge ? null : spec.max,
    step: huge ? null : spec.step ?? (integer ? 1 : 'any'),
  });
  const seed = integer && /seed/i.test(spec.name);
  const dice = seed ? h('button', {
    type: 'button', class: 'btn icon-btn', title: 'Random seed', 'aria-label': `Random ${label(spec.name).toLowerCase()}`,
    onclick: () => { control.value = randomInt(spec.min, spec.max); control.dispatchEvent(new Event('input', { bubbles: true })); },
  }, icon('dice')) : null;
  const f = base(spec, control, {
    extra: dice,
    read: () => readNumber(control.value, spec, integer),
    raw: () => control.value,
    setRaw: (v) => { control.value = v ?? (spec.default == null ? '' : String(spec.default)); },
  });
  f.randomize = seed ? () => dice.click() : null;
  return f;
}

// readNumber checks a typed number against the spec; '' means "use the
// default" (the parameter is left out).
function readNumber(text, spec, integer) {
  const s = text.trim();
  if (s === '') return { value: undefined };
  if (integer) {
    if (!/^-?\d+$/.test(s)) return { error: 'must be a whole number' };
    const n = BigInt(s);
    if (spec.min != null && n < BigInt(Math.ceil(spec.min))) return { error: `must be at least ${spec.min}` };
    if (spec.max != null && Math.abs(spec.max) <= Number.MAX_SAFE_INTEGER && n > BigInt(spec.max)) return { error: `must be at most ${spec.max}` };
    return { value: n >= -MAX_SAFE && n <= MAX_SAFE ? Number(n) : n };
  }
  const n = Number(s);
  if (!Number.isFinite(n)) return { error: 'must be a number' };
  if (spec.min != null && n < spec.min) return { error: `must be at least ${spec.min}` };
  if (spec.max != null && n > spec.max) return { error: `must be at most ${spec.max}` };
  return { value: n };
}

// randomInt draws uniformly from [min, max] clipped to safe integers.
function randomInt(min = 0, max = Number.MAX_SAFE_INTEGER) {
  const lo = Math.max(Math.ceil(min), 0);
  const hi = Math.min(Math.floor(max), Number.MAX_SAFE_INTEGER);
  const [a, b] = crypto.getRandomValues(new Uint32Array(2));
  const r = (a & 0x1fffff) * 2 ** 32 + b; // 53 random bits
  return String(lo + (r % (hi - lo + 1)));
}

function imageField(spec, ctx) {
  const control = h('input', { type: 'file', name: spec.name, accept: 'image/*' });
  const thumb = h('img', { class: 'thumb', alt: '', hidden: true });
  const status = h('span', { class: 'upload-status muted', 'aria-live': 'polite' });
  let state = { id: '', filename: '', busy: false };
  const show = () => {
    status.textContent = state.busy ? 'Uploading…' : state.id ? `Uploaded: ${state.filename}` : 'No file chosen: the default is used.';
  };
  const f = base(spec, control, {
    extra: h('div', { class: 'upload' }, thumb, status),
    read: () => state.busy ? { error: 'is still uploading' } : { value: state.id || undefined },
    raw: () => (state.id ? { id: state.id, filename: state.filename } : undefined),
    setRaw: (v) => { state = { id: v?.id ?? '', filename: v?.filename ?? '', busy: false }; thumb.hidden = true; show(); },
  });
  control.addEventListener('change', async () => {
    const file = control.files?.[0];
    if (!file) return;
    if (thumb.src.startsWith('blob:')) URL.revokeObjectURL(thumb.src);
    thumb.src = URL.createObjectURL(file);
    thumb.hidden = false;
    state = { id: '', filename: file.name, busy: true };
    f.setError('');
    show();
    ctx.onBusy?.(true);
    try {
      const up = await upload(file);
      state = { id: up.id, filename: up.filename || file.name, busy: false };
    } catch (err) {
      state = { id: '', filename: '', busy: false };
      f.setError(err.message);
    } finally {
      show();
      ctx.onBusy?.(false);
    }
  });
  return f;
}

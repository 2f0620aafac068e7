// Showing artifacts. Without an API key an <img src> or <a href> to the
// artifact is enough (and the browser caches it). With a key the browser
// cannot send the header itself, so the file is fetched with it and shown
// from a blob: URL, which its owner (a MediaScope) revokes when the view
// goes away.

import { authHeaders, errorFrom } from './api.js';
import { apiKey } from './prefs.js';

// passiveTypes may be opened in a tab from a blob: URL, which would run in
// this page's origin; anything else is handed over as a download.
const passive = /^(image\/(png|jpeg|webp|gif|avif|bmp)|video\/[\w.+-]+|audio\/[\w.+-]+|text\/plain|application\/json)$/;

/** isImage reports whether an output's content type is a raster image. */
export function isImage(type) {
  return /^image\/(png|jpeg|webp|gif|avif|bmp)$/.test(String(type ?? '').split(';')[0].trim());
}

/** MediaScope loads artifacts for one view and frees them with it. */
export class MediaScope {
  #urls = new Set();
  #ctl = new AbortController();
  #observer = null;
  #pending = new Map(); // element → url, waiting to be visible

  /**
   * show points el (img, video, audio) at the artifact at url. With lazy,
   * a keyed fetch waits until el is near the viewport.
   */
  show(el, url, { lazy = false } = {}) {
    if (!apiKey()) {
      if (lazy && el instanceof HTMLImageElement) el.loading = 'lazy';
      el.src = url;
      return;
    }
    if (!lazy) { this.#fetchInto(el, url); return; }
    this.#pending.set(el, url);
    this.#lazyObserver().observe(el);
  }

  /**
   * link makes a an opener of the artifact: a plain link without a key, a
   * fetch-then-open with one. download names the file to save instead.
   */
  link(a, url, { download = '' } = {}) {
    a.href = url;
    if (download) a.download = download;
    else { a.target = '_blank'; a.rel = 'noopener'; }
    if (!apiKey()) return;
    a.addEventListener('click', async (e) => {
      e.preventDefault();
      try {
        const { url: blobURL, passive: open } = await this.#blob(url);
        const tmp = document.createElement('a');
        tmp.href = blobURL;
        if (download || !open) tmp.download = download || 'download';
        else { tmp.target = '_blank'; tmp.rel = 'noopener'; }
        tmp.click();
      } catch (err) {
        a.title = err.message;
      }
    });
  }

  async #blob(url) {
    const res = await fetch(url, { headers: authHeaders(), signal: this.#ctl.signal });
    if (!res.ok) throw await errorFrom(res);
    const blob = await res.blob();
    const type = blob.type.split(';')[0].trim();
    const open = passive.test(type);
    const u = URL.createObjectURL(open ? blob : new Blob([blob], { type: 'application/octet-stream' }));
    this.#urls.add(u);
    return { url: u, passive: open };
  }

  async #fetchInto(el, url) {
    try {
      el.src = (await this.#blob(url)).url;
    } catch (err) {
      if (err.name === 'AbortError') return;
      el.dispatchEvent(new Event('error'));
      el.title = err.message;
    }
  }

  #lazyObserver() {
    this.#observer ??= new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        this.#observer.unobserve(e.target);
        const url = this.#pending.get(e.target);
        this.#pending.delete(e.target);
        if (url) this.#fetchInto(e.target, url);
      }
    }, { rootMargin: '400px' });
    return this.#observer;
  }

  /** dispose stops pending loads and frees every blob: URL. */
  dispose() {
    this.#ctl.abort();
    this.#observer?.disconnect();
    this.#pending.clear();
    for (const u of this.#urls) URL.revokeObjectURL(u);
    this.#urls.clear();
  }
}

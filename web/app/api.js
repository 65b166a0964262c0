// Talking to the service: JSON over fetch with the session cookie, errors as messages in the page's
// language (the service answers problem+json with a stable `code` and the bad field; its own English
// detail is never shown), and the page's status and alert lines.

import { has, lang, onLangChange, t } from './i18n.js';
import { dismissLater, keep } from './toast.js';

/** An answer that was not a success: `status`, and the problem's message in the page's language. */
export class ApiError extends Error {
  constructor(status, message, problem) {
    super(message);
    this.status = status;
    this.problem = problem;
  }
}

/**
 * Calls the service; answers the parsed JSON body (null when there is none). `body` is sent as JSON
 * (with `type` as its Content-Type, default application/json), or as it is when it is a Blob (a file,
 * with its own type unless `type` names one).
 */
export async function api(path, { method = 'GET', body, signal, type } = {}) {
  let res;
  const raw = typeof Blob !== 'undefined' && body instanceof Blob;
  const contentType = body === undefined ? undefined : (type ?? (raw ? body.type || 'application/octet-stream' : 'application/json'));
  try {
    res = await fetch(path, {
      method,
      signal,
      credentials: 'same-origin',
      headers: { Accept: 'application/json', ...(contentType ? { 'Content-Type': contentType } : {}) },
      body: body === undefined ? undefined : (raw ? body : JSON.stringify(body)),
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, t('error.network'));
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) throw problemError(res.status, data);
  return data;
}

/**
 * GETs `path` as JSON unless it is unchanged since `etag` (sent as If-None-Match; the service answers
 * 304). Answers { changed, etag, data }: data is the parsed body when changed, else null.
 */
export async function apiIfChanged(path, etag) {
  let res;
  try {
    res = await fetch(path, {
      credentials: 'same-origin',
      headers: { Accept: 'application/json', ...(etag ? { 'If-None-Match': etag } : {}) },
    });
  } catch {
    throw new ApiError(0, t('error.network'));
  }
  if (res.status === 304) return { changed: false, etag, data: null };
  const data = await res.json().catch(() => null);
  if (!res.ok) throw problemError(res.status, data);
  return { changed: true, etag: res.headers.get('ETag'), data };
}

/** The error of an answer that was not a success, from its problem+json body. */
export function problemError(status, problem) {
  return new ApiError(status, problemMessage(problem, status), problem);
}

/**
 * The page's message for a refusal of the service: the translation of its code (`problem.<code>`),
 * else the status's message with the field named in the page's language. A problem the page made itself
 * (no code) keeps its detail.
 */
export function problemMessage(problem, status = problem?.status) {
  const code = problem?.code;
  if (!code && problem?.detail) return problem.detail;
  if (code && has(`problem.${code}`)) return t(`problem.${code}`);
  const generic = has(`problem.status.${status}`) ? t(`problem.status.${status}`) : t('problem.status.other', { status });
  return problem?.field ? t('problem.field', { field: fieldLabel(problem.field), msg: generic }) : generic;
}

/** A field the service names (`contact_phone`, `properties.unit_number.land_right`), in the page's language. */
export function fieldLabel(field) {
  const parts = String(field).replace(/^properties\./, '').split('.');
  const key = parts.find((p) => has(`field.${p.replace(/\[\d+\]$/, '')}`));
  return key ? t(`field.${key.replace(/\[\d+\]$/, '')}`) : String(field);
}

/**
 * A place name in both languages: in English its pinyin with the Chinese beside it (marked lang="zh"),
 * in Chinese the Chinese alone.
 */
export function placeName(name, pinyin) {
  if (!name) return name;
  if (lang() !== 'en') return name;
  return pinyin ? el('span', { class: 'place' }, pinyin, ' ', el('span', { lang: 'zh' }, name)) : chinese(name);
}

/** Text that stays Chinese in either language (a description, a structure), marked so in English. */
export function chinese(text) {
  if (text === undefined || text === null || text === '' || lang() !== 'en') return text;
  return el('span', { lang: 'zh' }, text);
}

/**
 * Posts `form` (a FormData) with XMLHttpRequest, so the upload's progress can be shown: `onProgress`
 * gets (bytes sent, bytes in all). Answers the parsed JSON body; a failure throws an ApiError.
 */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress?.(e.loaded, e.total); };
    xhr.onerror = () => reject(new ApiError(0, t('error.network')));
    xhr.onload = () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(problemError(xhr.status, data));
    };
    xhr.send(form);
  });
}

/** A query string of the non-empty entries of `params`. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

let busy = 0;

/** Runs `task` with the loading line shown (announced to screen readers); errors go to the alert line. */
export async function loading(task, label = t('loading')) {
  const status = document.getElementById('status');
  busy += 1;
  status.textContent = label;
  status.hidden = false;
  document.body.setAttribute('aria-busy', 'true');
  try {
    return await task();
  } catch (e) {
    if (e.name !== 'AbortError') showError(e);
    return undefined;
  } finally {
    busy -= 1;
    if (busy === 0) {
      status.textContent = '';
      status.hidden = true;
      document.body.removeAttribute('aria-busy');
    }
  }
}

/** The error the alert line shows, said again in the other language when the page switches. */
let shownError = null;
onLangChange(() => {
  if (shownError && !document.getElementById('alert').hidden) showError(shownError);
});

/** Shows an error message until the next action (assertive for screen readers). */
export function showError(e) {
  shownError = e;
  const alert = document.getElementById('alert');
  const msg = e instanceof ApiError && e.problem?.code ? problemMessage(e.problem, e.status) : e?.message ?? String(e);
  alert.textContent = t('error', { msg });
  alert.hidden = false;
  alert.classList.add('error');
  alert.classList.remove('notice');
  keep(alert);
}

/** Shows a short success notice, which goes away by itself (toast.js). */
export function showNotice(message) {
  shownError = null;
  const alert = document.getElementById('alert');
  alert.textContent = message;
  alert.hidden = false;
  alert.classList.add('notice');
  alert.classList.remove('error');
  dismissLater(alert);
}

export function clearAlert() {
  shownError = null;
  const alert = document.getElementById('alert');
  alert.textContent = '';
  alert.hidden = true;
}

/** A CSV cell; text a spreadsheet would run as a formula (= + - @ tab CR) gets a leading ' (as the
 * service's own CSV exports do); numbers, negative ones too, stay numbers. */
export function csvField(v) {
  let s = String(v ?? '');
  if (/^[=+\-@\t\r]/.test(s) && !Number.isFinite(Number(s))) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Downloads `rows` (arrays of cells, the first the header) as `filename`: CSV in UTF-8 with a BOM, so
 * spreadsheet programs read the Chinese, lines ended by CRLF. */
export function downloadCsv(filename, rows) {
  const csv = rows.map((r) => r.map(csvField).join(',')).join('\r\n');
  const url = URL.createObjectURL(new Blob(['\ufeff', csv, '\r\n'], { type: 'text/csv;charset=utf-8' }));
  const a = el('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/**
 * Builds an element: el('li', { class: 'x', onclick: f }, 'text', child). Text is always set as text,
 * never parsed as HTML.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

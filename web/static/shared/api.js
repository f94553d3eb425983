// Page data (from <body data-page>), the JSON API client and its error messages.

import { t, has } from './i18n.js';
import { bodyJson } from './page_data.js';

/** {user: {username, display_name, role, unit_code}, csrf_token, meeting_id?, timezone?} */
export const page = bodyJson('page');
/** The logged-in user, or null. */
export const user = page.user || null;

/** Whether `role` manages meetings (host or admin). */
export const isManagerRole = (role = user?.role) => role === 'host' || role === 'admin';

/** An error from the API: `code` is stable, `message` is the server's text. */
export class ApiError extends Error {
  constructor(status, code, message, details = null) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * fetch() a JSON API path; resolves to the parsed body (null for 204), rejects with ApiError.
 * `body` goes as JSON, or as it is (a file) when `contentType` names its type.
 */
export async function api(path, { method = 'GET', body, contentType, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = page.csrf_token || '';
  if (body !== undefined) headers['Content-Type'] = contentType || 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined || contentType ? body : JSON.stringify(body),
      signal,
    });
  } catch (exc) {
    if (exc?.name === 'AbortError') throw exc;
    throw new ApiError(0, 'network', String(exc?.message || exc));
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const err = data?.error || {};
    throw new ApiError(
      response.status,
      err.code || `http-${response.status}`,
      err.message || response.statusText,
      err.details || null,
    );
  }
  return data;
}

/** The message to show for an API error: ours when we know the code, else the server's. */
export function errorText(error) {
  if (!(error instanceof ApiError)) return t('error.generic', { code: String(error?.message || error) });
  const key = `error.${error.code}`;
  if (has(key)) {
    let text = t(key);
    if (error.code === 'invalid-request' && error.message) text += ` (${error.message})`;
    if (['out-of-scope', 'unknown-unit', 'unknown-site'].includes(error.code) && error.message) {
      text += ` (${error.message})`;
    }
    return text;
  }
  return error.message || t('error.generic', { code: error.code });
}

/**
 * Show an error in a banner element (role=alert). For a lost login also
 * offers a link back to the login page. `null` hides it.
 */
export function showError(el, error) {
  if (!el) return;
  if (!error) {
    el.hidden = true;
    el.replaceChildren();
    delete el.dataset.code;
    return;
  }
  const text = typeof error === 'string' ? error : errorText(error);
  el.replaceChildren(document.createTextNode(text));
  if (error instanceof ApiError) {
    el.dataset.code = error.code;
    if (error.code === 'login-required') {
      const link = document.createElement('a');
      link.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
      link.textContent = t('error.loginLink');
      el.append(' ', link);
    }
  }
  el.hidden = false;
}

/** Keep `error` as the page's `state.error` (shown again after a language switch) and show it in `banner`; null clears both. */
export function setPageError(state, banner, error) {
  state.error = error;
  showError(banner, error);
}

/** Run `fn` over items with at most `limit` at a time. */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (exc) {
        out[i] = exc;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** document.createElement with attributes, properties and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Small helpers: times, status lines, error banners, busy buttons.

import { ApiError, errorText, showError } from '../../shared/api.js';
import { getLang, t } from '../../shared/i18n.js';
import { formatDate, formatDateTime, parseIso, partsAt } from '../../shared/time.js';
import { $, state } from './state.js';

// -- small helpers ------------------------------------------------------------------------

/** A Unix-seconds time in the server's zone (dd/mm/yyyy HH:mm). */
export const when = (seconds) => (typeof seconds === 'number' ? formatDateTime(partsAt(seconds * 1000)) : '');
/** A day key (yyyy-mm-dd) as dd/mm/yyyy. */
export const dayText = (key) => (parseIso(`${key}T00:00`) ? formatDate(`${key}T00:00`) : key);

/** A status line's text (no longer following language switches). */
export function setStatus(el, text) {
  delete el.dataset.i18n;
  el.textContent = text;
}

/** The server's English reason for a bad upload, in Vietnamese when the page is. */
export function uploadDetail(message) {
  const text = String(message || '');
  if (getLang() !== 'vi') return text;
  let m = /^(line|item) (\d+): (.*)$/s.exec(text);
  if (m) return `${t(m[1] === 'line' ? 'upload.line' : 'upload.item', { n: m[2] })}: ${uploadDetail(m[3])}`;
  if (text === 'the file is empty') return t('upload.empty');
  if (text === 'the file is not UTF-8 text') return t('upload.notUtf8');
  if (text.startsWith('the JSON is malformed')) return `${t('upload.badJson')} (${text.split(': ').slice(1).join(': ')})`;
  if (text.startsWith('the JSON must be a list')) return t('upload.notList');
  if (text === "needs a text 'pattern'") return t('upload.needsPattern');
  if (text === 'needs a plate pattern and a reason') return t('upload.needsBoth');
  if (text === 'the file has no entries') return t('upload.noEntries');
  m = /^'(.*)' is not a plate pattern/s.exec(text);
  if (m) return t('upload.notPattern', { text: m[1] });
  m = /^'(.*)' would match almost every plate/s.exec(text);
  if (m) return t('upload.tooWide', { text: m[1] });
  return text;
}

/** The words of a banner: an API error, or {key, params}. */
export function bannerText(what) {
  if (what instanceof ApiError || what instanceof Error) {
    if (what instanceof ApiError && what.code === 'bad-pattern' && what.message) {
      return `${t('error.bad-pattern')} (${uploadDetail(what.message)})`;
    }
    return errorText(what);
  }
  return t(what.key, typeof what.params === 'function' ? what.params() : what.params);
}

/** Show (or hide, with null) an error in a banner; remembered for the language switch. */
export function setError(el, what) {
  if (!el) return;
  if (!what) {
    delete state.errors[el.id];
    showError(el, null);
    return;
  }
  state.errors[el.id] = what;
  showError(el, bannerText(what));
  if (what instanceof ApiError) el.dataset.code = what.code;
  else delete el.dataset.code;
}

/** Mark a form field invalid (or not). */
export function invalid(input, on) {
  if (on) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/** A button busy (disabled, its words from `key`) or not. */
export function busy(button, on, key) {
  button.disabled = on;
  button.setAttribute('aria-busy', String(on));
  const label = button.querySelector('span');
  if (key) {
    label.dataset.i18n = key;
    label.textContent = t(key);
  }
}

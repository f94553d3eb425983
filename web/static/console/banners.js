// The banners above the roll call: the closing countdown, notices and errors.

import { Countdown, showCountdown } from '../shared/countdown.js';
import { t } from '../shared/i18n.js';
import { dom } from './dom.js';
import { renderClosed } from './header.js';
import { MESSAGES } from './messages.js';
import { store, ui } from './state.js';

const NOTICE_MS = 6_000;
const ERROR_MS = 15_000;

// -- closing countdown ------------------------------------------------------------------

const CLOSING_KEYS = { minutes: 'console.closing', seconds: 'console.closingSeconds', now: 'console.closingSeconds' };

/** The room's announced end (`closing`), counted down in #console-closing. */
export const closing = new Countdown(renderClosing);

/** The closing banner: hidden, or the time left. */
export function renderClosing() {
  showCountdown(dom.closing, dom.closingText, closing, CLOSING_KEYS, closing.running);
}

// -- notices and errors -----------------------------------------------------------------

/** A notice for `ms` milliseconds (0: until replaced). */
export function showNotice(text, ms = NOTICE_MS) {
  clearTimeout(ui.noticeTimer);
  dom.noticeText.textContent = text;
  dom.notice.hidden = false;
  dom.notice.dataset.sticky = String(!ms);
  if (ms) ui.noticeTimer = setTimeout(hideNotice, ms);
}

/** Hide the notice (a closed room's own notice comes back instead). */
export function hideNotice() {
  clearTimeout(ui.noticeTimer);
  if (store.closed && dom.notice.dataset.sticky !== 'true') {
    renderClosed();
    return;
  }
  dom.notice.hidden = true;
  dom.noticeText.textContent = '';
  delete dom.notice.dataset.sticky;
}

/** The words for an error code. */
export function errorMessage(code) {
  const key = `console.error.${code}`;
  if (MESSAGES.vi[key]) return t(key);
  return t('console.error.generic', { code });
}

/** An error banner for `code` (`detail`: the server's text, as its tooltip). */
export function showError(code, detail) {
  clearTimeout(ui.errorTimer);
  ui.errorCode = code;
  dom.error.dataset.code = code;
  dom.errorText.textContent = errorMessage(code);
  if (detail) dom.error.title = detail;
  else dom.error.removeAttribute('title');
  dom.error.hidden = false;
  ui.errorTimer = setTimeout(clearError, ERROR_MS);
}

/** Hide the error banner. */
export function clearError() {
  clearTimeout(ui.errorTimer);
  ui.errorCode = null;
  dom.error.hidden = true;
  delete dom.error.dataset.code;
  dom.errorText.textContent = '';
}

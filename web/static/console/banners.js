// The banners above the roll call: the closing countdown, notices and errors.

import { t } from '../shared/i18n.js';
import { dom } from './dom.js';
import { renderClosed } from './header.js';
import { MESSAGES } from './messages.js';
import { store, ui } from './state.js';
import { pad } from './view.js';

const NOTICE_MS = 6_000;
const ERROR_MS = 15_000;

// -- closing countdown ------------------------------------------------------------------

export function startClosing(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return;
  store.closingAt = Date.now() + Math.max(0, seconds) * 1000;
  clearInterval(ui.closingTimer);
  ui.closingTimer = setInterval(renderClosing, 1000);
  renderClosing();
}

export function stopClosing() {
  clearInterval(ui.closingTimer);
  ui.closingTimer = null;
  store.closingAt = 0;
  renderClosing();
}

export function renderClosing() {
  dom.closing.hidden = !store.closingAt;
  if (!store.closingAt) return;
  const left = Math.max(0, Math.ceil((store.closingAt - Date.now()) / 1000));
  dom.closing.dataset.seconds = String(left);
  dom.closingText.textContent = left >= 60
    ? `${t('console.closing', { n: Math.ceil(left / 60) })} (${pad(Math.floor(left / 60))}:${pad(left % 60)})`
    : t('console.closingSeconds', { n: left });
  dom.closing.classList.toggle('is-urgent', left <= 60);
}

// -- notices and errors -----------------------------------------------------------------

export function showNotice(text, ms = NOTICE_MS) {
  clearTimeout(ui.noticeTimer);
  dom.noticeText.textContent = text;
  dom.notice.hidden = false;
  dom.notice.dataset.sticky = String(!ms);
  if (ms) ui.noticeTimer = setTimeout(hideNotice, ms);
}

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

export function errorMessage(code) {
  const key = `console.error.${code}`;
  if (MESSAGES.vi[key]) return t(key);
  return t('console.error.generic', { code });
}

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

export function clearError() {
  clearTimeout(ui.errorTimer);
  ui.errorCode = null;
  dom.error.hidden = true;
  delete dom.error.dataset.code;
  dom.errorText.textContent = '';
}

// The three screens, the connection indicator, the banners (notices, errors,
// the closing countdown) and the recording indicator.

import { t } from '../shared/i18n.js';
import { icon } from '../shared/icons.js';
import { dom } from './dom.js';
import { updateHandButton } from './floor.js';
import { app } from './state.js';
import { setText } from './view.js';

// -- screens, state indicator, banners -------------------------------------------------

export function showScreen(name) {
  app.screen = name;
  dom.prejoin.hidden = name !== 'prejoin';
  dom.meeting.hidden = name !== 'meeting';
  dom.leftScreen.hidden = name !== 'left';
  dom.body.dataset.phase = name;
  if (name === 'left') app.recording = false; // out of the room: no longer known
  renderRecording();
}

export function setState(state) {
  app.state = state;
  dom.connectionState.dataset.state = state;
  dom.body.dataset.state = state;
  setText(dom.connectionText, `state.${state}`);
  const waiting = app.screen === 'meeting' && (state === 'reconnecting' || state === 'disconnected');
  dom.stageOverlay.hidden = !waiting;
  dom.connectionState.setAttribute('aria-busy', String(state === 'connecting' || state === 'reconnecting'));
  updateHandButton();
}

export function showNotice(key, params) {
  app.noticeKey = key ? { key, params } : null;
  if (!key) {
    dom.noticeBanner.hidden = true;
    dom.noticeBanner.textContent = '';
    return;
  }
  dom.noticeBanner.textContent = t(key, params);
  dom.noticeBanner.hidden = false;
}

export function errorMessage(code) {
  const key = `error.${code}`;
  const text = t(key);
  return text === key ? t('error.generic', { code }) : text;
}

export function showError(code) {
  app.errorCode = code;
  if (!code) {
    dom.errorBanner.hidden = true;
    dom.errorBanner.textContent = '';
    return;
  }
  dom.errorBanner.replaceChildren(icon('warning'), document.createTextNode(errorMessage(code)));
  dom.errorBanner.dataset.code = code;
  dom.errorBanner.hidden = false;
}

export function onRecording(active) {
  const changed = app.recording !== active;
  app.recording = active;
  renderRecording();
  if (changed && dom.recordingAnnounce) {
    setText(dom.recordingAnnounce, active ? 'recording.started' : 'recording.stopped');
  }
}

function renderRecording() {
  if (!dom.recordingIndicator) return;
  dom.recordingIndicator.hidden = !(app.recording && app.screen === 'meeting');
  dom.body.dataset.recording = String(app.recording);
}

export function startClosingCountdown(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return;
  app.closingDeadline = Date.now() + Math.max(0, seconds) * 1000;
  clearInterval(app.closingTimer);
  app.closingTimer = setInterval(renderClosing, 1000);
  renderClosing();
}

export function stopClosingCountdown() {
  clearInterval(app.closingTimer);
  app.closingTimer = null;
  app.closingDeadline = 0;
  renderClosing();
}

export function renderClosing() {
  const show = !!app.closingDeadline && app.screen === 'meeting';
  dom.closingBanner.hidden = !show;
  if (!show) return;
  const left = Math.max(0, Math.ceil((app.closingDeadline - Date.now()) / 1000));
  const pad = (n) => String(n).padStart(2, '0');
  let text;
  if (left >= 60) text = `${t('closing.minutes', { n: Math.ceil(left / 60) })} (${pad(Math.floor(left / 60))}:${pad(left % 60)})`;
  else if (left > 0) text = t('closing.seconds', { n: left });
  else text = t('closing.now');
  dom.closingText.textContent = text;
  dom.closingBanner.dataset.seconds = String(left);
  dom.closingBanner.classList.toggle('is-urgent', left <= 60);
}

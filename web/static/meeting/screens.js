// The three screens, the connection indicator, the banners (notices, errors,
// the closing countdown) and the recording indicator.

import { Countdown, showCountdown } from '../shared/countdown.js';
import { t } from '../shared/i18n.js';
import { icon } from '../shared/icons.js';
import { dom } from './dom.js';
import { updateHandButton } from './floor.js';
import { app } from './state.js';
import { setText } from './view.js';

// -- screens, state indicator, banners -------------------------------------------------

/** Show one of the three screens: prejoin | meeting | left. */
export function showScreen(name) {
  app.screen = name;
  dom.prejoin.hidden = name !== 'prejoin';
  dom.meeting.hidden = name !== 'meeting';
  dom.leftScreen.hidden = name !== 'left';
  dom.body.dataset.phase = name;
  if (name === 'left') app.recording = false; // out of the room: no longer known
  renderRecording();
}

/** The connection state, shown in the top bar. */
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

/** A notice banner (null `key`: none), translated again on a language switch. */
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

/** The words for an error code. */
export function errorMessage(code) {
  const key = `error.${code}`;
  const text = t(key);
  return text === key ? t('error.generic', { code }) : text;
}

/** The error banner for `code` (null: none). */
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

const CLOSING_KEYS = { minutes: 'closing.minutes', seconds: 'closing.seconds', now: 'closing.now' };

/** The meeting's announced end (`closing`), counted down in #closing-banner. */
export const closing = new Countdown(renderClosing);

/** The closing banner: the time left, on the meeting screen only. */
export function renderClosing() {
  showCountdown(dom.closingBanner, dom.closingText, closing, CLOSING_KEYS, closing.running && app.screen === 'meeting');
}

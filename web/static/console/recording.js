// Recording control: start and stop, the badge, the state line and warnings.

import { t } from '../shared/i18n.js';
import { icon } from '../shared/icons.js';
import { $, dom } from './dom.js';
import { MESSAGES } from './messages.js';
import { root, store } from './state.js';
import { el, roomOpen } from './view.js';

// -- recording ----------------------------------------------------------------------------
// console.html has no recording markup: the badge (#recording-badge), the
// toggle (#toggle-recording), its side card and the warning banner
// (#console-warning) are built here.

/** A decorative <span> (screen readers skip it). */
function mark(className, text) {
  const span = el('span', className, text);
  span.setAttribute('aria-hidden', 'true');
  return span;
}

/** A <span> with the text of `key`, translated again on a language switch. */
function translated(className, key) {
  const span = el('span', className, t(key));
  span.dataset.i18n = key;
  return span;
}

/** Build the recording badge, card and warning banner; their elements, for `dom`. */
export function createRecordingControls() {
  const badge = el('p', 'recording-badge');
  badge.id = 'recording-badge';
  badge.hidden = true;
  badge.append(mark('recording-dot', '●'), ' ', translated('recording-badge-text', 'console.recording.badge'));
  const indicators = $('.console-indicators');
  if (indicators) indicators.prepend(badge);

  const card = el('section', 'side-card recording-card');
  card.setAttribute('aria-labelledby', 'recording-title');
  const title = el('h2', 'side-title');
  title.id = 'recording-title';
  title.append(mark('recording-title-dot'), translated('', 'console.recording.title'));
  const toggle = el('button', 'btn btn-small btn-block btn-record');
  toggle.id = 'toggle-recording';
  toggle.type = 'button';
  toggle.disabled = true;
  toggle.setAttribute('aria-pressed', 'false');
  toggle.setAttribute('aria-describedby', 'recording-state');
  toggle.append(mark('record-icon'), translated('btn-text', 'console.recording.start'));
  const stateLine = el('p', 'side-hint recording-state');
  stateLine.id = 'recording-state';
  const link = el('a', 'recording-link', t('console.recording.library'));
  link.id = 'recording-link';
  link.href = '/recordings';
  card.append(title, toggle, stateLine, link);
  $('.console-side')?.prepend(card);

  const warning = el('div', 'console-banner console-banner-warning');
  warning.id = 'console-warning';
  warning.setAttribute('role', 'alert');
  warning.hidden = true;
  const warningText = el('span', 'console-warning-text');
  warningText.id = 'console-warning-text';
  const close = el('button', 'console-dismiss');
  close.id = 'console-warning-close';
  close.type = 'button';
  close.dataset.i18nAriaLabel = 'console.dismiss';
  close.setAttribute('aria-label', t('console.dismiss'));
  close.append(icon('x'));
  warning.append(icon('warning'), warningText, close);
  const errorBanner = $('#console-error');
  if (errorBanner) errorBanner.before(warning);

  return {
    recordingBadge: badge,
    toggleRecording: toggle,
    recordingState: stateLine,
    recordingLink: link,
    warning,
    warningText,
    warningClose: close,
  };
}

/** The recording toggle, badge, state line and library link. */
export function renderRecording() {
  if (!dom.toggleRecording) return;
  const on = store.recording;
  const button = dom.toggleRecording;
  const busy = button.getAttribute('aria-busy') === 'true';
  button.setAttribute('aria-pressed', String(on));
  button.classList.toggle('is-recording', on);
  button.disabled = !roomOpen() || busy;
  const text = button.querySelector('.btn-text');
  text.dataset.i18n = on ? 'console.recording.stop' : 'console.recording.start';
  text.textContent = t(text.dataset.i18n);
  dom.recordingBadge.hidden = !on;
  root.classList.toggle('is-recording', on);
  root.dataset.recording = String(on);
  let line;
  if (on) line = t('console.recording.on');
  else if (store.state === 'connected' && (store.closed || !store.roomLive)) line = t('console.recording.closed');
  else if (store.recordingReason) line = t('console.recording.stopped', { reason: reasonText(store.recordingReason) });
  else line = t('console.recording.off');
  dom.recordingState.textContent = line;
  const link = dom.recordingLink;
  if (store.recordingId) {
    link.href = `/recordings/${encodeURIComponent(store.recordingId)}`;
    link.textContent = t('console.recording.open');
  } else {
    link.href = '/recordings';
    link.textContent = t('console.recording.library');
  }
}

function reasonText(reason) {
  const key = `console.recording.reason.${reason}`;
  return MESSAGES.vi[key] ? t(key) : reason;
}

/** The words for a `warning` event. */
export function warningMessage(warning) {
  const key = `console.warning.${warning.code}`;
  if (MESSAGES.vi[key]) return t(key);
  return t('console.warning.generic', { message: warning.message || warning.code });
}

/** A `warning` event: stays until dismissed (or the recording starts again). */
export function showWarning(code, message) {
  store.warning = { code, message: message || '' };
  dom.warning.dataset.code = code;
  dom.warningText.textContent = warningMessage(store.warning);
  if (message) dom.warning.title = message;
  dom.warning.hidden = false;
}

/** Dismiss the recording warning. */
export function hideWarning() {
  store.warning = null;
  dom.warning.hidden = true;
  delete dom.warning.dataset.code;
  dom.warningText.textContent = '';
  dom.warning.removeAttribute('title');
}

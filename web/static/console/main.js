// The host console ("Điều hành cuộc họp"): live roll call and floor control.
//
// Everything shown here is pushed by the server over one WebSocket,
// /ws/console/{meeting} (docs/protocol.md, "The host console socket"): the
// whole state first (`console`), then deltas (`roll-call` once a second with
// only the rows that changed, `hands`, `floor`, `spotlight`, `speaker`,
// `locked`, `removed`, `closing`, `closed`, `state`, `recording`, `warning`,
// `alert`). Commands go back on the same socket and are answered by `result`
// or `error` with the same id.
//
// Checkpoint cameras: the state carries `feeds` (the cameras in the meeting)
// and `alerts` (its recent plate alerts); an `alert` message pops a toast and
// heads the alert list. The camera picker lists the registered feeds
// (GET /api/feeds) and brings one in with the `add-feed` command.
//
// The roll call is built for thousands of sites: the rows live in a Map, the
// table is virtual (only the rows in view plus a margin are in the DOM), and a
// delta re-renders only the visible rows that changed.
//
// This module starts the page and binds its controls; the rest is in the
// modules next to it, one per part of the page (socket, updates, roll_call,
// roll_call_rows, floor, cameras, alerts, recording, header, banners), with
// the shared state in state.js and the elements in dom.js.

import { addMessages, applyI18n, onLangChange, t } from '../shared/i18n.js';
import { fillIcons } from '../shared/icons.js';
import { mountDocuments } from '../shared/documents.js';
import { fillToast, hideToast, renderAlerts } from './alerts.js';
import { clearError, errorMessage, renderClosing, showError } from './banners.js';
import { onCameraAction, onPickFeed, renderCameras, renderPicker, togglePicker } from './cameras.js';
import { dom } from './dom.js';
import { renderHands, renderHolders } from './floor.js';
import { renderControls, renderCounts, renderTitle } from './header.js';
import { createPresentingControls, renderPresenting } from './presenting.js';
import { createRecordingControls, hideWarning, renderRecording, warningMessage } from './recording.js';
import { renderTierOptions, scheduleRender, setFilter } from './roll_call.js';
import { onAction } from './roll_call_rows.js';
import { command, connect, renderConnState } from './socket.js';
import { meetingId, root, store, ui } from './state.js';
import { initTalk, renderTalk } from './talk.js';
import { renderWallPicker, renderWalls, startWalls } from './walls.js';
import { TALK_MESSAGES } from './talk_messages.js';
import { handle } from './updates.js';
import { MESSAGES } from './messages.js';

addMessages(MESSAGES);
addMessages(TALK_MESSAGES);

function bind() {
  dom.table.addEventListener('click', onAction);
  dom.hands.addEventListener('click', onAction);
  dom.table.addEventListener('scroll', scheduleRender, { passive: true });
  window.addEventListener('resize', scheduleRender);
  dom.filterStatus.addEventListener('change', () => setFilter({ status: dom.filterStatus.value }));
  dom.filterTier.addEventListener('change', () => setFilter({ tier: dom.filterTier.value }));
  dom.filterText.addEventListener('input', () => {
    clearTimeout(ui.textTimer);
    ui.textTimer = setTimeout(() => setFilter({ text: dom.filterText.value }), 120);
  });
  dom.filters.addEventListener('submit', (event) => event.preventDefault());
  dom.filters.addEventListener('reset', () => {
    // After the form has reset its fields.
    setTimeout(() => {
      dom.filterStatus.value = 'all';
      dom.filterTier.value = 'all';
      dom.filterText.value = '';
      setFilter({ status: 'all', tier: 'all', text: '' });
    });
  });
  dom.takeFloor.addEventListener('click', () => command('take-floor', null, dom.takeFloor).catch(() => {}));
  dom.clearSpotlight.addEventListener('click', () => command('spotlight', null, dom.clearSpotlight).catch(() => {}));
  dom.muteAll.addEventListener('click', () => {
    if (window.confirm(t('console.confirm.muteAll'))) command('mute-all', null, dom.muteAll).catch(() => {});
  });
  dom.toggleLock.addEventListener('click', () => {
    command(store.locked ? 'unlock' : 'lock', null, dom.toggleLock).catch(() => {});
  });
  dom.errorClose.addEventListener('click', clearError);
  dom.toggleRecording.addEventListener('click', () => {
    const start = !store.recording;
    command(start ? 'record-start' : 'record-stop', null, dom.toggleRecording)
      .then((result) => {
        if (result && result.recording) store.recordingId = result.recording;
        store.recording = start; // the `recording` event confirms it
        renderRecording();
      })
      .catch(() => {});
  });
  dom.warningClose.addEventListener('click', hideWarning);
  dom.addCamera.addEventListener('click', () => togglePicker());
  dom.feedOptions.addEventListener('click', onPickFeed);
  dom.cameras.addEventListener('click', onCameraAction);
  dom.toasts.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-close-toast]');
    if (button) hideToast(button.closest('.alert-toast'));
  });
  dom.picker.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      togglePicker(false);
      dom.addCamera.focus();
    }
  });
}

// -- language -------------------------------------------------------------------------------------

function renderLanguage() {
  applyI18n(root);
  renderTitle();
  renderConnState();
  renderCounts();
  renderTierOptions();
  renderControls();
  renderHolders();
  renderHands();
  renderClosing();
  renderAlerts();
  renderCameras();
  renderPicker();
  renderWalls();
  renderWallPicker();
  renderTalk();
  renderPresenting();
  for (const toast of dom.toasts.children) fillToast(toast, toast._alert);
  if (ui.errorCode) dom.errorText.textContent = errorMessage(ui.errorCode);
  if (store.warning) dom.warningText.textContent = warningMessage(store.warning);
  ui.listDirty = true;
  ui.epoch += 1;
  scheduleRender();
}

// -- start ----------------------------------------------------------------------------------------

// For automated tests and support staff: the live state, plus a way to feed
// messages through the same code as the socket (e.g. a fake 2,000-site meeting).
window.consoleState = store;
Object.defineProperties(store, {
  filter: { get: () => ({ ...ui.filter }), enumerable: false },
  visible: { get: () => ui.shown, enumerable: false },
  apply: { value: (message) => handle(message), enumerable: false },
  command: { value: (name, site, args) => command(name, site, null, args), enumerable: false },
});

window.addEventListener('online', () => {
  if (store.state === 'reconnecting' && ui.reconnectTimer) connect();
});
window.addEventListener('offline', renderConnState);

function init() {
  Object.assign(dom, createRecordingControls());
  Object.assign(dom, createPresentingControls());
  fillIcons(root);
  applyI18n(root);
  bind();
  startWalls();
  initTalk();
  onLangChange(renderLanguage);
  renderLanguage();
  if (!meetingId) {
    showError('not-your-meeting');
    return;
  }
  connect();
  // The meeting's documents: upload during the meeting, show one to every site.
  mountDocuments(document.getElementById('console-documents'), {
    meetingId, canManage: true, canShow: true, titleClass: 'side-title',
  });
}

init();

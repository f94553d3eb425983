// Server messages applied to the state: the whole state first, then deltas.

import { fold } from '../shared/text.js';
import { ALERTS_KEPT, addAlert, feedOfSite, isFeedSite, renderAlerts } from './alerts.js';
import { closing, showError } from './banners.js';
import { dropFeed, feedRowChanged, renderCameras } from './cameras.js';
import { renderHands, renderHolders } from './floor.js';
import { renderClosed, renderControls, renderCounts, renderTitle } from './header.js';
import { setPresenting } from './presenting.js';
import { hideWarning, renderRecording, showWarning } from './recording.js';
import { renderTierOptions, scheduleRender } from './roll_call.js';
import { setConnState, settle } from './socket.js';
import { isWallSite, renderWalls } from './walls.js';
import { store, ui } from './state.js';
import { loadTalk, onConsoleChat, onVoteResult, onVoteTally } from './talk.js';

// -- messages ---------------------------------------------------------------------------

/** Apply one server message to the state and the page. */
export function handle(message) {
  switch (message.type) {
    case 'console':
      if (message.meeting) {
        // A fresh connection (the snapshot after a close has no `meeting`).
        Object.assign(store.meeting, message.meeting);
        store.closed = null;
        renderClosed();
      }
      if (message.state) loadState(message.state);
      ui.attempt = 0;
      setConnState('connected');
      loadTalk(); // the chat and votes so far (what this socket missed while away)
      break;
    case 'chat':
      onConsoleChat(message);
      break;
    case 'vote-tally':
      onVoteTally(message);
      break;
    case 'vote-result':
      onVoteResult(message);
      break;
    case 'presenting':
      setPresenting(message.presenting);
      break;
    case 'state':
      if (message.state) loadState(message.state);
      store.closed = null;
      renderClosed();
      break;
    case 'roll-call':
      applyRows(message.sites || []);
      if (Array.isArray(message.tiers)) store.tiers = message.tiers;
      renderCounts();
      break;
    case 'hands':
      store.hands = Array.isArray(message.queue) ? message.queue : [];
      renderHands();
      ui.epoch += 1;
      scheduleRender();
      break;
    case 'floor':
      store.floor = message.id ?? null;
      renderHolders();
      break;
    case 'spotlight':
      store.spotlight = message.id ?? null;
      renderHolders();
      break;
    case 'speaker':
      store.speaker = message.id ?? null;
      renderHolders();
      break;
    case 'locked':
      store.locked = !!message.locked;
      renderControls();
      break;
    case 'alert':
      addAlert(message);
      break;
    case 'removed': {
      if (isFeedSite(message.id)) dropFeed(feedOfSite(message.id));
      ui.readmitted.delete(message.id);
      const site = store.sites.get(message.id);
      if (site && site.status !== 'removed') {
        site.status = 'removed';
        touch(site);
      }
      if (isWallSite(message.id)) renderWalls();
      break;
    }
    case 'closing':
      closing.start(message.seconds);
      break;
    case 'recording':
      store.recording = !!message.active;
      store.recordingReason = store.recording ? null : message.reason ?? null;
      if (store.recording && store.warning && store.warning.code === 'recording-low-disk') hideWarning();
      renderRecording();
      break;
    case 'warning':
      showWarning(message.code || 'generic', message.message);
      break;
    case 'closed':
      store.closed = message.reason || 'ended';
      store.recording = false;
      store.roomLive = false;
      store.floor = null;
      store.spotlight = null;
      store.speaker = null;
      store.hands = [];
      store.feeds = [];
      setPresenting(null);
      renderCameras();
      renderWalls();
      closing.stop();
      renderClosed();
      renderHolders();
      renderHands();
      break;
    case 'result':
      settle(message.id, message, null);
      break;
    case 'error':
      if (message.id !== undefined && ui.pending.has(message.id)) {
        settle(message.id, null, { code: message.code || 'internal', message: message.message });
      } else {
        showError(message.code || 'internal', message.message);
      }
      break;
    default:
      break;
  }
}

/** The whole state (on connect, reconnect, room open or close): rebuild from scratch. */
function loadState(state) {
  store.sites.clear();
  for (const row of state.sites || []) {
    row._v = 1;
    row._key = fold(`${row.name} ${row.unit_code || ''} ${row.site_id}`);
    store.sites.set(row.site_id, row);
  }
  store.tiers = Array.isArray(state.tiers) ? state.tiers : [];
  store.hands = Array.isArray(state.hands) ? state.hands : [];
  store.floor = state.floor ?? null;
  store.spotlight = state.spotlight ?? null;
  store.speaker = state.speaker ?? null;
  store.locked = !!state.locked;
  store.recording = !!state.recording;
  // A live room's state says it is open; before the room opens the server sends the
  // invited sites with `open: false`.
  store.roomLive = 'open' in state ? state.open === true : Object.prototype.hasOwnProperty.call(state, 'recording');
  store.present = Number(state.present) || 0;
  store.room = state.room || null;
  // The room's own `state` event has no `alerts`/`feeds`: keep what we know then.
  if (Array.isArray(state.alerts)) store.alerts = state.alerts.slice(-ALERTS_KEPT);
  if (Array.isArray(state.feeds)) store.feeds = state.feeds.map(String);
  // A room not open has nobody presenting (its state has no `presenting`).
  setPresenting(state.presenting || null);
  if (!store.meeting.title && state.room && state.room.name) store.meeting.title = state.room.name;
  store.loaded = true;
  ui.orderDirty = true;
  ui.listDirty = true;
  ui.epoch += 1;
  // Rows of the previous snapshot are gone: rebuild every visible row.
  for (const row of ui.rendered.values()) row.remove();
  ui.rendered.clear();
  renderTitle();
  renderTierOptions();
  renderCounts();
  renderHolders();
  renderHands();
  renderControls();
  renderAlerts();
  renderCameras();
  renderWalls();
  scheduleRender();
}

/** A site row changed: re-render it. */
export function touch(site) {
  site._v = (site._v || 0) + 1;
  ui.listDirty = true;
  scheduleRender();
}

/** A `roll-call` delta: only the rows that changed. */
function applyRows(rows) {
  for (const row of rows) {
    if (!row || !row.site_id) continue;
    const old = store.sites.get(row.site_id);
    row._v = old ? (old._v || 0) + 1 : 1;
    row._key = fold(`${row.name} ${row.unit_code || ''} ${row.site_id}`);
    if (row.status !== 'removed') ui.readmitted.delete(row.site_id);
    if (isFeedSite(row.site_id)) feedRowChanged(row);
    if (isWallSite(row.site_id)) ui.wallsDirty = true;
    if (!old || old.name !== row.name || old.depth !== row.depth) ui.orderDirty = true;
    if (old) {
      // Keep the same object (references stay valid), with the new fields.
      for (const key of Object.keys(old)) if (!(key in row)) delete old[key];
      Object.assign(old, row);
    } else {
      store.sites.set(row.site_id, row);
    }
  }
  if (ui.wallsDirty) {
    ui.wallsDirty = false;
    renderWalls();
  }
  if (rows.length) {
    if (ui.orderDirty) renderTierOptions();
    ui.listDirty = true;
    scheduleRender();
  }
}

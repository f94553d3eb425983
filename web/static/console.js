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

import { t, addMessages, applyI18n, onLangChange, getLang } from './pages/i18n.js';
import { icon, fillIcons } from './console/icons.js';
import { MESSAGES, UNIT_TYPES_EN } from './console/messages.js';

addMessages(MESSAGES);

const BACKOFF_SECONDS = [1, 2, 4, 8, 15];
const COMMAND_TIMEOUT_MS = 10_000;
const ROW_HEIGHT = 44; // px, rows and tier headers alike (see console.css --rc-row)
const OVERSCAN_ROWS = 30; // rendered above and below the visible rows
const NOTICE_MS = 6_000;
const ERROR_MS = 15_000;
const TOAST_MS = 15_000; // a plate alert's toast stays this long (or until closed)
const TOASTS_MAX = 4; // toasts on screen at once; older ones go (the list keeps them)
const ALERTS_KEPT = 100; // as the server keeps per room
const SERVER_UTC_OFFSET_MIN = 7 * 60; // times are shown in Vietnam time, like the other pages
const STATUSES = ['not-joined', 'connecting', 'connected', 'poor', 'left', 'removed'];
const PRESENT = new Set(['connecting', 'connected', 'poor']);
const PLATE_COLOURS = new Set(['white', 'yellow', 'blue', 'red']);
// Status filter values: which row statuses each one shows.
const STATUS_FILTERS = {
  all: null,
  'not-joined': new Set(['not-joined']),
  connecting: new Set(['connecting']),
  connected: new Set(['connected', 'poor']),
  poor: new Set(['poor']),
  left: new Set(['left']),
  removed: new Set(['removed']),
};

const $ = (selector, root = document) => root.querySelector(selector);

function readPage() {
  try {
    return JSON.parse(document.body.dataset.page || '{}');
  } catch {
    return {};
  }
}

const page = readPage();
const root = $('#console');
const meetingId = page.meeting_id || (root && root.dataset.meetingId) || '';

const dom = {
  title: $('#meeting-title'),
  state: $('#console-state'),
  stateText: $('#console-state-text'),
  lockState: $('#lock-state'),
  lockStateText: $('#lock-state-text'),
  lockIcon: $('#lock-state .lock-icon'),
  present: $('#present-count'),
  invited: $('#invited-count'),
  tiers: $('#tier-counts'),
  statusCounts: $('#status-counts'),
  closing: $('#console-closing'),
  closingText: $('#console-closing-text'),
  notice: $('#console-notice'),
  noticeText: $('#console-notice-text'),
  error: $('#console-error'),
  errorText: $('#console-error-text'),
  errorClose: $('#console-error-close'),
  summary: $('#roll-call-summary'),
  filters: $('#roll-call-filters'),
  filterStatus: $('#filter-status'),
  filterTier: $('#filter-tier'),
  filterText: $('#filter-text'),
  table: $('#roll-call'),
  body: $('#roll-call-body'),
  empty: $('#roll-call-empty'),
  floorHolder: $('#floor-holder'),
  takeFloor: $('#take-floor'),
  spotlightHolder: $('#spotlight-holder'),
  clearSpotlight: $('#clear-spotlight'),
  speaker: $('#speaker'),
  hands: $('#hands'),
  handsCount: $('#hands-count'),
  handsEmpty: $('#hands-empty'),
  muteAll: $('#mute-all'),
  toggleLock: $('#toggle-lock'),
  alertsCount: $('#alerts-count'),
  alertList: $('#alert-list'),
  alertsEmpty: $('#alerts-empty'),
  toasts: $('#alert-toasts'),
  cameras: $('#meeting-cameras'),
  camerasCount: $('#cameras-count'),
  camerasEmpty: $('#cameras-empty'),
  addCamera: $('#add-camera'),
  picker: $('#camera-picker'),
  pickerStatus: $('#camera-picker-status'),
  feedOptions: $('#feed-options'),
  ...createRecordingControls(),
};

// -- state ------------------------------------------------------------------------------

/** Everything the console knows; also `window.consoleState` for tests and support staff. */
const store = {
  sites: new Map(), // site id -> roll-call row (plus _v, _key: render bookkeeping)
  tiers: [],
  hands: [], // [{id, at}] in order
  floor: null,
  spotlight: null,
  speaker: null,
  locked: false,
  present: 0,
  meeting: { id: meetingId, title: '', host_site: null },
  room: null,
  closed: null, // reason, once the room closed
  closingAt: 0, // ms epoch of the announced end
  state: 'connecting', // the console socket: connecting | connected | reconnecting
  loaded: false,
  recording: false, // the room is being recorded (console state `recording`, `recording` events)
  roomLive: false, // the state came from a live room (it has `recording`): recording is possible
  recordingReason: null, // why the last recording stopped
  recordingId: null, // the recording this console started or stopped last
  warning: null, // {code, message}: the last `warning` event, until dismissed
  alerts: [], // plate alerts of the room, oldest first (console state `alerts`, `alert` events)
  feeds: [], // ids of the checkpoint cameras in the meeting (console state `feeds`)
  registeredFeeds: null, // GET /api/feeds: the cameras this user may bring in
};

const ui = {
  ws: null,
  attempt: 0,
  reconnectTimer: null,
  reconnectAt: 0,
  countdownTimer: null,
  closingTimer: null,
  nextId: 1,
  pending: new Map(), // command id -> {command, site, button, timer}
  order: [], // site ids sorted by tier then name
  orderDirty: true,
  items: [], // the filtered flat list: {kind: 'group', depth} | {kind: 'site', id}
  listDirty: true,
  epoch: 0, // bumped when something every row shows changes (floor, language...)
  rendered: new Map(), // item key -> row element
  frame: 0,
  collapsed: new Set(), // tier depths folded away
  readmitted: new Set(), // removed sites let back in (the roll call says `removed` until they come)
  filter: { status: 'all', tier: 'all', text: '' },
  counts: {},
  shown: 0,
  noticeTimer: null,
  errorTimer: null,
  textTimer: null,
  feedsLoading: false,
  feedsError: null, // why GET /api/feeds failed
};

const collator = new Intl.Collator('vi', { sensitivity: 'base', numeric: true });

// -- small helpers ----------------------------------------------------------------------

function fold(text) {
  return String(text || '')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D')
    .toLowerCase()
    .trim();
}

const pad = (n) => String(n).padStart(2, '0');

/** "HH:mm:ss" of an epoch-seconds time, in Vietnam time. */
function clock(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return '';
  const d = new Date(seconds * 1000 + SERVER_UTC_OFFSET_MIN * 60_000);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function number(value, digits = 0) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  return value.toLocaleString(getLang() === 'vi' ? 'vi-VN' : 'en-GB', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function siteName(id) {
  if (!id) return '';
  const site = store.sites.get(id);
  return site ? site.name : id;
}

/** Whether a roll-call group counts towards attendance (invited sites), not guests or cameras. */
const isAttendance = (tier) => !tier.kind || tier.kind === 'site';

function tierLabel(label) {
  if (getLang() === 'en') return UNIT_TYPES_EN[label] || label || '–';
  return label || '–';
}

function statusText(status) {
  return t(`console.status.${status}`);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function iconButton(action, site, iconName, label, extraClass = '') {
  const button = el('button', `rc-btn ${extraClass}`.trim());
  button.type = 'button';
  button.dataset[action] = site;
  button.setAttribute('aria-label', label);
  button.title = label;
  button.append(icon(iconName));
  return button;
}

function roomOpen() {
  return !store.closed && store.state === 'connected';
}

// -- the socket -------------------------------------------------------------------------

function wsUrl() {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${window.location.host}/ws/console/${encodeURIComponent(meetingId)}`;
}

function setConnState(state) {
  store.state = state;
  dom.state.dataset.state = state;
  dom.state.setAttribute('aria-busy', String(state !== 'connected'));
  renderConnState();
  renderControls();
  ui.epoch += 1; // row actions depend on the connection
  scheduleRender();
}

function renderConnState() {
  const state = store.state;
  let text;
  if (state === 'reconnecting' && !navigator.onLine) text = t('console.state.offline');
  else if (state === 'reconnecting' && ui.reconnectAt > Date.now()) {
    text = t('console.state.reconnectingIn', { n: Math.ceil((ui.reconnectAt - Date.now()) / 1000) });
  } else text = t(`console.state.${state}`);
  dom.stateText.textContent = text;
}

function connect() {
  clearTimeout(ui.reconnectTimer);
  clearInterval(ui.countdownTimer);
  ui.reconnectTimer = null;
  ui.countdownTimer = null;
  ui.reconnectAt = 0;
  if (ui.ws) {
    ui.ws.onopen = ui.ws.onmessage = ui.ws.onclose = ui.ws.onerror = null;
    try {
      ui.ws.close();
    } catch {
      /* already closed */
    }
  }
  setConnState(ui.attempt > 0 ? 'reconnecting' : 'connecting');
  let ws;
  try {
    ws = new WebSocket(wsUrl());
  } catch (err) {
    console.error('cannot open the console socket', err);
    scheduleReconnect();
    return;
  }
  ui.ws = ws;
  ws.onmessage = (event) => {
    if (ws !== ui.ws) return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      console.warn('console: ignoring a message that is not JSON');
      return;
    }
    try {
      handle(message);
    } catch (err) {
      console.error('console: message handling failed', message && message.type, err);
    }
  };
  ws.onclose = () => {
    if (ws !== ui.ws) return;
    ui.ws = null;
    failPending();
    scheduleReconnect();
  };
  ws.onerror = () => {
    /* a close event follows */
  };
}

function scheduleReconnect() {
  clearTimeout(ui.reconnectTimer);
  clearInterval(ui.countdownTimer);
  const delay = BACKOFF_SECONDS[Math.min(ui.attempt, BACKOFF_SECONDS.length - 1)];
  ui.attempt += 1;
  ui.reconnectAt = Date.now() + delay * 1000;
  setConnState('reconnecting');
  ui.countdownTimer = setInterval(renderConnState, 1000); // a local countdown, not a request
  ui.reconnectTimer = setTimeout(connect, delay * 1000);
}

window.addEventListener('online', () => {
  if (store.state === 'reconnecting' && ui.reconnectTimer) connect();
});
window.addEventListener('offline', renderConnState);

function send(message) {
  if (ui.ws && ui.ws.readyState === WebSocket.OPEN) {
    ui.ws.send(JSON.stringify(message));
    return true;
  }
  return false;
}

/** Send a console command; resolves with the `result`, rejects with {code}. */
function command(name, site = null, button = null) {
  return new Promise((resolve, reject) => {
    const id = ui.nextId++;
    const message = { type: 'command', id, command: name };
    if (site !== null && site !== undefined) message.site = site;
    if (!send(message)) {
      const err = { code: 'not-connected' };
      showError(err.code);
      reject(err);
      return;
    }
    if (button) {
      button.disabled = true;
      button.setAttribute('aria-busy', 'true');
    }
    const timer = setTimeout(() => settle(id, null, { code: 'timeout' }), COMMAND_TIMEOUT_MS);
    ui.pending.set(id, { command: name, site, button, timer, resolve, reject });
  });
}

function settle(id, result, error) {
  const pending = ui.pending.get(id);
  if (!pending) return;
  ui.pending.delete(id);
  clearTimeout(pending.timer);
  if (pending.button) {
    pending.button.removeAttribute('aria-busy');
    pending.button.disabled = false;
    renderControls();
  }
  if (error) {
    showError(error.code, error.message);
    pending.reject(error);
    return;
  }
  clearError();
  if (pending.command === 'readmit' && pending.site) {
    ui.readmitted.add(pending.site);
    const site = store.sites.get(pending.site);
    if (site) touch(site);
  }
  const name = siteName(pending.site);
  const key = `console.done.${pending.command}`;
  if (pending.command === 'mute-all') showNotice(t(key, { n: (result.muted || []).length }));
  else if (MESSAGES.vi[key]) showNotice(t(key, { name }));
  pending.resolve(result);
}

function failPending() {
  for (const id of [...ui.pending.keys()]) settle(id, null, { code: 'not-connected' });
}

// -- messages ---------------------------------------------------------------------------

function handle(message) {
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
      break;
    }
    case 'closing':
      startClosing(message.seconds);
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
      renderCameras();
      stopClosing();
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
  scheduleRender();
}

function touch(site) {
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
    if (!old || old.name !== row.name || old.depth !== row.depth) ui.orderDirty = true;
    if (old) {
      // Keep the same object (references stay valid), with the new fields.
      for (const key of Object.keys(old)) if (!(key in row)) delete old[key];
      Object.assign(old, row);
    } else {
      store.sites.set(row.site_id, row);
    }
  }
  if (rows.length) {
    if (ui.orderDirty) renderTierOptions();
    ui.listDirty = true;
    scheduleRender();
  }
}

// -- header: title, counts, connection, lock ----------------------------------------------

function renderTitle() {
  const title = store.meeting.title || (store.room && store.room.name) || '';
  dom.title.textContent = title || '\u00a0';
  document.title = `${title ? `${title} – ` : ''}${t('console.title')} – ${t('app.title')}`;
}

function renderCounts() {
  // Tiers: "Tỉnh: 1/1 · Huyện: 1/9 · Xã: 171/178".
  const parts = [];
  let present = 0;
  let total = 0;
  store.tiers.forEach((tier, index) => {
    // Guests and cameras have their own groups: shown as "how many are in",
    // never added to the invited sites' attendance.
    const attendance = isAttendance(tier);
    if (attendance) {
      present += Number(tier.present) || 0;
      total += Number(tier.total) || 0;
    }
    if (index > 0) parts.push(el('span', 'tier-sep', ' · '));
    const count = attendance ? `${tier.present}/${tier.total}` : String(tier.present);
    const item = el('span', 'tier-count', `${tierLabel(tier.label)}: ${count}`);
    item.dataset.tierDepth = String(tier.depth);
    item.dataset.kind = tier.kind || 'site';
    item.dataset.present = String(tier.present);
    item.dataset.total = String(tier.total);
    item.classList.toggle('is-complete', attendance && tier.total > 0 && tier.present === tier.total);
    parts.push(item);
  });
  for (const sep of parts) if (sep.classList.contains('tier-sep')) sep.setAttribute('aria-hidden', 'true');
  dom.tiers.replaceChildren(...parts);
  if (!store.tiers.length) {
    present = store.present;
    total = store.sites.size;
  }
  store.present = present;
  dom.present.textContent = String(present);
  dom.invited.textContent = String(total || store.sites.size);
}

function renderControls() {
  const connected = store.state === 'connected';
  const open = roomOpen();
  // Lock.
  dom.lockState.dataset.locked = String(store.locked);
  const lockKey = store.closed ? 'console.room.closed' : store.locked ? 'console.room.locked' : 'console.room.open';
  dom.lockStateText.dataset.i18n = lockKey;
  dom.lockStateText.textContent = t(lockKey);
  const lockIconName = store.closed ? 'clock' : store.locked ? 'lock' : 'unlock';
  if (dom.lockIcon.dataset.icon !== lockIconName) {
    dom.lockIcon.dataset.icon = lockIconName;
    dom.lockIcon.replaceChildren(icon(lockIconName));
  }
  dom.toggleLock.setAttribute('aria-pressed', String(store.locked));
  dom.toggleLock.classList.toggle('is-on', store.locked);
  const lockText = dom.toggleLock.querySelector('.btn-text');
  lockText.dataset.i18n = store.locked ? 'console.unlock' : 'console.lock';
  lockText.textContent = t(lockText.dataset.i18n);
  const lockButtonIcon = dom.toggleLock.querySelector('[data-icon]');
  const wanted = store.locked ? 'unlock' : 'lock';
  if (lockButtonIcon.dataset.icon !== wanted) {
    lockButtonIcon.dataset.icon = wanted;
    lockButtonIcon.replaceChildren(icon(wanted));
  }
  const busy = (button) => button.getAttribute('aria-busy') === 'true';
  dom.toggleLock.disabled = !open || busy(dom.toggleLock);
  dom.muteAll.disabled = !open || busy(dom.muteAll);
  dom.takeFloor.disabled = !open || !store.floor || busy(dom.takeFloor);
  dom.clearSpotlight.disabled = !open || !store.spotlight || busy(dom.clearSpotlight);
  dom.table.setAttribute('aria-busy', String(!connected));
  renderRecording();
  renderCameraControls();
}

function renderHolders() {
  for (const [node, id, emptyKey] of [
    [dom.floorHolder, store.floor, 'console.nobody'],
    [dom.spotlightHolder, store.spotlight, 'console.nobody'],
    [dom.speaker, store.speaker, 'console.speakerAuto'],
  ]) {
    node.dataset.site = id || '';
    node.classList.toggle('is-empty', !id);
    node.textContent = id ? siteName(id) : t(emptyKey);
  }
  renderControls();
  ui.epoch += 1;
  scheduleRender();
}

function renderClosed() {
  if (store.closed) {
    showNotice(t(store.closed === 'cancelled' ? 'console.closed.cancelled' : 'console.closed'), 0);
  } else if (dom.notice.dataset.sticky === 'true') {
    hideNotice();
  }
  renderControls();
}

// -- closing countdown ------------------------------------------------------------------

function startClosing(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return;
  store.closingAt = Date.now() + Math.max(0, seconds) * 1000;
  clearInterval(ui.closingTimer);
  ui.closingTimer = setInterval(renderClosing, 1000);
  renderClosing();
}

function stopClosing() {
  clearInterval(ui.closingTimer);
  ui.closingTimer = null;
  store.closingAt = 0;
  renderClosing();
}

function renderClosing() {
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

function showNotice(text, ms = NOTICE_MS) {
  clearTimeout(ui.noticeTimer);
  dom.noticeText.textContent = text;
  dom.notice.hidden = false;
  dom.notice.dataset.sticky = String(!ms);
  if (ms) ui.noticeTimer = setTimeout(hideNotice, ms);
}

function hideNotice() {
  clearTimeout(ui.noticeTimer);
  if (store.closed && dom.notice.dataset.sticky !== 'true') {
    renderClosed();
    return;
  }
  dom.notice.hidden = true;
  dom.noticeText.textContent = '';
  delete dom.notice.dataset.sticky;
}

function errorMessage(code) {
  const key = `console.error.${code}`;
  if (MESSAGES.vi[key]) return t(key);
  return t('console.error.generic', { code });
}

function showError(code, detail) {
  clearTimeout(ui.errorTimer);
  ui.errorCode = code;
  dom.error.dataset.code = code;
  dom.errorText.textContent = errorMessage(code);
  if (detail) dom.error.title = detail;
  else dom.error.removeAttribute('title');
  dom.error.hidden = false;
  ui.errorTimer = setTimeout(clearError, ERROR_MS);
}

function clearError() {
  clearTimeout(ui.errorTimer);
  ui.errorCode = null;
  dom.error.hidden = true;
  delete dom.error.dataset.code;
  dom.errorText.textContent = '';
}

// -- recording ----------------------------------------------------------------------------
// console.html has no recording markup: the badge (#recording-badge), the
// toggle (#toggle-recording), its side card and the warning banner
// (#console-warning) are built here.

function createRecordingControls() {
  const badge = el('p', 'recording-badge');
  badge.id = 'recording-badge';
  badge.hidden = true;
  const dot = el('span', 'recording-dot', '●');
  dot.setAttribute('aria-hidden', 'true');
  const badgeText = el('span', 'recording-badge-text', t('console.recording.badge'));
  badgeText.dataset.i18n = 'console.recording.badge';
  badge.append(dot, ' ', badgeText);
  const indicators = $('.console-indicators');
  if (indicators) indicators.prepend(badge);

  const card = el('section', 'side-card recording-card');
  card.setAttribute('aria-labelledby', 'recording-title');
  const title = el('h2', 'side-title');
  title.id = 'recording-title';
  const titleDot = el('span', 'recording-title-dot');
  titleDot.setAttribute('aria-hidden', 'true');
  const titleText = el('span', '', t('console.recording.title'));
  titleText.dataset.i18n = 'console.recording.title';
  title.append(titleDot, titleText);
  const toggle = el('button', 'btn btn-small btn-block btn-record');
  toggle.id = 'toggle-recording';
  toggle.type = 'button';
  toggle.disabled = true;
  toggle.setAttribute('aria-pressed', 'false');
  toggle.setAttribute('aria-describedby', 'recording-state');
  const toggleDot = el('span', 'record-icon');
  toggleDot.setAttribute('aria-hidden', 'true');
  const toggleText = el('span', 'btn-text', t('console.recording.start'));
  toggleText.dataset.i18n = 'console.recording.start';
  toggle.append(toggleDot, toggleText);
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

function renderRecording() {
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

function warningMessage(warning) {
  const key = `console.warning.${warning.code}`;
  if (MESSAGES.vi[key]) return t(key);
  return t('console.warning.generic', { message: warning.message || warning.code });
}

/** A `warning` event: stays until dismissed (or the recording starts again). */
function showWarning(code, message) {
  store.warning = { code, message: message || '' };
  dom.warning.dataset.code = code;
  dom.warningText.textContent = warningMessage(store.warning);
  if (message) dom.warning.title = message;
  dom.warning.hidden = false;
}

function hideWarning() {
  store.warning = null;
  dom.warning.hidden = true;
  delete dom.warning.dataset.code;
  dom.warningText.textContent = '';
  dom.warning.removeAttribute('title');
}

// -- checkpoint cameras: plate alerts -----------------------------------------------------
// An `alert` message: a camera in the meeting read a plate on the watch list
// or from an outbreak province. It heads the list (#alert-list, newest first)
// and pops a toast (#alert-toasts) that goes by itself after TOAST_MS.

const isFeedSite = (id) => typeof id === 'string' && id.startsWith('feed-');
const feedOfSite = (id) => (isFeedSite(id) ? id.slice(5) : String(id || ''));

function feedInfo(feedId) {
  return (store.registeredFeeds || []).find((f) => f.id === feedId) || null;
}

/** A camera's name for people: its registered name, else its roll-call name (the checkpoint). */
function cameraName(feedId) {
  const feed = feedInfo(feedId);
  if (feed) return feed.name;
  const row = store.sites.get(`feed-${feedId}`);
  return row ? row.name : feedId;
}

/** The plate as read, for people ("30A-123.45"). */
function alertPlate(alert) {
  return alert.display || alert.plate || '?';
}

/** Why a pass alerts, one line per list it matched. */
function alertReasons(alert) {
  const items = Array.isArray(alert.alerts) ? alert.alerts : [];
  if (!items.length) return alert.text ? [alert.text] : [];
  return items.map((item) => {
    const key = item.kind === 'outbreak' ? 'console.alert.outbreak' : 'console.alert.watch';
    let line = t(key, {
      pattern: item.pattern || '',
      province: alert.province_code || '',
      reason: item.reason || '',
    });
    if (item.fuzzy) line += ` (${t('console.alert.fuzzy', { detail: item.fuzzy })})`;
    return line;
  });
}

/** The plate crop's URL: the message's `crop` (null: none kept); older servers: the event's. */
function alertCropUrl(alert) {
  if ('crop' in alert) return typeof alert.crop === 'string' && alert.crop.startsWith('/') ? alert.crop : null;
  return alert.event ? `/api/anpr/events/${encodeURIComponent(alert.event)}/plate.jpg` : null;
}

function alertCrop(alert, className) {
  const url = alertCropUrl(alert);
  if (!url) return null;
  const img = el('img', className);
  img.alt = t('console.alert.cropAlt', { plate: alertPlate(alert) });
  img.decoding = 'async';
  img.addEventListener('error', () => img.remove(), { once: true }); // deleted by retention
  img.src = url;
  return img;
}

function addAlert(message) {
  store.alerts.push(message);
  if (store.alerts.length > ALERTS_KEPT) store.alerts.splice(0, store.alerts.length - ALERTS_KEPT);
  const item = alertItem(message);
  dom.alertList.prepend(item);
  while (dom.alertList.children.length > ALERTS_KEPT) dom.alertList.lastElementChild.remove();
  renderAlertCount();
  showToast(message);
}

function alertItem(alert) {
  const li = el('li', 'alert-item');
  li.dataset.event = alert.event || '';
  li.dataset.plate = alert.plate || '';
  li._alert = alert;
  fillAlertItem(li, alert);
  return li;
}

function fillAlertItem(li, alert) {
  const head = el('div', 'alert-item-head');
  const plate = el('span', 'alert-plate', alertPlate(alert));
  plate.lang = 'vi';
  const time = el('time', 'alert-time', clock(alert.at));
  if (typeof alert.at === 'number') time.dateTime = new Date(alert.at * 1000).toISOString();
  head.append(plate, time);
  const where = el('p', 'alert-checkpoint', alert.checkpoint || cameraName(alert.feed));
  // The plate's background says what kind of vehicle it is (yellow: commercial transport).
  if (PLATE_COLOURS.has(alert.colour)) {
    where.append(el('span', 'alert-colour', ` · ${t(`console.alert.colour.${alert.colour}`)}`));
  }
  const reasons = el('ul', 'alert-reasons');
  for (const line of alertReasons(alert)) reasons.append(el('li', 'alert-reason', line));
  const text = el('div', 'alert-item-text');
  text.append(head, where, reasons);
  const crop = alertCrop(alert, 'alert-crop');
  li.replaceChildren(...(crop ? [crop, text] : [text]));
}

function renderAlertCount() {
  dom.alertsCount.textContent = String(store.alerts.length);
  dom.alertsEmpty.hidden = store.alerts.length > 0;
}

function renderAlerts() {
  const items = store.alerts.slice().reverse().map(alertItem);
  dom.alertList.replaceChildren(...items);
  renderAlertCount();
}

function showToast(alert) {
  const toast = el('div', 'alert-toast');
  toast.setAttribute('role', 'alert');
  toast.dataset.event = alert.event || '';
  toast.dataset.plate = alert.plate || '';
  toast._alert = alert;
  fillToast(toast, alert);
  dom.toasts.append(toast);
  while (dom.toasts.children.length > TOASTS_MAX) dom.toasts.firstElementChild.remove();
  toast._timer = setTimeout(() => hideToast(toast), TOAST_MS);
  // Hovering or focusing a toast keeps it until the pointer or focus leaves.
  const hold = () => clearTimeout(toast._timer);
  const release = () => {
    clearTimeout(toast._timer);
    toast._timer = setTimeout(() => hideToast(toast), TOAST_MS / 3);
  };
  toast.addEventListener('mouseenter', hold);
  toast.addEventListener('focusin', hold);
  toast.addEventListener('mouseleave', release);
  toast.addEventListener('focusout', release);
}

function fillToast(toast, alert) {
  if (!alert) return;
  const title = el('p', 'alert-toast-title');
  const plate = el('span', 'alert-plate', alertPlate(alert));
  plate.lang = 'vi';
  title.append(icon('warning'), el('span', '', t('console.alert.toastTitle')), plate);
  const where = el('p', 'alert-toast-where', t('console.alert.where', {
    checkpoint: alert.checkpoint || cameraName(alert.feed),
    time: clock(alert.at),
  }));
  const reasons = el('p', 'alert-toast-reason', alertReasons(alert).join(' · '));
  const text = el('div', 'alert-toast-text');
  text.append(title, where, reasons);
  const close = el('button', 'console-dismiss alert-toast-close');
  close.type = 'button';
  close.dataset.closeToast = '';
  close.setAttribute('aria-label', t('console.alert.close'));
  close.title = t('console.alert.close');
  close.append(icon('x'));
  const crop = alertCrop(alert, 'alert-toast-crop');
  toast.replaceChildren(...(crop ? [crop, text, close] : [text, close]));
}

function hideToast(toast) {
  if (!toast) return;
  clearTimeout(toast._timer);
  toast.remove();
}

// -- checkpoint cameras: in the meeting and the picker ------------------------------------

function addFeedId(feedId) {
  if (!feedId || store.feeds.includes(feedId)) return false;
  store.feeds = [...store.feeds, feedId].sort();
  return true;
}

function dropFeed(feedId) {
  if (!store.feeds.includes(feedId)) return false;
  store.feeds = store.feeds.filter((id) => id !== feedId);
  renderCameras();
  renderPicker();
  return true;
}

/** A camera's roll-call row changed: it joined (in the meeting) or left (out of it). */
function feedRowChanged(row) {
  const feedId = feedOfSite(row.site_id);
  const changed = PRESENT.has(row.status) ? addFeedId(feedId) : store.feeds.includes(feedId) && dropFeed(feedId);
  if (changed) {
    renderCameras();
    renderPicker();
  }
}

function feedStateText(feed) {
  const state = feed && feed.status ? feed.status.state : null;
  if (!state) return '';
  const key = `console.feedState.${state}`;
  return MESSAGES.vi[key] ? t(key) : state;
}

function renderCameras() {
  const open = roomOpen() && store.roomLive;
  const items = store.feeds.map((feedId) => {
    const feed = feedInfo(feedId);
    const name = cameraName(feedId);
    const li = el('li', 'camera-item');
    li.dataset.feedId = feedId;
    const info = el('div', 'camera-info');
    info.append(el('span', 'camera-name', name));
    const checkpoint = feed ? feed.checkpoint : null;
    if (checkpoint && checkpoint !== name) info.append(el('span', 'camera-checkpoint', checkpoint));
    const row = store.sites.get(`feed-${feedId}`);
    if (row) {
      const badge = el('span', 'rc-badge camera-status', statusText(row.status));
      badge.dataset.status = row.status;
      info.append(badge);
    }
    const remove = el('button', 'btn btn-small btn-ghost camera-remove');
    remove.type = 'button';
    remove.dataset.removeFeed = feedId;
    remove.setAttribute('aria-label', t('console.camera.removeLabel', { name }));
    remove.append(icon('x'), el('span', '', t('console.camera.remove')));
    remove.disabled = !open;
    li.append(info, remove);
    return li;
  });
  dom.cameras.replaceChildren(...items);
  dom.camerasCount.textContent = String(store.feeds.length);
  dom.camerasEmpty.hidden = store.feeds.length > 0;
}

function renderCameraControls() {
  if (!dom.addCamera) return;
  const open = roomOpen() && store.roomLive;
  const busy = dom.addCamera.getAttribute('aria-busy') === 'true';
  dom.addCamera.disabled = !open || busy;
  dom.addCamera.title = open ? '' : t('console.camera.needsRoom');
  if (!open && !dom.picker.hidden) togglePicker(false);
  for (const button of dom.cameras.querySelectorAll('button[data-remove-feed]')) {
    if (button.getAttribute('aria-busy') !== 'true') button.disabled = !open;
  }
  for (const button of dom.feedOptions.querySelectorAll('button[data-add-feed]')) {
    if (button.getAttribute('aria-busy') !== 'true') button.disabled = !open;
  }
}

function togglePicker(show = dom.picker.hidden) {
  dom.picker.hidden = !show;
  dom.addCamera.setAttribute('aria-expanded', String(show));
  if (show) {
    renderPicker();
    loadFeeds();
  }
}

async function loadFeeds() {
  if (ui.feedsLoading) return;
  ui.feedsLoading = true;
  renderPicker();
  try {
    const response = await fetch('/api/feeds', { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      ui.feedsError = (data && data.error && data.error.code) || `http-${response.status}`;
    } else {
      store.registeredFeeds = Array.isArray(data && data.feeds) ? data.feeds : [];
      ui.feedsError = null;
    }
  } catch {
    ui.feedsError = 'not-connected';
  } finally {
    ui.feedsLoading = false;
  }
  renderPicker();
  renderCameras();
}

function renderPicker() {
  if (!dom.feedOptions) return;
  const open = roomOpen() && store.roomLive;
  const feeds = (store.registeredFeeds || []).filter((f) => !store.feeds.includes(f.id));
  let status = '';
  if (ui.feedsLoading && !store.registeredFeeds) status = t('console.camera.loading');
  else if (ui.feedsError) status = t('console.camera.loadError', { detail: errorMessage(ui.feedsError) });
  else if (store.registeredFeeds && !store.registeredFeeds.length) status = t('console.camera.noneRegistered');
  else if (store.registeredFeeds && !feeds.length) status = t('console.camera.allIn');
  else if (store.registeredFeeds) status = t('console.camera.choose');
  if (dom.pickerStatus.textContent !== status) dom.pickerStatus.textContent = status;
  const items = feeds.map((feed) => {
    const li = el('li', 'feed-option');
    li.dataset.feedId = feed.id;
    const button = el('button', 'feed-option-button');
    button.type = 'button';
    button.dataset.addFeed = feed.id;
    button.setAttribute('aria-label', t('console.camera.addLabel', { name: feed.name, checkpoint: feed.checkpoint }));
    const name = el('span', 'feed-option-name', feed.name);
    const checkpoint = el('span', 'feed-option-checkpoint', feed.checkpoint);
    const state = el('span', 'feed-option-state', feedStateText(feed));
    state.dataset.state = (feed.status && feed.status.state) || '';
    button.append(icon('cam'), name, checkpoint, state);
    button.disabled = !open;
    li.append(button);
    return li;
  });
  dom.feedOptions.replaceChildren(...items);
}

function onPickFeed(event) {
  const button = event.target.closest('button[data-add-feed]');
  if (!button || button.disabled) return;
  const feedId = button.dataset.addFeed;
  const name = cameraName(feedId);
  command('add-feed', feedId, button)
    .then(() => {
      addFeedId(feedId);
      showNotice(t('console.camera.added', { name }));
      renderCameras();
      renderPicker();
      if (!dom.feedOptions.querySelector('button[data-add-feed]')) {
        togglePicker(false);
        dom.addCamera.focus();
      }
    })
    .catch(() => {});
}

function onCameraAction(event) {
  const button = event.target.closest('button[data-remove-feed]');
  if (!button || button.disabled) return;
  const feedId = button.dataset.removeFeed;
  const name = cameraName(feedId);
  command('remove-feed', feedId, button)
    .then(() => {
      dropFeed(feedId);
      showNotice(t('console.camera.removed', { name }));
    })
    .catch(() => {});
}

// -- raised hands -----------------------------------------------------------------------

function renderHands() {
  const items = store.hands.map((hand, index) => {
    const li = el('li', 'hand');
    li.dataset.handSite = hand.id;
    const info = el('div', 'hand-info');
    const position = el('span', 'hand-pos', String(index + 1));
    position.setAttribute('aria-hidden', 'true');
    const name = el('span', 'hand-name', siteName(hand.id));
    const when = el('span', 'hand-time', t('console.handAt', { time: clock(hand.at) }));
    info.append(position, name, when);
    const actions = el('div', 'hand-actions');
    const give = el('button', 'btn btn-small btn-primary');
    give.type = 'button';
    give.dataset.giveFloor = hand.id;
    give.append(icon('floor'), el('span', '', t('console.giveFloor')));
    give.setAttribute('aria-label', t('console.action.giveFloor', { name: siteName(hand.id) }));
    const lower = el('button', 'btn btn-small');
    lower.type = 'button';
    lower.dataset.lowerHand = hand.id;
    lower.append(icon('hand-down'), el('span', '', t('console.lowerHand')));
    const open = roomOpen();
    give.disabled = !open;
    lower.disabled = !open;
    actions.append(give, lower);
    li.append(info, actions);
    return li;
  });
  dom.hands.replaceChildren(...items);
  dom.handsCount.textContent = String(store.hands.length);
  dom.handsEmpty.hidden = store.hands.length > 0;
}

// -- roll call: filters and the flat list -------------------------------------------------

function sortOrder() {
  const rows = [...store.sites.values()];
  rows.sort((a, b) => (a.depth - b.depth) || collator.compare(a.name, b.name) || (a.site_id < b.site_id ? -1 : 1));
  ui.order = rows.map((r) => r.site_id);
  ui.orderDirty = false;
}

function renderTierOptions() {
  const depths = new Map();
  for (const tier of store.tiers) depths.set(tier.depth, tier.label);
  for (const site of store.sites.values()) if (!depths.has(site.depth)) depths.set(site.depth, site.unit_type);
  const select = dom.filterTier;
  const current = select.value;
  const options = [el('option', '', t('console.filter.allTiers'))];
  options[0].value = 'all';
  for (const depth of [...depths.keys()].sort((a, b) => a - b)) {
    const option = el('option', '', tierLabel(depths.get(depth)));
    option.value = String(depth);
    options.push(option);
  }
  const signature = options.map((o) => `${o.value}:${o.textContent}`).join('|');
  if (select.dataset.signature !== signature) {
    select.replaceChildren(...options);
    select.dataset.signature = signature;
    select.value = [...select.options].some((o) => o.value === current) ? current : 'all';
    if (select.value !== ui.filter.tier) {
      ui.filter.tier = select.value;
      ui.listDirty = true;
    }
  }
}

function matchesText(site, words) {
  for (const word of words) if (!site._key.includes(word)) return false;
  return true;
}

function buildList() {
  if (ui.orderDirty) sortOrder();
  const { status, tier, text } = ui.filter;
  const allowed = STATUS_FILTERS[status] || null;
  const tierDepth = tier === 'all' ? null : Number(tier);
  const words = fold(text).split(/\s+/).filter(Boolean);
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  let base = 0;
  const items = [];
  const groups = new Map(); // depth -> {present, total, shown}
  for (const id of ui.order) {
    const site = store.sites.get(id);
    if (!site) continue;
    if (tierDepth !== null && site.depth !== tierDepth) continue;
    if (words.length && !matchesText(site, words)) continue;
    base += 1;
    counts[site.status] = (counts[site.status] || 0) + 1;
    if (allowed && !allowed.has(site.status)) continue;
    let group = groups.get(site.depth);
    if (!group) {
      group = { shown: 0 };
      groups.set(site.depth, group);
      items.push({ kind: 'group', depth: site.depth, unitType: site.unit_type, key: `g:${site.depth}` });
    }
    group.shown += 1;
    if (!ui.collapsed.has(site.depth)) items.push({ kind: 'site', id, key: `s:${id}` });
  }
  for (const item of items) if (item.kind === 'group') item.shown = groups.get(item.depth).shown;
  ui.items = items;
  ui.counts = counts;
  ui.base = base;
  ui.shown = items.reduce((n, item) => n + (item.kind === 'group' ? item.shown : 0), 0);
  ui.listDirty = false;
  renderFilterCounts();
}

function renderFilterCounts() {
  const counts = ui.counts;
  const total = ui.base || 0;
  const countFor = (value) => {
    const allowed = STATUS_FILTERS[value];
    if (!allowed) return total;
    let n = 0;
    for (const s of allowed) n += counts[s] || 0;
    return n;
  };
  for (const option of dom.filterStatus.options) {
    const label = option.value === 'all' ? t('console.filter.all') : statusText(option.value);
    const text = `${label} (${countFor(option.value)})`;
    if (option.textContent !== text) option.textContent = text;
    option.dataset.count = String(countFor(option.value));
  }
  // Summary chips: one per status (they add up to the list's total).
  const chips = STATUSES.map((value) => {
    const n = counts[value] || 0;
    const chip = el('span', 'status-chip');
    chip.dataset.status = value;
    chip.dataset.count = String(n);
    chip.append(el('span', 'status-dot'), el('span', 'status-chip-label', statusText(value)), el('strong', 'status-chip-count', String(n)));
    if (!n && value !== 'connected' && value !== 'not-joined') chip.hidden = true;
    return chip;
  });
  const signature = chips.map((c) => `${c.dataset.status}:${c.dataset.count}:${c.hidden}:${c.textContent}`).join('|');
  if (dom.statusCounts.dataset.signature !== signature) {
    dom.statusCounts.replaceChildren(...chips);
    dom.statusCounts.dataset.signature = signature;
  }
  const filtered = ui.filter.status !== 'all' || ui.filter.tier !== 'all' || ui.filter.text.trim() !== '';
  dom.summary.textContent = t('console.showing', { shown: ui.shown, total: store.sites.size });
  dom.summary.dataset.shown = String(ui.shown);
  dom.summary.dataset.total = String(store.sites.size);
  dom.summary.classList.toggle('is-filtered', filtered);
}

// -- roll call: the virtual table -------------------------------------------------------------

function scheduleRender() {
  if (ui.frame) return;
  ui.frame = requestAnimationFrame(() => {
    ui.frame = 0;
    render();
  });
}

function render() {
  if (ui.listDirty) buildList();
  const items = ui.items;
  const body = dom.body;
  body.style.height = `${items.length * ROW_HEIGHT}px`;
  dom.table.setAttribute('aria-rowcount', String(items.length + 1));
  dom.empty.hidden = items.length > 0;
  if (!items.length) {
    const key = store.loaded ? 'console.empty' : 'console.loading';
    dom.empty.dataset.i18n = key;
    dom.empty.textContent = t(key);
  }
  // Which items are in view.
  const scrollTop = dom.table.scrollTop;
  const viewTop = scrollTop - body.offsetTop;
  const viewHeight = dom.table.clientHeight || 600;
  const first = Math.max(0, Math.floor(viewTop / ROW_HEIGHT) - OVERSCAN_ROWS);
  const last = Math.min(items.length, Math.ceil((viewTop + viewHeight) / ROW_HEIGHT) + OVERSCAN_ROWS);
  const next = new Map();
  const ordered = [];
  for (let index = first; index < last; index += 1) {
    const item = items[index];
    let row = ui.rendered.get(item.key);
    if (!row) {
      row = item.kind === 'group' ? groupRow() : siteRow();
    }
    if (item.kind === 'group') fillGroup(row, item);
    else fillSite(row, store.sites.get(item.id));
    if (row._index !== index) {
      row._index = index;
      row.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
      row.setAttribute('aria-rowindex', String(index + 2));
    }
    next.set(item.key, row);
    ordered.push(row);
  }
  for (const [key, row] of ui.rendered) {
    if (!next.has(key)) row.remove();
  }
  // Keep DOM order = visual order (reading and tab order) with as few moves as possible.
  let cursor = body.firstChild;
  for (const row of ordered) {
    if (row === cursor) {
      cursor = cursor.nextSibling;
    } else {
      body.insertBefore(row, cursor);
    }
  }
  ui.rendered = next;
  store.rendered = ordered.length;
}

function groupRow() {
  const row = el('div', 'rc-row rc-group');
  row.setAttribute('role', 'row');
  const cell = el('span', 'rc-cell rc-group-cell');
  cell.setAttribute('role', 'rowheader');
  cell.setAttribute('aria-colspan', '11');
  const toggle = el('button', 'rc-group-toggle');
  toggle.type = 'button';
  toggle.append(el('span', 'rc-chevron'), el('span', 'rc-group-label'), el('span', 'rc-group-count'));
  cell.append(toggle);
  row.append(cell);
  return row;
}

function fillGroup(row, item) {
  const tier = store.tiers.find((x) => x.depth === item.depth);
  const label = tierLabel(tier ? tier.label : item.unitType);
  const collapsed = ui.collapsed.has(item.depth);
  const signature = `${ui.epoch}|${label}|${tier ? `${tier.present}/${tier.total}` : ''}|${item.shown}|${collapsed}`;
  if (row._signature === signature) return;
  row._signature = signature;
  row.dataset.tierGroup = String(item.depth);
  const toggle = row.querySelector('.rc-group-toggle');
  toggle.dataset.toggleTier = String(item.depth);
  toggle.setAttribute('aria-expanded', String(!collapsed));
  toggle.setAttribute('aria-label', t(collapsed ? 'console.expand' : 'console.collapse', { label }));
  row.querySelector('.rc-group-label').textContent = label;
  row.querySelector('.rc-group-count').textContent = tier
    ? `${t('console.groupCount', { present: tier.present, total: tier.total })}${item.shown !== tier.total ? ` · ${t('console.showing', { shown: item.shown, total: tier.total })}` : ''}`
    : String(item.shown);
}

const CELLS = ['name', 'status', 'joined', 'rtt', 'loss', 'in', 'out', 'hand', 'mic', 'cam', 'actions'];
const CELL_CLASS = {
  name: 'rc-name', status: 'rc-status', joined: 'rc-joined', rtt: 'rc-num', loss: 'rc-num', in: 'rc-num',
  out: 'rc-num', hand: 'rc-icon', mic: 'rc-icon', cam: 'rc-icon', actions: 'rc-actions',
};

function siteRow() {
  const row = el('div', 'rc-row rc-site');
  row.setAttribute('role', 'row');
  row._cells = {};
  for (const name of CELLS) {
    const cell = el('span', `rc-cell ${CELL_CLASS[name]}`);
    cell.setAttribute('role', 'cell');
    cell.dataset.col = name;
    row._cells[name] = cell;
    row.append(cell);
  }
  return row;
}

function stateIcon(kind, off, present) {
  const holder = el('span', `state-icon ${off ? 'is-off' : ''}`);
  holder.setAttribute('role', 'img');
  const label = t(kind === 'mic' ? (off ? 'console.micOff' : 'console.micOn') : (off ? 'console.camOff' : 'console.camOn'));
  holder.setAttribute('aria-label', label);
  holder.title = label;
  holder.append(icon(off ? `${kind}-off` : kind));
  holder.classList.toggle('is-absent', !present);
  return holder;
}

function fillSite(row, site) {
  if (!site) return;
  const signature = `${site._v}|${ui.epoch}`;
  if (row._signature === signature && row.dataset.siteId === site.site_id) return;
  row._signature = signature;
  const id = site.site_id;
  const present = PRESENT.has(site.status);
  const isFloor = store.floor === id;
  const isSpot = store.spotlight === id;
  const isSpeaker = store.speaker === id;
  const isHost = store.meeting.host_site === id;
  const readmitted = site.status === 'removed' && ui.readmitted.has(id);
  row.dataset.siteId = id;
  row.dataset.status = site.status;
  row.dataset.depth = String(site.depth);
  row.classList.toggle('is-floor', isFloor);
  row.classList.toggle('is-spotlight', isSpot);
  row.classList.toggle('is-speaker', isSpeaker);
  row.classList.toggle('is-present', present);
  row.classList.toggle('has-hand', !!site.hand_raised_at);
  const c = row._cells;

  // Name, code and tags.
  const name = el('span', 'site-name', site.name);
  name.title = site.name;
  const meta = el('span', 'site-meta', site.unit_code || site.site_id);
  const tags = [];
  if (isHost) tags.push(['tag-host', 'console.tag.host']);
  // A camera is not a guest: its group says what it is.
  if (site.kind ? site.kind === 'guest' : !site.invited) tags.push(['tag-guest', 'console.tag.guest']);
  if (isFloor) tags.push(['tag-floor', 'console.tag.floor']);
  if (isSpot) tags.push(['tag-spotlight', 'console.tag.spotlight']);
  if (isSpeaker && !isFloor) tags.push(['tag-speaking', 'console.tag.speaker']);
  if (readmitted) tags.push(['tag-readmitted', 'console.tag.readmitted']);
  const tagNodes = tags.map(([cls, key]) => el('span', `rc-tag ${cls}`, t(key)));
  const line = el('span', 'site-line');
  line.append(name, ...tagNodes);
  c.name.replaceChildren(line, meta);

  // Status.
  const badge = el('span', 'rc-badge', statusText(site.status));
  badge.dataset.status = site.status;
  c.status.replaceChildren(badge);
  if (site.left_at && !present) c.status.title = t('console.leftAt', { time: clock(site.left_at) });
  else c.status.removeAttribute('title');

  // Times and quality.
  c.joined.textContent = site.joined_at ? clock(site.joined_at) : '–';
  const q = site.quality || {};
  const showQ = present;
  c.rtt.textContent = showQ ? number(q.rtt_ms) : '–';
  c.loss.textContent = showQ && typeof q.loss === 'number' ? `${number(q.loss * 100, 1)} %` : '–';
  c.in.textContent = showQ ? number(q.bitrate_in_kbps) : '–';
  c.out.textContent = showQ ? number(q.bitrate_out_kbps) : '–';
  c.loss.classList.toggle('is-bad', showQ && typeof q.loss === 'number' && q.loss >= 0.05);
  c.rtt.classList.toggle('is-bad', showQ && typeof q.rtt_ms === 'number' && q.rtt_ms >= 400);
  if (showQ && q.at) {
    const sourceTitle = t(`console.qualitySource.${q.source === 'client' ? 'client' : 'server'}`, { time: clock(q.at) });
    for (const cell of [c.rtt, c.loss, c.in, c.out]) cell.title = sourceTitle;
  } else {
    for (const cell of [c.rtt, c.loss, c.in, c.out]) cell.removeAttribute('title');
  }

  // Hand, microphone, camera.
  if (site.hand_raised_at) {
    const hand = el('span', 'state-icon is-hand');
    const label = t('console.handRaised', { time: clock(site.hand_raised_at) });
    hand.setAttribute('role', 'img');
    hand.setAttribute('aria-label', label);
    hand.title = label;
    hand.append(icon('hand'));
    const position = store.hands.findIndex((h) => h.id === id);
    if (position >= 0) hand.append(el('span', 'hand-order', String(position + 1)));
    c.hand.replaceChildren(hand);
  } else {
    c.hand.replaceChildren();
  }
  c.mic.replaceChildren(present ? stateIcon('mic', !!site.audio_muted, present) : '');
  c.cam.replaceChildren(present ? stateIcon('cam', !!site.video_muted, present) : '');

  // Actions.
  const open = roomOpen();
  const actions = [];
  const who = site.name;
  if (isFeedSite(id)) {
    // A checkpoint camera: pin it or take it out; once out it comes back through the picker.
    if (present) {
      const spot = iconButton('spotlight', id, 'spotlight', t(isSpot ? 'console.action.unspotlight' : 'console.action.spotlight', { name: who }));
      spot.setAttribute('aria-pressed', String(isSpot));
      const out = iconButton('removeFeed', feedOfSite(id), 'remove', t('console.camera.removeLabel', { name: who }), 'rc-btn-danger');
      actions.push(spot, out);
    }
  } else if (present) {
    const give = iconButton('giveFloor', id, 'floor', t(isFloor ? 'console.action.takeFloor' : 'console.action.giveFloor', { name: who }), 'rc-btn-floor');
    give.setAttribute('aria-pressed', String(isFloor));
    const spot = iconButton('spotlight', id, 'spotlight', t(isSpot ? 'console.action.unspotlight' : 'console.action.spotlight', { name: who }));
    spot.setAttribute('aria-pressed', String(isSpot));
    const mute = site.audio_muted
      ? iconButton('unmute', id, 'mic', t('console.action.unmute', { name: who }))
      : iconButton('mute', id, 'mic-off', t('console.action.mute', { name: who }));
    actions.push(give, spot, mute);
  }
  if (isFeedSite(id)) {
    // A camera's actions are above.
  } else if (site.status === 'removed' && !readmitted) {
    actions.push(iconButton('readmit', id, 'readmit', t('console.action.readmit', { name: who })));
  } else if (!isHost) {
    actions.push(iconButton('remove', id, 'remove', t('console.action.remove', { name: who }), 'rc-btn-danger'));
  }
  for (const button of actions) button.disabled = !open;
  c.actions.replaceChildren(...actions);
}

// -- user actions -----------------------------------------------------------------------------

function onAction(event) {
  const button = event.target.closest('button');
  if (!button || button.disabled) return;
  const d = button.dataset;
  if (d.toggleTier !== undefined) {
    const depth = Number(d.toggleTier);
    if (ui.collapsed.has(depth)) ui.collapsed.delete(depth);
    else ui.collapsed.add(depth);
    ui.listDirty = true;
    ui.epoch += 1;
    scheduleRender();
    return;
  }
  if (d.giveFloor !== undefined) {
    const site = d.giveFloor;
    if (store.floor === site) command('take-floor', null, button).catch(() => {});
    else command('give-floor', site, button).catch(() => {});
  } else if (d.lowerHand !== undefined) {
    command('lower-hand', d.lowerHand, button).catch(() => {});
  } else if (d.spotlight !== undefined) {
    const site = d.spotlight;
    command('spotlight', store.spotlight === site ? null : site, button).catch(() => {});
  } else if (d.mute !== undefined) {
    command('mute', d.mute, button).catch(() => {});
  } else if (d.unmute !== undefined) {
    command('unmute', d.unmute, button).catch(() => {});
  } else if (d.remove !== undefined) {
    const site = d.remove;
    if (window.confirm(t('console.confirm.remove', { name: siteName(site) }))) {
      command('remove', site, button).catch(() => {});
    }
  } else if (d.removeFeed !== undefined) {
    onCameraAction(event);
  } else if (d.readmit !== undefined) {
    command('readmit', d.readmit, button).catch(() => {});
  }
}

function setFilter(change) {
  Object.assign(ui.filter, change);
  ui.listDirty = true;
  dom.table.scrollTop = 0;
  scheduleRender();
}

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
  command: { value: (name, site) => command(name, site), enumerable: false },
});

function init() {
  fillIcons(root);
  applyI18n(root);
  bind();
  onLangChange(renderLanguage);
  renderLanguage();
  if (!meetingId) {
    showError('not-your-meeting');
    return;
  }
  connect();
}

init();

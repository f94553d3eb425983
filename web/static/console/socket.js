// The console socket /ws/console/{meeting}: connecting, reconnecting with
// backoff, and commands answered by `result` or `error` with the same id.

import { t } from '../shared/i18n.js';
import { clearError, showError, showNotice } from './banners.js';
import { dom } from './dom.js';
import { renderControls } from './header.js';
import { MESSAGES } from './messages.js';
import { scheduleRender } from './roll_call.js';
import { meetingId, store, ui } from './state.js';
import { handle, touch } from './updates.js';
import { siteName } from './view.js';

const BACKOFF_SECONDS = [1, 2, 4, 8, 15];
const COMMAND_TIMEOUT_MS = 10_000;

// -- the socket -------------------------------------------------------------------------

function wsUrl() {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${window.location.host}/ws/console/${encodeURIComponent(meetingId)}`;
}

/** The socket's state (connecting | connected | reconnecting), shown in the header. */
export function setConnState(state) {
  store.state = state;
  dom.state.dataset.state = state;
  dom.state.setAttribute('aria-busy', String(state !== 'connected'));
  renderConnState();
  renderControls();
  ui.epoch += 1; // row actions depend on the connection
  scheduleRender();
}

/** The connection indicator's words (offline, or the countdown to the next try). */
export function renderConnState() {
  const state = store.state;
  let text;
  if (state === 'reconnecting' && !navigator.onLine) text = t('console.state.offline');
  else if (state === 'reconnecting' && ui.reconnectAt > Date.now()) {
    text = t('console.state.reconnectingIn', { n: Math.ceil((ui.reconnectAt - Date.now()) / 1000) });
  } else text = t(`console.state.${state}`);
  dom.stateText.textContent = text;
}

/** Open the console socket (again). */
export function connect() {
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

function send(message) {
  if (ui.ws && ui.ws.readyState === WebSocket.OPEN) {
    ui.ws.send(JSON.stringify(message));
    return true;
  }
  return false;
}

/**
 * Send a console command; resolves with the `result`, rejects with {code}.
 * `args`: the command's own fields (a chat's `text`, a vote's `question`...).
 */
export function command(name, site = null, button = null, args = null) {
  return new Promise((resolve, reject) => {
    const id = ui.nextId++;
    const message = { ...(args || {}), type: 'command', id, command: name };
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

/** A command's `result` or `error` arrived: resolve or reject it. */
export function settle(id, result, error) {
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

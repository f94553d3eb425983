// Reconnecting after a lost connection, with backoff and a countdown.

import { dom } from './dom.js';
import { setState } from './screens.js';
import { connect } from './session.js';
import { app } from './state.js';
import { resetMediaElements } from './tiles.js';
import { setText } from './view.js';

const BACKOFF_SECONDS = [1, 2, 4, 8, 15];

// -- reconnecting -----------------------------------------------------------------------

/** Cancel a scheduled reconnect. */
export function clearReconnectTimer() {
  clearTimeout(app.reconnectTimer);
  clearInterval(app.countdownTimer);
  app.reconnectTimer = null;
  app.countdownTimer = null;
}

/** Close the current session, if any. */
export function teardownSession() {
  if (app.session) app.session.close();
  app.session = null;
}

/** The stage overlay's words while reconnecting. */
export function updateCountdown() {
  // Shown over the stage (not in a banner) so the layout does not jump.
  if (!navigator.onLine) {
    setText(dom.stageOverlayText, 'reconnect.offline');
    return;
  }
  const seconds = Math.max(0, Math.ceil((app.reconnectDeadline - Date.now()) / 1000));
  if (seconds > 0) setText(dom.stageOverlayText, 'reconnect.in', { n: seconds });
  else setText(dom.stageOverlayText, 'stage.reconnecting');
}

/** Reconnect after a backoff (unless stopped), counting down on the stage. */
export function scheduleReconnect(reason) {
  if (app.stopped) return;
  console.info(`reconnecting (${reason})`);
  teardownSession();
  clearReconnectTimer();
  resetMediaElements();
  const delay = BACKOFF_SECONDS[Math.min(app.attempt, BACKOFF_SECONDS.length - 1)];
  app.attempt += 1;
  setState('reconnecting');
  app.reconnectDeadline = Date.now() + delay * 1000;
  updateCountdown();
  app.countdownTimer = setInterval(updateCountdown, 1000);
  app.reconnectTimer = setTimeout(() => {
    clearReconnectTimer();
    connect();
  }, delay * 1000);
}

// Reconnecting after a lost connection, with backoff and a countdown.

import { dom } from './dom.js';
import { moveToNewHome } from './failover.js';
import { setState } from './screens.js';
import { connect } from './session.js';
import { app } from './state.js';
import { resetMediaElements } from './tiles.js';
import { setText } from './view.js';

const BACKOFF_SECONDS = [1, 2, 4, 8, 15];
const PEER_BACKOFF_SECONDS = 2;

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
  let delay = BACKOFF_SECONDS[Math.min(app.attempt, BACKOFF_SECONDS.length - 1)];
  // In a cluster, a node that does not come back is replaced within seconds: keep asking.
  if (app.peers.length) delay = Math.min(delay, PEER_BACKOFF_SECONDS);
  app.attempt += 1;
  app.reconnecting = true; // said when the media flows again (peer.js)
  setState('reconnecting');
  app.reconnectDeadline = Date.now() + delay * 1000;
  updateCountdown();
  app.countdownTimer = setInterval(updateCountdown, 1000);
  app.reconnectTimer = setTimeout(async () => {
    clearReconnectTimer();
    // Our node failed us twice: maybe it is gone, and another holds the meeting now.
    if (app.attempt >= 2 && (await moveToNewHome())) return;
    if (!app.stopped) connect();
  }, delay * 1000);
}

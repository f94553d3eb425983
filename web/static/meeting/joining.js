// Joining, leaving and the end of the meeting (and the screen wake lock).

import { closeDeviceDialog } from './devices.js';
import { dom } from './dom.js';
import { renderFloor } from './floor.js';
import {
  acquireMedia, applyTrackStates, reacquireMedia, stopLocalMedia, updateControls, updateMediaViews,
} from './media.js';
import { renderParticipants } from './participants.js';
import { stopPresenting } from './presenting.js';
import { clearReconnectTimer, teardownSession } from './reconnect.js';
import { closing, errorMessage, setState, showError, showNotice, showScreen } from './screens.js';
import { connect } from './session.js';
import { STOP_ERRORS } from './signaling.js';
import { app, isViewer } from './state.js';
import { resetMediaElements } from './tiles.js';
import { liveTrack, setText } from './view.js';

// Ends after which "Join again" makes no sense.
const FINAL_ENDS = new Set(['ended', 'cancelled', 'closed', 'uninvited']);

// -- joining, leaving, ending -----------------------------------------------------------

/** Keep the screen on during the meeting where the browser allows it. */
export async function requestWakeLock() {
  try {
    if ('wakeLock' in navigator && document.visibilityState === 'visible' && !app.wakeLock) {
      app.wakeLock = await navigator.wakeLock.request('screen');
      app.wakeLock.addEventListener('release', () => {
        app.wakeLock = null;
      });
    }
  } catch {
    app.wakeLock = null; // not allowed (battery saver, policy): not important
  }
}

function releaseWakeLock() {
  if (app.wakeLock) {
    app.wakeLock.release().catch(() => {});
    app.wakeLock = null;
  }
}

/** Join the meeting (the camera and microphone first, then the socket). */
export async function join() {
  if (!app.stopped) return; // already in (or joining)
  if (typeof window.RTCPeerConnection !== 'function' || typeof window.WebSocket !== 'function') {
    showError('webrtc-unsupported');
    return;
  }
  app.stopped = false;
  dom.joinButton.disabled = true;
  setText(dom.joinButton.querySelector('.btn-text'), 'joining');
  try {
    if (app.mediaPromise) await app.mediaPromise;
    if (!isViewer && !liveTrack(app.audioTrack) && !liveTrack(app.videoTrack) && app.screen !== 'prejoin') {
      // Joining again from code after leave(): the old tracks were stopped.
      app.mediaPromise = acquireMedia();
      await app.mediaPromise;
    }
  } catch (err) {
    console.error('media setup failed', err);
  } finally {
    dom.joinButton.disabled = false;
    setText(dom.joinButton.querySelector('.btn-text'), 'join');
  }
  if (app.stopped) return; // left while waiting
  showError(null);
  showNotice(null);
  app.attempt = 0;
  app.endedKind = null;
  applyTrackStates();
  showScreen('meeting');
  updateMediaViews();
  updateControls();
  resetMediaElements();
  connect();
  requestWakeLock();
}

/** Leave the meeting on purpose. */
export function leave() {
  if (app.stopped && app.screen !== 'meeting') return;
  const session = app.session;
  if (session) session.send({ type: 'leave' });
  endMeeting('left');
}

/** Stop for good (until the person presses "Join again"). */
export function endMeeting(kind) {
  app.stopped = true;
  app.endedKind = kind;
  closeDeviceDialog();
  app.reconnecting = false;
  clearReconnectTimer();
  teardownSession();
  stopPresenting(false);
  stopLocalMedia();
  releaseWakeLock();
  resetMediaElements();
  app.participants.clear();
  app.speaker = null;
  app.floor = null;
  app.handRaised = false;
  app.mutedByHost = false;
  app.count = 0;
  closing.stop();
  renderParticipants();
  showNotice(null);
  dom.enableAudio.hidden = true;
  showScreen('left');
  renderFloor();
  updateControls();
  renderEnded();
  setState(kind === 'left' ? 'left' : kind === 'error' ? 'error' : 'disconnected');
  dom.rejoinButton.focus({ preventScroll: true });
}

/** The left screen's words for how the meeting ended. */
export function renderEnded() {
  const kind = app.endedKind;
  dom.rejoinButton.hidden = false;
  if (kind === 'left' || !kind) {
    setText(dom.leftTitle, 'left.title');
    setText(dom.leftBody, 'left.body');
  } else if (kind === 'error') {
    setText(dom.leftTitle, 'ended.error.title');
    dom.leftBody.textContent = errorMessage(app.errorCode);
    delete dom.leftBody.dataset.i18n;
    dom.rejoinButton.hidden = STOP_ERRORS.has(app.errorCode);
  } else {
    setText(dom.leftTitle, `ended.${kind}.title`);
    setText(dom.leftBody, `ended.${kind}`);
    dom.rejoinButton.hidden = FINAL_ENDS.has(kind);
  }
}

/** Stop with error `code` shown on the left screen. */
export function fail(code) {
  showError(code);
  endMeeting('error');
}

/** From the left screen back to the pre-join check. */
export async function backToPrejoin() {
  showError(null);
  showNotice(null);
  showScreen('prejoin');
  setState('idle');
  try {
    await reacquireMedia();
  } finally {
    dom.joinButton.focus({ preventScroll: true });
  }
}

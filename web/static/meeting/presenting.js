// Presenting a screen, window or tab: the button, the screen track and the
// server's word on it (`present-status`, `presentation`).
//
// The offer of a page that joined with `screen: true` has a second video
// section (`publish.screen`), answered `sendonly` without a track: presenting
// puts the getDisplayMedia track on it with replaceTrack, so no renegotiation
// is needed and WHIP/WHEP and other clients are untouched. The track says it
// carries text (contentHint "detail"), and its one encoding keeps its
// resolution under a tight uplink (frames drop instead): a slide must stay
// readable, motion matters less.

import { t } from '../shared/i18n.js';
import { dom } from './dom.js';
import { publishTransceiver } from './layers.js';
import { showNotice } from './screens.js';
import { app, isViewer } from './state.js';
import { renderTiles } from './tiles.js';
import { liveTrack, setIcon, setText } from './view.js';

// Up to 1080p at 15 frames a second, ~2.5 Mbit/s: a slide's text is sharp,
// and a presenter's uplink carries it beside the camera.
const SCREEN_CONSTRAINTS = {
  video: { width: { max: 1920 }, height: { max: 1080 }, frameRate: { ideal: 15, max: 15 } },
  audio: false,
};
const SCREEN_MAX_BITRATE = 2_500_000;

/** Whether this browser can present (and this site may). */
export function canPresent() {
  return !isViewer && !!(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
}

/** The present button: its words and whether it works now. */
export function updatePresentButton() {
  const button = dom.togglePresent;
  if (!button) return;
  button.hidden = !canPresent();
  const usable = !!app.session && app.session.welcomed && !app.session.closed;
  const active = app.presenting !== 'idle';
  const busy = !!app.presenter && app.presenter !== app.selfId;
  button.disabled = !usable || (!active && busy);
  button.setAttribute('aria-pressed', String(active));
  button.classList.toggle('is-active', active);
  setIcon(button, 'screen');
  const key = app.presenting === 'live' ? 'present.stop'
    : app.presenting === 'pending' ? 'present.cancel'
      : app.presenting === 'asking' ? 'present.asking' : 'present.start';
  setText(button.querySelector('.btn-text'), key);
  if (busy && !active) button.title = t('present.busy', { name: presenterName() });
  else button.removeAttribute('title');
}

function screenErrorKey(err) {
  const name = err && err.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'present.denied';
  if (name === 'NotReadableError' || name === 'AbortError') return 'present.busyDevice';
  return 'present.failed';
}

/** The button: start presenting (pick a screen, ask the server) or stop. */
export async function togglePresenting() {
  if (app.presenting !== 'idle') {
    stopPresenting();
    return;
  }
  const session = app.session;
  if (!canPresent() || !session || !session.welcomed) return;
  let stream;
  try {
    // Called from the click: browsers want a user gesture for the picker.
    stream = await navigator.mediaDevices.getDisplayMedia(SCREEN_CONSTRAINTS);
  } catch (err) {
    showNotice(screenErrorKey(err));
    return;
  }
  const track = stream.getVideoTracks()[0];
  if (!track) return;
  // Text over motion: the encoder keeps edges sharp and spends bits on detail.
  if ('contentHint' in track) track.contentHint = 'detail';
  // The browser's own "Stop sharing" bar ends the track.
  track.addEventListener('ended', () => {
    if (track === app.screenTrack) stopPresenting();
  });
  app.screenTrack = track;
  app.presenting = 'asking';
  updatePresentButton();
  if (!app.session || !app.session.send({ type: 'present', active: true })) stopPresenting();
}

/** Stop presenting (or stop asking): tell the server, take the track off, end it. */
export function stopPresenting(tellServer = true) {
  const track = app.screenTrack;
  const was = app.presenting;
  app.screenTrack = null;
  app.presenting = 'idle';
  if (tellServer && was !== 'idle' && app.session) app.session.send({ type: 'present', active: false });
  void sendScreen(app.session, null);
  if (track) track.stop();
  if (app.noticeKey && String(app.noticeKey.key).startsWith('present.')) showNotice(null);
  updatePresentButton();
  renderTiles();
}

/** Put `track` (null: nothing) on the session's screen section, as one sharp layer. */
export async function sendScreen(session, track) {
  const transceiver = session ? publishTransceiver(session, 'screen') : null;
  if (!transceiver) return false;
  try {
    await transceiver.sender.replaceTrack(track);
  } catch (err) {
    console.warn(`present: replaceTrack failed (${err && err.name})`);
    return false;
  }
  if (!track) return true;
  const params = transceiver.sender.getParameters();
  const encodings = params.encodings && params.encodings.length ? params.encodings : [{}];
  // One layer at full size: no quarter-size thumbnail of a slide is worth its bits.
  encodings[0].maxBitrate = SCREEN_MAX_BITRATE;
  encodings[0].active = true;
  params.encodings = encodings;
  params.degradationPreference = 'maintain-resolution';
  try {
    await transceiver.sender.setParameters(params);
  } catch (err) {
    console.warn(`present: setParameters refused (${err && err.name})`);
  }
  return true;
}

const REFUSALS = {
  'presentation-busy': 'present.busy',
  'refused-by-host': 'present.refused',
  'no-screen-section': 'present.failed',
  'too-many-requests': 'present.tooMany',
  'ask-again': 'present.askAgain',
  'too-soon': 'present.tooSoon',
};

/** The server's `present-status`: granted, pending, refused or stopped. */
export async function onPresentStatus(session, message) {
  const status = message.status;
  if (status === 'granted') {
    const track = liveTrack(app.screenTrack);
    if (!track) {
      // Granted after the page gave up (the picker was closed): say so.
      session.send({ type: 'present', active: false });
      stopPresenting(false);
      return;
    }
    app.presenting = 'live';
    await sendScreen(session, track);
    showNotice('present.live');
  } else if (status === 'pending') {
    if (app.presenting === 'idle') return;
    app.presenting = 'pending';
    showNotice('present.pending');
  } else if (status === 'refused') {
    stopPresenting(false);
    showNotice(REFUSALS[message.code] || 'present.failed', { name: presenterName() });
  } else if (status === 'stopped') {
    stopPresenting(false);
    showNotice('present.stoppedByHost');
  }
  updatePresentButton();
}

function presenterName() {
  const id = app.presenter;
  const p = id ? app.participants.get(id) : null;
  return (p && p.name) || (id && app.names.get(id)) || '';
}

/** The server's `presentation`: whose screen is in the main slot now (null: nobody's). */
export function onPresentation(message) {
  app.presenter = message.id ?? null;
  if (message.id && message.name) app.names.set(message.id, message.name);
  updatePresentButton();
  renderTiles();
}

/**
 * A new offer (join or reconnect): the screen section sends nothing until the
 * room lets this site present; a presentation that outlived the connection
 * goes on the new section at once and is asked for again.
 */
export async function offerScreen(session, transceiver) {
  transceiver.direction = 'sendonly';
  const track = liveTrack(app.screenTrack);
  if (track && app.presenting === 'live') {
    await transceiver.sender.replaceTrack(track);
  } else if (!track && app.presenting !== 'idle') {
    stopPresenting(false);
  }
}

/** After `welcome`: ask again for a presentation still running here; drop one that is not. */
export function afterWelcome(session, presenter) {
  app.presenter = presenter ?? null;
  if (liveTrack(app.screenTrack) && app.presenting !== 'idle') {
    session.send({ type: 'present', active: true });
  } else if (presenter && presenter === app.selfId) {
    // The server still has us presenting, but this page has no screen (a reload).
    session.send({ type: 'present', active: false });
  }
  updatePresentButton();
}

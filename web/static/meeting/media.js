// Local media: the camera and microphone, the device pickers, the mute toggles.

import { t } from '../shared/i18n.js';
import { dom } from './dom.js';
import { updateHandButton } from './floor.js';
import { applyMicSending } from './layers.js';
import { updatePresentButton } from './presenting.js';
import { chosenDevice, fillDevicePickers, forgetDevices } from './devices.js';
import { startMeter, stopMeter } from './meter.js';
import { showNotice } from './screens.js';
import { app, isViewer } from './state.js';
import { liveTrack, playMedia, setIcon, setText } from './view.js';

// -- local media ------------------------------------------------------------------------

/** The message key for why getUserMedia failed (each failure its own words). */
export function classifyMediaError(err) {
  const name = err && err.name;
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return 'media.denied';
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') return 'media.busy';
  // NotFoundError, OverconstrainedError (a remembered device unplugged), anything else.
  return 'media.none';
}

/** getUserMedia's video constraints: the chosen camera (or facing), 1280x720. */
export function videoConstraints() {
  // 1280x720 so that the browser can send three layers (it makes only two of a
  // 640x360 capture): the server forwards 1/4, 1/2 or full size as each tile needs.
  const c = { width: { ideal: 1280 }, height: { ideal: 720 } };
  const id = chosenDevice('videoinput');
  if (id) c.deviceId = { ideal: id };
  return c;
}

/** getUserMedia's audio constraints: the chosen microphone, else the default. */
export function audioConstraints() {
  const id = chosenDevice('audioinput');
  return id ? { deviceId: { ideal: id } } : true;
}

function setMediaWarning(key) {
  app.mediaWarningKey = key;
  dom.mediaWarning.hidden = !key;
  if (key) setText(dom.mediaWarningText, key);
}

function setMediaStatus(key) {
  app.mediaStatusKey = key;
  dom.mediaStatus.hidden = !key;
  if (key) setText(dom.mediaStatus, key);
}

/** Follow a local track's end (unplugged, revoked): say so, update the views. */
export function watchTrack(track) {
  track.addEventListener('ended', () => {
    if (track !== app.audioTrack && track !== app.videoTrack) return;
    if (track === app.audioTrack) app.audioTrack = null;
    if (track === app.videoTrack) app.videoTrack = null;
    updateMediaViews();
    updateControls();
    if (app.screen === 'meeting') showNotice('media.ended');
    else setMediaWarning('media.ended');
  });
}

/** Ask for camera and microphone; fall back to microphone only, camera only, then nothing. */
export async function acquireMedia() {
  stopLocalMedia();
  if (isViewer) {
    setMediaStatus('prejoin.viewer');
    setMediaWarning(null);
    return;
  }
  const devices = navigator.mediaDevices;
  if (!devices || !devices.getUserMedia) {
    setMediaStatus(null);
    setMediaWarning(window.isSecureContext === false ? 'media.insecure' : 'media.none');
    return;
  }
  setMediaStatus('prejoin.checking');
  const attempts = [
    { audio: audioConstraints(), video: videoConstraints() },
    { audio: audioConstraints() },
    { video: videoConstraints() },
  ];
  let stream = null;
  let firstError = null;
  for (const constraints of attempts) {
    try {
      stream = await devices.getUserMedia(constraints);
      break;
    } catch (err) {
      firstError = firstError || err;
      if (err && err.name === 'OverconstrainedError') forgetDevices(); // a remembered device is gone
    }
  }
  app.localStream = stream;
  app.audioTrack = stream ? stream.getAudioTracks()[0] || null : null;
  app.videoTrack = stream ? stream.getVideoTracks()[0] || null : null;
  for (const track of stream ? stream.getTracks() : []) watchTrack(track);
  applyTrackStates();
  if (app.audioTrack && app.videoTrack) {
    setMediaWarning(null);
    setMediaStatus('prejoin.ready');
  } else if (app.audioTrack) {
    setMediaWarning('media.audioOnly');
    setMediaStatus(null);
  } else if (app.videoTrack) {
    setMediaWarning('media.videoOnly');
    setMediaStatus(null);
  } else {
    setMediaWarning(classifyMediaError(firstError));
    setMediaStatus(null);
  }
  startMeter();
  if (stream) await fillDevicePickers();
}

/** Ask for the camera and microphone again (the join button waits meanwhile). */
export async function reacquireMedia() {
  dom.joinButton.disabled = true;
  app.mediaPromise = acquireMedia();
  try {
    await app.mediaPromise;
  } finally {
    dom.joinButton.disabled = false;
    updateMediaViews();
    updateControls();
  }
}

/** Stop the camera and microphone. */
export function stopLocalMedia() {
  stopMeter();
  for (const track of app.localStream ? app.localStream.getTracks() : []) track.stop();
  app.localStream = null;
  app.audioTrack = null;
  app.videoTrack = null;
  dom.preview.srcObject = null;
  dom.selfVideo.srcObject = null;
}

/** Mute or unmute the local tracks as the toggles say. */
export function applyTrackStates() {
  if (app.audioTrack) app.audioTrack.enabled = !app.micMuted;
  if (app.videoTrack) app.videoTrack.enabled = !app.camMuted;
  // Muted: send no packets at all, not encoded silence (a commune's uplink is thin).
  void applyMicSending();
}

/** The preview and self view: the camera, or the camera-off placeholder. */
export function updateMediaViews() {
  const video = liveTrack(app.videoTrack);
  const stream = video ? new MediaStream([video]) : null;
  // A back camera is not mirrored: the picture reads as the room sees it.
  const facing = video && video.getSettings ? video.getSettings().facingMode : '';
  for (const el of [dom.preview, dom.selfVideo]) {
    const currentTrack = el.srcObject && el.srcObject.getVideoTracks()[0];
    if ((currentTrack || null) !== (video || null)) {
      el.srcObject = stream;
      if (stream) playMedia(el);
    }
    el.classList.toggle('mirrored', facing !== 'environment');
  }
  const off = !video || app.camMuted;
  setText(dom.previewOffText, isViewer ? 'role.viewer' : video ? 'camera.off' : 'cam.none');
  dom.previewOff.hidden = !off;
  dom.preview.classList.toggle('is-off', off);
  dom.selfOff.hidden = !off;
  dom.selfView.hidden = isViewer || (!video && !app.audioTrack);
  dom.selfVideo.classList.toggle('is-off', off);
}

// -- microphone / camera toggles ---------------------------------------------------------

function updateToggle(button, kind, muted, hasTrack) {
  button.setAttribute('aria-pressed', String(muted || !hasTrack));
  button.classList.toggle('is-off', muted || !hasTrack);
  button.disabled = !hasTrack;
  const base = kind === 'mic' ? 'mic' : 'cam';
  setIcon(button, muted || !hasTrack ? `${base}-off` : base);
  const key = !hasTrack ? `${base}.none` : muted ? `${base}.unmute` : `${base}.mute`;
  setText(button.querySelector('.btn-text'), key);
}

/** The microphone and camera toggles on both screens. */
export function updateControls() {
  const hasMic = !!liveTrack(app.audioTrack);
  const hasCam = !!liveTrack(app.videoTrack);
  for (const button of [dom.toggleMic, dom.prejoinMic]) updateToggle(button, 'mic', app.micMuted, hasMic);
  for (const button of [dom.toggleCam, dom.prejoinCam]) updateToggle(button, 'cam', app.camMuted, hasCam);
  for (const button of [dom.toggleMic, dom.toggleCam, dom.prejoinMic, dom.prejoinCam]) button.hidden = isViewer;
  // Muted by the host: the microphone button says so, and the hint below says how to speak.
  const locked = app.mutedByHost && app.screen === 'meeting';
  dom.toggleMic.classList.toggle('is-locked', locked);
  if (locked) {
    setText(dom.toggleMic.querySelector('.btn-text'), 'hostMute.button');
    dom.toggleMic.title = t('hostMute.hint');
  } else {
    dom.toggleMic.removeAttribute('title');
  }
  dom.micHint.hidden = !locked || isViewer;
  if (locked) setText(dom.micHint, 'hostMute.hint');
  updateHandButton();
  updatePresentButton();
}

/** Tell the server this site's mute state. */
export function sendMute() {
  const session = app.session;
  if (session && session.welcomed) {
    session.send({ type: 'mute', audio: app.micMuted, video: app.camMuted });
  }
}

/** Mute or unmute the microphone; false when the host's mute holds it. */
export function setMicMuted(muted) {
  if (!muted && app.mutedByHost && app.screen === 'meeting') {
    // Only the host (or being given the floor) lifts the host's mute: point at the hint.
    updateControls();
    dom.micHint.classList.remove('is-flash');
    void dom.micHint.offsetWidth; // restart the animation
    dom.micHint.classList.add('is-flash');
    return false;
  }
  app.micMuted = !!muted;
  applyTrackStates();
  updateControls();
  sendMute();
  return true;
}

/** Turn the camera off or on. */
export function setCamMuted(muted) {
  app.camMuted = !!muted;
  applyTrackStates();
  updateControls();
  updateMediaViews();
  sendMute();
}

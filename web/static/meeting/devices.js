// The camera, microphone and speaker: which ones, chosen before joining and during
// the meeting, and the front/back camera switch of a phone.
//
// Before joining, a new choice restarts the preview (media.js acquireMedia).
// In the meeting, the new device's track replaces the old one on the same
// sender (RTCRtpSender.replaceTrack): no renegotiation, the server's slot and
// the other sites' tiles go on as they were. A kind the connection does not
// send yet (the site joined without a camera, then plugged one in) needs a new
// offer from the server, so the page reconnects: the server gives the site its
// place back (conference/rooms/room.py, a reconnection keeps its slots).
//
// The choices are remembered (localStorage) for the next meeting on this computer.

import { t } from '../shared/i18n.js';
import { dom } from './dom.js';
import { publishTransceiver } from './layers.js';
import {
  applyTrackStates,
  audioConstraints,
  classifyMediaError,
  reacquireMedia,
  updateControls,
  updateMediaViews,
  videoConstraints,
  watchTrack,
} from './media.js';
import { startMeter } from './meter.js';
import { app, audioElements, isViewer } from './state.js';
import { liveTrack, setText } from './view.js';

const STORAGE_KEY = 'conference.devices';
const KINDS = ['videoinput', 'audioinput', 'audiooutput'];

/** The browser can send sound to a chosen output (Chrome, Edge; not Firefox without a flag, not Safari). */
export const canPickSpeaker = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;

function loadChoices() {
  try {
    const stored = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || '{}');
    return Object.fromEntries(KINDS.map((kind) => [kind, typeof stored[kind] === 'string' ? stored[kind] : '']));
  } catch {
    return Object.fromEntries(KINDS.map((kind) => [kind, '']));
  }
}

const choices = loadChoices();

function saveChoices() {
  try {
    window.localStorage.setItem(STORAGE_KEY, JSON.stringify(choices));
  } catch {
    /* storage disabled: the choice lasts for this page only */
  }
}

/** The device id chosen for `kind` ('videoinput', 'audioinput', 'audiooutput'), or ''. */
export function chosenDevice(kind) {
  return choices[kind] || '';
}

/** Forget the remembered cameras and microphones (one is gone): the defaults next. */
export function forgetDevices() {
  choices.videoinput = '';
  choices.audioinput = '';
  saveChoices();
}

// -- the pickers -----------------------------------------------------------------------

let cameraCount = 0;

/** The camera, microphone and speaker pickers, from the devices the browser lists. */
export async function fillDevicePickers() {
  let list = [];
  try {
    list = await navigator.mediaDevices.enumerateDevices();
  } catch {
    return;
  }
  const fill = (select, kind, current, fallbackKey) => {
    // Without permission the list has entries without ids: nothing to choose from.
    const devices = list.filter((d) => d.kind === kind && d.deviceId);
    const options = devices.map((d, i) => {
      const option = document.createElement('option');
      option.value = d.deviceId;
      option.textContent = d.label || `${t(fallbackKey)} ${i + 1}`;
      option.selected = d.deviceId === current;
      return option;
    });
    if (!current && devices.length) {
      // None in use (it failed, or was plugged in later): picking one turns it on.
      const none = document.createElement('option');
      none.value = '';
      none.textContent = t('devices.none');
      none.selected = true;
      options.unshift(none);
    }
    select.replaceChildren(...options);
    return devices.length;
  };
  const trackDevice = (track) => (liveTrack(track) ? track.getSettings().deviceId || '' : '');
  cameraCount = fill(dom.cameraSelect, 'videoinput', trackDevice(app.videoTrack), 'prejoin.camera');
  const mics = fill(dom.micSelect, 'audioinput', trackDevice(app.audioTrack), 'prejoin.microphone');
  const outputs = canPickSpeaker
    ? fill(dom.speakerSelect, 'audiooutput', chosenDevice('audiooutput') || 'default', 'devices.speaker')
    : 0;
  // A site shows the devices it sends with (even one: it says which one is used).
  dom.cameraField.hidden = isViewer || cameraCount < 1;
  dom.micField.hidden = isViewer || mics < 1;
  dom.speakerField.hidden = outputs < 1;
  dom.devicePickers.hidden = dom.cameraField.hidden && dom.micField.hidden && dom.speakerField.hidden;
  renderFlip();
}

/** The front/back switch: shown when there are two cameras or more and one is in use. */
function renderFlip() {
  const show = !isViewer && cameraCount >= 2 && !!liveTrack(app.videoTrack);
  dom.prejoinFlip.hidden = !show;
  dom.selfFlip.hidden = !show;
}

function setDeviceStatus(key) {
  dom.deviceStatus.hidden = !key;
  if (key) setText(dom.deviceStatus, key);
  else dom.deviceStatus.textContent = '';
}

// -- switching -------------------------------------------------------------------------

/** A picker changed: use that camera or microphone (before or during the meeting). */
export async function pickDevice(kind) {
  const select = kind === 'videoinput' ? dom.cameraSelect : dom.micSelect;
  if (!select.value) return; // "none in use" is not a device
  choices[kind] = select.value;
  saveChoices();
  if (app.screen !== 'meeting') {
    await reacquireMedia();
    return;
  }
  // Exact: a camera that cannot open says so, rather than the old one coming back.
  const constraints = select.value ? { deviceId: { exact: select.value } } : null;
  await switchTrack(kind === 'videoinput' ? 'video' : 'audio', constraints);
}

/** The speaker picker changed: every meeting sound goes to that output. */
export async function pickSpeaker() {
  choices.audiooutput = dom.speakerSelect.value;
  saveChoices();
  await applySpeaker();
}

/** Route every <audio> of the meeting to the chosen output (where the browser can). */
export async function applySpeaker() {
  if (!canPickSpeaker) return;
  const id = chosenDevice('audiooutput');
  let failed = false;
  for (const el of audioElements.values()) {
    if (await sinkTo(el, id)) continue;
    failed = true;
  }
  setDeviceStatus(failed ? 'devices.speakerFailed' : null);
}

/** Send `el`'s sound to output `id` ('' = the default); false if the browser refused. */
export async function sinkTo(el, id) {
  if (!canPickSpeaker || el.sinkId === (id || '')) return true;
  try {
    await el.setSinkId(id || '');
    return true;
  } catch (err) {
    console.warn(`speaker: could not use ${id}: ${err && err.name}`);
    return false;
  }
}

/** Front camera to back camera and back (phones), else the next camera in the list. */
export async function flipCamera() {
  const track = liveTrack(app.videoTrack);
  if (!track) return;
  const facing = track.getSettings().facingMode;
  if (facing === 'user' || facing === 'environment') {
    const next = facing === 'user' ? 'environment' : 'user';
    if (await switchTrack('video', { facingMode: { exact: next } }, true)) return;
  }
  // No facing mode (a computer's cameras): the next camera in the list.
  const options = [...dom.cameraSelect.options];
  if (options.length < 2) return;
  const index = options.findIndex((o) => o.value === track.getSettings().deviceId);
  const nextId = options[(index + 1) % options.length].value;
  dom.cameraSelect.value = nextId;
  await pickDevice('videoinput');
}

let switching = Promise.resolve(true);

/**
 * Use a new camera or microphone track in place of the current one. `constraints`
 * (else the chosen device) are merged into the kind's usual constraints. In the
 * meeting the sender's track is replaced without renegotiation. Resolves to
 * whether the switch happened; `quiet`: a failure is left to the caller.
 */
export function switchTrack(kind, constraints, quiet = false) {
  // One switch at a time: two fast picks must not leave two cameras open.
  switching = switching.catch(() => false).then(() => switchNow(kind, constraints, quiet));
  return switching;
}

async function switchNow(kind, constraints, quiet) {
  const old = kind === 'video' ? app.videoTrack : app.audioTrack;
  const base = kind === 'video' ? videoConstraints() : audioConstraints();
  const wanted = { [kind]: { ...(base === true ? {} : base), ...(constraints || {}) } };
  if (constraints && constraints.facingMode) delete wanted[kind].deviceId;
  setDeviceStatus('devices.switching');
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia(wanted);
  } catch (err) {
    const busy = err && (err.name === 'NotReadableError' || err.name === 'AbortError');
    if (!(busy && liveTrack(old))) return switchFailed(err, quiet);
    // A phone opens one camera at a time: let go of the old one, then ask again.
    old.stop();
    try {
      stream = await navigator.mediaDevices.getUserMedia(wanted);
    } catch (again) {
      return switchFailed(again, quiet);
    }
  }
  const track = stream.getTracks()[0];
  await useTrack(kind, track, old);
  setDeviceStatus(null);
  return true;
}

function switchFailed(err, quiet) {
  console.warn(`devices: switch failed: ${err && err.name}`);
  if (quiet) {
    setDeviceStatus(null);
  } else {
    setDeviceStatus(`devices.failed.${classifyMediaError(err).split('.')[1]}`);
  }
  updateMediaViews();
  updateControls();
  return false;
}

/** Put `track` where `old` was: the local stream, the views, and the sender in the meeting. */
async function useTrack(kind, track, old) {
  watchTrack(track);
  if (kind === 'video') app.videoTrack = track;
  else app.audioTrack = track;
  if (!app.localStream) app.localStream = new MediaStream();
  if (old) app.localStream.removeTrack(old);
  app.localStream.addTrack(track);
  applyTrackStates(); // the new track keeps the mute state
  const session = app.session;
  const transceiver = session && session.pc ? publishTransceiver(session, kind) : null;
  if (transceiver) {
    transceiver.direction = 'sendonly';
    await transceiver.sender.replaceTrack(track);
  }
  if (old && old !== track) old.stop();
  updateMediaViews();
  updateControls();
  if (kind === 'audio') startMeter();
  await fillDevicePickers();
  if (session && session.pc && !transceiver && app.screen === 'meeting' && !app.stopped) {
    // The connection was made without this kind: only a new offer can carry it.
    reconnectForNewDevice();
  }
}

let reconnectHook = null;

/** How a new kind of device gets sent (session.js connect, set by main.js: no import cycle). */
export function onNewDeviceKind(hook) {
  reconnectHook = hook;
}

function reconnectForNewDevice() {
  if (reconnectHook) reconnectHook();
}

// -- the dialog in the meeting ---------------------------------------------------------

/** Open the devices dialog (the pre-join screen's settings move into it). */
export function openDeviceDialog() {
  dom.deviceDialogBody.append(dom.deviceSettings);
  if (typeof dom.deviceDialog.showModal === 'function') dom.deviceDialog.showModal();
  else dom.deviceDialog.setAttribute('open', '');
  dom.toggleDevices.setAttribute('aria-expanded', 'true');
  startMeter();
  void fillDevicePickers();
}

/** Close the devices dialog; its settings go back to the pre-join screen. */
export function closeDeviceDialog() {
  if (dom.deviceDialog.open) {
    if (typeof dom.deviceDialog.close === 'function') dom.deviceDialog.close();
    else dom.deviceDialog.removeAttribute('open');
  }
}

/** After the dialog closed (button, Escape): put the settings back before the join button. */
export function restoreDeviceSettings() {
  dom.toggleDevices.setAttribute('aria-expanded', 'false');
  if (dom.deviceSettings.parentElement !== dom.joinButton.parentElement) {
    dom.joinButton.before(dom.deviceSettings);
  }
}

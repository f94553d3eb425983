// The browser meeting page: pre-join check, signaling, the peer connection,
// the slot layout and automatic reconnection.
//
// Protocol (web/messages.py): the client sends `join`, the server answers with
// `welcome`, `offer` and `slots`; the client answers the offer. Video arrives in
// fixed receive slots ("main", "thumb-N"), audio in "audio-N"; `slots` says
// which site is in which slot.

import { t, getLang, applyI18n, onLangChange, toggleLang, formatDateTime } from './i18n.js';
import { icon, fillIcons } from './console/icons.js';
import { takeJoinToken } from './join_token.js';

const BACKOFF_SECONDS = [1, 2, 4, 8, 15];
const PING_INTERVAL_MS = 20_000;
const PONG_TIMEOUT_MS = 65_000; // and at least MISSED_PONGS pings unanswered: the socket is dead
const MISSED_PONGS = 3; // (counted, not timed alone: background tabs may run timers late)
const DISCONNECTED_GRACE_MS = 5_000;
const CONNECT_TIMEOUT_MS = 30_000; // socket open to media flowing
const THUMBNAILS = 8;
const WIDE_PANEL_MIN_WIDTH = 1500;
const STATS_INTERVAL_MS = 5_000; // own connection report for the host's roll call

// `bye` reasons after which this window must not reconnect by itself.
const TERMINAL_BYES = {
  replaced: 'replaced',
  removed: 'removed',
  uninvited: 'uninvited',
  ended: 'ended',
  cancelled: 'cancelled',
  'room-closed': 'closed',
  'room-deleted': 'closed',
  'room-ended': 'ended',
  'room-cancelled': 'cancelled',
};
// Ends after which "Join again" makes no sense.
const FINAL_ENDS = new Set(['ended', 'cancelled', 'closed', 'uninvited']);
// Fatal `error` codes that retrying cannot fix.
const STOP_ERRORS = new Set([
  'token-expired', 'token-invalid', 'token-malformed', 'token-missing',
  'wrong-room', 'room-not-found', 'role-cannot-publish',
  'removed', 'not-invited', 'room-locked', 'room-closed', 'meeting-ended', 'meeting-cancelled', 'meeting-not-found',
]);
// WebSocket close codes the server uses for the same (in case the error message was lost).
const STOP_CLOSE_CODES = { 4401: 'token-invalid', 4403: 'wrong-room', 4404: 'room-not-found' };

// -- page data --------------------------------------------------------------------------

const $ = (selector, root = document) => root.querySelector(selector);

function readConfig() {
  try {
    return JSON.parse(document.body.dataset.config || '{}');
  } catch {
    return {};
  }
}

const config = readConfig();
const room = config.room || { id: '', name: '' };
const site = config.site || { name: '', role: 'participant' };
// Taken out of the address bar and the history at once (see join_token.js).
const token = takeJoinToken(room.id);
const isViewer = site.role === 'viewer';

const dom = {
  body: document.body,
  prejoin: $('#prejoin'),
  meeting: $('#meeting'),
  leftScreen: $('#left-screen'),
  preview: $('#preview'),
  previewOff: $('#preview-off'),
  previewOffText: $('#preview-off-text'),
  prejoinMic: $('#prejoin-mic'),
  prejoinCam: $('#prejoin-cam'),
  prejoinExpires: $('#prejoin-expires'),
  mediaStatus: $('#media-status'),
  mediaWarning: $('#media-warning'),
  mediaWarningText: $('#media-warning-text'),
  devicePickers: $('#device-pickers'),
  cameraField: $('#camera-field'),
  micField: $('#mic-field'),
  cameraSelect: $('#camera-select'),
  micSelect: $('#mic-select'),
  joinButton: $('#join-button'),
  connectionState: $('#connection-state'),
  connectionText: $('#connection-state .connection-text'),
  langToggle: $('#lang-toggle'),
  errorBanner: $('#error-banner'),
  noticeBanner: $('#notice-banner'),
  closingBanner: $('#closing-banner'),
  closingText: $('#closing-text'),
  floorBanner: $('#floor-banner'),
  floorText: $('#floor-text'),
  recordingIndicator: $('#recording-indicator'),
  recordingAnnounce: $('#recording-announce'),
  micHint: $('#mic-hint'),
  toggleHand: $('#toggle-hand'),
  stageArea: $('.stage-area'),
  stageOverlay: $('#stage-overlay'),
  stageOverlayText: $('#stage-overlay-text'),
  mainTile: $('[data-slot="main"]'),
  thumbnails: $('#thumbnails'),
  selfView: $('#self-view'),
  selfVideo: $('#self-view video'),
  selfOff: $('#self-view .self-off'),
  panel: $('#participants-panel'),
  participantList: $('#participants'),
  participantCount: $('#participant-count'),
  participantCountButton: $('#participant-count-button'),
  toggleMic: $('#toggle-mic'),
  toggleCam: $('#toggle-cam'),
  toggleParticipants: $('#toggle-participants'),
  leaveButton: $('#leave-button'),
  enableAudio: $('#enable-audio'),
  audioSinks: $('#audio-sinks'),
  leftTitle: $('#left-title'),
  leftBody: $('#left-body'),
  rejoinButton: $('#rejoin-button'),
};

// -- state ------------------------------------------------------------------------------

const app = {
  screen: 'prejoin', // prejoin | meeting | left
  state: 'idle', // idle | connecting | connected | reconnecting | disconnected | left | error
  localStream: null,
  audioTrack: null,
  videoTrack: null,
  micMuted: false,
  camMuted: false,
  mediaPromise: null,
  mediaWarningKey: null,
  mediaStatusKey: 'prejoin.checking',
  session: null,
  stopped: true, // true: nothing may reconnect
  attempt: 0,
  reconnectTimer: null,
  reconnectDeadline: 0,
  countdownTimer: null,
  selfId: null,
  speaker: null,
  participants: new Map(),
  names: new Map(), // site id -> name, from participants and `slots.names` (large rooms)
  count: 0, // sites in the room (large rooms list only some of them in `participants`)
  floor: null, // the site that has the floor
  recording: false, // the meeting is being recorded (`welcome.recording`, `recording`)
  handRaised: false,
  mutedByHost: false,
  closingDeadline: 0, // ms epoch when the meeting ends (after `closing`), 0: not announced
  closingTimer: null,
  slots: {},
  slotKinds: {},
  wakeLock: null,
  noticeKey: null,
  errorKey: null,
  errorCode: null,
  endedKind: null,
};

const tiles = new Map(); // slot name -> tile parts
const audioElements = new Map(); // slot name -> <audio>

// -- small helpers ----------------------------------------------------------------------

function setText(el, key, params) {
  if (!el) return;
  if (params) {
    delete el.dataset.i18n;
  } else {
    el.dataset.i18n = key;
  }
  el.textContent = t(key, params);
}

function setIcon(button, name) {
  const holder = button && button.querySelector('[data-icon]');
  if (holder && holder.dataset.icon !== name) {
    holder.dataset.icon = name;
    holder.replaceChildren(icon(name));
  }
}

function liveTrack(track) {
  return track && track.readyState === 'live' ? track : null;
}

function playMedia(el) {
  const promise = el.play && el.play();
  if (promise && promise.catch) {
    promise.catch((err) => {
      if (err && err.name === 'NotAllowedError' && el.tagName === 'AUDIO') {
        dom.enableAudio.hidden = false; // autoplay with sound blocked: ask for a click
      }
    });
  }
}

function wsUrl() {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${window.location.host}/ws/${encodeURIComponent(room.id)}`;
}

// -- screens, state indicator, banners -------------------------------------------------

function showScreen(name) {
  app.screen = name;
  dom.prejoin.hidden = name !== 'prejoin';
  dom.meeting.hidden = name !== 'meeting';
  dom.leftScreen.hidden = name !== 'left';
  dom.body.dataset.phase = name;
  if (name === 'left') app.recording = false; // out of the room: no longer known
  renderRecording();
}

function setState(state) {
  app.state = state;
  dom.connectionState.dataset.state = state;
  dom.body.dataset.state = state;
  setText(dom.connectionText, `state.${state}`);
  const waiting = app.screen === 'meeting' && (state === 'reconnecting' || state === 'disconnected');
  dom.stageOverlay.hidden = !waiting;
  dom.connectionState.setAttribute('aria-busy', String(state === 'connecting' || state === 'reconnecting'));
  updateHandButton();
}

function showNotice(key, params) {
  app.noticeKey = key ? { key, params } : null;
  if (!key) {
    dom.noticeBanner.hidden = true;
    dom.noticeBanner.textContent = '';
    return;
  }
  dom.noticeBanner.textContent = t(key, params);
  dom.noticeBanner.hidden = false;
}

function errorMessage(code) {
  const key = `error.${code}`;
  const text = t(key);
  return text === key ? t('error.generic', { code }) : text;
}

function showError(code) {
  app.errorCode = code;
  if (!code) {
    dom.errorBanner.hidden = true;
    dom.errorBanner.textContent = '';
    return;
  }
  dom.errorBanner.replaceChildren(icon('warning'), document.createTextNode(errorMessage(code)));
  dom.errorBanner.dataset.code = code;
  dom.errorBanner.hidden = false;
}

// -- local media ------------------------------------------------------------------------

function classifyMediaError(err) {
  const name = err && err.name;
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return 'media.denied';
  if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') return 'media.busy';
  return 'media.none';
}

function videoConstraints() {
  const c = { width: 640, height: 360 };
  const id = dom.cameraSelect.value;
  if (id) c.deviceId = { exact: id };
  return c;
}

function audioConstraints() {
  const id = dom.micSelect.value;
  return id ? { deviceId: { exact: id } } : true;
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

function watchTrack(track) {
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
async function acquireMedia() {
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
      if (err && err.name === 'OverconstrainedError' && (dom.cameraSelect.value || dom.micSelect.value)) {
        // A remembered device is gone: forget the choice and try the defaults.
        dom.cameraSelect.value = '';
        dom.micSelect.value = '';
      }
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
  if (stream) await fillDevicePickers();
}

async function fillDevicePickers() {
  let list = [];
  try {
    list = await navigator.mediaDevices.enumerateDevices();
  } catch {
    return;
  }
  const fill = (select, kind, track, fallbackKey) => {
    const devices = list.filter((d) => d.kind === kind && d.deviceId);
    const current = track ? track.getSettings().deviceId : '';
    select.replaceChildren(
      ...devices.map((d, i) => {
        const option = document.createElement('option');
        option.value = d.deviceId;
        option.textContent = d.label || `${t(fallbackKey)} ${i + 1}`;
        option.selected = d.deviceId === current;
        return option;
      }),
    );
    return devices.length;
  };
  const cameras = fill(dom.cameraSelect, 'videoinput', app.videoTrack, 'prejoin.camera');
  const mics = fill(dom.micSelect, 'audioinput', app.audioTrack, 'prejoin.microphone');
  dom.cameraField.hidden = cameras < 2;
  dom.micField.hidden = mics < 2;
  dom.devicePickers.hidden = cameras < 2 && mics < 2;
}

async function switchDevice() {
  if (app.screen !== 'prejoin') return;
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

function stopLocalMedia() {
  for (const track of app.localStream ? app.localStream.getTracks() : []) track.stop();
  app.localStream = null;
  app.audioTrack = null;
  app.videoTrack = null;
  dom.preview.srcObject = null;
  dom.selfVideo.srcObject = null;
}

function applyTrackStates() {
  if (app.audioTrack) app.audioTrack.enabled = !app.micMuted;
  if (app.videoTrack) app.videoTrack.enabled = !app.camMuted;
}

function updateMediaViews() {
  const video = liveTrack(app.videoTrack);
  const stream = video ? new MediaStream([video]) : null;
  for (const el of [dom.preview, dom.selfVideo]) {
    const currentTrack = el.srcObject && el.srcObject.getVideoTracks()[0];
    if ((currentTrack || null) !== (video || null)) {
      el.srcObject = stream;
      if (stream) playMedia(el);
    }
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

function updateControls() {
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
}

// -- floor control: raised hand, the floor, the host's mute, the closing countdown ----

function updateHandButton() {
  const button = dom.toggleHand;
  const hasFloor = !!app.floor && app.floor === app.selfId;
  const usable = !!app.session && app.session.welcomed && !app.session.closed;
  const raised = app.handRaised && !hasFloor;
  button.hidden = isViewer;
  button.disabled = !usable || hasFloor;
  button.setAttribute('aria-pressed', String(raised));
  button.classList.toggle('is-raised', raised);
  button.classList.toggle('has-floor', hasFloor);
  setText(button.querySelector('.btn-text'), hasFloor ? 'hand.floor' : raised ? 'hand.lower' : 'hand.raise');
}

/** Ask for the floor (or stop asking). */
function setHandRaised(raised) {
  const session = app.session;
  if (isViewer || !session || !session.welcomed || app.floor === app.selfId) return false;
  raised = !!raised;
  if (!session.send({ type: 'hand', raised })) return false;
  app.handRaised = raised; // the server's `hand` confirms (or corrects) it
  updateHandButton();
  if (raised) showNotice('hand.raised');
  else if (app.noticeKey && app.noticeKey.key === 'hand.raised') showNotice(null);
  return true;
}

function onHand(raised) {
  const wasRaised = app.handRaised;
  app.handRaised = raised;
  if (wasRaised && !raised && app.floor !== app.selfId) showNotice('hand.lowered');
  updateHandButton();
}

function onFloor(id) {
  const previous = app.floor;
  app.floor = id;
  if (id && id === app.selfId && previous !== id) {
    // Given the floor: the host's mute is lifted and the microphone comes on by itself.
    app.mutedByHost = false;
    app.handRaised = false;
    if (liveTrack(app.audioTrack)) {
      if (app.micMuted) {
        app.micMuted = false;
        applyTrackStates();
        sendMute();
      } else {
        app.audioTrack.enabled = true;
      }
      showNotice('floor.self');
    } else {
      showNotice('floor.selfNoMic');
    }
  } else if (previous && previous === app.selfId && id !== app.selfId) {
    showNotice('floor.over');
  }
  updateControls();
  renderFloor();
  renderPeople();
}

function renderFloor() {
  const id = app.floor;
  const show = !!id && app.screen === 'meeting';
  dom.floorBanner.hidden = !show;
  dom.floorBanner.classList.toggle('is-self', !!id && id === app.selfId);
  if (show) {
    dom.floorBanner.dataset.site = id;
    // In a large room a holder outside our slots has no known name: show its code.
    const name = siteName(id) || `${t('site')} ${id}`;
    dom.floorText.textContent = t('floor.banner', { name: id === app.selfId ? `${name} (${t('you')})` : name });
  } else {
    delete dom.floorBanner.dataset.site;
    dom.floorText.textContent = '';
  }
}

function onMutedByHost(muted, refused = false) {
  app.mutedByHost = muted;
  if (muted) {
    if (!app.micMuted) {
      app.micMuted = true;
      applyTrackStates();
      sendMute();
    } else if (app.audioTrack) {
      app.audioTrack.enabled = false;
    }
    showNotice(refused ? 'hostMute.hint' : 'hostMute.on');
  } else {
    showNotice('hostMute.off');
  }
  updateControls();
}

/** The meeting is being recorded (or no longer is): the red indicator in the top bar. */
function onRecording(active) {
  const changed = app.recording !== active;
  app.recording = active;
  renderRecording();
  if (changed && dom.recordingAnnounce) {
    setText(dom.recordingAnnounce, active ? 'recording.started' : 'recording.stopped');
  }
}

function renderRecording() {
  if (!dom.recordingIndicator) return;
  dom.recordingIndicator.hidden = !(app.recording && app.screen === 'meeting');
  dom.body.dataset.recording = String(app.recording);
}

function startClosingCountdown(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return;
  app.closingDeadline = Date.now() + Math.max(0, seconds) * 1000;
  clearInterval(app.closingTimer);
  app.closingTimer = setInterval(renderClosing, 1000);
  renderClosing();
}

function stopClosingCountdown() {
  clearInterval(app.closingTimer);
  app.closingTimer = null;
  app.closingDeadline = 0;
  renderClosing();
}

function renderClosing() {
  const show = !!app.closingDeadline && app.screen === 'meeting';
  dom.closingBanner.hidden = !show;
  if (!show) return;
  const left = Math.max(0, Math.ceil((app.closingDeadline - Date.now()) / 1000));
  const pad = (n) => String(n).padStart(2, '0');
  let text;
  if (left >= 60) text = `${t('closing.minutes', { n: Math.ceil(left / 60) })} (${pad(Math.floor(left / 60))}:${pad(left % 60)})`;
  else if (left > 0) text = t('closing.seconds', { n: left });
  else text = t('closing.now');
  dom.closingText.textContent = text;
  dom.closingBanner.dataset.seconds = String(left);
  dom.closingBanner.classList.toggle('is-urgent', left <= 60);
}

// -- own connection statistics ------------------------------------------------------------

/** Totals from one getStats() report. */
function statsSample(report, pc) {
  const sample = {
    pc, at: performance.now(), rtt: null,
    lost: 0, received: 0, bytesIn: 0, bytesOut: 0, inbound: false, outbound: false,
  };
  let selectedId = null;
  const pairs = [];
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) selectedId = s.selectedCandidatePairId;
    else if (s.type === 'candidate-pair') pairs.push(s);
    else if (s.type === 'inbound-rtp') {
      sample.inbound = true;
      sample.lost += Number(s.packetsLost) || 0;
      sample.received += Number(s.packetsReceived) || 0;
      sample.bytesIn += Number(s.bytesReceived) || 0;
    } else if (s.type === 'outbound-rtp') {
      sample.outbound = true;
      sample.bytesOut += Number(s.bytesSent) || 0;
    }
  });
  const pair = (selectedId && pairs.find((p) => p.id === selectedId))
    || pairs.find((p) => p.nominated && p.state === 'succeeded')
    || pairs.find((p) => p.selected);
  if (pair && typeof pair.currentRoundTripTime === 'number') sample.rtt = pair.currentRoundTripTime * 1000;
  return sample;
}

function finite(value, max, digits = 1) {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return null;
  const scale = 10 ** digits;
  return Math.min(Math.round(value * scale) / scale, max);
}

/** The `stats` message: RTT now; loss and bitrates over the time since `previous`. */
function statsMessage(previous, current) {
  let loss = null;
  let inKbps = null;
  let outKbps = null;
  if (previous && previous.pc === current.pc) {
    const seconds = (current.at - previous.at) / 1000;
    if (seconds > 0.5) {
      const lost = Math.max(0, current.lost - previous.lost);
      const received = Math.max(0, current.received - previous.received);
      if (current.inbound && lost + received > 0) loss = lost / (lost + received);
      if (current.inbound) inKbps = (Math.max(0, current.bytesIn - previous.bytesIn) * 8) / seconds / 1000;
      if (current.outbound) outKbps = (Math.max(0, current.bytesOut - previous.bytesOut) * 8) / seconds / 1000;
    }
  }
  return {
    type: 'stats',
    rtt_ms: finite(current.rtt, 60_000),
    loss: loss === null ? null : finite(Math.min(loss, 1), 1, 4),
    bitrate_in_kbps: finite(inKbps, 1_000_000),
    bitrate_out_kbps: finite(outKbps, 1_000_000),
  };
}

function sendMute() {
  const session = app.session;
  if (session && session.welcomed) {
    session.send({ type: 'mute', audio: app.micMuted, video: app.camMuted });
  }
}

function setMicMuted(muted) {
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

function setCamMuted(muted) {
  app.camMuted = !!muted;
  applyTrackStates();
  updateControls();
  updateMediaViews();
  sendMute();
}

// -- tiles ------------------------------------------------------------------------------

function registerTile(el) {
  const parts = {
    el,
    slot: el.dataset.slot,
    video: $('video', el),
    label: $('.label', el),
    placeholderName: $('.placeholder-name', el),
    placeholderNote: $('.placeholder-note', el),
    badge: $('.speaker-badge', el),
  };
  parts.video.muted = true;
  tiles.set(parts.slot, parts);
  return parts;
}

function slotNumber(name) {
  const n = Number.parseInt(String(name).split('-')[1], 10);
  return Number.isFinite(n) ? n : 0;
}

function ensureThumbTile(slot) {
  const existing = tiles.get(slot);
  if (existing) return existing;
  const el = document.createElement('div');
  el.className = 'tile tile-thumb';
  el.setAttribute('role', 'listitem');
  el.dataset.slot = slot;
  el.dataset.participant = '';
  el.dataset.empty = 'true';
  el.hidden = true;
  const video = document.createElement('video');
  video.className = 'tile-video';
  video.autoplay = true;
  video.muted = true;
  video.playsInline = true;
  video.setAttribute('autoplay', '');
  video.setAttribute('muted', '');
  video.setAttribute('playsinline', '');
  const placeholder = document.createElement('div');
  placeholder.className = 'tile-placeholder';
  const name = document.createElement('span');
  name.className = 'placeholder-name';
  const note = document.createElement('span');
  note.className = 'placeholder-note';
  placeholder.append(icon('cam-off', 'placeholder-icon'), name, note);
  const badge = document.createElement('span');
  badge.className = 'speaker-badge';
  badge.hidden = true;
  setText(badge, 'speaker');
  const label = document.createElement('div');
  label.className = 'label';
  el.append(video, placeholder, badge, label);
  // Keep thumb-1, thumb-2, ... in order.
  const after = [...dom.thumbnails.children].find((c) => slotNumber(c.dataset.slot) > slotNumber(slot));
  dom.thumbnails.insertBefore(el, after || null);
  return registerTile(el);
}

function ensureAudio(slot) {
  let el = audioElements.get(slot);
  if (!el) {
    el = document.createElement('audio');
    el.autoplay = true;
    el.setAttribute('autoplay', '');
    el.dataset.slot = slot;
    dom.audioSinks.append(el);
    audioElements.set(slot, el);
  }
  return el;
}

function renderTile(parts) {
  const pid = app.slots[parts.slot] ?? null;
  const p = pid ? app.participants.get(pid) : null;
  const { el } = parts;
  el.dataset.participant = pid || '';
  el.dataset.empty = String(!pid);
  if (parts.slot !== 'main') el.hidden = !pid;
  el.classList.toggle('is-empty', !pid);
  el.classList.toggle('is-floor', !!pid && pid === app.floor);
  const name = pid ? siteName(pid) : '';
  const videoOff = !!p && (p.video_muted || !p.video);
  el.classList.toggle('video-off', videoOff);
  // Label: site name and a muted-microphone mark.
  parts.label.replaceChildren();
  parts.label.hidden = !pid;
  if (pid) {
    if (p && p.audio_muted) {
      const mark = icon('mic-off', 'label-icon');
      parts.label.append(mark);
    }
    const text = document.createElement('span');
    text.className = 'label-text';
    text.textContent = name;
    parts.label.append(text);
    parts.label.title = name;
  }
  // Placeholder: the site name when its camera is off; "waiting" for an empty main slot.
  if (!pid) {
    parts.placeholderName.textContent = '';
    if (parts.slot === 'main') {
      const others = app.count > 1 || [...app.participants.keys()].some((id) => id !== app.selfId);
      setText(parts.placeholderNote, others ? 'stage.noVideo' : 'stage.waiting');
    }
    else parts.placeholderNote.textContent = '';
  } else if (videoOff) {
    parts.placeholderName.textContent = name;
    setText(parts.placeholderNote, p.video ? 'camera.off' : 'camera.none');
  } else {
    parts.placeholderName.textContent = '';
    parts.placeholderNote.textContent = '';
  }
  const speaking = !!pid && pid === app.speaker;
  el.classList.toggle('is-speaker', speaking);
  parts.badge.hidden = !speaking;
}

function renderTiles() {
  for (const parts of tiles.values()) renderTile(parts);
  const visibleThumbs = [...tiles.values()].filter((p) => p.slot !== 'main' && !p.el.hidden).length;
  dom.stageArea.dataset.thumbs = String(visibleThumbs);
  dom.stageArea.classList.toggle('has-thumbs', visibleThumbs > 0);
  dom.stageArea.classList.toggle('many-thumbs', visibleThumbs > 4);
}

function siteName(id) {
  const p = app.participants.get(id);
  return (p && p.name) || app.names.get(id) || '';
}

function setSlots(assignments, names) {
  for (const [id, name] of Object.entries(names || {})) {
    if (typeof name === 'string' && name) app.names.set(id, name);
  }
  for (const key of Object.keys(app.slots)) {
    if (!(key in assignments)) delete app.slots[key];
  }
  for (const [slot, pid] of Object.entries(assignments || {})) app.slots[slot] = pid ?? null;
  renderTiles();
}

function resetMediaElements() {
  for (const parts of tiles.values()) parts.video.srcObject = null;
  for (const el of audioElements.values()) el.srcObject = null;
  for (const key of Object.keys(app.slots)) app.slots[key] = null;
  renderTiles();
}

// -- participants -----------------------------------------------------------------------

function participantRow(p) {
  const li = document.createElement('li');
  li.className = 'participant';
  li.dataset.participant = p.id;
  const isSelf = p.id === app.selfId;
  li.classList.toggle('is-self', isSelf);
  li.classList.toggle('is-speaker', p.id === app.speaker);
  const main = document.createElement('div');
  main.className = 'participant-main';
  const name = document.createElement('span');
  name.className = 'participant-name';
  name.textContent = p.name;
  main.append(name);
  const tags = [];
  if (isSelf) tags.push(['tag-self', t('you')]);
  if (p.role === 'host') tags.push(['tag-host', t('role.host')]);
  if (p.role === 'viewer') tags.push(['tag-viewer', t('role.viewer')]);
  if (p.id === app.floor) tags.push(['tag-floor', t('floor.tag')]);
  if (p.id === app.speaker) tags.push(['tag-speaking', t('speaking')]);
  if (p.connection && !['connected', 'new'].includes(p.connection) && !isSelf) {
    tags.push(['tag-connecting', t('peer.connecting')]);
  }
  if (tags.length) {
    const tagBox = document.createElement('span');
    tagBox.className = 'participant-tags';
    for (const [cls, text] of tags) {
      const tag = document.createElement('span');
      tag.className = `tag ${cls}`;
      tag.textContent = text;
      tagBox.append(tag);
    }
    main.append(tagBox);
  }
  const icons = document.createElement('span');
  icons.className = 'participant-icons';
  if (p.role !== 'viewer') {
    const micOff = !p.audio || p.audio_muted;
    const camOff = !p.video || p.video_muted;
    for (const [off, on, offName, onName, cls] of [
      [micOff, 'mic.on', 'mic.off', 'mic', 'state-mic'],
      [camOff, 'cam.on', 'cam.off', 'cam', 'state-cam'],
    ]) {
      const holder = document.createElement('span');
      holder.className = `state-icon ${cls}${off ? ' is-off' : ''}`;
      holder.setAttribute('role', 'img');
      holder.setAttribute('aria-label', t(off ? offName : on));
      holder.title = t(off ? offName : on);
      holder.append(icon(off ? `${onName}-off` : onName));
      icons.append(holder);
    }
  }
  li.append(main, icons);
  return li;
}

function renderParticipants() {
  const list = [...app.participants.values()].sort((a, b) => {
    if (a.id === app.selfId) return -1;
    if (b.id === app.selfId) return 1;
    if ((a.role === 'host') !== (b.role === 'host')) return a.role === 'host' ? -1 : 1;
    return (a.joined_at || 0) - (b.joined_at || 0);
  });
  const rows = list.map(participantRow);
  const n = Math.max(app.count, app.participants.size);
  const hidden = n - app.participants.size;
  if (hidden > 0 && app.screen === 'meeting') {
    // A large room lists only this site and the hosts.
    const more = document.createElement('li');
    more.className = 'participant participant-more';
    more.textContent = t('participants.more', { n: hidden });
    rows.push(more);
  }
  dom.participantList.replaceChildren(...rows);
  dom.participantCount.textContent = String(n);
  dom.participantCount.setAttribute('aria-label', t('participants.count', { n }));
  dom.participantCountButton.textContent = String(n);
}

function renderPeople() {
  renderParticipants();
  renderTiles();
}

// -- signaling session ------------------------------------------------------------------

/** One socket plus one peer connection; a reconnect makes a new one. */
class Session {
  constructor() {
    this.ws = null;
    this.pc = null;
    this.closed = false;
    this.welcomed = false;
    this.connected = false;
    this.answered = false;
    this.pendingIce = [];
    this.queue = Promise.resolve();
    this.pingId = 0;
    this.unanswered = 0;
    this.lastPong = Date.now();
    this.pingTimer = null;
    this.connectTimer = null;
    this.disconnectTimer = null;
    this.byeReason = null;
    this.statsTimer = null;
    this.statsPrevious = null;
  }

  /** Every few seconds: our own view of the connection, for the host's roll call. */
  startStats() {
    clearInterval(this.statsTimer);
    this.statsPrevious = null;
    this.statsTimer = setInterval(() => {
      this.reportStats().catch((err) => console.debug('stats report skipped', err));
    }, STATS_INTERVAL_MS);
  }

  async reportStats() {
    const pc = this.pc;
    if (this.closed || !pc || !this.connected || peerState(pc) !== 'connected') return;
    const report = await pc.getStats();
    if (this.closed || pc !== this.pc) return;
    const sample = statsSample(report, pc);
    const message = statsMessage(this.statsPrevious, sample);
    this.statsPrevious = sample;
    this.send(message);
  }

  send(message) {
    if (!this.closed && this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  startPing() {
    clearInterval(this.pingTimer);
    this.lastPong = Date.now();
    this.unanswered = 0;
    this.pingTimer = setInterval(() => {
      if (this.unanswered >= MISSED_PONGS && Date.now() - this.lastPong > PONG_TIMEOUT_MS) {
        if (this === app.session) scheduleReconnect('ping-timeout');
        return;
      }
      this.pingId += 1;
      if (this.send({ type: 'ping', id: this.pingId })) this.unanswered += 1;
    }, PING_INTERVAL_MS);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pingTimer);
    clearInterval(this.statsTimer);
    clearTimeout(this.connectTimer);
    clearTimeout(this.disconnectTimer);
    if (this.ws) {
      this.ws.onopen = this.ws.onmessage = this.ws.onclose = this.ws.onerror = null;
      try {
        this.ws.close(1000, 'client');
      } catch {
        /* already closed */
      }
    }
    if (this.pc) {
      this.pc.onicecandidate = this.pc.onconnectionstatechange = this.pc.oniceconnectionstatechange = null;
      try {
        this.pc.close();
      } catch {
        /* already closed */
      }
    }
  }
}

function joinMessage() {
  return {
    type: 'join',
    token,
    thumbnails: THUMBNAILS,
    publish_audio: !isViewer && !!liveTrack(app.audioTrack),
    publish_video: !isViewer && !!liveTrack(app.videoTrack),
  };
}

function connect() {
  clearReconnectTimer();
  setText(dom.stageOverlayText, 'stage.reconnecting');
  if (app.session) app.session.close();
  const session = new Session();
  app.session = session;
  setState(app.attempt > 0 ? 'reconnecting' : 'connecting');
  let ws;
  try {
    ws = new WebSocket(wsUrl());
  } catch (err) {
    console.error('cannot open the signaling socket', err);
    scheduleReconnect('socket-error');
    return;
  }
  session.ws = ws;
  ws.onopen = () => {
    if (session !== app.session) return;
    session.send(joinMessage());
  };
  ws.onmessage = (event) => {
    if (session !== app.session) return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      console.warn('ignoring a message that is not JSON');
      return;
    }
    enqueue(session, () => handleMessage(session, message));
  };
  ws.onclose = (event) => {
    if (session !== app.session) return;
    // Through the queue, so an `error` or `bye` that came just before is handled first.
    enqueue(session, () => onSocketClosed(session, event));
  };
  ws.onerror = () => {
    /* a close event follows */
  };
  session.connectTimer = setTimeout(() => {
    if (session === app.session && !session.connected) scheduleReconnect('connect-timeout');
  }, CONNECT_TIMEOUT_MS);
}

function enqueue(session, task) {
  session.queue = session.queue.then(async () => {
    if (session !== app.session) return;
    try {
      await task();
    } catch (err) {
      console.error('meeting client error', err);
      if (session === app.session) scheduleReconnect('client-error');
    }
  });
}

function onSocketClosed(session, event) {
  if (session !== app.session || app.stopped) return;
  const stopCode = STOP_CLOSE_CODES[event.code];
  if (stopCode && !session.welcomed) {
    fail(stopCode);
    return;
  }
  scheduleReconnect(`socket-closed-${event.code}`);
}

async function handleMessage(session, message) {
  switch (message.type) {
    case 'welcome':
      onWelcome(session, message);
      break;
    case 'offer':
      await onOffer(session, message);
      break;
    case 'slots':
      setSlots(message.assignments || {}, message.names);
      renderFloor();
      break;
    case 'participant-count':
      if (Number.isInteger(message.count)) {
        app.count = message.count;
        renderParticipants();
      }
      break;
    case 'floor':
      onFloor(message.id ?? null);
      break;
    case 'hand':
      onHand(!!message.raised);
      break;
    case 'muted-by-host':
      onMutedByHost(!!message.muted);
      break;
    case 'closing':
      startClosingCountdown(message.seconds);
      break;
    case 'recording':
      onRecording(!!message.active);
      break;
    case 'participant-joined':
    case 'participant-updated':
      if (message.participant) {
        const p = message.participant;
        if (message.type === 'participant-joined' && !app.participants.has(p.id)) app.count += 1;
        app.participants.set(p.id, p);
        if (p.name) app.names.set(p.id, p.name);
        app.count = Math.max(app.count, app.participants.size);
        renderPeople();
      }
      break;
    case 'participant-left':
      if (message.id !== app.selfId) {
        if (app.participants.has(message.id)) app.count = Math.max(app.count - 1, 1);
        app.participants.delete(message.id);
        if (app.speaker === message.id) app.speaker = null;
        renderPeople();
      }
      break;
    case 'speaker':
      app.speaker = message.id ?? null;
      renderPeople();
      break;
    case 'pong':
      session.lastPong = Date.now();
      session.unanswered = 0;
      break;
    case 'bye':
      onBye(session, message.reason || '');
      break;
    case 'error':
      onServerError(session, message);
      break;
    default:
      break;
  }
}

function onWelcome(session, message) {
  session.welcomed = true;
  session.lastPong = Date.now();
  app.selfId = message.participant ? message.participant.id : null;
  app.speaker = message.speaker ?? null;
  session.iceServers = message.ice_servers || [];
  app.participants.clear();
  for (const p of message.participants || []) app.participants.set(p.id, p);
  if (message.participant && !app.participants.has(message.participant.id)) {
    app.participants.set(message.participant.id, message.participant);
  }
  for (const p of app.participants.values()) if (p.name) app.names.set(p.id, p.name);
  app.count = Math.max(Number.isInteger(message.count) ? message.count : 0, app.participants.size);
  // A new connection is a new participant on the server: no host mute, no hand (yet).
  app.mutedByHost = false;
  app.floor = message.floor ?? null;
  onRecording(!!message.recording);
  renderPeople();
  renderFloor();
  session.startPing();
  session.startStats();
  if (app.micMuted || app.camMuted) sendMute();
  if (app.handRaised) {
    // Still asking for the floor after a reconnect: ask again (the server ignores a repeat).
    session.send({ type: 'hand', raised: true });
  }
  updateControls();
}

async function onOffer(session, message) {
  if (session.pc) session.pc.close();
  const pc = new RTCPeerConnection({ iceServers: session.iceServers || [], bundlePolicy: 'max-bundle' });
  session.pc = pc;
  pc.onicecandidate = (event) => {
    const candidate = event.candidate ? event.candidate.toJSON() : null;
    if (session.answered) session.send({ type: 'ice', candidate });
    else session.pendingIce.push(candidate);
  };
  const onState = () => onPeerState(session);
  pc.onconnectionstatechange = onState;
  pc.oniceconnectionstatechange = onState;

  await pc.setRemoteDescription({ type: 'offer', sdp: message.sdp });
  if (session.closed) return;

  const publish = message.publish || {};
  const local = { audio: liveTrack(app.audioTrack), video: liveTrack(app.videoTrack) };
  for (const transceiver of pc.getTransceivers()) {
    for (const kind of ['audio', 'video']) {
      if (publish[kind] == null || transceiver.mid !== publish[kind]) continue;
      const track = isViewer ? null : local[kind];
      if (track) {
        transceiver.direction = 'sendonly';
        await transceiver.sender.replaceTrack(track);
      } else {
        transceiver.direction = 'inactive';
      }
    }
  }

  attachSlots(pc, message.slots || []);

  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  if (session.closed) return;
  session.send({ type: 'answer', sdp: pc.localDescription.sdp });
  session.answered = true;
  for (const candidate of session.pendingIce.splice(0)) session.send({ type: 'ice', candidate });
}

/** Give every slot its element, fed by its transceiver's receiver track. */
function attachSlots(pc, slotList) {
  const byMid = new Map(pc.getTransceivers().map((tr) => [tr.mid, tr]));
  const wanted = new Set(slotList.map((s) => s.slot));
  // Thumbnail tiles the server no longer offers go away.
  for (const [name, parts] of [...tiles]) {
    if (name !== 'main' && !wanted.has(name)) {
      parts.el.remove();
      tiles.delete(name);
    }
  }
  for (const [name, el] of [...audioElements]) {
    if (!wanted.has(name)) {
      el.remove();
      audioElements.delete(name);
    }
  }
  for (const key of Object.keys(app.slots)) delete app.slots[key];
  app.slotKinds = {};
  for (const { slot, kind, mid } of slotList) {
    app.slots[slot] = null;
    app.slotKinds[slot] = kind;
    const transceiver = byMid.get(mid);
    if (!transceiver) continue;
    const stream = new MediaStream([transceiver.receiver.track]);
    if (kind === 'video') {
      const parts = slot === 'main' ? tiles.get('main') : ensureThumbTile(slot);
      parts.video.srcObject = stream;
      playMedia(parts.video);
    } else {
      const el = ensureAudio(slot);
      el.srcObject = stream;
      playMedia(el);
    }
  }
  renderTiles();
}

function peerState(pc) {
  if (pc.connectionState) return pc.connectionState;
  const ice = pc.iceConnectionState; // older browsers
  if (ice === 'completed') return 'connected';
  if (ice === 'checking') return 'connecting';
  return ice;
}

function onPeerState(session) {
  if (session !== app.session || !session.pc) return;
  const state = peerState(session.pc);
  if (state === 'connected') {
    clearTimeout(session.disconnectTimer);
    session.disconnectTimer = null;
    clearTimeout(session.connectTimer);
    session.connected = true;
    app.attempt = 0;
    setState('connected');
    showNotice(null);
    for (const el of audioElements.values()) playMedia(el);
  } else if (state === 'disconnected') {
    setState('disconnected');
    if (!session.disconnectTimer) {
      session.disconnectTimer = setTimeout(() => {
        if (session === app.session && session.pc && peerState(session.pc) !== 'connected') {
          scheduleReconnect('peer-disconnected');
        }
      }, DISCONNECTED_GRACE_MS);
    }
  } else if (state === 'failed') {
    scheduleReconnect('peer-failed');
  }
}

function onBye(session, reason) {
  if (session.byeReason !== null) return; // the server may say bye twice (room closed)
  session.byeReason = reason;
  const terminal = TERMINAL_BYES[reason];
  if (terminal) {
    endMeeting(terminal);
  } else if (reason === 'left') {
    if (!app.stopped) endMeeting('left');
  } else {
    // shutdown, room-shutdown, connection-lost...: try again.
    scheduleReconnect(`bye-${reason}`);
  }
}

function onServerError(session, message) {
  const code = message.code || 'internal';
  if (code === 'muted-by-host' && !message.fatal) {
    // We tried to unmute while the host keeps us muted (a race with `muted-by-host`).
    onMutedByHost(true, true);
    return;
  }
  if (!message.fatal) {
    console.warn(`server error ${code}: ${message.message || ''}`);
    return;
  }
  if (STOP_ERRORS.has(code)) {
    fail(code);
  } else {
    session.byeReason = `error-${code}`;
    scheduleReconnect(`error-${code}`);
  }
}

// -- reconnecting -----------------------------------------------------------------------

function clearReconnectTimer() {
  clearTimeout(app.reconnectTimer);
  clearInterval(app.countdownTimer);
  app.reconnectTimer = null;
  app.countdownTimer = null;
}

function teardownSession() {
  if (app.session) app.session.close();
  app.session = null;
}

function updateCountdown() {
  // Shown over the stage (not in a banner) so the layout does not jump.
  if (!navigator.onLine) {
    setText(dom.stageOverlayText, 'reconnect.offline');
    return;
  }
  const seconds = Math.max(0, Math.ceil((app.reconnectDeadline - Date.now()) / 1000));
  if (seconds > 0) setText(dom.stageOverlayText, 'reconnect.in', { n: seconds });
  else setText(dom.stageOverlayText, 'stage.reconnecting');
}

function scheduleReconnect(reason) {
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

window.addEventListener('online', () => {
  if (app.stopped) return;
  if (app.reconnectTimer) {
    clearReconnectTimer();
    connect();
  } else if (app.session && !app.session.connected && app.state !== 'connecting') {
    connect();
  }
});

window.addEventListener('offline', () => {
  if (!app.stopped && app.screen === 'meeting') setText(dom.stageOverlayText, 'reconnect.offline');
});

// -- joining, leaving, ending -----------------------------------------------------------

async function requestWakeLock() {
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

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && !app.stopped) requestWakeLock();
});

async function join() {
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

function leave() {
  if (app.stopped && app.screen !== 'meeting') return;
  const session = app.session;
  if (session) session.send({ type: 'leave' });
  endMeeting('left');
}

/** Stop for good (until the person presses "Join again"). */
function endMeeting(kind) {
  app.stopped = true;
  app.endedKind = kind;
  clearReconnectTimer();
  teardownSession();
  stopLocalMedia();
  releaseWakeLock();
  resetMediaElements();
  app.participants.clear();
  app.speaker = null;
  app.floor = null;
  app.handRaised = false;
  app.mutedByHost = false;
  app.count = 0;
  stopClosingCountdown();
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

function renderEnded() {
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

function fail(code) {
  showError(code);
  endMeeting('error');
}

async function backToPrejoin() {
  showError(null);
  showNotice(null);
  showScreen('prejoin');
  setState('idle');
  app.mediaPromise = acquireMedia();
  dom.joinButton.disabled = true;
  try {
    await app.mediaPromise;
  } finally {
    dom.joinButton.disabled = false;
    updateMediaViews();
    updateControls();
    dom.joinButton.focus({ preventScroll: true });
  }
}

window.addEventListener('pagehide', () => {
  // Closing or reloading the tab: tell the server now rather than after a timeout.
  if (app.session) app.session.send({ type: 'leave' });
  teardownSession();
});

// -- layout: participants panel ------------------------------------------------------------

function setPanelOpen(open) {
  dom.panel.hidden = !open;
  dom.meeting.classList.toggle('panel-open', open);
  dom.toggleParticipants.setAttribute('aria-expanded', String(open));
  dom.toggleParticipants.classList.toggle('is-active', open);
}

// -- language ---------------------------------------------------------------------------

function renderLanguage() {
  applyI18n();
  document.title = `${room.name} – ${t('app.title')}`;
  dom.langToggle.setAttribute('lang', getLang() === 'vi' ? 'en' : 'vi');
  if (config.expires) {
    dom.prejoinExpires.hidden = false;
    setText(dom.prejoinExpires, 'prejoin.expires', { time: formatDateTime(new Date(config.expires * 1000)) });
  }
  if (app.noticeKey) showNotice(app.noticeKey.key, app.noticeKey.params);
  if (app.reconnectTimer) updateCountdown();
  if (app.errorCode) showError(app.errorCode);
  if (app.screen === 'left') renderEnded();
  updateControls();
  updateMediaViews();
  renderPeople();
  renderFloor();
  renderClosing();
  // Device names that were numbered ("Camera 1") follow the language too.
  if (!dom.devicePickers.hidden) fillDevicePickers();
}

// -- start ------------------------------------------------------------------------------

function init() {
  fillIcons();
  registerTile(dom.mainTile);
  dom.joinButton.addEventListener('click', () => join());
  dom.leaveButton.addEventListener('click', () => leave());
  dom.rejoinButton.addEventListener('click', () => backToPrejoin());
  dom.langToggle.addEventListener('click', () => toggleLang());
  for (const button of [dom.toggleMic, dom.prejoinMic]) {
    button.addEventListener('click', () => setMicMuted(!app.micMuted));
  }
  for (const button of [dom.toggleCam, dom.prejoinCam]) {
    button.addEventListener('click', () => setCamMuted(!app.camMuted));
  }
  dom.toggleParticipants.addEventListener('click', () => setPanelOpen(dom.panel.hidden));
  dom.toggleHand.addEventListener('click', () => setHandRaised(!app.handRaised));
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !dom.panel.hidden && window.innerWidth < WIDE_PANEL_MIN_WIDTH) {
      setPanelOpen(false);
      dom.toggleParticipants.focus();
    }
  });
  dom.enableAudio.addEventListener('click', () => {
    dom.enableAudio.hidden = true;
    for (const el of audioElements.values()) playMedia(el);
  });
  dom.cameraSelect.addEventListener('change', () => switchDevice());
  dom.micSelect.addEventListener('change', () => switchDevice());
  onLangChange(renderLanguage);

  dom.body.classList.toggle('is-viewer', isViewer);
  setPanelOpen(window.innerWidth >= WIDE_PANEL_MIN_WIDTH);
  showScreen('prejoin');
  setState('idle');
  renderLanguage();

  if (!token) {
    showError('token-missing');
    dom.joinButton.disabled = true;
    return;
  }
  dom.joinButton.disabled = true;
  app.mediaPromise = acquireMedia()
    .catch((err) => console.error('media setup failed', err))
    .finally(() => {
      dom.joinButton.disabled = false;
      updateMediaViews();
      updateControls();
    });
}

// For automated tests and for support staff looking at the console.
window.conference = {
  get pc() {
    return app.session ? app.session.pc : null;
  },
  get socket() {
    return app.session ? app.session.ws : null;
  },
  get state() {
    return app.state;
  },
  get screen() {
    return app.screen;
  },
  get slots() {
    return app.slots;
  },
  get participants() {
    return app.participants;
  },
  get localStream() {
    return app.localStream;
  },
  get selfId() {
    return app.selfId;
  },
  get speaker() {
    return app.speaker;
  },
  get micMuted() {
    return app.micMuted;
  },
  get camMuted() {
    return app.camMuted;
  },
  get lang() {
    return getLang();
  },
  get floor() {
    return app.floor;
  },
  get recording() {
    return app.recording;
  },
  get mutedByHost() {
    return app.mutedByHost;
  },
  get handRaised() {
    return app.handRaised;
  },
  get count() {
    return Math.max(app.count, app.participants.size);
  },
  get names() {
    return app.names;
  },
  get closingSeconds() {
    return app.closingDeadline ? Math.max(0, Math.ceil((app.closingDeadline - Date.now()) / 1000)) : null;
  },
  join,
  leave,
  setMicMuted,
  setCamMuted,
  raiseHand: setHandRaised,
};

init();

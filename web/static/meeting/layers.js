// What this site sends: the camera's layers (simulcast), which of them the server
// wants (`publish`), a muted microphone that sends nothing, and the slots the
// server paused because this site's downlink cannot carry them (`link`).

import { app } from './state.js';
import { renderTiles } from './tiles.js';

// Per rid: how much smaller than the capture, and its bitrate ceiling (bit/s).
// Rids are names, never positions: q = 1/4 size, h = 1/2, f = full (1280x720).
const LAYER_PLAN = {
  q: { scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  h: { scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  f: { scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
};

/** The transceiver on which this site sends `kind` (the offer's `publish` section). */
export function publishTransceiver(session, kind) {
  const mid = session.publishMids ? session.publishMids[kind] : null;
  if (!session.pc || mid == null) return null;
  return session.pc.getTransceivers().find((tr) => tr.mid === mid) || null;
}

/**
 * Size and bitrate per layer when the answer will simulcast (the offer asked
 * for rids, so the browser made one encoding per rid). False when the browser
 * refused the change now (the caller tries again after setLocalDescription).
 */
export async function planLayers(transceiver) {
  if (!transceiver || !transceiver.sender.track) return true;
  const params = transceiver.sender.getParameters();
  const encodings = params.encodings || [];
  if (encodings.length < 2) return true; // one layer: nothing to plan
  for (const encoding of encodings) {
    const plan = LAYER_PLAN[encoding.rid];
    if (plan) Object.assign(encoding, plan);
  }
  // A layer's size is what the server picks it for (thumbnail q, main h/f):
  // under a tight uplink or CPU drop frames, not pixels.
  params.degradationPreference = 'maintain-resolution';
  try {
    await transceiver.sender.setParameters(params);
    return true;
  } catch (err) {
    console.warn(`layers: setParameters refused now (${err && err.name}); retrying after the answer`);
    return false;
  }
}

// One parameter change at a time per sender: a second getParameters() while a
// setParameters() is pending would read the old state (and a stale transaction).
const pending = new WeakMap();

/** Set `active` on a sender's encodings by `isActive(encoding)`, after any change in flight. */
function setActive(sender, isActive) {
  const previous = pending.get(sender) || Promise.resolve();
  const next = previous.catch(() => {}).then(() => setActiveNow(sender, isActive));
  pending.set(sender, next);
  return next;
}

async function setActiveNow(sender, isActive) {
  const params = sender.getParameters();
  const encodings = params.encodings || [];
  let changed = false;
  for (const encoding of encodings) {
    const on = !!isActive(encoding);
    if (encoding.active !== on) {
      encoding.active = on;
      changed = true;
    }
  }
  if (changed) await sender.setParameters(params);
  return changed;
}

/** The server's `publish`: keep the listed camera layers sending, pause the rest. */
export async function applyPublish(session, message) {
  const video = Array.isArray(message.video) ? message.video.map(String) : [];
  session.publishVideo = video;
  const transceiver = publishTransceiver(session, 'video');
  if (!transceiver) return;
  const single = (transceiver.sender.getParameters().encodings || []).length < 2;
  try {
    // A single-encoding sender (no simulcast) is active iff any rid is wanted.
    await setActive(transceiver.sender, (e) => (single ? video.length > 0 : video.includes(e.rid)));
  } catch (err) {
    console.warn(`publish: could not apply ${JSON.stringify(video)}: ${err && err.name}`);
  }
}

/** A muted microphone sends no RTP at all (not just silence): its encoding goes inactive. */
export async function applyMicSending(session = app.session) {
  if (!session || !session.pc) return;
  const transceiver = publishTransceiver(session, 'audio');
  if (!transceiver || !transceiver.sender.track) return;
  try {
    await setActive(transceiver.sender, () => !app.micMuted);
  } catch (err) {
    console.warn(`microphone: could not set its sender ${app.micMuted ? 'off' : 'on'}: ${err && err.name}`);
  }
}

/** The server's `link`: the slots paused for this site's downlink get the weak-link marker. */
export function applyLink(message) {
  const paused = Array.isArray(message.paused) ? message.paused.map(String) : [];
  app.linkPaused = new Set(paused);
  app.downlinkKbps = Number.isFinite(message.downlink_kbps) ? message.downlink_kbps : null;
  renderTiles();
}

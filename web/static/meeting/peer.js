// The peer connection: the server's offer, the receive slots, its state.

import { applyMicSending, planLayers, publishTransceiver } from './layers.js';
import { offerScreen } from './presenting.js';
import { scheduleReconnect } from './reconnect.js';
import { setState, showNotice } from './screens.js';
import { app, audioElements, isViewer, tiles } from './state.js';
import { ensureAudio, ensureThumbTile, renderTiles } from './tiles.js';
import { liveTrack, playMedia } from './view.js';

const DISCONNECTED_GRACE_MS = 5_000;
const RECONNECTED_NOTICE_MS = 6_000;

/** The server's offer: a new peer connection (replacing any old one), answered. */
export async function onOffer(session, message) {
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
  session.publishMids = publish;
  session.publishVideo = null; // every negotiated layer sends until the server says `publish`
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

  const screen = publishTransceiver(session, 'screen');
  if (screen) await offerScreen(session, screen);

  attachSlots(pc, message.slots || []);

  // The offer asked for simulcast: size each layer before the answer goes out.
  const camera = publishTransceiver(session, 'video');
  const planned = await planLayers(camera);

  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  if (session.closed) return;
  if (!planned) await planLayers(camera);
  await applyMicSending(session);
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
  app.slotMids = {};
  app.linkPaused = new Set();
  for (const { slot, kind, mid } of slotList) {
    app.slots[slot] = null;
    app.slotKinds[slot] = kind;
    app.slotMids[slot] = mid;
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

/** A peer connection's state, from its connection or ICE state. */
export function peerState(pc) {
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
    if (app.reconnecting) {
      // Back after a drop: say so for a moment (the overlay alone vanishing is easy to miss).
      app.reconnecting = false;
      showNotice('reconnect.done');
      setTimeout(() => {
        if (app.noticeKey && app.noticeKey.key === 'reconnect.done') showNotice(null);
      }, RECONNECTED_NOTICE_MS);
    }
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

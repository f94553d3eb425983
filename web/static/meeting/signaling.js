// The server's messages on the signaling socket.

import { onChat, onChatError } from './chat.js';
import { loadDocuments, onDocument } from './documents.js';
import { onFloor, onHand, onMutedByHost, renderFloor } from './floor.js';
import { setPeers } from './failover.js';
import { endMeeting, fail } from './joining.js';
import { sendMute, updateControls } from './media.js';
import { renderParticipants, renderPeople } from './participants.js';
import { applyLink, applyPublish } from './layers.js';
import { onOffer } from './peer.js';
import { afterWelcome, onPresentation, onPresentStatus } from './presenting.js';
import { scheduleReconnect } from './reconnect.js';
import { closing, onRecording } from './screens.js';
import { app, token } from './state.js';
import { rejoinHash } from './rejoin.js';
import { setSlots } from './tiles.js';
import { onVote, onVoteAnswered, onVoteError, onVoteResult } from './votes.js';

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

// Fatal `error` codes that retrying cannot fix.
export const STOP_ERRORS = new Set([
  'token-expired', 'token-invalid', 'token-malformed', 'token-missing',
  'wrong-room', 'room-not-found', 'role-cannot-publish',
  'removed', 'not-invited', 'room-locked', 'room-closed', 'meeting-ended', 'meeting-cancelled', 'meeting-not-found',
]);

/** One message from the server on `session`. */
export async function handleMessage(session, message) {
  switch (message.type) {
    case 'welcome':
      onWelcome(session, message);
      loadDocuments();
      break;
    case 'document':
      onDocument(message);
      break;
    case 'documents':
      loadDocuments();
      break;
    case 'offer':
      await onOffer(session, message);
      break;
    case 'slots':
      setSlots(message.assignments || {}, message.names);
      renderFloor();
      break;
    case 'publish':
      await applyPublish(session, message);
      break;
    case 'link':
      applyLink(message);
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
      closing.start(message.seconds);
      break;
    case 'recording':
      onRecording(!!message.active);
      break;
    case 'presentation':
      onPresentation(message);
      break;
    case 'present-status':
      await onPresentStatus(session, message);
      break;
    case 'participant-joined':
    case 'participant-updated':
      if (message.participant) {
        const p = message.participant;
        if (message.type === 'participant-joined' && !app.participants.has(p.id)) app.count += 1;
        app.away.delete(p.id);
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
        // Its connection was lost: the server keeps its tile a while, shown as reconnecting.
        if (message.reason === 'connection-lost') app.away.add(message.id);
        if (app.speaker === message.id) app.speaker = null;
        renderPeople();
      }
      break;
    case 'speaker':
      app.speaker = message.id ?? null;
      renderPeople();
      break;
    case 'chat':
      onChat(message);
      break;
    case 'vote':
      onVote(message);
      break;
    case 'vote-answered':
      onVoteAnswered(message);
      break;
    case 'vote-result':
      onVoteResult(message);
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
    case 'redirect':
      onRedirect(message.url);
      break;
    case 'nodes':
      setPeers(message.urls);
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
  app.away.clear();
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
  afterWelcome(session, message.presenter);
  updateControls();
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

/**
 * The meeting lives on another node: load its page there, with our join token.
 * The site had clicked "Tham gia" already, so the page there joins by itself,
 * with the microphone and camera as they were here (REJOIN_HASH: a fragment
 * never reaches a server or its logs).
 */
function onRedirect(url) {
  let target;
  try {
    target = new URL(url);
  } catch {
    return;
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:') return;
  app.stopped = true;
  target.searchParams.set('token', token);
  target.hash = rejoinHash(app.micMuted, app.camMuted);
  window.location.replace(target.toString());
}

function onServerError(session, message) {
  const code = message.code || 'internal';
  if (code === 'muted-by-host' && !message.fatal) {
    // We tried to unmute while the host keeps us muted (a race with `muted-by-host`).
    onMutedByHost(true, true);
    return;
  }
  if (!message.fatal && (code.startsWith('chat-') || code === 'not-at-home' || code === 'no-meeting')) {
    onChatError(code); // a refused message: shown under the chat form, to this site only
    return;
  }
  if (!message.fatal && code.startsWith('vote-')) {
    onVoteError(code);
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

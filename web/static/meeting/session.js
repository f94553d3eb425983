// One signaling session: the socket /ws/{room}, its pings, and the queue
// its messages are handled in.

import { dom } from './dom.js';
import { fail } from './joining.js';
import { peerState } from './peer.js';
import { canPresent } from './presenting.js';
import { clearReconnectTimer, scheduleReconnect } from './reconnect.js';
import { setState } from './screens.js';
import { handleMessage } from './signaling.js';
import { app, isViewer, room, token } from './state.js';
import { statsMessage, statsSample } from './stats.js';
import { liveTrack, setText } from './view.js';

const PING_INTERVAL_MS = 20_000;
const PONG_TIMEOUT_MS = 65_000; // and at least MISSED_PONGS pings unanswered: the socket is dead
const MISSED_PONGS = 3; // (counted, not timed alone: background tabs may run timers late)

const CONNECT_TIMEOUT_MS = 30_000; // socket open to media flowing
const THUMBNAILS = 8;

const STATS_INTERVAL_MS = 5_000; // own connection report for the host's roll call

// WebSocket close codes the server uses for the same (in case the error message was lost).
const STOP_CLOSE_CODES = { 4401: 'token-invalid', 4403: 'wrong-room', 4404: 'room-not-found' };

function wsUrl() {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${window.location.host}/ws/${encodeURIComponent(room.id)}`;
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
    // A second video section to present a screen on (sends nothing until then).
    screen: canPresent(),
  };
}

/** Open a new signaling session (the socket, then `join`). */
export function connect() {
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

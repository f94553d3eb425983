// Shared by publish.js and watch.js: events on stdout, the WHIP/WHEP exchange.
"use strict";

const { RTCPeerConnection } = require("werift");

/** One JSON event a line on stdout (tests/test_interop_werift.py reads them). */
function emit(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

/**
 * A werift peer for WHIP/WHEP on this machine: no STUN server (werift's default
 * is a public one, and the tests send nothing off this machine), and one
 * bundled transport, as WHIP clients use.
 */
function newPeer() {
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle" });
  pc.connectionStateChange.subscribe((state) => emit("connection", { state }));
  return pc;
}

/** Resolves once ICE gathering is complete: WHIP without trickle sends every candidate. */
function gatheringComplete(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const { unSubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
      if (state === "complete") {
        unSubscribe();
        resolve();
      }
    });
  });
}

/**
 * Offer, POST it (non-trickle) and apply a 201's answer.
 * Returns {status, location, body}; "emptyBody" posts no SDP at all.
 */
async function exchange(pc, url, token, { emptyBody = false } = {}) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await gatheringComplete(pc);
  const sdp = pc.localDescription.sdp;
  emit("offer", { sdp });
  const response = await fetch(url, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/sdp" },
    body: emptyBody ? "" : sdp,
  });
  const body = await response.text();
  const location = response.headers.get("location");
  emit("answer", { status: response.status, location, body });
  if (response.status === 201) {
    await pc.setRemoteDescription({ type: "answer", sdp: body });
  }
  return { status: response.status, location, body };
}

/** DELETE the session (RFC 9725 section 4.2); returns the status. */
async function endSession(url, location, token) {
  const target = new URL(location, url);
  const response = await fetch(target, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${token}` },
  });
  emit("deleted", { status: response.status });
  return response.status;
}

/** Resolves on SIGTERM or SIGINT, or after "seconds" when given. */
function stopSignal(seconds) {
  return new Promise((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
    if (seconds > 0) setTimeout(resolve, seconds * 1000);
  });
}

/** "--name value" options after the positional arguments. */
function options(argv) {
  const positional = [];
  const named = {};
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith("--")) {
      const name = argv[i].slice(2);
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) {
        named[name] = true;
      } else {
        named[name] = next;
        i++;
      }
    } else {
      positional.push(argv[i]);
    }
  }
  return { positional, named };
}

module.exports = { emit, newPeer, exchange, endSession, stopSignal, options };

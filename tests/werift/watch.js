// A werift WHEP viewer: counts RTP packets per SSRC and reassembles VP8 frames.
//
//   node watch.js WHEP_URL TOKEN [--seconds N]
//
// Prints {"event": "summary", ...} every half second and a last one with
// "final": true (and the SHA-1 of every complete frame) on SIGTERM or after
// --seconds, then DELETEs the session.
"use strict";

const crypto = require("crypto");
const { emit, newPeer, exchange, endSession, stopSignal, options } = require("./common");

/**
 * The VP8 payload descriptor (RFC 7741 section 4.2): its length, S bit and
 * partition index. Null for a payload too short to hold what it announces.
 */
function vp8Descriptor(payload) {
  if (payload.length < 1) return null;
  const first = payload[0];
  let offset = 1;
  if (first & 0x80) {
    if (payload.length < 2) return null;
    const extension = payload[1];
    offset = 2;
    if (extension & 0x80) {
      if (payload.length < offset + 1) return null;
      offset += payload[offset] & 0x80 ? 2 : 1; // 15- or 7-bit picture id
    }
    if (extension & 0x40) offset += 1; // TL0PICIDX
    if (extension & 0x30) offset += 1; // TID/Y/KEYIDX
  }
  if (payload.length <= offset) return null;
  return { offset, start: (first & 0x10) !== 0, partition: first & 0x07 };
}

/** Frames of one VP8 stream, reassembled by timestamp (packets may come out of order). */
class Vp8Frames {
  constructor() {
    this.pending = new Map(); // timestamp -> Map(sequence number -> packet)
    this.done = new Set();
    this.complete = 0;
    this.keyframes = 0;
    this.sizes = new Set();
    this.digests = [];
  }

  add(rtp) {
    const { timestamp, sequenceNumber, marker } = rtp.header;
    if (this.done.has(timestamp)) return; // a retransmission of a frame already counted
    const descriptor = vp8Descriptor(rtp.payload);
    if (descriptor === null) return;
    let packets = this.pending.get(timestamp);
    if (!packets) {
      packets = new Map();
      this.pending.set(timestamp, packets);
      if (this.pending.size > 64) this.pending.delete(this.pending.keys().next().value);
    }
    packets.set(sequenceNumber, { descriptor, marker, payload: rtp.payload });
    this.tryComplete(timestamp, packets);
  }

  tryComplete(timestamp, packets) {
    let first = null;
    let last = null;
    for (const [seq, packet] of packets) {
      if (packet.descriptor.start && packet.descriptor.partition === 0) first = seq;
      if (packet.marker) last = seq;
    }
    if (first === null || last === null) return;
    const parts = [];
    for (let seq = first; ; seq = (seq + 1) & 0xffff) {
      const packet = packets.get(seq);
      if (!packet) return; // a gap: wait for it (NACK) or give the frame up
      parts.push(packet.payload.subarray(packet.descriptor.offset));
      if (seq === last) break;
    }
    const frame = Buffer.concat(parts);
    this.pending.delete(timestamp);
    this.done.add(timestamp);
    if (this.done.size > 256) this.done.delete(this.done.values().next().value);
    this.complete++;
    this.digests.push(crypto.createHash("sha1").update(frame).digest("hex"));
    // Payload header (RFC 7741 section 4.3): P bit 0 is a keyframe, whose
    // start code 9d 01 2a is followed by the 14-bit width and height.
    if ((frame[0] & 0x01) === 0) {
      this.keyframes++;
      if (frame.length >= 10 && frame[3] === 0x9d && frame[4] === 0x01 && frame[5] === 0x2a) {
        this.sizes.add(`${frame.readUInt16LE(6) & 0x3fff}x${frame.readUInt16LE(8) & 0x3fff}`);
      }
    }
  }
}

async function main() {
  const { positional, named } = options(process.argv.slice(2));
  const [url, token] = positional;
  const pc = newPeer();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });

  const streams = new Map(); // ssrc -> {kind, codec, packets}
  const video = new Map(); // ssrc -> Vp8Frames
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((rtp) => {
      const ssrc = rtp.header.ssrc;
      let stream = streams.get(ssrc);
      if (!stream) {
        stream = { kind: track.kind, codec: track.codec ? track.codec.mimeType : null, packets: 0 };
        streams.set(ssrc, stream);
      }
      stream.packets++;
      if (track.kind === "video" && stream.codec && stream.codec.toLowerCase() === "video/vp8") {
        if (!video.has(ssrc)) video.set(ssrc, new Vp8Frames());
        video.get(ssrc).add(rtp);
      }
    });
  });

  const stop = stopSignal(Number(named.seconds || 0));
  const { status, location } = await exchange(pc, url, token);
  if (status !== 201) {
    await pc.close();
    return;
  }

  const summary = (final) => {
    const out = { final, ssrcs: {}, video: { packets: 0, complete: 0, keyframes: 0, sizes: [] } };
    out.audio = { packets: 0 };
    for (const [ssrc, stream] of streams) {
      out.ssrcs[ssrc] = { ...stream };
      out[stream.kind].packets += stream.packets;
    }
    const sizes = new Set();
    for (const [ssrc, frames] of video) {
      Object.assign(out.ssrcs[ssrc], { complete: frames.complete, keyframes: frames.keyframes });
      out.video.complete += frames.complete;
      out.video.keyframes += frames.keyframes;
      for (const size of frames.sizes) sizes.add(size);
      if (final) out.ssrcs[ssrc].digests = frames.digests;
    }
    out.video.sizes = [...sizes];
    emit("summary", out);
  };
  const timer = setInterval(() => summary(false), 500);
  await stop;
  clearInterval(timer);
  summary(true);
  if (location) await endSession(url, location, token);
  await pc.close();
}

main()
  .then(() => process.exit(0))
  .catch((error) => {
    emit("error", { message: String(error && error.stack ? error.stack : error) });
    process.exit(1);
  });

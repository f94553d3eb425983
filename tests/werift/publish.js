// A werift WHIP publisher: VP8 video and Opus audio from an RTP file.
//
//   node publish.js WHIP_URL TOKEN RTP_FILE [--seconds N] [--empty-body]
//
// RTP_FILE (written by tests/support/werift.py): a header ">4sIII" (magic
// "WRTP", the loop's length in microseconds, the video and audio RTP clock
// ticks a loop advances), then records ">IBH" (send time in microseconds,
// kind 0 video or 1 audio, length) each followed by one RTP packet. The file is
// sent in real time, looped until SIGTERM (or --seconds), with sequence numbers
// and timestamps carried on across loops. werift's RTCRtpSender rewrites SSRC
// and payload type to what was negotiated (and its header extensions), and
// keeps sequence numbers and timestamps, so they are ours to keep continuous.
"use strict";

const fs = require("fs");
const { MediaStreamTrack, RtpPacket } = require("werift");
const { emit, newPeer, exchange, endSession, stopSignal, options } = require("./common");

function readRtpFile(path) {
  const data = fs.readFileSync(path);
  if (data.toString("latin1", 0, 4) !== "WRTP") throw new Error(`${path} is not an RTP file`);
  const loopMicros = data.readUInt32BE(4);
  const ticks = [data.readUInt32BE(8), data.readUInt32BE(12)];
  const records = [];
  let offset = 16;
  while (offset < data.length) {
    const at = data.readUInt32BE(offset);
    const kind = data.readUInt8(offset + 4);
    const length = data.readUInt16BE(offset + 5);
    const packet = data.subarray(offset + 7, offset + 7 + length);
    records.push({ at, kind, packet });
    offset += 7 + length;
  }
  const perLoop = [0, 0];
  for (const record of records) perLoop[record.kind]++;
  return { loopMicros, ticks, records, perLoop };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

async function main() {
  const { positional, named } = options(process.argv.slice(2));
  const [url, token, rtpFile] = positional;
  const file = readRtpFile(rtpFile);
  const pc = newPeer();
  const tracks = [new MediaStreamTrack({ kind: "video" }), new MediaStreamTrack({ kind: "audio" })];
  for (const track of tracks) pc.addTransceiver(track, { direction: "sendonly" });

  const stop = stopSignal(Number(named.seconds || 0));
  let stopped = false;
  stop.then(() => {
    stopped = true;
  });
  const { status, location } = await exchange(pc, url, token, { emptyBody: !!named["empty-body"] });
  if (status !== 201) {
    await pc.close();
    emit("done", { sent: [0, 0] });
    return;
  }
  const connected = new Promise((resolve) => {
    if (pc.connectionState === "connected") resolve();
    pc.connectionStateChange.subscribe((state) => state === "connected" && resolve());
  });
  await Promise.race([connected, stop]);

  // werift drops what is written before DTLS is up, so pacing starts now.
  const sent = [0, 0];
  const start = Date.now();
  for (let loop = 0; !stopped; loop++) {
    const loopStart = start + (loop * file.loopMicros) / 1000;
    for (const record of file.records) {
      if (stopped) break;
      await sleep(loopStart + record.at / 1000 - Date.now());
      const rtp = RtpPacket.deSerialize(Buffer.from(record.packet));
      rtp.header.sequenceNumber = (rtp.header.sequenceNumber + loop * file.perLoop[record.kind]) & 0xffff;
      rtp.header.timestamp = (rtp.header.timestamp + loop * file.ticks[record.kind]) >>> 0;
      tracks[record.kind].writeRtp(rtp);
      sent[record.kind]++;
    }
  }
  emit("sent", { video: sent[0], audio: sent[1] });
  if (location) await endSession(url, location, token);
  await pc.close();
  emit("done", { sent });
}

main()
  .then(() => process.exit(0))
  .catch((error) => {
    emit("error", { message: String(error && error.stack ? error.stack : error) });
    process.exit(1);
  });

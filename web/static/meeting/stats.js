// This window's own connection statistics, reported for the host's roll call.

// -- own connection statistics ------------------------------------------------------------

/** Totals from one getStats() report. */
export function statsSample(report, pc) {
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
export function statsMessage(previous, current) {
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

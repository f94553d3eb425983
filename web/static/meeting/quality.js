// The link-quality indicator on every tile and on the site's own picture: 1 to 4
// bars from this page's getStats(), with the numbers in a tooltip (tap it on a phone).
//
// A remote tile measures what reaches this page for that slot: packets lost,
// jitter and frames decoded per second on its receiver, and the round trip of
// the connection to the server. The site's own picture measures what it sends:
// the server's receiver reports (remote-inbound-rtp: loss, jitter, round trip)
// and frames encoded per second. A slot the server paused for this site's
// downlink (`link`) shows one bar whatever the numbers say.

import { locale, t } from '../shared/i18n.js';
import { dom } from './dom.js';
import { peerState } from './peer.js';
import { app, tiles } from './state.js';

const INTERVAL_MS = 2_000;

// Bars by the worst of the three measures: [loss fraction, RTT ms, jitter ms].
const LIMITS = [
  { bars: 3, loss: 0.02, rtt: 250, jitter: 30 },
  { bars: 2, loss: 0.05, rtt: 450, jitter: 60 },
  { bars: 1, loss: 0.12, rtt: 900, jitter: 120 },
];

const LEVEL_KEYS = ['quality.measuring', 'quality.1', 'quality.2', 'quality.3', 'quality.4'];

/** 1-4 bars for a measurement (0: nothing measured yet). */
export function qualityLevel(m) {
  if (!m || (m.loss == null && m.rtt == null && m.jitter == null)) return 0;
  let bars = 4;
  for (const limit of LIMITS) {
    if ((m.loss ?? 0) > limit.loss || (m.rtt ?? 0) > limit.rtt || (m.jitter ?? 0) > limit.jitter) bars = limit.bars;
  }
  // Video expected but not one frame in the interval: no picture is the worst link.
  if (m.expectVideo && m.fps === 0) bars = 1;
  if (m.paused) bars = 1;
  return bars;
}

let previous = null; // the last sample: {pc, at, bySlot: Map(slot -> counters), self}
let timer = null;

/** Measure every few seconds while the page is in the meeting. */
export function startQuality() {
  if (timer) return;
  timer = setInterval(() => {
    measure().catch((err) => console.debug('link quality skipped', err));
  }, INTERVAL_MS);
}

async function measure() {
  const session = app.session;
  const pc = session ? session.pc : null;
  if (app.screen !== 'meeting' || !pc || peerState(pc) !== 'connected') {
    previous = null;
    app.linkQuality = {};
    renderAll();
    return;
  }
  const report = await pc.getStats();
  if (!app.session || app.session.pc !== pc) return;
  const now = performance.now();
  const slotByMid = new Map(Object.entries(app.slotMids || {}).map(([slot, mid]) => [String(mid), slot]));
  const bySlot = new Map();
  const self = { framesEncoded: 0, remote: [] };
  let rtt = null;
  let selectedPair = null;
  const pairs = new Map();
  const publishVideoMid = session.publishMids ? String(session.publishMids.video ?? '') : '';
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) selectedPair = s.selectedCandidatePairId;
    else if (s.type === 'candidate-pair') pairs.set(s.id, s);
    else if (s.type === 'inbound-rtp' && s.kind === 'video') {
      const slot = slotByMid.get(String(s.mid));
      if (slot) {
        bySlot.set(slot, {
          lost: Number(s.packetsLost) || 0,
          received: Number(s.packetsReceived) || 0,
          decoded: Number(s.framesDecoded) || 0,
          jitter: typeof s.jitter === 'number' ? s.jitter * 1000 : null,
          fps: typeof s.framesPerSecond === 'number' ? s.framesPerSecond : null,
          width: s.frameWidth || null,
          height: s.frameHeight || null,
        });
      }
    } else if (s.type === 'outbound-rtp' && s.kind === 'video' && String(s.mid) === publishVideoMid) {
      self.framesEncoded += Number(s.framesEncoded) || 0;
      if (s.active !== false && s.frameWidth) self.width = Math.max(self.width || 0, s.frameWidth);
    } else if (s.type === 'remote-inbound-rtp') {
      self.remote.push({
        loss: typeof s.fractionLost === 'number' ? s.fractionLost : null,
        jitter: typeof s.jitter === 'number' ? s.jitter * 1000 : null,
      });
    }
  });
  const pair = (selectedPair && pairs.get(selectedPair))
    || [...pairs.values()].find((p) => p.nominated && p.state === 'succeeded');
  if (pair && typeof pair.currentRoundTripTime === 'number') rtt = pair.currentRoundTripTime * 1000;

  const same = previous && previous.pc === pc;
  const seconds = same ? (now - previous.at) / 1000 : 0;
  const quality = {};
  for (const [slot, c] of bySlot) {
    const pid = app.slots[slot];
    if (!pid) continue;
    const participant = app.participants.get(pid);
    const before = same ? previous.bySlot.get(slot) : null;
    const m = { rtt, jitter: c.jitter, loss: null, fps: null, width: c.width, height: c.height };
    // Counted per receiver: whichever site feeds the slot, these are its packets.
    if (before && seconds > 0.5) {
      const lost = Math.max(0, c.lost - before.lost);
      const received = Math.max(0, c.received - before.received);
      if (lost + received > 0) m.loss = lost / (lost + received);
      else m.loss = 0;
      m.fps = Math.max(0, c.decoded - before.decoded) / seconds;
    } else {
      // The first reading of this receiver: its totals so far.
      if (c.lost + c.received > 0) m.loss = c.lost / (c.lost + c.received);
      if (c.fps !== null) m.fps = c.fps;
    }
    const videoOff = !participant || participant.video_muted || participant.video === false;
    m.expectVideo = !videoOff && m.fps !== null;
    m.paused = app.linkPaused.has(slot);
    m.level = qualityLevel(m);
    quality[slot] = m;
  }
  const ownLoss = self.remote.map((r) => r.loss).filter((v) => v !== null);
  const ownJitter = self.remote.map((r) => r.jitter).filter((v) => v !== null);
  const mine = {
    rtt,
    loss: ownLoss.length ? Math.max(...ownLoss) : null,
    jitter: ownJitter.length ? Math.max(...ownJitter) : null,
    fps: same && seconds > 0.5 ? Math.max(0, self.framesEncoded - previous.self.framesEncoded) / seconds : null,
    width: self.width || null,
  };
  // Our downlink cannot carry every slot (the server paused some): not a good link.
  mine.level = Math.min(qualityLevel(mine) || 4, app.linkPaused.size ? 2 : 4);
  if (mine.loss == null && mine.rtt == null) mine.level = 0;
  quality.self = mine;
  previous = { pc, at: now, bySlot, self };
  app.linkQuality = quality;
  renderAll();
}

function percent(value) {
  return `${(value * 100).toLocaleString(locale(), { maximumFractionDigits: 1 })} %`;
}

function detailText(m) {
  const parts = [t(LEVEL_KEYS[m.level])];
  if (m.loss != null) parts.push(t('quality.loss', { v: percent(m.loss) }));
  if (m.rtt != null) parts.push(t('quality.rtt', { v: Math.round(m.rtt) }));
  if (m.jitter != null) parts.push(t('quality.jitter', { v: Math.round(m.jitter) }));
  if (m.fps != null) parts.push(t('quality.fps', { v: Math.round(m.fps) }));
  if (m.width && m.height) parts.push(`${m.width}×${m.height}`);
  if (m.paused) parts.push(t('link.weak'));
  return parts.join(' · ');
}

/** The indicator inside `holder` (a tile, the self view), made when first needed. */
function indicator(holder) {
  let el = holder.querySelector(':scope > .link-quality');
  if (!el) {
    el = document.createElement('button');
    el.type = 'button';
    el.className = 'link-quality';
    el.dataset.level = '0';
    for (let i = 1; i <= 4; i += 1) {
      const bar = document.createElement('span');
      bar.className = `bar bar-${i}`;
      bar.setAttribute('aria-hidden', 'true');
      el.append(bar);
    }
    const detail = document.createElement('span');
    detail.className = 'link-quality-detail';
    detail.setAttribute('role', 'tooltip');
    el.append(detail);
    // Touch screens have no hover: a tap shows the numbers, another hides them.
    el.addEventListener('click', (event) => {
      event.stopPropagation();
      el.classList.toggle('is-open');
    });
    holder.append(el);
  }
  return el;
}

function render(holder, m) {
  const el = indicator(holder);
  el.hidden = !m;
  if (!m) {
    el.classList.remove('is-open');
    return;
  }
  const text = detailText(m);
  el.dataset.level = String(m.level);
  el.setAttribute('aria-label', `${t('quality.label')}: ${text}`);
  el.title = text;
  el.querySelector('.link-quality-detail').textContent = text;
}

/** Every tile's indicator and the self view's, from the last measurement. */
export function renderAll() {
  const quality = app.linkQuality || {};
  for (const parts of tiles.values()) {
    const pid = app.slots[parts.slot];
    render(parts.el, pid ? quality[parts.slot] || { level: 0 } : null);
  }
  const inMeeting = app.screen === 'meeting' && app.state === 'connected';
  render(dom.selfView, inMeeting ? quality.self || { level: 0 } : null);
}

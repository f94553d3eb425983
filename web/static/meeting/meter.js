// The microphone level meter (pre-join check and the devices dialog): what the
// microphone hears, through a WebAudio analyser, as a bar that moves with the voice.
// A muted microphone (track disabled) gives silence, so the bar stays down.

import { dom } from './dom.js';
import { app, isViewer } from './state.js';
import { liveTrack } from './view.js';

const INTERVAL_MS = 100;
const FLOOR_DB = -60; // at or below: an empty bar
const DECAY = 0.7; // per reading: the bar falls back smoothly, it does not flicker

let context = null;
let analyser = null;
let source = null;
let meterTrack = null;
let samples = null;
let timer = null;

function audioContext() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return null;
  if (!context) {
    context = new Context();
    // Created before any click, a context may start suspended (autoplay rules):
    // the first click or key on the page lets it run.
    const resume = () => {
      if (context && context.state === 'suspended') context.resume().catch(() => {});
    };
    for (const type of ['pointerdown', 'keydown']) document.addEventListener(type, resume, { capture: true });
  }
  return context;
}

/** Measure the current microphone, if any (again after a switch). */
export function startMeter() {
  const track = liveTrack(app.audioTrack);
  dom.micLevelField.hidden = isViewer || !track;
  if (!track) {
    stopMeter();
    return;
  }
  if (track === meterTrack && timer) return;
  stopMeter();
  const ctx = audioContext();
  if (!ctx) {
    dom.micLevelField.hidden = true;
    return;
  }
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  samples = new Float32Array(analyser.fftSize);
  source = ctx.createMediaStreamSource(new MediaStream([track]));
  source.connect(analyser); // not to the speakers: no echo of one's own voice
  meterTrack = track;
  timer = setInterval(readLevel, INTERVAL_MS);
}

/** Stop measuring (no microphone, the page leaves the meeting). */
export function stopMeter() {
  clearInterval(timer);
  timer = null;
  if (source) source.disconnect();
  source = null;
  analyser = null;
  meterTrack = null;
  app.micLevel = 0;
  render(0);
}

function readLevel() {
  // Only where the bar is seen: the pre-join screen, or the open devices dialog.
  const shown = app.screen === 'prejoin' || dom.deviceDialog.open;
  if (!analyser || !shown) return;
  analyser.getFloatTimeDomainData(samples);
  let sum = 0;
  for (const v of samples) sum += v * v;
  const rms = Math.sqrt(sum / samples.length);
  const db = rms > 0 ? 20 * Math.log10(rms) : -Infinity;
  const level = Math.max(0, Math.min(1, (db - FLOOR_DB) / -FLOOR_DB));
  app.micLevel = Math.max(level, app.micLevel * DECAY);
  app.micPeak = Math.max(app.micPeak || 0, level);
  render(app.micLevel);
}

function render(level) {
  const percent = Math.round(level * 100);
  dom.micLevel.style.setProperty('--level', String(level));
  dom.micLevel.setAttribute('aria-valuenow', String(percent));
  dom.micLevel.dataset.level = level > 0.75 ? 'high' : level > 0.1 ? 'ok' : 'low';
}

// The player: what it plays, the composites, the render controls and job, play and seek.

import { errorText, h } from '../../shared/api.js';
import { t } from '../../shared/i18n.js';
import { LAYOUTS, fileUrl, layoutName, layoutPhrase, numberOf, offsetOf } from '../recordings_i18n.js';
import { renderEvents } from './events.js';
import { startRender } from './renders.js';
import { dom, recordingId, state } from './state.js';
import { compositeOf, manifest, sourceLabel, trackOf } from './summary.js';

/** Render job statuses still in progress. */
export const ACTIVE = new Set(['queued', 'running']);

// -- rendering: player, composites, render job ---------------------------------------------

/** What to play first: a composite, else a video track with frames, else any track. */
export function defaultSource() {
  const composites = state.data?.composites || {};
  for (const layout of [...LAYOUTS, ...Object.keys(composites)]) {
    if (composites[layout]) return { type: 'composite', layout, file: composites[layout] };
  }
  const tracks = manifest().tracks || [];
  const video = tracks
    .filter((tr) => tr.kind === 'video' && tr.frames > 0)
    .sort((a, b) => (b.frames - a.frames) || (a.started_at - b.started_at))[0];
  const any = video || tracks.find((tr) => tr.frames > 0) || tracks[0];
  return any ? { type: 'track', file: any.file } : null;
}

/** Load `source` into the player (`play`: start it). */
export function setSource(source, { play = false } = {}) {
  state.source = source;
  state.playError = false;
  dom.playerError.hidden = true;
  const player = dom.player;
  if (!source) {
    player.removeAttribute('src');
    player.load();
  } else {
    const url = fileUrl(recordingId, source.file);
    if (player.getAttribute('src') !== url) {
      player.src = url;
      player.load();
    }
    if (play) {
      const promise = player.play();
      if (promise?.catch) promise.catch(() => { /* reported by the error event, or paused by the user */ });
    }
  }
  player.dataset.source = source ? source.file : '';
  player.dataset.sourceType = source ? source.type : '';
  renderPlayer();
}

/** The player and what it plays. */
export function renderPlayer() {
  const source = state.source;
  dom.nowPlaying.textContent = source
    ? t('rec.nowPlaying', { what: sourceLabel(source) })
    : t('rec.nothingToPlay');
  dom.nowPlaying.classList.toggle('muted', !source);
  dom.playerError.hidden = !state.playError;
  if (state.playError) dom.playerError.textContent = t('rec.playError');
  const composite = source?.type === 'composite' ? source : null;
  dom.compositeDownload.hidden = !composite;
  if (composite) {
    dom.compositeDownload.href = fileUrl(recordingId, composite.file, true);
    dom.compositeDownload.dataset.layout = composite.layout;
    dom.compositeDownload.setAttribute('download', composite.file);
  } else {
    dom.compositeDownload.removeAttribute('href');
  }
  for (const button of document.querySelectorAll('button[data-play]')) {
    const current = !!source && button.dataset.play === source.file;
    button.setAttribute('aria-pressed', String(current));
    button.closest('li')?.classList.toggle('is-playing', current);
    const label = button.querySelector('.btn-label');
    if (label) label.textContent = current && !dom.player.paused ? t('rec.playing') : t('rec.play');
  }
}

/** A play button for `file` (`what` names it for screen readers). */
export function playButton(file, what) {
  return h('button', {
    type: 'button',
    class: 'btn btn-sm rec-play',
    dataset: { play: file },
    'aria-pressed': 'false',
    'aria-label': t('rec.playLabel', { what }),
  }, h('span', { class: 'rec-play-icon', 'aria-hidden': 'true' }), h('span', { class: 'btn-label' }, t('rec.play')));
}

/** A download link for `file` (`what` names it for screen readers). */
export function downloadLink(file, what) {
  return h('a', {
    class: 'btn btn-sm btn-ghost rec-download',
    href: fileUrl(recordingId, file, true),
    download: file,
    dataset: { download: file },
    'aria-label': t('rec.downloadLabel', { what }),
  }, t('rec.download'));
}

/** The rendered composites, with play and download. */
export function renderComposites() {
  const composites = state.data?.composites || {};
  const layouts = Object.keys(composites).sort((a, b) => LAYOUTS.indexOf(a) - LAYOUTS.indexOf(b));
  dom.composites.hidden = !layouts.length;
  dom.composites.replaceChildren(...layouts.map((layout) => {
    const file = composites[layout];
    const what = t('rec.composite', { layout: layoutName(layout) });
    return h('li', { class: 'rec-composite', dataset: { composite: layout, file } },
      h('span', { class: 'rec-composite-name' }, what),
      h('span', { class: 'rec-composite-actions' }, playButton(file, what), downloadLink(file, what)));
  }));
}

/** Enable the render buttons when a composite can be made. */
export function renderRenderControls() {
  const data = state.data;
  const recording = data?.status === 'recording';
  const noTracks = !(manifest().tracks || []).length;
  const busy = state.job && (ACTIVE.has(state.job.status) || state.job.status === 'lost');
  for (const button of dom.renderButtons) {
    const layout = button.dataset.render;
    button.disabled = !data || recording || noTracks || !!busy;
    button.setAttribute('aria-busy', String(!!busy && state.job.layout === layout));
    button.setAttribute('aria-label', t('rec.renderStartLabel', { layout: layoutPhrase(layout) }));
    button.classList.toggle('has-composite', !!data?.composites?.[layout]);
  }
  dom.renderHint.dataset.i18n = recording ? 'rec.renderBusyHint' : 'rec.renderHint';
  dom.renderHint.textContent = t(dom.renderHint.dataset.i18n);
}

/** The render job's progress line. */
export function renderJob() {
  const job = state.job;
  dom.renderJob.hidden = !job;
  renderRenderControls();
  if (!job) return;
  const layout = layoutPhrase(job.layout);
  dom.renderJob.dataset.status = job.status;
  dom.renderJob.dataset.layout = job.layout;
  const progress = dom.renderProgress;
  progress.hidden = job.status === 'failed' || job.status === 'none';
  if (job.status === 'queued') {
    progress.removeAttribute('value'); // indeterminate
  } else {
    progress.value = job.status === 'done' ? 1 : Math.min(1, Math.max(0, Number(job.progress) || 0));
  }
  progress.dataset.progress = String(job.progress ?? 0);
  let text;
  if (job.status === 'queued') text = t('rec.render.queued', { layout });
  else if (job.status === 'running') {
    const pct = Math.floor((Number(job.progress) || 0) * 100);
    text = t('rec.render.running', { layout, pct: numberOf(pct) });
    progress.setAttribute('aria-valuetext', `${pct} %`);
  } else if (job.status === 'done') text = t('rec.render.done', { layout });
  else if (job.status === 'failed') {
    const detail = job.requestError ? errorText(job.requestError) : job.error;
    text = detail ? t('rec.render.failed', { layout, error: detail }) : t('rec.render.failedNoDetail', { layout });
  } else if (job.status === 'lost') text = t('rec.render.lost');
  else text = t('rec.render.none');
  dom.renderStatus.textContent = text;
  dom.renderStatus.dataset.status = job.status;
  dom.renderStatus.classList.toggle('is-error', job.status === 'failed');
}

// -- actions: play, seek --------------------------------------------------------------------

/** Play `file` (a track or a composite); the button of what is playing pauses it. */
export function play(file) {
  state.chosen = true;
  if (state.source?.file === file && !dom.player.paused) {
    dom.player.pause(); // the button of what is playing pauses it
    return;
  }
  const layout = compositeOf(file);
  if (layout) setSource({ type: 'composite', layout, file }, { play: true });
  else if (trackOf(file)) setSource({ type: 'track', file }, { play: true });
}

function seek(offset) {
  const source = state.source;
  if (!source) return;
  let position = offset; // a composite starts when the recording started
  if (source.type === 'track') {
    const tr = trackOf(source.file);
    const base = tr ? (tr.first_frame_at ?? tr.started_at) : state.data.started_at;
    position = state.data.started_at + offset - base;
  }
  const duration = dom.player.duration;
  if (position < 0 && position > -2) position = 0; // the file starts a moment after the event
  if (position < 0 || (Number.isFinite(duration) && position > duration + 0.5)) {
    dom.eventsNote.textContent = t('rec.seekOutside', { time: offsetOf(offset) });
    return;
  }
  dom.player.currentTime = position;
  const promise = dom.player.play();
  if (promise?.catch) promise.catch(() => {});
  dom.player.focus();
}

document.addEventListener('click', (event) => {
  const playBtn = event.target.closest('button[data-play]');
  if (playBtn) {
    play(playBtn.dataset.play);
    return;
  }
  const seekBtn = event.target.closest('button[data-seek]');
  if (seekBtn) {
    seek(Number(seekBtn.dataset.seek) || 0);
    return;
  }
  const renderBtn = event.target.closest('button[data-render]');
  if (renderBtn && !renderBtn.disabled) startRender(renderBtn.dataset.render);
});

dom.player.addEventListener('error', () => {
  if (!state.source) return;
  state.playError = true;
  renderPlayer();
});
dom.player.addEventListener('play', () => renderPlayer());
dom.player.addEventListener('pause', () => renderPlayer());
dom.player.addEventListener('loadeddata', () => {
  if (state.playError) {
    state.playError = false;
    renderPlayer();
  }
});

dom.eventsFilter.addEventListener('change', () => {
  if (state.data) renderEvents();
});

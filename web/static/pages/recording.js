// /recordings/{id}: one recording. Plays the composite MP4 when one was
// rendered, else any recorded track; lists the tracks with play and download
// buttons; starts composite renders and follows their progress over
// Server-Sent Events (GET /api/recordings/{id}/render/events?layout=, no
// polling); shows what happened during the meeting; administrators can
// delete the recording.

import { t, plural, onLangChange } from '../shared/i18n.js';
import { api, page, user, errorText, h, ApiError, setPageError } from '../shared/api.js';
import {
  LAYOUTS, clockOf, offsetOf, sizeOf, dateTimeOf, isoOf, statusLabel, orderUnits,
  unitsSummary, reasonText, layoutName, layoutPhrase, fileUrl, numberOf, partsOf,
} from './recordings_i18n.js';

const $ = (id) => document.getElementById(id);
const dom = {
  article: $('recording'),
  error: $('page-error'),
  notice: $('page-notice'),
  title: $('recording-title'),
  status: $('recording-status'),
  deleteButton: $('delete-button'),
  start: $('rec-start'),
  duration: $('rec-duration'),
  size: $('rec-size'),
  host: $('rec-host'),
  startedBy: $('rec-started-by'),
  stop: $('rec-stop'),
  units: $('rec-units'),
  stateNote: $('rec-state-note'),
  player: $('player'),
  nowPlaying: $('now-playing'),
  playerError: $('player-error'),
  compositeDownload: $('composite-download'),
  renderHint: $('render-hint'),
  renderButtons: [...document.querySelectorAll('button[data-render]')],
  renderJob: $('render-job'),
  renderProgress: $('render-progress'),
  renderStatus: $('render-status'),
  composites: $('composites'),
  tracks: $('tracks'),
  tracksCount: $('tracks-count'),
  events: $('events'),
  eventsCount: $('events-count'),
  eventsFilter: $('events-filter'),
  eventsNote: $('events-note'),
};

const recordingId = page.recording_id || dom.article.dataset.recordingId || '';
const ACTIVE = new Set(['queued', 'running']);
const EVENT_GROUPS = {
  join: 'presence',
  leave: 'presence',
  removed: 'presence',
  floor: 'floor',
  spotlight: 'floor',
  speaker: 'floor',
  hands: 'floor',
  hand: 'floor',
};

const state = {
  data: null, // GET /api/recordings/{id}: the summary plus `manifest`
  source: null, // what the player has: {type: 'composite', layout, file} | {type: 'track', file}
  chosen: false, // the user picked what to play (do not switch it by itself)
  playError: false,
  job: null, // the render job shown: {layout, status, progress, output, error} (+ requestError)
  streams: new Map(), // layout -> EventSource
  following: new Set(), // layouts whose queued/running job this page has seen
  error: null,
  notice: null, // {key, params}
};

// -- helpers ------------------------------------------------------------------------------

const manifest = () => state.data?.manifest || {};

function siteNames() {
  const names = new Map();
  for (const u of manifest().units || []) names.set(u.code, u.name);
  for (const e of manifest().events || []) if (e.type === 'join' && e.site_id && e.data?.name) names.set(e.site_id, e.data.name);
  for (const s of state.data?.sites || []) names.set(s.id, s.name);
  for (const tr of manifest().tracks || []) names.set(tr.site_id, tr.site_name);
  return names;
}

function siteName(id, names = siteNames()) {
  return id ? names.get(id) || id : '';
}

function trackOf(file) {
  return (manifest().tracks || []).find((tr) => tr.file === file) || null;
}

function compositeOf(file) {
  for (const [layout, name] of Object.entries(state.data?.composites || {})) {
    if (name === file) return layout;
  }
  return null;
}

function kindText(kind) {
  return t(`rec.kind.${kind}`);
}

function trackDuration(tr) {
  if (typeof tr.first_frame_at === 'number' && typeof tr.last_frame_at === 'number') {
    return Math.max(0, tr.last_frame_at - tr.first_frame_at);
  }
  return null;
}

function sourceLabel(source) {
  if (!source) return '';
  if (source.type === 'composite') return t('rec.composite', { layout: layoutName(source.layout) });
  const tr = trackOf(source.file);
  return tr ? t('rec.trackWhat', { site: tr.site_name, kind: kindText(tr.kind) }) : source.file;
}

function setNotice(key, params) {
  state.notice = key ? { key, params } : null;
  dom.notice.hidden = !key;
  dom.notice.textContent = key ? t(key, params) : '';
}

function setError(error) {
  setPageError(state, dom.error, error);
  if (error && error instanceof ApiError && error.status === 404 && error.code === 'not-found' && !state.data) {
    dom.error.textContent = t('error.recording-not-found');
  }
}

// -- loading ------------------------------------------------------------------------------

async function load() {
  const data = await api(`/api/recordings/${encodeURIComponent(recordingId)}`);
  state.data = data;
  return data;
}

// -- rendering: header and facts ----------------------------------------------------------

function renderHeader() {
  const data = state.data;
  const m = manifest();
  delete dom.title.dataset.i18n;
  dom.title.textContent = data.title || data.id;
  document.title = `${data.title || data.id} – ${t('rec.title')} – ${t('app.title')}`;
  dom.status.hidden = false;
  dom.status.dataset.status = data.status;
  dom.status.textContent = statusLabel(data.status);
  dom.article.dataset.status = data.status;

  dom.start.replaceChildren(h('time', { datetime: isoOf(data.started_at) }, dateTimeOf(data.started_at)));
  dom.duration.textContent = clockOf(data.duration);
  dom.duration.dataset.seconds = String(data.duration ?? '');
  dom.size.textContent = sizeOf(data.size);
  dom.size.dataset.bytes = String(data.size ?? '');
  const names = siteNames();
  dom.host.textContent = data.host_site ? siteName(data.host_site, names) : t('rec.unknown');
  dom.startedBy.textContent = m.started_by === 'auto'
    ? t('rec.startedBy.auto')
    : m.started_by || t('rec.unknown');
  if (data.status === 'recording' || !data.ended_at) {
    dom.stop.textContent = t('rec.unknown');
  } else {
    const reason = reasonText(m.stop_reason);
    dom.stop.replaceChildren(
      h('time', { datetime: isoOf(data.ended_at) }, dateTimeOf(data.ended_at)),
      reason ? ` · ${reason}` : '',
    );
  }
  renderUnits();

  const noteKey = {
    recording: 'rec.liveNote',
    interrupted: 'rec.interruptedNote',
    'stopped-low-disk': 'rec.lowDiskNote',
  }[data.status];
  dom.stateNote.hidden = !noteKey;
  dom.stateNote.textContent = noteKey ? t(noteKey) : '';
  dom.stateNote.dataset.status = data.status;

  if (dom.deleteButton) dom.deleteButton.hidden = user?.role !== 'admin';
  dom.article.removeAttribute('aria-busy');
}

function renderUnits() {
  const data = state.data;
  const units = orderUnits(data.units, data.host_site);
  const summary = h('span', { class: 'rec-units-text' }, unitsSummary(data.units, data.host_site));
  if (units.length <= 2) {
    dom.units.replaceChildren(summary);
    return;
  }
  const open = dom.units.querySelector('details')?.open || false;
  const details = h('details', { class: 'rec-units-all', open },
    h('summary', {}, t('rec.allUnits', { n: numberOf(units.length) })),
    h('ul', { class: 'rec-units-list' }, units.map((u) => h('li', { dataset: { unit: u.code } }, u.name))));
  dom.units.replaceChildren(summary, details);
}

// -- rendering: player, composites, render job ---------------------------------------------

function defaultSource() {
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

function setSource(source, { play = false } = {}) {
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

function renderPlayer() {
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

function playButton(file, what) {
  return h('button', {
    type: 'button',
    class: 'btn btn-sm rec-play',
    dataset: { play: file },
    'aria-pressed': 'false',
    'aria-label': t('rec.playLabel', { what }),
  }, h('span', { class: 'rec-play-icon', 'aria-hidden': 'true' }), h('span', { class: 'btn-label' }, t('rec.play')));
}

function downloadLink(file, what) {
  return h('a', {
    class: 'btn btn-sm btn-ghost rec-download',
    href: fileUrl(recordingId, file, true),
    download: file,
    dataset: { download: file },
    'aria-label': t('rec.downloadLabel', { what }),
  }, t('rec.download'));
}

function renderComposites() {
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

function renderRenderControls() {
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

function renderJob() {
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

// -- rendering: tracks ----------------------------------------------------------------------

function renderTracks() {
  const m = manifest();
  const tracks = [...(m.tracks || [])].sort((a, b) => (
    String(a.site_name).localeCompare(String(b.site_name), 'vi')
    || (a.kind === b.kind ? 0 : a.kind === 'video' ? -1 : 1)
    || a.started_at - b.started_at
  ));
  const parts = new Map(); // site|kind -> files so far
  const totals = new Map();
  for (const tr of tracks) totals.set(`${tr.site_id}|${tr.kind}`, (totals.get(`${tr.site_id}|${tr.kind}`) || 0) + 1);
  dom.tracksCount.textContent = String(tracks.length);
  if (!tracks.length) {
    dom.tracks.replaceChildren(h('li', { class: 'rec-tracks-empty muted' }, t('rec.tracksEmpty')));
    return;
  }
  dom.tracks.replaceChildren(...tracks.map((tr) => {
    const key = `${tr.site_id}|${tr.kind}`;
    const part = (parts.get(key) || 0) + 1;
    parts.set(key, part);
    const what = t('rec.trackWhat', { site: tr.site_name, kind: kindText(tr.kind) });
    const duration = trackDuration(tr);
    const facts = [
      h('span', { class: 'rec-codec' }, String(tr.codec || '').toUpperCase()),
    ];
    if (tr.kind === 'video' && tr.width && tr.height) facts.push(h('span', {}, `${tr.width}×${tr.height}`));
    if (duration !== null) facts.push(h('span', { class: 'rec-track-duration', dataset: { seconds: String(duration) } }, clockOf(duration)));
    if (tr.kind === 'video' || duration === null) {
      facts.push(h('span', { class: 'rec-frames', dataset: { frames: String(tr.frames || 0) } },
        plural(tr.kind === 'video' ? 'rec.frames' : 'rec.packets', tr.frames || 0)));
    }
    facts.push(h('span', { class: 'rec-track-size' }, sizeOf(tr.bytes)));
    const startOffset = (tr.first_frame_at ?? tr.started_at) - (state.data.started_at || 0);
    if (startOffset >= 1) facts.push(h('span', {}, t('rec.offset', { time: offsetOf(startOffset) })));
    if (totals.get(key) > 1) facts.push(h('span', {}, t('rec.part', { n: part })));
    const meta = h('p', { class: 'rec-track-meta' });
    facts.forEach((fact, i) => {
      if (i) meta.append(h('span', { class: 'rec-sep', 'aria-hidden': 'true' }, ' · '));
      meta.append(fact);
    });
    return h('li', {
      class: 'rec-track',
      dataset: { trackFile: tr.file, kind: tr.kind, siteId: tr.site_id },
    },
    h('div', { class: 'rec-track-main' },
      h('p', { class: 'rec-track-site' },
        h('span', { class: 'rec-track-name' }, tr.site_name),
        h('span', { class: 'tag rec-kind', dataset: { kind: tr.kind } }, kindText(tr.kind))),
      meta),
    h('div', { class: 'rec-track-actions' }, playButton(tr.file, what), downloadLink(tr.file, what)));
  }));
}

// -- rendering: the events timeline -----------------------------------------------------------

function eventText(e, names, beforeStart) {
  const data = e.data || {};
  let type;
  let detail = '';
  switch (e.type) {
    case 'join':
      // The sites already in the room are noted just before `recording-started`.
      type = beforeStart ? 'rec.event.present' : 'rec.event.join';
      break;
    case 'floor':
      type = e.site_id ? 'rec.event.floor' : 'rec.event.floorEnd';
      break;
    case 'spotlight':
      type = e.site_id ? 'rec.event.spotlight' : 'rec.event.spotlightEnd';
      break;
    case 'lock':
      type = data.locked === false ? 'rec.event.unlock' : 'rec.event.lock';
      break;
    case 'recording-started':
      type = 'rec.event.recording-started';
      if (data.by) detail = t('rec.detail.by', { who: data.by === 'auto' ? t('rec.startedBy.auto') : data.by });
      break;
    case 'recording-stopped':
    case 'leave':
      type = `rec.event.${e.type}`;
      detail = reasonText(data.reason);
      break;
    case 'mute': {
      type = 'rec.event.mute';
      const parts = [];
      if (typeof data.audio === 'boolean') parts.push(t(data.audio ? 'rec.detail.micOff' : 'rec.detail.micOn'));
      if (typeof data.video === 'boolean') parts.push(t(data.video ? 'rec.detail.camOff' : 'rec.detail.camOn'));
      detail = parts.join(', ');
      break;
    }
    case 'hands': {
      type = 'rec.event.hands';
      const queue = Array.isArray(data.queue) ? data.queue : [];
      detail = queue.length
        ? `${plural('rec.detail.hands', queue.length)}: ${queue.map((id) => siteName(id, names)).join(', ')}`
        : t('rec.detail.handsNone');
      break;
    }
    case 'plate-alert':
      // A camera in the meeting read a listed plate: which, and why.
      type = 'rec.event.plate-alert';
      detail = [data.display || data.plate, data.text].filter(Boolean).join(' — ');
      break;
    default:
      type = `rec.event.${e.type}`;
  }
  let label = t(type);
  if (label === type) label = t('rec.event.other', { type: e.type });
  return { label, detail };
}

function renderEvents() {
  const m = manifest();
  const start = state.data.started_at || 0;
  const names = siteNames();
  const startIndex = (m.events || []).findIndex((e) => e.type === 'recording-started');
  const startAt = startIndex >= 0 ? m.events[startIndex].at : null;
  // The sites present at the start are listed right after "recording started".
  const events = (m.events || [])
    .map((e, index) => {
      const beforeStart = startIndex >= 0 && index < startIndex;
      return { ...e, beforeStart, index, key: beforeStart ? Math.max(e.at, startAt) : e.at };
    })
    .sort((a, b) => (a.key - b.key)
      || (b.type === 'recording-started') - (a.type === 'recording-started')
      || a.index - b.index);
  const filter = dom.eventsFilter.value || 'all';
  const shown = events.filter((e) => filter === 'all' || (EVENT_GROUPS[e.type] || 'other') === filter);
  dom.eventsCount.textContent = String(events.length);
  dom.eventsNote.textContent = filter === 'all'
    ? (events.length ? plural('rec.eventsCount', events.length) : t('rec.eventsEmpty'))
    : (shown.length ? `${plural('rec.eventsCount', shown.length)} / ${numberOf(events.length)}` : t('rec.eventsEmpty'));
  dom.events.replaceChildren(...shown.map((e) => {
    const offset = Math.max(0, e.at - start);
    const { label, detail } = eventText(e, names, e.beforeStart);
    const at = partsOf(e.at);
    const wall = at ? `${dateTimeOf(e.at)}:${String(at.s).padStart(2, '0')}` : '';
    return h('li', {
      class: 'rec-event',
      dataset: { eventType: e.type, group: EVENT_GROUPS[e.type] || 'other', at: String(e.at) },
    },
    h('button', {
      type: 'button',
      class: 'rec-event-time',
      dataset: { seek: String(offset) },
      title: wall,
      'aria-label': t('rec.seek', { time: offsetOf(offset) }),
    }, offsetOf(offset)),
    h('span', { class: 'rec-event-body' },
      h('span', { class: 'rec-event-type' }, label),
      e.site_id ? h('span', { class: 'rec-event-site' }, siteName(e.site_id, names)) : null,
      detail ? h('span', { class: 'rec-event-detail' }, detail) : null));
  }));
}

function renderAll() {
  if (!state.data) return;
  renderHeader();
  renderComposites();
  renderTracks();
  renderEvents();
  renderPlayer();
  renderJob();
  if (state.notice) setNotice(state.notice.key, state.notice.params);
  if (state.error) setError(state.error);
}

// -- actions: play, seek --------------------------------------------------------------------

function play(file) {
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

// -- actions: composite renders (POST, then Server-Sent Events) ------------------------------

async function startRender(layout) {
  state.job = { layout, status: 'queued', progress: 0, output: null, error: null };
  renderJob();
  try {
    const job = await api(`/api/recordings/${encodeURIComponent(recordingId)}/render`, {
      method: 'POST',
      body: { layout },
    });
    onJob(job, { initiated: true });
    if (ACTIVE.has(job.status)) follow(layout);
  } catch (exc) {
    state.job = { layout, status: 'failed', progress: 0, output: null, error: null, requestError: exc };
    renderJob();
  }
}

/** Follow a layout's render job; `quiet`: only show it if it is queued or running. */
function follow(layout, { quiet = false } = {}) {
  stopFollowing(layout);
  if (!quiet) state.following.add(layout);
  const url = `/api/recordings/${encodeURIComponent(recordingId)}/render/events?layout=${encodeURIComponent(layout)}`;
  const source = new EventSource(url);
  state.streams.set(layout, source);
  source.onmessage = (event) => {
    let job;
    try {
      job = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!job || typeof job !== 'object') return;
    job.layout = job.layout || layout;
    if (!ACTIVE.has(job.status)) stopFollowing(layout); // the server ends the stream: do not reconnect
    onJob(job);
  };
  source.onerror = () => {
    if (state.streams.get(layout) !== source) return;
    if (source.readyState === EventSource.CLOSED) {
      // Refused (logged out, gone): EventSource does not retry.
      state.streams.delete(layout);
      if (state.following.has(layout)) {
        state.following.delete(layout);
        state.job = { layout, status: 'failed', progress: 0, error: null, requestError: new ApiError(0, 'network', '') };
        renderJob();
      }
    } else if (state.following.has(layout) && state.job?.layout === layout && ACTIVE.has(state.job.status)) {
      // The browser reconnects by itself (the stream's retry); say so meanwhile.
      state.job = { ...state.job, status: 'lost', previous: state.job.status };
      renderJob();
    }
  };
}

function stopFollowing(layout) {
  const source = state.streams.get(layout);
  if (source) {
    source.onmessage = null;
    source.onerror = null;
    source.close();
    state.streams.delete(layout);
  }
}

/**
 * A composite the server reports (a finished job's `output`) that the
 * recording's `composites` does not list yet: the library answers from a
 * cache that a new composite file does not refresh, so add it here.
 */
function mergeComposite(layout, file) {
  if (!state.data || !file || !/^[A-Za-z0-9_.-]+\.mp4$/.test(file)) return false;
  const composites = state.data.composites || (state.data.composites = {});
  if (composites[layout] === file) return false;
  composites[layout] = file;
  renderComposites();
  renderRenderControls();
  renderPlayer();
  return true;
}

async function onJob(job, { initiated = false } = {}) {
  const layout = job.layout;
  if (ACTIVE.has(job.status)) {
    state.following.add(layout);
    state.job = job;
    renderJob();
    return;
  }
  const followed = initiated || state.following.has(layout);
  state.following.delete(layout);
  if (!followed) {
    // Found when the page opened: nothing to show but a composite the list may lack.
    if (job.output && (job.status === 'done' || job.status === 'none') && mergeComposite(layout, job.output)) {
      const player = dom.player;
      if (!state.chosen && (player.paused && !player.currentTime)) setSource(defaultSource());
    }
    return;
  }
  state.job = job;
  renderJob();
  if (job.status === 'done') {
    try {
      await load();
      renderAll();
    } catch (exc) {
      setError(exc);
    }
    const file = job.output || state.data?.composites?.[layout];
    if (file) {
      mergeComposite(layout, file);
      setSource({ type: 'composite', layout, file });
      dom.compositeDownload.focus({ preventScroll: true });
    }
  }
}

// -- actions: delete ------------------------------------------------------------------------

dom.deleteButton?.addEventListener('click', async () => {
  if (!state.data) return;
  const question = t('rec.deleteConfirm', { title: state.data.title || state.data.id, date: dateTimeOf(state.data.started_at) });
  if (!window.confirm(question)) return;
  const button = dom.deleteButton;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  const label = button.querySelector('[data-i18n]');
  if (label) label.textContent = t('rec.deleting');
  try {
    await api(`/api/recordings/${encodeURIComponent(recordingId)}`, { method: 'DELETE' });
    for (const layout of [...state.streams.keys()]) stopFollowing(layout);
    window.location.assign('/recordings');
  } catch (exc) {
    setError(exc);
    dom.error.focus();
    button.disabled = false;
    button.removeAttribute('aria-busy');
    if (label) label.textContent = t(label.dataset.i18n);
  }
});

// -- start ----------------------------------------------------------------------------------

onLangChange(() => {
  renderAll();
  if (!state.data && state.error) setError(state.error);
  if (!state.data) document.title = `${t('rec.title')} – ${t('app.title')}`;
});

window.addEventListener('pagehide', () => {
  for (const layout of [...state.streams.keys()]) stopFollowing(layout);
});

async function init() {
  renderRenderControls();
  if (!recordingId) {
    setError(new ApiError(404, 'not-found', ''));
    return;
  }
  try {
    await load();
  } catch (exc) {
    setError(exc);
    dom.article.removeAttribute('aria-busy');
    delete dom.title.dataset.i18n;
    dom.title.textContent = '—';
    return;
  }
  renderAll();
  setSource(defaultSource());
  // A render started earlier (another tab, before a reload) still running: show its progress.
  if (state.data.status !== 'recording' && (manifest().tracks || []).length) {
    for (const layout of LAYOUTS) follow(layout, { quiet: true });
  }
}

// For automated tests and support staff.
window.recordingPage = {
  get data() {
    return state.data;
  },
  get source() {
    return state.source ? { ...state.source } : null;
  },
  get job() {
    return state.job ? { ...state.job } : null;
  },
  get streams() {
    return [...state.streams.keys()];
  },
  play,
  render: startRender,
};

init();

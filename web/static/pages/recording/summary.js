// What the recording is: its data, header and units, the page's notices and
// errors, and the whole page rendered from the data.

import { ApiError, api, h, setPageError, user } from '../../shared/api.js';
import { t } from '../../shared/i18n.js';
import {
  clockOf,
  dateTimeOf,
  isoOf,
  layoutName,
  numberOf,
  orderUnits,
  reasonText,
  sizeOf,
  statusLabel,
  unitsSummary,
} from '../recordings_i18n.js';
import { renderEvents } from './events.js';
import { renderComposites, renderJob, renderPlayer } from './player.js';
import { dom, recordingId, state } from './state.js';
import { renderTracks } from './tracks.js';

// -- helpers ------------------------------------------------------------------------------

/** The recording's manifest ({} until loaded). */
export const manifest = () => state.data?.manifest || {};

/** Site id -> name, from every part of the recording. */
export function siteNames() {
  const names = new Map();
  for (const u of manifest().units || []) names.set(u.code, u.name);
  for (const e of manifest().events || []) if (e.type === 'join' && e.site_id && e.data?.name) names.set(e.site_id, e.data.name);
  for (const s of state.data?.sites || []) names.set(s.id, s.name);
  for (const tr of manifest().tracks || []) names.set(tr.site_id, tr.site_name);
  return names;
}

/** A site's name, or its id. */
export function siteName(id, names = siteNames()) {
  return id ? names.get(id) || id : '';
}

/** The manifest's track of `file`, or null. */
export function trackOf(file) {
  return (manifest().tracks || []).find((tr) => tr.file === file) || null;
}

/** The layout of composite `file`, or null. */
export function compositeOf(file) {
  for (const [layout, name] of Object.entries(state.data?.composites || {})) {
    if (name === file) return layout;
  }
  return null;
}

/** A track's kind in words. */
export function kindText(kind) {
  return t(`rec.kind.${kind}`);
}

/** A track's length in seconds, or null when unknown. */
export function trackDuration(tr) {
  if (typeof tr.first_frame_at === 'number' && typeof tr.last_frame_at === 'number') {
    return Math.max(0, tr.last_frame_at - tr.first_frame_at);
  }
  return null;
}

/** What the player plays, in words. */
export function sourceLabel(source) {
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

/** The page's error banner (null: none). */
export function setError(error) {
  setPageError(state, dom.error, error);
  if (error && error instanceof ApiError && error.status === 404 && error.code === 'not-found' && !state.data) {
    dom.error.textContent = t('error.recording-not-found');
  }
}

// -- loading ------------------------------------------------------------------------------

/** Load the recording (GET /api/recordings/{id}). */
export async function load() {
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

/** The whole page from the recording's data. */
export function renderAll() {
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

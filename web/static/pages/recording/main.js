// /recordings/{id}: one recording. Plays the composite MP4 when one was
// rendered, else any recorded track; lists the tracks with play and download
// buttons; starts composite renders and follows their progress over
// Server-Sent Events (GET /api/recordings/{id}/render/events?layout=, no
// polling); shows what happened during the meeting; administrators can
// delete the recording.
//
// This module starts the page; the rest is in the modules next to it:
// summary (the data, header, notices), player (playing, seeking, composites),
// renders (composite render jobs), tracks, events; shared state in state.js.

import { ApiError, api } from '../../shared/api.js';
import { onLangChange, t } from '../../shared/i18n.js';
import { LAYOUTS, dateTimeOf } from '../recordings_i18n.js';
import { defaultSource, play, renderRenderControls, setSource } from './player.js';
import { follow, startRender, stopFollowing } from './renders.js';
import { dom, recordingId, state } from './state.js';
import { load, manifest, renderAll, setError } from './summary.js';

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

// The recording page's elements and what it knows: the one place its modules share state.

import { page } from '../../shared/api.js';

const $ = (id) => document.getElementById(id);
/** The page's elements, by what they show. */
export const dom = {
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

/** The recording this page shows. */
export const recordingId = page.recording_id || dom.article.dataset.recordingId || '';

/** What the page knows: the recording, the player's source, render jobs. */
export const state = {
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

// Composite renders: POST, then their progress over Server-Sent Events.

import { ApiError, api } from '../../shared/api.js';
import {
  ACTIVE,
  defaultSource,
  renderComposites,
  renderJob,
  renderPlayer,
  renderRenderControls,
  setSource,
} from './player.js';
import { dom, recordingId, state } from './state.js';
import { load, renderAll, setError } from './summary.js';

// -- actions: composite renders (POST, then Server-Sent Events) ------------------------------

/** Start a composite render in `layout` and follow it. */
export async function startRender(layout) {
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
export function follow(layout, { quiet = false } = {}) {
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

/** Stop following the render job of `layout`. */
export function stopFollowing(layout) {
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

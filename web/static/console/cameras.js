// Checkpoint cameras in the meeting, and the picker that brings one in.

import { ApiError, api } from '../shared/api.js';
import { t } from '../shared/i18n.js';
import { icon } from '../shared/icons.js';
import { cameraName, feedInfo, feedOfSite } from './alerts.js';
import { errorMessage, showNotice } from './banners.js';
import { dom } from './dom.js';
import { MESSAGES } from './messages.js';
import { command } from './socket.js';
import { PRESENT, store, ui } from './state.js';
import { el, roomOpen, statusText } from './view.js';

// -- checkpoint cameras: in the meeting and the picker ------------------------------------

function addFeedId(feedId) {
  if (!feedId || store.feeds.includes(feedId)) return false;
  store.feeds = [...store.feeds, feedId].sort();
  return true;
}

/** A camera left the meeting; false when it was not in it. */
export function dropFeed(feedId) {
  if (!store.feeds.includes(feedId)) return false;
  store.feeds = store.feeds.filter((id) => id !== feedId);
  renderCameras();
  renderPicker();
  return true;
}

/** A camera's roll-call row changed: it joined (in the meeting) or left (out of it). */
export function feedRowChanged(row) {
  const feedId = feedOfSite(row.site_id);
  const changed = PRESENT.has(row.status) ? addFeedId(feedId) : store.feeds.includes(feedId) && dropFeed(feedId);
  if (changed) {
    renderCameras();
    renderPicker();
  }
}

function feedStateText(feed) {
  const state = feed && feed.status ? feed.status.state : null;
  if (!state) return '';
  const key = `console.feedState.${state}`;
  return MESSAGES.vi[key] ? t(key) : state;
}

/** The list of cameras in the meeting. */
export function renderCameras() {
  const open = roomOpen() && store.roomLive;
  const items = store.feeds.map((feedId) => {
    const feed = feedInfo(feedId);
    const name = cameraName(feedId);
    const li = el('li', 'camera-item');
    li.dataset.feedId = feedId;
    const info = el('div', 'camera-info');
    info.append(el('span', 'camera-name', name));
    const checkpoint = feed ? feed.checkpoint : null;
    if (checkpoint && checkpoint !== name) info.append(el('span', 'camera-checkpoint', checkpoint));
    const row = store.sites.get(`feed-${feedId}`);
    if (row) {
      const badge = el('span', 'rc-badge camera-status', statusText(row.status));
      badge.dataset.status = row.status;
      info.append(badge);
    }
    const remove = el('button', 'btn btn-small btn-ghost camera-remove');
    remove.type = 'button';
    remove.dataset.removeFeed = feedId;
    remove.setAttribute('aria-label', t('console.camera.removeLabel', { name }));
    remove.append(icon('x'), el('span', '', t('console.camera.remove')));
    remove.disabled = !open;
    li.append(info, remove);
    return li;
  });
  dom.cameras.replaceChildren(...items);
  dom.camerasCount.textContent = String(store.feeds.length);
  dom.camerasEmpty.hidden = store.feeds.length > 0;
}

/** Enable the camera buttons while the live room is open. */
export function renderCameraControls() {
  if (!dom.addCamera) return;
  const open = roomOpen() && store.roomLive;
  const busy = dom.addCamera.getAttribute('aria-busy') === 'true';
  dom.addCamera.disabled = !open || busy;
  dom.addCamera.title = open ? '' : t('console.camera.needsRoom');
  if (!open && !dom.picker.hidden) togglePicker(false);
  for (const button of dom.cameras.querySelectorAll('button[data-remove-feed]')) {
    if (button.getAttribute('aria-busy') !== 'true') button.disabled = !open;
  }
  for (const button of dom.feedOptions.querySelectorAll('button[data-add-feed]')) {
    if (button.getAttribute('aria-busy') !== 'true') button.disabled = !open;
  }
}

/** Open (loading the registered feeds) or close the camera picker. */
export function togglePicker(show = dom.picker.hidden) {
  dom.picker.hidden = !show;
  dom.addCamera.setAttribute('aria-expanded', String(show));
  if (show) {
    renderPicker();
    loadFeeds();
  }
}

async function loadFeeds() {
  if (ui.feedsLoading) return;
  ui.feedsLoading = true;
  renderPicker();
  try {
    const data = await api('/api/feeds');
    store.registeredFeeds = Array.isArray(data?.feeds) ? data.feeds : [];
    ui.feedsError = null;
  } catch (exc) {
    // No answer at all reads as the console's own "not connected".
    ui.feedsError = exc instanceof ApiError && exc.status ? exc.code : 'not-connected';
  } finally {
    ui.feedsLoading = false;
  }
  renderPicker();
  renderCameras();
}

/** The picker's feeds: those not yet in the meeting, or why there are none. */
export function renderPicker() {
  if (!dom.feedOptions) return;
  const open = roomOpen() && store.roomLive;
  const feeds = (store.registeredFeeds || []).filter((f) => !store.feeds.includes(f.id));
  let status = '';
  if (ui.feedsLoading && !store.registeredFeeds) status = t('console.camera.loading');
  else if (ui.feedsError) status = t('console.camera.loadError', { detail: errorMessage(ui.feedsError) });
  else if (store.registeredFeeds && !store.registeredFeeds.length) status = t('console.camera.noneRegistered');
  else if (store.registeredFeeds && !feeds.length) status = t('console.camera.allIn');
  else if (store.registeredFeeds) status = t('console.camera.choose');
  if (dom.pickerStatus.textContent !== status) dom.pickerStatus.textContent = status;
  const items = feeds.map((feed) => {
    const li = el('li', 'feed-option');
    li.dataset.feedId = feed.id;
    const button = el('button', 'feed-option-button');
    button.type = 'button';
    button.dataset.addFeed = feed.id;
    button.setAttribute('aria-label', t('console.camera.addLabel', { name: feed.name, checkpoint: feed.checkpoint }));
    const name = el('span', 'feed-option-name', feed.name);
    const checkpoint = el('span', 'feed-option-checkpoint', feed.checkpoint);
    const state = el('span', 'feed-option-state', feedStateText(feed));
    state.dataset.state = (feed.status && feed.status.state) || '';
    button.append(icon('cam'), name, checkpoint, state);
    button.disabled = !open;
    li.append(button);
    return li;
  });
  dom.feedOptions.replaceChildren(...items);
}

/** A click in the picker: bring that camera into the meeting (`add-feed`). */
export function onPickFeed(event) {
  const button = event.target.closest('button[data-add-feed]');
  if (!button || button.disabled) return;
  const feedId = button.dataset.addFeed;
  const name = cameraName(feedId);
  command('add-feed', feedId, button)
    .then(() => {
      addFeedId(feedId);
      showNotice(t('console.camera.added', { name }));
      renderCameras();
      renderPicker();
      if (!dom.feedOptions.querySelector('button[data-add-feed]')) {
        togglePicker(false);
        dom.addCamera.focus();
      }
    })
    .catch(() => {});
}

/** A click on a camera's remove button (`remove-feed`). */
export function onCameraAction(event) {
  const button = event.target.closest('button[data-remove-feed]');
  if (!button || button.disabled) return;
  const feedId = button.dataset.removeFeed;
  const name = cameraName(feedId);
  command('remove-feed', feedId, button)
    .then(() => {
      dropFeed(feedId);
      showNotice(t('console.camera.removed', { name }));
    })
    .catch(() => {});
}

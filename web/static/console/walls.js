// Camera walls in the meeting, and the picker that brings one in: one of the host's
// saved walls (GET /api/wall/saved) or cameras ticked from those the host may see
// (GET /api/feeds), sent as `add-wall`; a wall in the meeting is one site `wall-<id>`
// of the roll call, taken out with `remove-wall`.

import { ApiError, api } from '../shared/api.js';
import { t } from '../shared/i18n.js';
import { icon } from '../shared/icons.js';
import { errorMessage, showNotice } from './banners.js';
import { dom } from './dom.js';
import { command } from './socket.js';
import { PRESENT, store } from './state.js';
import { el, roomOpen } from './view.js';

// The server's own limit (anpr_feed/wall.py MAX_TILES): more ticks are not offered.
const MAX_TILES = 36;

/** Whether a roll-call site id is a camera wall's. */
export const isWallSite = (id) => typeof id === 'string' && id.startsWith('wall-');

// The picker's own state: saved walls once loaded, the cameras ticked (in tick order).
const picker = { saved: null, loading: false, error: null, ticked: [] };

function wallRows() {
  return [...store.sites.values()]
    .filter((row) => isWallSite(row.site_id) && PRESENT.has(row.status))
    .sort((a, b) => a.site_id.localeCompare(b.site_id));
}

const liveRoom = () => roomOpen() && store.roomLive;

/** The list of walls in the meeting, each with its remove button. */
export function renderWalls() {
  if (!dom.walls) return;
  const open = liveRoom();
  const rows = wallRows();
  const items = rows.map((row) => {
    const li = el('li', 'camera-item wall-item');
    li.dataset.siteId = row.site_id;
    const info = el('div', 'camera-info');
    info.append(el('span', 'camera-name', row.name || row.site_id));
    const remove = el('button', 'btn btn-small btn-ghost camera-remove');
    remove.type = 'button';
    remove.dataset.removeWall = row.site_id;
    remove.setAttribute('aria-label', t('console.wall.removeLabel', { name: row.name || row.site_id }));
    remove.append(icon('x'), el('span', '', t('console.camera.remove')));
    remove.disabled = !open;
    li.append(info, remove);
    return li;
  });
  dom.walls.replaceChildren(...items);
  dom.wallsCount.textContent = String(rows.length);
  dom.wallsEmpty.hidden = rows.length > 0;
}

/** Enable the wall buttons while the live room is open. */
export function renderWallControls() {
  if (!dom.addWall) return;
  const open = liveRoom();
  const busy = (button) => button.getAttribute('aria-busy') === 'true';
  dom.addWall.disabled = !open || busy(dom.addWall);
  dom.addWall.title = open ? '' : t('console.wall.needsRoom');
  if (!open && !dom.wallPicker.hidden) toggleWallPicker(false);
  for (const button of dom.walls.querySelectorAll('button[data-remove-wall]')) {
    if (!busy(button)) button.disabled = !open;
  }
  for (const button of dom.savedWalls.querySelectorAll('button[data-saved-wall]')) {
    if (!busy(button)) button.disabled = !open;
  }
  if (!busy(dom.wallAddTicked)) dom.wallAddTicked.disabled = !open || !picker.ticked.length;
}

/** Open (loading the saved walls and the cameras) or close the wall picker. */
export function toggleWallPicker(show = dom.wallPicker.hidden) {
  dom.wallPicker.hidden = !show;
  dom.addWall.setAttribute('aria-expanded', String(show));
  if (show) {
    renderWallPicker();
    loadChoices();
  }
}

async function loadChoices() {
  if (picker.loading) return;
  picker.loading = true;
  renderWallPicker();
  try {
    const [saved, feeds] = await Promise.all([api('/api/wall/saved'), api('/api/feeds')]);
    picker.saved = Array.isArray(saved?.walls) ? saved.walls : [];
    store.registeredFeeds = Array.isArray(feeds?.feeds) ? feeds.feeds : [];
    picker.error = null;
  } catch (exc) {
    // No answer at all reads as the console's own "not connected".
    picker.error = exc instanceof ApiError && exc.status ? exc.code : 'not-connected';
  } finally {
    picker.loading = false;
  }
  renderWallPicker();
}

function savedOption(wall, index, open) {
  const li = el('li', 'feed-option');
  const button = el('button', 'feed-option-button');
  button.type = 'button';
  button.dataset.savedWall = String(index);
  button.setAttribute('aria-label', t('console.wall.addSavedLabel', { name: wall.name, n: wall.feeds.length }));
  button.append(
    icon('cam'),
    el('span', 'feed-option-name', wall.name),
    el('span', 'feed-option-checkpoint', t('console.wall.cameraCount', { n: wall.feeds.length })),
  );
  button.disabled = !open;
  li.append(button);
  return li;
}

function feedTick(feed) {
  const li = el('li', 'wall-feed-option');
  const label = el('label', 'wall-feed-label');
  const box = el('input');
  box.type = 'checkbox';
  box.value = feed.id;
  box.dataset.wallFeed = feed.id;
  box.checked = picker.ticked.includes(feed.id);
  box.disabled = !box.checked && picker.ticked.length >= MAX_TILES;
  const text = el('span', 'wall-feed-text', feed.checkpoint ? `${feed.checkpoint} – ${feed.name}` : feed.name);
  label.append(box, text);
  const position = picker.ticked.indexOf(feed.id);
  // The tile this camera takes on the wall (the order of the ticks).
  if (position >= 0) label.append(el('span', 'wall-feed-tile', t('console.wall.tile', { n: position + 1 })));
  li.append(label);
  return li;
}

/** The picker's saved walls and cameras, or why there are none. */
export function renderWallPicker() {
  if (!dom.savedWalls) return;
  const open = liveRoom();
  const feeds = store.registeredFeeds || [];
  const known = new Set(feeds.map((f) => String(f.id)));
  // A camera no longer offered (deleted, out of scope) is no longer ticked.
  if (store.registeredFeeds) picker.ticked = picker.ticked.filter((id) => known.has(id));
  let status = '';
  if (picker.loading && !picker.saved) status = t('console.wall.loading');
  else if (picker.error) status = t('console.wall.loadError', { detail: errorMessage(picker.error) });
  else if (picker.saved && !picker.saved.length && !feeds.length) status = t('console.camera.noneRegistered');
  else if (picker.saved) status = t('console.wall.choose');
  if (dom.wallPickerStatus.textContent !== status) dom.wallPickerStatus.textContent = status;
  dom.savedWalls.replaceChildren(...(picker.saved || []).map((wall, i) => savedOption(wall, i, open)));
  dom.savedWallsTitle.hidden = !(picker.saved && picker.saved.length);
  dom.wallFeeds.replaceChildren(...feeds.map((feed) => feedTick({ ...feed, id: String(feed.id) })));
  dom.wallFeedChoice.hidden = !feeds.length;
  dom.wallTickedCount.textContent = t('console.wall.ticked', { n: picker.ticked.length, max: MAX_TILES });
  renderWallControls();
}

function addWall(feeds, button) {
  command('add-wall', null, button, { feeds })
    .then(() => {
      showNotice(t('console.wall.added', { n: feeds.length }));
      picker.ticked = [];
      toggleWallPicker(false);
      dom.addWall.focus();
    })
    .catch(() => {});
}

/** A click on a saved wall in the picker: bring it into the meeting. */
export function onPickSavedWall(event) {
  const button = event.target.closest('button[data-saved-wall]');
  if (!button || button.disabled || !picker.saved) return;
  const wall = picker.saved[Number(button.dataset.savedWall)];
  if (wall) addWall(wall.feeds.map(String), button);
}

/** A camera ticked or unticked: the wall's tiles follow the order of the ticks. */
export function onTickFeed(event) {
  const box = event.target.closest('input[data-wall-feed]');
  if (!box) return;
  const feedId = box.dataset.wallFeed;
  picker.ticked = picker.ticked.filter((id) => id !== feedId);
  if (box.checked) picker.ticked.push(feedId);
  renderWallPicker();
}

/** The "bring the ticked cameras in" button. */
export function onAddTicked() {
  if (!picker.ticked.length || dom.wallAddTicked.disabled) return;
  addWall([...picker.ticked], dom.wallAddTicked);
}

/** A click on a wall's remove button (`remove-wall`). */
export function onWallAction(event) {
  const button = event.target.closest('button[data-remove-wall]');
  if (!button || button.disabled) return;
  const siteId = button.dataset.removeWall;
  const name = store.sites.get(siteId)?.name || siteId;
  command('remove-wall', siteId, button)
    .then(() => showNotice(t('console.wall.removed', { name })))
    .catch(() => {});
}

/** Wire the card's controls (once, when the page starts). */
export function startWalls() {
  if (!dom.addWall) return;
  dom.addWall.addEventListener('click', () => toggleWallPicker());
  dom.savedWalls.addEventListener('click', onPickSavedWall);
  dom.wallFeeds.addEventListener('change', onTickFeed);
  dom.wallAddTicked.addEventListener('click', onAddTicked);
  dom.walls.addEventListener('click', onWallAction);
  dom.wallPicker.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      toggleWallPicker(false);
      dom.addWall.focus();
    }
  });
}

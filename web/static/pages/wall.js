// /wall: many live checkpoint feeds on one screen (16, 25 or 36 tiles).
//
// The cameras come from GET /api/feeds (only those in the user's scope); the
// wall is opened with POST /api/wall {feeds}: one peer connection whose video
// sections are the tiles, each fed by the feed's single encoding on the
// server. The page answers (POST /api/wall/{id}/answer) once its ICE
// candidates are gathered. Click a tile to enlarge it, click again (or Esc)
// to go back. ?layout=16&feeds=a,b,c (or &unit=…, &checkpoint=…) reproduces a
// wall; the link is shown once a wall is open.

import { t, addMessages, applyI18n, onLangChange } from '../shared/i18n.js';
import { api, errorText, h, page } from '../shared/api.js';

addMessages({
  vi: {
    'wall.title': 'Màn hình camera chốt',
    'wall.layout': 'Số ô',
    'wall.unit': 'Theo đơn vị',
    'wall.allUnits': 'Mọi đơn vị trong phạm vi',
    'wall.checkpoint': 'Theo chốt',
    'wall.allCheckpoints': 'Mọi chốt',
    'wall.feeds': 'Camera trên màn hình',
    'wall.open': 'Mở màn hình',
    'wall.link': 'Liên kết tới màn hình này',
    'wall.none': 'Không có camera nào trong phạm vi của bạn.',
    'wall.noneChosen': 'Chọn ít nhất một camera.',
    'wall.tooMany': 'Màn hình {n} ô chỉ hiện được {n} camera; {m} camera đầu được hiện.',
    'wall.opening': 'Đang mở màn hình…',
    'wall.open.status': 'Đang hiện {n} camera. Bấm vào một ô để phóng to.',
    'wall.live': 'Trực tiếp',
    'wall.notLive': 'Không có tín hiệu',
    'wall.failed': 'Không mở được màn hình: {error}',
    'wall.lost': 'Mất kết nối tới máy chủ; đang mở lại…',
    'wall.saved': 'Màn hình đã lưu',
    'wall.savedNone': '(chọn để mở)',
    'wall.saveName': 'Lưu màn hình đang mở với tên',
    'wall.save': 'Lưu màn hình',
    'wall.savedAs': 'Đã lưu màn hình “{name}”.',
    'wall.saveNeedsWall': 'Mở một màn hình và đặt tên trước khi lưu.',
  },
  en: {
    'wall.title': 'Checkpoint camera wall',
    'wall.layout': 'Tiles',
    'wall.unit': 'By unit',
    'wall.allUnits': 'Every unit in scope',
    'wall.checkpoint': 'By checkpoint',
    'wall.allCheckpoints': 'Every checkpoint',
    'wall.feeds': 'Cameras on the wall',
    'wall.open': 'Open the wall',
    'wall.link': 'Link to this wall',
    'wall.none': 'No camera is in your scope.',
    'wall.noneChosen': 'Choose at least one camera.',
    'wall.tooMany': 'A {n}-tile wall shows {n} cameras; the first {m} are shown.',
    'wall.opening': 'Opening the wall…',
    'wall.open.status': 'Showing {n} cameras. Click a tile to enlarge it.',
    'wall.live': 'Live',
    'wall.notLive': 'No signal',
    'wall.failed': 'The wall could not be opened: {error}',
    'wall.lost': 'Lost the connection to the server; reopening…',
    'wall.saved': 'Saved walls',
    'wall.savedNone': '(choose one to open)',
    'wall.saveName': 'Save the open wall as',
    'wall.save': 'Save the wall',
    'wall.savedAs': 'Saved the wall “{name}”.',
    'wall.saveNeedsWall': 'Open a wall and name it before saving.',
  },
});

const STATS_MS = 2000;
const dom = {
  form: document.getElementById('wall-form'),
  layout: document.getElementById('wall-layout'),
  unit: document.getElementById('wall-unit'),
  checkpoint: document.getElementById('wall-checkpoint'),
  list: document.getElementById('wall-feed-list'),
  link: document.getElementById('wall-link'),
  status: document.getElementById('wall-status'),
  wall: document.getElementById('wall'),
  saved: document.getElementById('wall-saved'),
  saveName: document.getElementById('wall-save-name'),
  save: document.getElementById('wall-save'),
};
const state = { feeds: [], wall: null, pc: null, tiles: new Map(), timer: null, saved: [], open: [] };

function fillSaved() {
  dom.saved.replaceChildren(
    dom.saved.options[0],
    ...state.saved.map((wall) => option(wall.name, `${wall.name} (${wall.feeds.length})`)),
  );
}

async function loadSaved() {
  state.saved = (await api('/api/wall/saved')).walls;
  fillSaved();
}

async function saveWall() {
  const name = dom.saveName.value.trim();
  if (!name || !state.open.length) {
    setStatus(t('wall.saveNeedsWall'));
    return;
  }
  try {
    const body = { name, layout: Number(dom.layout.value), feeds: state.open };
    state.saved = (await api('/api/wall/saved', { method: 'POST', body })).walls;
    fillSaved();
    setStatus(t('wall.savedAs', { name }));
  } catch (error) {
    setStatus(t('wall.failed', { error: errorText(error) }));
  }
}

function openSaved() {
  const wall = state.saved.find((w) => w.name === dom.saved.value);
  if (!wall) return;
  dom.layout.value = String(wall.layout);
  dom.unit.value = '';
  dom.checkpoint.value = '';
  renderList(new Set(wall.feeds));
  dom.saveName.value = wall.name;
  openWall(wall.feeds);
}

function setStatus(text) {
  dom.status.textContent = text;
}

function feedLabel(feed) {
  return `${feed.checkpoint} – ${feed.name}`;
}

function option(value, text) {
  return h('option', { value }, text);
}

function fillFilters() {
  const units = [...new Set(state.feeds.map((f) => f.unit_code).filter(Boolean))].sort();
  const checkpoints = [...new Set(state.feeds.map((f) => f.checkpoint))].sort();
  dom.unit.replaceChildren(dom.unit.options[0], ...units.map((u) => option(u, u)));
  dom.checkpoint.replaceChildren(dom.checkpoint.options[0], ...checkpoints.map((c) => option(c, c)));
}

function renderList(checked) {
  const unit = dom.unit.value;
  const checkpoint = dom.checkpoint.value;
  const shown = state.feeds.filter(
    (f) => (!unit || f.unit_code === unit) && (!checkpoint || f.checkpoint === checkpoint),
  );
  dom.list.replaceChildren(
    ...shown.map((feed) => {
      const id = `wall-feed-${feed.id}`;
      const box = h('input', { type: 'checkbox', id, value: feed.id });
      box.checked = checked ? checked.has(feed.id) : true;
      return h('li', {}, box, ' ', h('label', { for: id }, feedLabel(feed)));
    }),
  );
}

function chosenFeeds() {
  return [...dom.list.querySelectorAll('input:checked')].map((box) => box.value);
}

function wallUrl(feeds) {
  const params = new URLSearchParams({ layout: dom.layout.value, feeds: feeds.join(',') });
  return `/wall?${params}`;
}

async function closeWall() {
  clearInterval(state.timer);
  state.timer = null;
  if (state.pc) state.pc.close();
  state.pc = null;
  if (state.wall) {
    const id = state.wall.id;
    state.wall = null;
    await api(`/api/wall/${encodeURIComponent(id)}`, { method: 'DELETE' }).catch(() => {});
  }
  state.tiles.clear();
  state.open = [];
  dom.wall.replaceChildren();
  dom.wall.hidden = true;
}

function gathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
  });
}

function buildTiles(size, tiles) {
  const byId = new Map(state.feeds.map((f) => [f.id, f]));
  const columns = Math.round(Math.sqrt(size));
  dom.wall.style.gridTemplateColumns = `repeat(${columns}, 1fr)`;
  dom.wall.classList.remove('enlarged');
  const elements = tiles.map((tile) => {
    const feed = byId.get(tile.feed);
    const video = h('video', { autoplay: '', playsinline: '' });
    video.muted = true;
    const button = h(
      'button',
      { type: 'button', class: 'wall-tile', 'data-feed-id': tile.feed, 'data-live': 'false', 'data-frames': '0' },
      video,
      h('span', { class: 'wall-tile-live' }, t('wall.notLive')),
      h('span', { class: 'wall-tile-label' }, feed ? feedLabel(feed) : tile.feed),
    );
    button.addEventListener('click', () => toggleEnlarged(button));
    state.tiles.set(tile.mid, { ...tile, button, video, frames: 0 });
    return button;
  });
  dom.wall.replaceChildren(...elements);
  dom.wall.hidden = false;
}

function toggleEnlarged(button) {
  const enlarged = button.classList.toggle('is-enlarged');
  for (const other of dom.wall.querySelectorAll('.wall-tile.is-enlarged')) {
    if (other !== button) other.classList.remove('is-enlarged');
  }
  dom.wall.classList.toggle('enlarged', enlarged);
}

/** A tile is live while its decoder counts new frames. */
async function updateLive() {
  const pc = state.pc;
  if (!pc) return;
  for (const transceiver of pc.getTransceivers()) {
    const tile = state.tiles.get(transceiver.mid);
    if (!tile) continue;
    let frames = 0;
    (await transceiver.receiver.getStats()).forEach((report) => {
      if (report.type === 'inbound-rtp') frames = report.framesDecoded || 0;
    });
    const live = frames > tile.frames;
    tile.frames = frames;
    tile.button.dataset.frames = String(frames);
    tile.button.dataset.live = String(live);
    tile.button.querySelector('.wall-tile-live').textContent = t(live ? 'wall.live' : 'wall.notLive');
  }
}

async function openWall(feeds) {
  await closeWall();
  const size = Number(dom.layout.value);
  if (!feeds.length) {
    setStatus(t('wall.noneChosen'));
    return;
  }
  if (feeds.length > size) {
    setStatus(t('wall.tooMany', { n: size, m: size }));
    feeds = feeds.slice(0, size);
  } else {
    setStatus(t('wall.opening'));
  }
  try {
    const wall = await api('/api/wall', { method: 'POST', body: { feeds } });
    state.wall = wall;
    state.open = feeds;
    const pc = new RTCPeerConnection({ iceServers: wall.ice_servers || [], bundlePolicy: 'max-bundle' });
    state.pc = pc;
    buildTiles(size, wall.tiles);
    pc.addEventListener('track', (event) => {
      const tile = state.tiles.get(event.transceiver.mid);
      if (tile) tile.video.srcObject = new MediaStream([event.track]);
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed' && state.pc === pc) {
        setStatus(t('wall.lost'));
        openWall(feeds);
      }
    });
    await pc.setRemoteDescription({ type: 'offer', sdp: wall.offer });
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    await api(`/api/wall/${encodeURIComponent(wall.id)}/answer`, {
      method: 'POST',
      body: { sdp: pc.localDescription.sdp },
    });
    const url = wallUrl(feeds);
    history.replaceState(null, '', url);
    dom.link.href = url;
    dom.link.hidden = false;
    setStatus(t('wall.open.status', { n: feeds.length }));
    state.timer = setInterval(updateLive, STATS_MS);
  } catch (error) {
    setStatus(t('wall.failed', { error: errorText(error) }));
  }
}

async function start() {
  try {
    state.feeds = (await api('/api/feeds')).feeds;
  } catch (error) {
    setStatus(t('wall.failed', { error: errorText(error) }));
    return;
  }
  fillFilters();
  await loadSaved().catch(() => {});
  const params = new URLSearchParams(window.location.search);
  if (['16', '25', '36'].includes(params.get('layout'))) dom.layout.value = params.get('layout');
  if (params.get('unit')) dom.unit.value = params.get('unit');
  if (params.get('checkpoint')) dom.checkpoint.value = params.get('checkpoint');
  const wanted = params.get('feeds') ? params.get('feeds').split(',').filter(Boolean) : null;
  renderList(wanted ? new Set(wanted) : null);
  if (!state.feeds.length) {
    setStatus(t('wall.none'));
    return;
  }
  setStatus('');
  if (wanted) await openWall(wanted);
  else if (params.get('unit') || params.get('checkpoint')) await openWall(chosenFeeds());
}

dom.saved.addEventListener('change', openSaved);
dom.save.addEventListener('click', saveWall);
dom.unit.addEventListener('change', () => renderList(null));
dom.checkpoint.addEventListener('change', () => renderList(null));
dom.form.addEventListener('submit', (event) => {
  event.preventDefault();
  openWall(chosenFeeds());
});
document.addEventListener('keydown', (event) => {
  const enlarged = dom.wall.querySelector('.wall-tile.is-enlarged');
  if (event.key === 'Escape' && enlarged) toggleEnlarged(enlarged);
});
window.addEventListener('pagehide', () => {
  if (state.wall) {
    fetch(`/api/wall/${encodeURIComponent(state.wall.id)}`, {
      method: 'DELETE',
      keepalive: true,
      credentials: 'same-origin',
      headers: { 'X-CSRF-Token': page.csrf_token || '' },
    }).catch(() => {});
  }
});
onLangChange(() => applyI18n());
start();

// For automated tests and support staff.
window.wallPage = {
  get wall() {
    return state.wall;
  },
  get pc() {
    return state.pc;
  },
  open: openWall,
  close: closeWall,
};

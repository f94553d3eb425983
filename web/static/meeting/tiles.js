// The video tiles and audio elements of the receive slots.

import { t } from '../shared/i18n.js';
import { icon } from '../shared/icons.js';
import { chosenDevice, sinkTo } from './devices.js';
import { $, dom } from './dom.js';
import { renderAll as renderQuality } from './quality.js';
import { app, audioElements, tiles } from './state.js';
import { setText } from './view.js';

// -- tiles ------------------------------------------------------------------------------

/** Take a tile element into the layout (its parts, by slot). */
export function registerTile(el) {
  const parts = {
    el,
    slot: el.dataset.slot,
    video: $('video', el),
    label: $('.label', el),
    placeholderName: $('.placeholder-name', el),
    placeholderNote: $('.placeholder-note', el),
    badge: $('.speaker-badge', el),
  };
  parts.video.muted = true;
  tiles.set(parts.slot, parts);
  return parts;
}

function slotNumber(name) {
  const n = Number.parseInt(String(name).split('-')[1], 10);
  return Number.isFinite(n) ? n : 0;
}

/** The thumbnail tile of `slot`, made when first needed. */
export function ensureThumbTile(slot) {
  const existing = tiles.get(slot);
  if (existing) return existing;
  const el = document.createElement('div');
  el.className = 'tile tile-thumb';
  el.setAttribute('role', 'listitem');
  el.dataset.slot = slot;
  el.dataset.participant = '';
  el.dataset.empty = 'true';
  el.hidden = true;
  const video = document.createElement('video');
  video.className = 'tile-video';
  video.autoplay = true;
  video.muted = true;
  video.playsInline = true;
  video.setAttribute('autoplay', '');
  video.setAttribute('muted', '');
  video.setAttribute('playsinline', '');
  const placeholder = document.createElement('div');
  placeholder.className = 'tile-placeholder';
  const name = document.createElement('span');
  name.className = 'placeholder-name';
  const note = document.createElement('span');
  note.className = 'placeholder-note';
  placeholder.append(icon('cam-off', 'placeholder-icon'), name, note);
  const badge = document.createElement('span');
  badge.className = 'speaker-badge';
  badge.hidden = true;
  setText(badge, 'speaker');
  const label = document.createElement('div');
  label.className = 'label';
  el.append(video, placeholder, badge, label);
  // Keep thumb-1, thumb-2, ... in order.
  const after = [...dom.thumbnails.children].find((c) => slotNumber(c.dataset.slot) > slotNumber(slot));
  dom.thumbnails.insertBefore(el, after || null);
  return registerTile(el);
}

/** The <audio> element of `slot`, made when first needed. */
export function ensureAudio(slot) {
  let el = audioElements.get(slot);
  if (!el) {
    el = document.createElement('audio');
    el.autoplay = true;
    el.setAttribute('autoplay', '');
    el.dataset.slot = slot;
    void sinkTo(el, chosenDevice('audiooutput')); // the speaker chosen before it existed
    dom.audioSinks.append(el);
    audioElements.set(slot, el);
  }
  return el;
}

function renderTile(parts) {
  const pid = app.slots[parts.slot] ?? null;
  const p = pid ? app.participants.get(pid) : null;
  const { el } = parts;
  el.dataset.participant = pid || '';
  el.dataset.empty = String(!pid);
  if (parts.slot !== 'main') el.hidden = !pid;
  el.classList.toggle('is-empty', !pid);
  el.classList.toggle('is-floor', !!pid && pid === app.floor);
  // The main slot carries a site's presentation (its screen), not its camera.
  const presentation = parts.slot === 'main' && !!pid && pid === app.presenter;
  el.classList.toggle('is-presentation', presentation);
  const name = pid ? siteName(pid) : '';
  const away = !!pid && !p && app.away.has(pid);
  const videoOff = !presentation && (away || (!!p && (p.video_muted || !p.video)));
  el.classList.toggle('video-off', videoOff);
  // Label: site name and a muted-microphone mark.
  parts.label.replaceChildren();
  parts.label.hidden = !pid;
  if (pid) {
    if (p && p.audio_muted) {
      const mark = icon('mic-off', 'label-icon');
      parts.label.append(mark);
    }
    const text = document.createElement('span');
    text.className = 'label-text';
    text.textContent = presentation ? t('present.label', { name }) : name;
    if (presentation) parts.label.prepend(icon('screen', 'label-icon'));
    parts.label.append(text);
    parts.label.title = text.textContent;
  }
  // Placeholder: the site name when its camera is off; "waiting" for an empty main slot.
  if (!pid) {
    parts.placeholderName.textContent = '';
    if (parts.slot === 'main') {
      const others = app.count > 1 || [...app.participants.keys()].some((id) => id !== app.selfId);
      setText(parts.placeholderNote, others ? 'stage.noVideo' : 'stage.waiting');
    }
    else parts.placeholderNote.textContent = '';
  } else if (videoOff) {
    parts.placeholderName.textContent = name;
    setText(parts.placeholderNote, away ? 'peer.reconnecting' : p.video ? 'camera.off' : 'camera.none');
  } else {
    parts.placeholderName.textContent = '';
    parts.placeholderNote.textContent = '';
  }
  const speaking = !!pid && pid === app.speaker && !presentation; // a screen does not speak
  el.classList.toggle('is-speaker', speaking);
  parts.badge.hidden = !speaking;
  // The server paused this slot for our downlink: say so over the last picture
  // (dimmed), rather than leave it frozen as if the site had stopped moving.
  const weak = !!pid && !videoOff && app.linkPaused.has(parts.slot);
  el.classList.toggle('is-link-paused', weak);
  linkMarker(parts).hidden = !weak;
}

/** The tile's "đường truyền yếu" marker, made when first needed. */
function linkMarker(parts) {
  if (!parts.linkMarker) {
    const marker = document.createElement('div');
    marker.className = 'link-marker';
    marker.setAttribute('role', 'status');
    marker.hidden = true;
    const text = document.createElement('span');
    text.className = 'link-marker-text';
    setText(text, 'link.weak');
    marker.append(icon('warning', 'link-marker-icon'), text);
    parts.el.append(marker);
    parts.linkMarker = marker;
  }
  return parts.linkMarker;
}

/** Every tile, and the stage's layout for the thumbnails shown. */
export function renderTiles() {
  for (const parts of tiles.values()) renderTile(parts);
  renderQuality();
  const visibleThumbs = [...tiles.values()].filter((p) => p.slot !== 'main' && !p.el.hidden).length;
  dom.stageArea.dataset.thumbs = String(visibleThumbs);
  dom.stageArea.classList.toggle('has-thumbs', visibleThumbs > 0);
  dom.stageArea.classList.toggle('many-thumbs', visibleThumbs > 4);
}

/** A site's name, or '' when the page does not know it. */
export function siteName(id) {
  const p = app.participants.get(id);
  return (p && p.name) || app.names.get(id) || '';
}

/** A `slots` message: which site is in which slot, and their names. */
export function setSlots(assignments, names) {
  for (const [id, name] of Object.entries(names || {})) {
    if (typeof name === 'string' && name) app.names.set(id, name);
  }
  for (const key of Object.keys(app.slots)) {
    if (!(key in assignments)) delete app.slots[key];
  }
  for (const [slot, pid] of Object.entries(assignments || {})) app.slots[slot] = pid ?? null;
  renderTiles();
}

/** Empty every tile and audio element (the session is gone). */
export function resetMediaElements() {
  for (const parts of tiles.values()) parts.video.srcObject = null;
  for (const el of audioElements.values()) el.srcObject = null;
  for (const key of Object.keys(app.slots)) app.slots[key] = null;
  renderTiles();
}

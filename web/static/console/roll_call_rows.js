// The roll call's rows: tier headers and site rows, and the actions on them.

import { t } from '../shared/i18n.js';
import { icon } from '../shared/icons.js';
import { feedOfSite, isFeedSite } from './alerts.js';
import { onCameraAction } from './cameras.js';
import { scheduleRender } from './roll_call.js';
import { command } from './socket.js';
import { PRESENT, store, ui } from './state.js';
import { clock, el, iconButton, number, roomOpen, siteName, statusText, tierLabel } from './view.js';

/** A new, empty tier header row. */
export function groupRow() {
  const row = el('div', 'rc-row rc-group');
  row.setAttribute('role', 'row');
  const cell = el('span', 'rc-cell rc-group-cell');
  cell.setAttribute('role', 'rowheader');
  cell.setAttribute('aria-colspan', '12');
  const toggle = el('button', 'rc-group-toggle');
  toggle.type = 'button';
  toggle.append(el('span', 'rc-chevron'), el('span', 'rc-group-label'), el('span', 'rc-group-count'));
  cell.append(toggle);
  row.append(cell);
  return row;
}

/** A tier header row for `item` (name, counts, folded or not). */
export function fillGroup(row, item) {
  const tier = store.tiers.find((x) => x.depth === item.depth);
  const label = tierLabel(tier ? tier.label : item.unitType);
  const collapsed = ui.collapsed.has(item.depth);
  const signature = `${ui.epoch}|${label}|${tier ? `${tier.present}/${tier.total}` : ''}|${item.shown}|${collapsed}`;
  if (row._signature === signature) return;
  row._signature = signature;
  row.dataset.tierGroup = String(item.depth);
  const toggle = row.querySelector('.rc-group-toggle');
  toggle.dataset.toggleTier = String(item.depth);
  toggle.setAttribute('aria-expanded', String(!collapsed));
  toggle.setAttribute('aria-label', t(collapsed ? 'console.expand' : 'console.collapse', { label }));
  row.querySelector('.rc-group-label').textContent = label;
  row.querySelector('.rc-group-count').textContent = tier
    ? `${t('console.groupCount', { present: tier.present, total: tier.total })}${item.shown !== tier.total ? ` · ${t('console.showing', { shown: item.shown, total: tier.total })}` : ''}`
    : String(item.shown);
}

const CELLS = ['name', 'status', 'joined', 'rtt', 'loss', 'in', 'out', 'link', 'hand', 'mic', 'cam', 'actions'];
const CELL_CLASS = {
  name: 'rc-name', status: 'rc-status', joined: 'rc-joined', rtt: 'rc-num', loss: 'rc-num', in: 'rc-num',
  out: 'rc-num', link: 'rc-link', hand: 'rc-icon', mic: 'rc-icon', cam: 'rc-icon', actions: 'rc-actions',
};

/**
 * The link cell: the downlink estimate, and below it what the site's video slots
 * receive ("f · 3×q", "q · ½ hình/s" when the main slot gets its layer at a
 * reduced frame rate), how many are paused for its link, and whether its camera
 * is paused; the whole story in the title.
 */
function fillLink(cell, q, present) {
  cell.removeAttribute('title');
  const layers = q.layers || {};
  const paused = q.link_paused || [];
  const rates = q.frame_rates || {};
  const hasLink = present && (typeof q.downlink_kbps === 'number' || Object.keys(layers).length > 0 || q.sending);
  cell.classList.toggle('is-bad', !!hasLink && paused.length > 0);
  if (!hasLink) {
    cell.replaceChildren(el('span', '', '–'));
    return;
  }
  const counts = new Map();
  for (const [slot, rid] of Object.entries(layers)) {
    if (slot === 'main' || !rid) continue;
    counts.set(rid, (counts.get(rid) || 0) + 1);
  }
  const parts = [];
  if (layers.main) parts.push(layers.main);
  // The main tile's frame rate beside its layer; reduced thumbnails only counted.
  if (layers.main && rates.main) parts.push(t(`console.link.rate.${rates.main}`));
  for (const [rid, n] of counts) parts.push(n > 1 ? `${n}×${rid}` : rid);
  const slowThumbs = Object.keys(rates).filter((slot) => slot !== 'main').length;
  if (slowThumbs) parts.push(t('console.link.slowThumbs', { n: slowThumbs }));
  if (paused.length) parts.push(t('console.link.paused', { n: paused.length }));
  if (Array.isArray(q.sending) && q.sending.length === 0) parts.push(t('console.link.cameraPaused'));
  const kbps = el('span', 'link-kbps', typeof q.downlink_kbps === 'number' ? number(q.downlink_kbps) : '–');
  cell.replaceChildren(kbps, el('span', 'link-layers', parts.join(' · ') || '–'));
  const received = Object.entries(layers).map(([slot, rid]) => `${slot} ${rid || '–'}`).join(', ');
  cell.title = t('console.link.title', {
    downlink: typeof q.downlink_kbps === 'number' ? number(q.downlink_kbps) : '–',
    received: received || '–',
    paused: paused.join(', ') || '–',
    rates: Object.entries(rates).map(([slot, rate]) => `${slot} ${t(`console.link.rate.${rate}`)}`).join(', ') || '–',
    sending: Array.isArray(q.sending) ? (q.sending.join(', ') || t('console.link.none')) : '–',
    switches: typeof q.layer_switches === 'number' ? q.layer_switches : '–',
  });
}

/** A new, empty site row. */
export function siteRow() {
  const row = el('div', 'rc-row rc-site');
  row.setAttribute('role', 'row');
  row._cells = {};
  for (const name of CELLS) {
    const cell = el('span', `rc-cell ${CELL_CLASS[name]}`);
    cell.setAttribute('role', 'cell');
    cell.dataset.col = name;
    row._cells[name] = cell;
    row.append(cell);
  }
  return row;
}

function stateIcon(kind, off, present) {
  const holder = el('span', `state-icon ${off ? 'is-off' : ''}`);
  holder.setAttribute('role', 'img');
  const label = t(kind === 'mic' ? (off ? 'console.micOff' : 'console.micOn') : (off ? 'console.camOff' : 'console.camOn'));
  holder.setAttribute('aria-label', label);
  holder.title = label;
  holder.append(icon(off ? `${kind}-off` : kind));
  holder.classList.toggle('is-absent', !present);
  return holder;
}

/** A site row's cells for `site`. */
export function fillSite(row, site) {
  if (!site) return;
  const signature = `${site._v}|${ui.epoch}`;
  if (row._signature === signature && row.dataset.siteId === site.site_id) return;
  row._signature = signature;
  const id = site.site_id;
  const present = PRESENT.has(site.status);
  const isFloor = store.floor === id;
  const isSpot = store.spotlight === id;
  const isSpeaker = store.speaker === id;
  const isHost = store.meeting.host_site === id;
  const readmitted = site.status === 'removed' && ui.readmitted.has(id);
  row.dataset.siteId = id;
  row.dataset.status = site.status;
  row.dataset.depth = String(site.depth);
  row.classList.toggle('is-floor', isFloor);
  row.classList.toggle('is-spotlight', isSpot);
  row.classList.toggle('is-speaker', isSpeaker);
  row.classList.toggle('is-present', present);
  row.classList.toggle('has-hand', !!site.hand_raised_at);
  const c = row._cells;

  // Name, code and tags.
  const name = el('span', 'site-name', site.name);
  name.title = site.name;
  const meta = el('span', 'site-meta', site.unit_code || site.site_id);
  const tags = [];
  if (isHost) tags.push(['tag-host', 'console.tag.host']);
  // A camera is not a guest: its group says what it is.
  if (site.kind ? site.kind === 'guest' : !site.invited) tags.push(['tag-guest', 'console.tag.guest']);
  if (isFloor) tags.push(['tag-floor', 'console.tag.floor']);
  if (isSpot) tags.push(['tag-spotlight', 'console.tag.spotlight']);
  if (isSpeaker && !isFloor) tags.push(['tag-speaking', 'console.tag.speaker']);
  if (readmitted) tags.push(['tag-readmitted', 'console.tag.readmitted']);
  const tagNodes = tags.map(([cls, key]) => el('span', `rc-tag ${cls}`, t(key)));
  const line = el('span', 'site-line');
  line.append(name, ...tagNodes);
  c.name.replaceChildren(line, meta);

  // Status.
  const badge = el('span', 'rc-badge', statusText(site.status));
  badge.dataset.status = site.status;
  c.status.replaceChildren(badge);
  if (site.left_at && !present) c.status.title = t('console.leftAt', { time: clock(site.left_at) });
  else c.status.removeAttribute('title');

  // Times and quality.
  c.joined.textContent = site.joined_at ? clock(site.joined_at) : '–';
  const q = site.quality || {};
  const showQ = present;
  c.rtt.textContent = showQ ? number(q.rtt_ms) : '–';
  c.loss.textContent = showQ && typeof q.loss === 'number' ? `${number(q.loss * 100, 1)} %` : '–';
  c.in.textContent = showQ ? number(q.bitrate_in_kbps) : '–';
  c.out.textContent = showQ ? number(q.bitrate_out_kbps) : '–';
  fillLink(c.link, q, showQ);
  c.loss.classList.toggle('is-bad', showQ && typeof q.loss === 'number' && q.loss >= 0.05);
  c.rtt.classList.toggle('is-bad', showQ && typeof q.rtt_ms === 'number' && q.rtt_ms >= 400);
  if (showQ && q.at) {
    const sourceTitle = t(`console.qualitySource.${q.source === 'client' ? 'client' : 'server'}`, { time: clock(q.at) });
    for (const cell of [c.rtt, c.loss, c.in, c.out]) cell.title = sourceTitle;
  } else {
    for (const cell of [c.rtt, c.loss, c.in, c.out]) cell.removeAttribute('title');
  }

  // Hand, microphone, camera.
  if (site.hand_raised_at) {
    const hand = el('span', 'state-icon is-hand');
    const label = t('console.handRaised', { time: clock(site.hand_raised_at) });
    hand.setAttribute('role', 'img');
    hand.setAttribute('aria-label', label);
    hand.title = label;
    hand.append(icon('hand'));
    const position = store.hands.findIndex((h) => h.id === id);
    if (position >= 0) hand.append(el('span', 'hand-order', String(position + 1)));
    c.hand.replaceChildren(hand);
  } else {
    c.hand.replaceChildren();
  }
  c.mic.replaceChildren(present ? stateIcon('mic', !!site.audio_muted, present) : '');
  c.cam.replaceChildren(present ? stateIcon('cam', !!site.video_muted, present) : '');

  // Actions.
  const open = roomOpen();
  const actions = [];
  const who = site.name;
  if (isFeedSite(id)) {
    // A checkpoint camera: pin it or take it out; once out it comes back through the picker.
    if (present) {
      const spot = iconButton('spotlight', id, 'spotlight', t(isSpot ? 'console.action.unspotlight' : 'console.action.spotlight', { name: who }));
      spot.setAttribute('aria-pressed', String(isSpot));
      const out = iconButton('removeFeed', feedOfSite(id), 'remove', t('console.camera.removeLabel', { name: who }), 'rc-btn-danger');
      actions.push(spot, out);
    }
  } else if (present) {
    const give = iconButton('giveFloor', id, 'floor', t(isFloor ? 'console.action.takeFloor' : 'console.action.giveFloor', { name: who }), 'rc-btn-floor');
    give.setAttribute('aria-pressed', String(isFloor));
    const spot = iconButton('spotlight', id, 'spotlight', t(isSpot ? 'console.action.unspotlight' : 'console.action.spotlight', { name: who }));
    spot.setAttribute('aria-pressed', String(isSpot));
    const mute = site.audio_muted
      ? iconButton('unmute', id, 'mic', t('console.action.unmute', { name: who }))
      : iconButton('mute', id, 'mic-off', t('console.action.mute', { name: who }));
    actions.push(give, spot, mute);
  }
  if (isFeedSite(id)) {
    // A camera's actions are above.
  } else if (site.status === 'removed' && !readmitted) {
    actions.push(iconButton('readmit', id, 'readmit', t('console.action.readmit', { name: who })));
  } else if (!isHost) {
    actions.push(iconButton('remove', id, 'remove', t('console.action.remove', { name: who }), 'rc-btn-danger'));
  }
  for (const button of actions) button.disabled = !open;
  c.actions.replaceChildren(...actions);
}

// -- user actions -----------------------------------------------------------------------------

/** A click on a row's action button: the matching console command. */
export function onAction(event) {
  const button = event.target.closest('button');
  if (!button || button.disabled) return;
  const d = button.dataset;
  if (d.toggleTier !== undefined) {
    const depth = Number(d.toggleTier);
    if (ui.collapsed.has(depth)) ui.collapsed.delete(depth);
    else ui.collapsed.add(depth);
    ui.listDirty = true;
    ui.epoch += 1;
    scheduleRender();
    return;
  }
  if (d.giveFloor !== undefined) {
    const site = d.giveFloor;
    if (store.floor === site) command('take-floor', null, button).catch(() => {});
    else command('give-floor', site, button).catch(() => {});
  } else if (d.lowerHand !== undefined) {
    command('lower-hand', d.lowerHand, button).catch(() => {});
  } else if (d.spotlight !== undefined) {
    const site = d.spotlight;
    command('spotlight', store.spotlight === site ? null : site, button).catch(() => {});
  } else if (d.mute !== undefined) {
    command('mute', d.mute, button).catch(() => {});
  } else if (d.unmute !== undefined) {
    command('unmute', d.unmute, button).catch(() => {});
  } else if (d.remove !== undefined) {
    const site = d.remove;
    if (window.confirm(t('console.confirm.remove', { name: siteName(site) }))) {
      command('remove', site, button).catch(() => {});
    }
  } else if (d.removeFeed !== undefined) {
    onCameraAction(event);
  } else if (d.readmit !== undefined) {
    command('readmit', d.readmit, button).catch(() => {});
  }
}

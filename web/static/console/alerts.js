// Plate alerts from the checkpoint cameras in the meeting: the list and the toasts.

import { t } from '../shared/i18n.js';
import { icon } from '../shared/icons.js';
import { dom } from './dom.js';
import { store } from './state.js';
import { clock, el } from './view.js';

const TOAST_MS = 15_000; // a plate alert's toast stays this long (or until closed)
const TOASTS_MAX = 4; // toasts on screen at once; older ones go (the list keeps them)
export const ALERTS_KEPT = 100; // as the server keeps per room

const PLATE_COLOURS = new Set(['white', 'yellow', 'blue', 'red']);

// -- checkpoint cameras: plate alerts -----------------------------------------------------
// An `alert` message: a camera in the meeting read a plate on the watch list
// or from an outbreak province. It heads the list (#alert-list, newest first)
// and pops a toast (#alert-toasts) that goes by itself after TOAST_MS.

/** Whether a roll-call site id is a checkpoint camera's (`feed-…`). */
export const isFeedSite = (id) => typeof id === 'string' && id.startsWith('feed-');
/** The feed id of a camera's roll-call site id. */
export const feedOfSite = (id) => (isFeedSite(id) ? id.slice(5) : String(id || ''));

/** The registered feed `feedId` (GET /api/feeds), or null when not loaded or not allowed. */
export function feedInfo(feedId) {
  return (store.registeredFeeds || []).find((f) => f.id === feedId) || null;
}

/** A camera's name for people: its registered name, else its roll-call name (the checkpoint). */
export function cameraName(feedId) {
  const feed = feedInfo(feedId);
  if (feed) return feed.name;
  const row = store.sites.get(`feed-${feedId}`);
  return row ? row.name : feedId;
}

/** The plate as read, for people ("30A-123.45"). */
function alertPlate(alert) {
  return alert.display || alert.plate || '?';
}

/** Why a pass alerts, one line per list it matched. */
function alertReasons(alert) {
  const items = Array.isArray(alert.alerts) ? alert.alerts : [];
  if (!items.length) return alert.text ? [alert.text] : [];
  return items.map((item) => {
    const key = item.kind === 'outbreak' ? 'console.alert.outbreak' : 'console.alert.watch';
    let line = t(key, {
      pattern: item.pattern || '',
      province: alert.province_code || '',
      reason: item.reason || '',
    });
    if (item.fuzzy) line += ` (${t('console.alert.fuzzy', { detail: item.fuzzy })})`;
    return line;
  });
}

/** The plate crop's URL: the message's `crop` (null: none kept); older servers: the event's. */
function alertCropUrl(alert) {
  if ('crop' in alert) return typeof alert.crop === 'string' && alert.crop.startsWith('/') ? alert.crop : null;
  return alert.event ? `/api/anpr/events/${encodeURIComponent(alert.event)}/plate.jpg` : null;
}

function alertCrop(alert, className) {
  const url = alertCropUrl(alert);
  if (!url) return null;
  const img = el('img', className);
  img.alt = t('console.alert.cropAlt', { plate: alertPlate(alert) });
  img.decoding = 'async';
  img.addEventListener('error', () => img.remove(), { once: true }); // deleted by retention
  img.src = url;
  return img;
}

/** An `alert` message: heads the list and pops a toast. */
export function addAlert(message) {
  store.alerts.push(message);
  if (store.alerts.length > ALERTS_KEPT) store.alerts.splice(0, store.alerts.length - ALERTS_KEPT);
  const item = alertItem(message);
  dom.alertList.prepend(item);
  while (dom.alertList.children.length > ALERTS_KEPT) dom.alertList.lastElementChild.remove();
  renderAlertCount();
  showToast(message);
}

function alertItem(alert) {
  const li = el('li', 'alert-item');
  li.dataset.event = alert.event || '';
  li.dataset.plate = alert.plate || '';
  li._alert = alert;
  fillAlertItem(li, alert);
  return li;
}

function fillAlertItem(li, alert) {
  const head = el('div', 'alert-item-head');
  const plate = el('span', 'alert-plate', alertPlate(alert));
  plate.lang = 'vi';
  const time = el('time', 'alert-time', clock(alert.at));
  if (typeof alert.at === 'number') time.dateTime = new Date(alert.at * 1000).toISOString();
  head.append(plate, time);
  const where = el('p', 'alert-checkpoint', alert.checkpoint || cameraName(alert.feed));
  // The plate's background says what kind of vehicle it is (yellow: commercial transport).
  if (PLATE_COLOURS.has(alert.colour)) {
    where.append(el('span', 'alert-colour', ` · ${t(`console.alert.colour.${alert.colour}`)}`));
  }
  const reasons = el('ul', 'alert-reasons');
  for (const line of alertReasons(alert)) reasons.append(el('li', 'alert-reason', line));
  const text = el('div', 'alert-item-text');
  text.append(head, where, reasons);
  const crop = alertCrop(alert, 'alert-crop');
  li.replaceChildren(...(crop ? [crop, text] : [text]));
}

function renderAlertCount() {
  dom.alertsCount.textContent = String(store.alerts.length);
  dom.alertsEmpty.hidden = store.alerts.length > 0;
}

/** The alert list, newest first, and its count. */
export function renderAlerts() {
  const items = store.alerts.slice().reverse().map(alertItem);
  dom.alertList.replaceChildren(...items);
  renderAlertCount();
}

function showToast(alert) {
  const toast = el('div', 'alert-toast');
  toast.setAttribute('role', 'alert');
  toast.dataset.event = alert.event || '';
  toast.dataset.plate = alert.plate || '';
  toast._alert = alert;
  fillToast(toast, alert);
  dom.toasts.append(toast);
  while (dom.toasts.children.length > TOASTS_MAX) dom.toasts.firstElementChild.remove();
  toast._timer = setTimeout(() => hideToast(toast), TOAST_MS);
  // Hovering or focusing a toast keeps it until the pointer or focus leaves.
  const hold = () => clearTimeout(toast._timer);
  const release = () => {
    clearTimeout(toast._timer);
    toast._timer = setTimeout(() => hideToast(toast), TOAST_MS / 3);
  };
  toast.addEventListener('mouseenter', hold);
  toast.addEventListener('focusin', hold);
  toast.addEventListener('mouseleave', release);
  toast.addEventListener('focusout', release);
}

/** A toast's content for `alert` (again after a language switch). */
export function fillToast(toast, alert) {
  if (!alert) return;
  const title = el('p', 'alert-toast-title');
  const plate = el('span', 'alert-plate', alertPlate(alert));
  plate.lang = 'vi';
  title.append(icon('warning'), el('span', '', t('console.alert.toastTitle')), plate);
  const where = el('p', 'alert-toast-where', t('console.alert.where', {
    checkpoint: alert.checkpoint || cameraName(alert.feed),
    time: clock(alert.at),
  }));
  const reasons = el('p', 'alert-toast-reason', alertReasons(alert).join(' · '));
  const text = el('div', 'alert-toast-text');
  text.append(title, where, reasons);
  const close = el('button', 'console-dismiss alert-toast-close');
  close.type = 'button';
  close.dataset.closeToast = '';
  close.setAttribute('aria-label', t('console.alert.close'));
  close.title = t('console.alert.close');
  close.append(icon('x'));
  const crop = alertCrop(alert, 'alert-toast-crop');
  toast.replaceChildren(...(crop ? [crop, text, close] : [text, close]));
}

/** Take a toast off the screen. */
export function hideToast(toast) {
  if (!toast) return;
  clearTimeout(toast._timer);
  toast.remove();
}

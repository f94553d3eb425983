// Small helpers for what the console shows: names, numbers, times, elements.

import { getLang, t } from '../shared/i18n.js';
import { icon } from '../shared/icons.js';
import { clockIn } from '../shared/time.js';
import { UNIT_TYPES_EN } from './messages.js';
import { page } from '../shared/api.js';
import { store } from './state.js';

// -- small helpers ----------------------------------------------------------------------

/** Two digits. */
export const pad = (n) => String(n).padStart(2, '0');

/** "HH:mm:ss" of an epoch-seconds time in the server's zone (CONFERENCE_TIMEZONE, from the page). */
export function clock(seconds) {
  return clockIn(seconds, page.timezone);
}

/** A number in the active language's format; '–' when unknown. */
export function number(value, digits = 0) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  return value.toLocaleString(getLang() === 'vi' ? 'vi-VN' : 'en-GB', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** A site's name, or its id when the roll call does not know it. */
export function siteName(id) {
  if (!id) return '';
  const site = store.sites.get(id);
  return site ? site.name : id;
}

/** Whether a roll-call group counts towards attendance (invited sites), not guests or cameras. */
export const isAttendance = (tier) => !tier.kind || tier.kind === 'site';

/** A tier's name in the active language. */
export function tierLabel(label) {
  if (getLang() === 'en') return UNIT_TYPES_EN[label] || label || '–';
  return label || '–';
}

/** A roll-call status in words. */
export function statusText(status) {
  return t(`console.status.${status}`);
}

/** A new element with a class and text. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

/** A row's icon button for `action` on `site`, labelled for screen readers. */
export function iconButton(action, site, iconName, label, extraClass = '') {
  const button = el('button', `rc-btn ${extraClass}`.trim());
  button.type = 'button';
  button.dataset[action] = site;
  button.setAttribute('aria-label', label);
  button.title = label;
  button.append(icon(iconName));
  return button;
}

/** Whether commands can go: the socket is up and the room not closed. */
export function roomOpen() {
  return !store.closed && store.state === 'connected';
}

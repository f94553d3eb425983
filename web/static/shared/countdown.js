// The countdown to an announced end (a meeting closing), shown in a banner by
// the meeting page and the host console alike.

import { t } from './i18n.js';

const pad = (n) => String(n).padStart(2, '0');

/** A deadline some seconds away, re-rendered by `render` every second until stopped. */
export class Countdown {
  constructor(render) {
    this.render = render;
    this.deadline = 0; // ms epoch, 0: none announced
    this.timer = null;
  }

  /** Count down from `seconds` (a new announcement replaces the old one). */
  start(seconds) {
    if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return;
    this.deadline = Date.now() + Math.max(0, seconds) * 1000;
    clearInterval(this.timer);
    this.timer = setInterval(this.render, 1000);
    this.render();
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.deadline = 0;
    this.render();
  }

  get running() {
    return this.deadline > 0;
  }

  /** Whole seconds to go. */
  get left() {
    return Math.max(0, Math.ceil((this.deadline - Date.now()) / 1000));
  }
}

/**
 * Show `countdown` in `banner` (its words in `text`) while `visible`: minutes and
 * mm:ss, then seconds (`keys.minutes`, `keys.seconds`, `keys.now` at zero), urgent
 * in the last minute.
 */
export function showCountdown(banner, text, countdown, keys, visible) {
  banner.hidden = !visible;
  if (!visible) return;
  const left = countdown.left;
  if (left >= 60) text.textContent = `${t(keys.minutes, { n: Math.ceil(left / 60) })} (${pad(Math.floor(left / 60))}:${pad(left % 60)})`;
  else text.textContent = t(left > 0 ? keys.seconds : keys.now, { n: left });
  banner.dataset.seconds = String(left);
  banner.classList.toggle('is-urgent', left <= 60);
}

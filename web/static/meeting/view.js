// Small helpers for elements: translated text, icons, playing media.

import { t } from '../shared/i18n.js';
import { icon } from '../shared/icons.js';
import { dom } from './dom.js';

// -- small helpers ----------------------------------------------------------------------

/** The text of `key` in `el`; without params it follows language switches. */
export function setText(el, key, params) {
  if (!el) return;
  if (params) {
    delete el.dataset.i18n;
  } else {
    el.dataset.i18n = key;
  }
  el.textContent = t(key, params);
}

/** Swap a button's icon. */
export function setIcon(button, name) {
  const holder = button && button.querySelector('[data-icon]');
  if (holder && holder.dataset.icon !== name) {
    holder.dataset.icon = name;
    holder.replaceChildren(icon(name));
  }
}

/** `track` if it is still live, else null. */
export function liveTrack(track) {
  return track && track.readyState === 'live' ? track : null;
}

/** Play a media element; when the browser blocks audio, offer the enable-audio button. */
export function playMedia(el) {
  const promise = el.play && el.play();
  if (promise && promise.catch) {
    promise.catch((err) => {
      if (err && err.name === 'NotAllowedError' && el.tagName === 'AUDIO') {
        dom.enableAudio.hidden = false; // autoplay with sound blocked: ask for a click
      }
    });
  }
}

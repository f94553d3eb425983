// The head of the console: title, counts, lock state and the room controls.

import { t } from '../shared/i18n.js';
import { icon } from '../shared/icons.js';
import { hideNotice, showNotice } from './banners.js';
import { renderCameraControls } from './cameras.js';
import { dom } from './dom.js';
import { renderPresenting } from './presenting.js';
import { renderRecording } from './recording.js';
import { store } from './state.js';
import { el, isAttendance, roomOpen, tierLabel } from './view.js';
import { renderWallControls } from './walls.js';

// -- header: title, counts, connection, lock ----------------------------------------------

/** The meeting's title in the heading and the document title. */
export function renderTitle() {
  const title = store.meeting.title || (store.room && store.room.name) || '';
  dom.title.textContent = title || '\u00a0';
  document.title = `${title ? `${title} – ` : ''}${t('console.title')} – ${t('app.title')}`;
}

/** Present / invited, per tier and per status. */
export function renderCounts() {
  // Tiers: "Tỉnh: 1/1 · Huyện: 1/9 · Xã: 171/178".
  const parts = [];
  let present = 0;
  let total = 0;
  store.tiers.forEach((tier, index) => {
    // Guests and cameras have their own groups: shown as "how many are in",
    // never added to the invited sites' attendance.
    const attendance = isAttendance(tier);
    if (attendance) {
      present += Number(tier.present) || 0;
      total += Number(tier.total) || 0;
    }
    if (index > 0) parts.push(el('span', 'tier-sep', ' · '));
    const count = attendance ? `${tier.present}/${tier.total}` : String(tier.present);
    const item = el('span', 'tier-count', `${tierLabel(tier.label)}: ${count}`);
    item.dataset.tierDepth = String(tier.depth);
    item.dataset.kind = tier.kind || 'site';
    item.dataset.present = String(tier.present);
    item.dataset.total = String(tier.total);
    item.classList.toggle('is-complete', attendance && tier.total > 0 && tier.present === tier.total);
    parts.push(item);
  });
  for (const sep of parts) if (sep.classList.contains('tier-sep')) sep.setAttribute('aria-hidden', 'true');
  dom.tiers.replaceChildren(...parts);
  if (!store.tiers.length) {
    present = store.present;
    total = store.sites.size;
  }
  store.present = present;
  dom.present.textContent = String(present);
  dom.invited.textContent = String(total || store.sites.size);
}

/** Enable the room controls as the room and the socket allow. */
export function renderControls() {
  const connected = store.state === 'connected';
  const open = roomOpen();
  // Lock.
  dom.lockState.dataset.locked = String(store.locked);
  const lockKey = store.closed ? 'console.room.closed' : store.locked ? 'console.room.locked' : 'console.room.open';
  dom.lockStateText.dataset.i18n = lockKey;
  dom.lockStateText.textContent = t(lockKey);
  const lockIconName = store.closed ? 'clock' : store.locked ? 'lock' : 'unlock';
  if (dom.lockIcon.dataset.icon !== lockIconName) {
    dom.lockIcon.dataset.icon = lockIconName;
    dom.lockIcon.replaceChildren(icon(lockIconName));
  }
  dom.toggleLock.setAttribute('aria-pressed', String(store.locked));
  dom.toggleLock.classList.toggle('is-on', store.locked);
  const lockText = dom.toggleLock.querySelector('.btn-text');
  lockText.dataset.i18n = store.locked ? 'console.unlock' : 'console.lock';
  lockText.textContent = t(lockText.dataset.i18n);
  const lockButtonIcon = dom.toggleLock.querySelector('[data-icon]');
  const wanted = store.locked ? 'unlock' : 'lock';
  if (lockButtonIcon.dataset.icon !== wanted) {
    lockButtonIcon.dataset.icon = wanted;
    lockButtonIcon.replaceChildren(icon(wanted));
  }
  const busy = (button) => button.getAttribute('aria-busy') === 'true';
  dom.toggleLock.disabled = !open || busy(dom.toggleLock);
  dom.muteAll.disabled = !open || busy(dom.muteAll);
  dom.takeFloor.disabled = !open || !store.floor || busy(dom.takeFloor);
  dom.clearSpotlight.disabled = !open || !store.spotlight || busy(dom.clearSpotlight);
  dom.table.setAttribute('aria-busy', String(!connected));
  renderRecording();
  renderPresenting();
  renderCameraControls();
  renderWallControls();
}

/** A closed room's sticky notice, or none once it opens again. */
export function renderClosed() {
  if (store.closed) {
    showNotice(t(store.closed === 'cancelled' ? 'console.closed.cancelled' : 'console.closed'), 0);
  } else if (dom.notice.dataset.sticky === 'true') {
    hideNotice();
  }
  renderControls();
}

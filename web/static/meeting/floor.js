// Floor control: the raised hand, the floor, the host's mute.

import { t } from '../shared/i18n.js';
import { dom } from './dom.js';
import { applyTrackStates, sendMute, updateControls } from './media.js';
import { renderPeople } from './participants.js';
import { showNotice } from './screens.js';
import { app, isViewer } from './state.js';
import { siteName } from './tiles.js';
import { liveTrack, setText } from './view.js';

// -- floor control: raised hand, the floor, the host's mute, the closing countdown ----

/** The raise-hand button: pressed, its words, enabled while connected. */
export function updateHandButton() {
  const button = dom.toggleHand;
  const hasFloor = !!app.floor && app.floor === app.selfId;
  const usable = !!app.session && app.session.welcomed && !app.session.closed;
  const raised = app.handRaised && !hasFloor;
  button.hidden = isViewer;
  button.disabled = !usable || hasFloor;
  button.setAttribute('aria-pressed', String(raised));
  button.classList.toggle('is-raised', raised);
  button.classList.toggle('has-floor', hasFloor);
  setText(button.querySelector('.btn-text'), hasFloor ? 'hand.floor' : raised ? 'hand.lower' : 'hand.raise');
}

/** Ask for the floor (or stop asking). */
export function setHandRaised(raised) {
  const session = app.session;
  if (isViewer || !session || !session.welcomed || app.floor === app.selfId) return false;
  raised = !!raised;
  if (!session.send({ type: 'hand', raised })) return false;
  app.handRaised = raised; // the server's `hand` confirms (or corrects) it
  updateHandButton();
  if (raised) showNotice('hand.raised');
  else if (app.noticeKey && app.noticeKey.key === 'hand.raised') showNotice(null);
  return true;
}

/** The server's word on this site's hand (raised or lowered). */
export function onHand(raised) {
  const wasRaised = app.handRaised;
  app.handRaised = raised;
  if (wasRaised && !raised && app.floor !== app.selfId) showNotice('hand.lowered');
  updateHandButton();
}

/** The floor moved to `id` (null: nobody). */
export function onFloor(id) {
  const previous = app.floor;
  app.floor = id;
  if (id && id === app.selfId && previous !== id) {
    // Given the floor: the host's mute is lifted and the microphone comes on by itself.
    app.mutedByHost = false;
    app.handRaised = false;
    if (liveTrack(app.audioTrack)) {
      if (app.micMuted) {
        app.micMuted = false;
        applyTrackStates();
        sendMute();
      } else {
        app.audioTrack.enabled = true;
      }
      showNotice('floor.self');
    } else {
      showNotice('floor.selfNoMic');
    }
  } else if (previous && previous === app.selfId && id !== app.selfId) {
    showNotice('floor.over');
  }
  updateControls();
  renderFloor();
  renderPeople();
}

/** The floor banner (meeting screen): who has the floor, this site included. */
export function renderFloor() {
  const id = app.floor;
  const show = !!id && app.screen === 'meeting';
  dom.floorBanner.hidden = !show;
  dom.floorBanner.classList.toggle('is-self', !!id && id === app.selfId);
  if (show) {
    dom.floorBanner.dataset.site = id;
    // In a large room a holder outside our slots has no known name: show its code.
    const name = siteName(id) || `${t('site')} ${id}`;
    dom.floorText.textContent = t('floor.banner', { name: id === app.selfId ? `${name} (${t('you')})` : name });
  } else {
    delete dom.floorBanner.dataset.site;
    dom.floorText.textContent = '';
  }
}

/** The host muted (or unmuted) this site's microphone; `refused`: this site's unmute was refused. */
export function onMutedByHost(muted, refused = false) {
  app.mutedByHost = muted;
  if (muted) {
    if (!app.micMuted) {
      app.micMuted = true;
      applyTrackStates();
      sendMute();
    } else if (app.audioTrack) {
      app.audioTrack.enabled = false;
    }
    showNotice(refused ? 'hostMute.hint' : 'hostMute.on');
  } else {
    showNotice('hostMute.off');
  }
  updateControls();
}

/** The meeting is being recorded (or no longer is): the red indicator in the top bar. */

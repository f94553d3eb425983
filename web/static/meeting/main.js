// The browser meeting page: pre-join check, signaling, the peer connection,
// the slot layout and automatic reconnection.
//
// Protocol (web/messages.py): the client sends `join`, the server answers with
// `welcome`, `offer` and `slots`; the client answers the offer. Video arrives in
// fixed receive slots ("main", "thumb-N"), audio in "audio-N"; `slots` says
// which site is in which slot.
//
// This module starts the page and binds its controls. The rest is in the
// modules next to it: session (the signaling socket), signaling (the server's
// messages), peer (the peer connection), reconnect, joining (join, leave, end),
// media (camera and microphone), tiles, participants, floor, stats, screens
// (screens, indicator, banners); shared state in state.js, elements in dom.js.

import { addMessages, applyI18n, getLang, onLangChange, t, toggleLang } from '../shared/i18n.js';
import { fillIcons } from '../shared/icons.js';
import { formatMoment } from '../shared/time.js';
import { chat, initChat, renderChat } from './chat.js';
import { dom } from './dom.js';
import { setPeers, settleHome } from './failover.js';
import { renderFloor, setHandRaised } from './floor.js';
import { backToPrejoin, join, leave, renderEnded, requestWakeLock } from './joining.js';
import {
  closeDeviceDialog,
  fillDevicePickers,
  flipCamera,
  onNewDeviceKind,
  openDeviceDialog,
  pickDevice,
  pickSpeaker,
  restoreDeviceSettings,
} from './devices.js';
import { acquireMedia, setCamMuted, setMicMuted, updateControls, updateMediaViews } from './media.js';
import { startQuality, renderAll as renderQuality } from './quality.js';
import { renderPeople } from './participants.js';
import { togglePresenting, updatePresentButton } from './presenting.js';
import { clearReconnectTimer, teardownSession, updateCountdown } from './reconnect.js';
import { takeRejoin } from './rejoin.js';
import { closing, renderClosing, setState, showError, showNotice, showScreen } from './screens.js';
import { connect } from './session.js';
import { app, audioElements, config, isViewer, room, token } from './state.js';
import { registerTile } from './tiles.js';
import { playMedia, setText } from './view.js';
import { initVotes, renderVote, voteState } from './votes.js';
import { MESSAGES } from './messages.js';
import { TALK_MESSAGES } from './talk_messages.js';

addMessages(MESSAGES);
addMessages(TALK_MESSAGES);

const WIDE_PANEL_MIN_WIDTH = 1500;

window.addEventListener('online', () => {
  if (app.stopped) return;
  if (app.reconnectTimer) {
    clearReconnectTimer();
    connect();
  } else if (app.session && !app.session.connected && app.state !== 'connecting') {
    connect();
  }
});

window.addEventListener('offline', () => {
  if (!app.stopped && app.screen === 'meeting') setText(dom.stageOverlayText, 'reconnect.offline');
});

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && !app.stopped) requestWakeLock();
});

window.addEventListener('pagehide', () => {
  // Closing or reloading the tab: tell the server now rather than after a timeout.
  if (app.session) app.session.send({ type: 'leave' });
  teardownSession();
});

// -- layout: participants panel ------------------------------------------------------------

function setPanelOpen(open) {
  dom.panel.hidden = !open;
  dom.meeting.classList.toggle('panel-open', open);
  dom.toggleParticipants.setAttribute('aria-expanded', String(open));
  dom.toggleParticipants.classList.toggle('is-active', open);
}

// -- language ---------------------------------------------------------------------------

function renderLanguage() {
  applyI18n();
  document.title = `${room.name} – ${t('app.title')}`;
  dom.langToggle.setAttribute('lang', getLang() === 'vi' ? 'en' : 'vi');
  if (config.expires) {
    dom.prejoinExpires.hidden = false;
    setText(dom.prejoinExpires, 'prejoin.expires', { time: formatMoment(new Date(config.expires * 1000)) });
  }
  if (app.noticeKey) showNotice(app.noticeKey.key, app.noticeKey.params);
  if (app.reconnectTimer) updateCountdown();
  if (app.errorCode) showError(app.errorCode);
  if (app.screen === 'left') renderEnded();
  updateControls();
  updateMediaViews();
  renderPeople();
  renderFloor();
  renderClosing();
  renderChat();
  renderVote();
  updatePresentButton();
  // Device names that were numbered ("Camera 1") follow the language too.
  if (!dom.devicePickers.hidden) fillDevicePickers();
  renderQuality();
}

// -- start ------------------------------------------------------------------------------

function init() {
  fillIcons();
  registerTile(dom.mainTile);
  dom.joinButton.addEventListener('click', () => join());
  dom.leaveButton.addEventListener('click', () => leave());
  dom.rejoinButton.addEventListener('click', () => backToPrejoin());
  dom.langToggle.addEventListener('click', () => toggleLang());
  for (const button of [dom.toggleMic, dom.prejoinMic]) {
    button.addEventListener('click', () => setMicMuted(!app.micMuted));
  }
  for (const button of [dom.toggleCam, dom.prejoinCam]) {
    button.addEventListener('click', () => setCamMuted(!app.camMuted));
  }
  dom.toggleParticipants.addEventListener('click', () => setPanelOpen(dom.panel.hidden));
  dom.toggleHand.addEventListener('click', () => setHandRaised(!app.handRaised));
  initChat();
  initVotes();
  dom.togglePresent.addEventListener('click', () => togglePresenting());
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !dom.panel.hidden && window.innerWidth < WIDE_PANEL_MIN_WIDTH) {
      setPanelOpen(false);
      dom.toggleParticipants.focus();
    }
  });
  dom.enableAudio.addEventListener('click', () => {
    dom.enableAudio.hidden = true;
    for (const el of audioElements.values()) playMedia(el);
  });
  dom.cameraSelect.addEventListener('change', () => pickDevice('videoinput'));
  dom.micSelect.addEventListener('change', () => pickDevice('audioinput'));
  dom.speakerSelect.addEventListener('change', () => pickSpeaker());
  for (const button of [dom.prejoinFlip, dom.selfFlip]) button.addEventListener('click', () => flipCamera());
  dom.toggleDevices.addEventListener('click', () => openDeviceDialog());
  dom.deviceDialogClose.addEventListener('click', () => closeDeviceDialog());
  dom.deviceDialog.addEventListener('close', () => restoreDeviceSettings());
  // A device plugged in or out: the pickers follow.
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener('devicechange', () => fillDevicePickers());
  }
  // A camera or microphone the connection was not made with: a new connection sends it.
  onNewDeviceKind(() => connect());
  startQuality();
  onLangChange(renderLanguage);

  dom.body.classList.toggle('is-viewer', isViewer);
  setPanelOpen(window.innerWidth >= WIDE_PANEL_MIN_WIDTH);
  showScreen('prejoin');
  setState('idle');
  renderLanguage();

  if (!token) {
    showError('token-missing');
    dom.joinButton.disabled = true;
    return;
  }
  dom.joinButton.disabled = true;
  setPeers(config.connect); // until the socket's `nodes` names the live ones
  const rejoin = takeRejoin();
  app.mediaPromise = acquireMedia()
    .catch((err) => console.error('media setup failed', err))
    .finally(() => {
      dom.joinButton.disabled = false;
      updateMediaViews();
      updateControls();
      if (rejoin) {
        // Sent here from the meeting's old node after "Tham gia" there: join again as we were.
        setMicMuted(rejoin.micMuted);
        setCamMuted(rejoin.camMuted);
        if (rejoin.failover) joinWhereTheMeetingIs();
        else join();
      }
    });
}

/** Came here unasked from a dead node: join once this node holds the meeting (or go where it is). */
async function joinWhereTheMeetingIs() {
  dom.joinButton.disabled = true;
  setState('reconnecting');
  showNotice('failover.searching');
  if (!(await settleHome())) return; // leaving for the node that holds it
  showNotice(null);
  dom.joinButton.disabled = false;
  join();
}

// For automated tests and for support staff looking at the console.
window.conference = {
  get pc() {
    return app.session ? app.session.pc : null;
  },
  get socket() {
    return app.session ? app.session.ws : null;
  },
  get state() {
    return app.state;
  },
  get screen() {
    return app.screen;
  },
  get slots() {
    return app.slots;
  },
  get participants() {
    return app.participants;
  },
  get localStream() {
    return app.localStream;
  },
  get selfId() {
    return app.selfId;
  },
  get speaker() {
    return app.speaker;
  },
  get micMuted() {
    return app.micMuted;
  },
  get peers() {
    return [...app.peers];
  },
  get camMuted() {
    return app.camMuted;
  },
  get lang() {
    return getLang();
  },
  get floor() {
    return app.floor;
  },
  get recording() {
    return app.recording;
  },
  get mutedByHost() {
    return app.mutedByHost;
  },
  get handRaised() {
    return app.handRaised;
  },
  get presenter() {
    return app.presenter;
  },
  get presenting() {
    return app.presenting;
  },
  get screenTrack() {
    return app.screenTrack;
  },
  get count() {
    return Math.max(app.count, app.participants.size);
  },
  get names() {
    return app.names;
  },
  get closingSeconds() {
    return closing.running ? closing.left : null;
  },
  get slotMids() {
    return app.slotMids;
  },
  get publishMids() {
    return app.session ? { ...(app.session.publishMids || {}) } : {};
  },
  get publishVideo() {
    return app.session ? app.session.publishVideo : null;
  },
  get linkPaused() {
    return [...app.linkPaused];
  },
  get downlinkKbps() {
    return app.downlinkKbps;
  },
  get chat() {
    return { messages: [...chat.messages], unread: chat.unread, error: chat.error };
  },
  get vote() {
    return { ...voteState };
  },
  get micLevel() {
    return app.micLevel;
  },
  get micPeak() {
    return app.micPeak;
  },
  get linkQuality() {
    return app.linkQuality;
  },
  get mediaWarning() {
    return app.mediaWarningKey;
  },
  join,
  leave,
  setMicMuted,
  setCamMuted,
  raiseHand: setHandRaised,
  togglePresenting,
};

init();

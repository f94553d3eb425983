// The page's data (<body data-config>, the join token) and what the page knows
// (`app`, the tiles and audio elements): the one place the modules share state.

import { takeJoinToken } from '../shared/join_token.js';
import { bodyJson } from '../shared/page_data.js';

// -- page data --------------------------------------------------------------------------

/** The page's data from meeting.html: room, site, expiry. */
export const config = bodyJson('config');

/** The room: {id, name}. */
export const room = config.room || { id: '', name: '' };
const site = config.site || { name: '', role: 'participant' };
// Taken out of the address bar and the history at once (see ../shared/join_token.js).
export const token = takeJoinToken(room.id);
/** This site only watches and listens. */
export const isViewer = site.role === 'viewer';

// -- state ------------------------------------------------------------------------------

/** What the page knows; also read by `window.conference`. */
export const app = {
  screen: 'prejoin', // prejoin | meeting | left
  state: 'idle', // idle | connecting | connected | reconnecting | disconnected | left | error
  localStream: null,
  audioTrack: null,
  videoTrack: null,
  micMuted: false,
  camMuted: false,
  mediaPromise: null,
  mediaWarningKey: null,
  mediaStatusKey: 'prejoin.checking',
  session: null,
  stopped: true, // true: nothing may reconnect
  attempt: 0,
  reconnecting: false, // a drop was noticed: "reconnected" is said when media flows again
  reconnectTimer: null,
  reconnectDeadline: 0,
  countdownTimer: null,
  selfId: null,
  speaker: null,
  participants: new Map(),
  away: new Set(), // sites whose connection was lost: their tiles say "reconnecting"
  names: new Map(), // site id -> name, from participants and `slots.names` (large rooms)
  count: 0, // sites in the room (large rooms list only some of them in `participants`)
  floor: null, // the site that has the floor
  recording: false, // the meeting is being recorded (`welcome.recording`, `recording`)
  handRaised: false,
  mutedByHost: false,
  screenTrack: null, // the screen, window or tab this site presents (getDisplayMedia)
  presenting: 'idle', // idle | asking | pending (the host decides) | live
  presenter: null, // the site whose presentation is in the main slot (`presentation`)
  slots: {},
  slotKinds: {},
  slotMids: {}, // slot name -> mid of its section (for getStats)
  linkPaused: new Set(), // slots the server paused for this site's downlink (`link`)
  peers: [], // the cluster's other nodes (`nodes`): asked where the meeting went if ours dies
  downlinkKbps: null, // the server's estimate of this site's downlink
  micLevel: 0, // the microphone's level now, 0-1 (meter.js)
  micPeak: 0, // the highest level measured since the page opened
  linkQuality: {}, // slot (and 'self') -> {level 0-4, loss, rtt, jitter, fps} (quality.js)
  wakeLock: null,
  noticeKey: null,
  errorKey: null,
  errorCode: null,
  endedKind: null,
};

/** The video tiles, by slot name. */
export const tiles = new Map(); // slot name -> tile parts
/** The <audio> elements, by slot name. */
export const audioElements = new Map(); // slot name -> <audio>

// What the console knows (`store`, also `window.consoleState`) and its own
// bookkeeping (`ui`): the one place the modules share state.

import { page } from '../shared/api.js';

/** A roll-call row's statuses, in the order the filters list them. */
export const STATUSES = ['not-joined', 'connecting', 'connected', 'poor', 'left', 'removed'];
/** The statuses that count as present. */
export const PRESENT = new Set(['connecting', 'connected', 'poor']);

/** The console's root element (#console). */
export const root = document.getElementById('console');
/** The meeting this console runs. */
export const meetingId = page.meeting_id || (root && root.dataset.meetingId) || '';

// -- state ------------------------------------------------------------------------------

/** Everything the console knows; also `window.consoleState` for tests and support staff. */
export const store = {
  sites: new Map(), // site id -> roll-call row (plus _v, _key: render bookkeeping)
  tiers: [],
  hands: [], // [{id, at}] in order
  floor: null,
  spotlight: null,
  speaker: null,
  locked: false,
  present: 0,
  meeting: { id: meetingId, title: '', host_site: null },
  room: null,
  closed: null, // reason, once the room closed
  state: 'connecting', // the console socket: connecting | connected | reconnecting
  loaded: false,
  recording: false, // the room is being recorded (console state `recording`, `recording` events)
  roomLive: false, // the state came from a live room (it has `recording`): recording is possible
  recordingReason: null, // why the last recording stopped
  recordingId: null, // the recording this console started or stopped last
  warning: null, // {code, message}: the last `warning` event, until dismissed
  alerts: [], // plate alerts of the room, oldest first (console state `alerts`, `alert` events)
  feeds: [], // ids of the checkpoint cameras in the meeting (console state `feeds`)
  presenting: { presenter: null, requests: [], approval: false }, // `presenting` events
  registeredFeeds: null, // GET /api/feeds: the cameras this user may bring in
};

/** The console's own bookkeeping: the socket, timers, pending commands, the virtual table. */
export const ui = {
  ws: null,
  attempt: 0,
  reconnectTimer: null,
  reconnectAt: 0,
  countdownTimer: null,
  nextId: 1,
  pending: new Map(), // command id -> {command, site, button, timer}
  order: [], // site ids sorted by tier then name
  orderDirty: true,
  items: [], // the filtered flat list: {kind: 'group', depth} | {kind: 'site', id}
  listDirty: true,
  epoch: 0, // bumped when something every row shows changes (floor, language...)
  rendered: new Map(), // item key -> row element
  frame: 0,
  collapsed: new Set(), // tier depths folded away
  readmitted: new Set(), // removed sites let back in (the roll call says `removed` until they come)
  filter: { status: 'all', tier: 'all', text: '' },
  counts: {},
  shown: 0,
  noticeTimer: null,
  errorTimer: null,
  textTimer: null,
  feedsLoading: false,
  feedsError: null, // why GET /api/feeds failed
  wallsDirty: false, // a roll-call delta touched a camera wall's row
};

/** Sorts names the Vietnamese way, numbers by value. */
export const collator = new Intl.Collator('vi', { sensitivity: 'base', numeric: true });

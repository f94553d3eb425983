// A page whose node stops answering (killed, its machine down) asks the cluster's
// other nodes, which the `nodes` message named, where its meeting's home is now,
// and moves to the first node that answers "here" (it claimed the meeting, and it
// answers: its page will load). The site had joined, so the page there joins by
// itself, as it was (rejoin.js). See web/placement.py, POST /join/{room}/home.
//
// The page's CSP lets it fetch only from the nodes live when it was served
// (config.connect): a node that joined the cluster later is named by `nodes`
// but the browser blocks a fetch to it. When none of the nodes we may ask
// answered "here", we go to such a node instead (a top-level navigation is not
// governed by connect-src) with `failover=1`: it serves the page without its
// usual 307 to the home, because the home it knows of may be our dead node
// whose record has not expired yet. The page there asks that node and its
// peers until one holds the meeting (settleHome), then joins by itself.

import { rejoinHash } from './rejoin.js';
import { app, config, room, token } from './state.js';

const ASK_TIMEOUT_MS = 3000;
// A page that arrived unasked asks again this often, this many times (a dead
// home's record lives 10 s: conference/cluster/registry.py RECORD_TTL_MS).
const SETTLE_PAUSE_MS = 2000;
const SETTLE_ROUNDS = 30;
// A node gone to unasked is not gone to again for this long (this tab), so two
// nodes that each send the page to the other cannot bounce it forever.
const TRIED_KEY = 'conference.failover-tried';
const TRIED_MS = 120_000;
const TRIED_MAX = 16;

/** An http(s) URL's origin, or null. */
function originOf(url) {
  try {
    const parsed = new URL(String(url));
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.origin : null;
  } catch {
    return null; // not a URL
  }
}

// The origins this page's CSP lets it fetch from besides its own (the server
// renders the same list into the page as into the header: web/pages.py).
const askable = new Set(
  (Array.isArray(config.connect) ? config.connect : []).map(originOf).filter(Boolean),
);

/** Keep the `nodes` message's URLs: http(s) origins other than this page's. */
export function setPeers(urls) {
  const peers = [];
  for (const url of Array.isArray(urls) ? urls : []) {
    const origin = originOf(url);
    if (origin && origin !== window.location.origin && !peers.includes(origin)) peers.push(origin);
  }
  app.peers = peers;
}

/** Ask one node where the meeting is; its answer's URL, or null. */
async function askHome(base) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ASK_TIMEOUT_MS);
  try {
    const response = await fetch(`${base}/join/${encodeURIComponent(room.id)}/home`, {
      method: 'POST',
      body: token,
      headers: { 'Content-Type': 'text/plain' },
      credentials: 'omit',
      cache: 'no-store',
      signal: controller.signal,
    });
    if (!response.ok) return null;
    const answer = await response.json();
    return typeof answer.home === 'string' ? answer.home : null;
  } catch {
    return null; // down too, or unreachable from here
  } finally {
    clearTimeout(timer);
  }
}

/** The first of the peers we may ask that answers "here" (itself), or null. */
async function askablePeerAtHome() {
  for (const base of app.peers) {
    if (!askable.has(base)) continue;
    // A node that points elsewhere (maybe at our dead node) is not proof: only one that answered is up.
    if (originOf(await askHome(base)) === base) return base;
  }
  return null;
}

/** Leave for the meeting's page at `base`, to join there by itself as we were. */
function goTo(base, unasked) {
  const page = new URL(`${base}/join/${encodeURIComponent(room.id)}`);
  page.searchParams.set('token', token);
  if (unasked) page.searchParams.set('failover', '1');
  page.hash = rejoinHash(app.micMuted, app.camMuted);
  app.stopped = true;
  console.info(unasked ? `looking for the meeting at ${base}` : `the meeting moved to ${base}`);
  window.location.replace(page.toString());
}

/** This tab's nodes gone to unasked, origin -> when, without the old ones. */
function triedLately() {
  try {
    const entries = Object.entries(JSON.parse(window.sessionStorage.getItem(TRIED_KEY) || '{}'));
    const since = Date.now() - TRIED_MS;
    return new Map(entries.filter(([, at]) => typeof at === 'number' && at > since));
  } catch {
    return new Map();
  }
}

function rememberTried(origin) {
  const tried = triedLately();
  tried.set(origin, Date.now());
  const newest = [...tried].sort((x, y) => y[1] - x[1]).slice(0, TRIED_MAX);
  try {
    window.sessionStorage.setItem(TRIED_KEY, JSON.stringify(Object.fromEntries(newest)));
  } catch {
    /* storage disabled: no memory, but also no page to come back to with it */
  }
}

/** Load the meeting's page at another node: one that holds it, else one we may not ask; true if we leave. */
export async function moveToNewHome() {
  if (!app.peers.length || !navigator.onLine || !token) return false;
  const home = await askablePeerAtHome();
  if (home) {
    goTo(home, false);
    return true;
  }
  const tried = triedLately();
  const unknown = app.peers.find((base) => !askable.has(base) && !tried.has(base));
  if (!unknown) return false;
  rememberTried(unknown);
  goTo(unknown, true);
  return true;
}

/**
 * On a page that came here unasked (`failover=1`): wait until this node or one
 * of its peers holds the meeting. true: join here; false: we leave for the home.
 */
export async function settleHome() {
  const self = window.location.origin;
  for (let round = 0; round < SETTLE_ROUNDS && token; round += 1) {
    if (originOf(await askHome(self)) === self) return true;
    const home = await askablePeerAtHome();
    if (home) {
      goTo(home, false);
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_PAUSE_MS));
  }
  return true; // nobody claims it: join as any page would (the socket is sent to the home)
}

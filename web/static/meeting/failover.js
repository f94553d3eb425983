// A page whose node stops answering (killed, its machine down) asks the cluster's
// other nodes, which the `nodes` message named, where its meeting's home is now,
// and moves to the first node that answers "here" (it claimed the meeting, and it
// answers: its page will load). The site had joined, so the page there joins by
// itself, as it was (rejoin.js). See web/placement.py, POST /join/{room}/home.

import { rejoinHash } from './rejoin.js';
import { app, room, token } from './state.js';

const ASK_TIMEOUT_MS = 3000;

/** Keep the `nodes` message's URLs: http(s) origins other than this page's. */
export function setPeers(urls) {
  const peers = [];
  for (const url of Array.isArray(urls) ? urls : []) {
    try {
      const parsed = new URL(String(url));
      const web = parsed.protocol === 'https:' || parsed.protocol === 'http:';
      if (web && parsed.origin !== window.location.origin) peers.push(parsed.origin);
    } catch {
      /* not a URL: ignore it */
    }
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

/** Load the meeting's page at a node that now holds it; true if it does. */
export async function moveToNewHome() {
  if (!app.peers.length || !navigator.onLine || !token) return false;
  for (const base of app.peers) {
    const home = await askHome(base);
    let origin;
    try {
      origin = new URL(home).origin;
    } catch {
      continue;
    }
    if (origin !== base) continue; // it points elsewhere (maybe at our dead node): not proven
    const page = new URL(`${base}/join/${encodeURIComponent(room.id)}`);
    page.searchParams.set('token', token);
    page.hash = rejoinHash(app.micMuted, app.camMuted);
    app.stopped = true;
    console.info(`the meeting moved to ${base}`);
    window.location.replace(page.toString());
    return true;
  }
  return false;
}

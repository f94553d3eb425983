// A join link carries its token in the query (`/join/ROOM?token=...`). Once a
// page has read it, the token leaves the address bar and the history entry,
// so a shared screen, a bookmark or a copied address does not hand it on.
// The tab keeps it in sessionStorage (this tab only, gone when it closes), so
// reloading the page still joins: the server, asked for /join/ROOM without
// a token, answers with the error page, whose script comes back once with
// the kept token (recoverJoin below).

const PREFIX = 'conference.join-token:';
// Error codes after which the same token may work later: keep it.
const TEMPORARY = new Set(['token-not-yet-valid', 'meeting-not-open', 'room-locked']);

function keep(roomId, token) {
  try {
    window.sessionStorage.setItem(PREFIX + roomId, token);
  } catch {
    /* storage disabled: a reload will need the link again */
  }
}

function kept(roomId) {
  try {
    return window.sessionStorage.getItem(PREFIX + roomId) || '';
  } catch {
    return '';
  }
}

function forget(roomId) {
  try {
    window.sessionStorage.removeItem(PREFIX + roomId);
  } catch {
    /* ignore */
  }
}

/** Replace the current history entry with the same address without its token. */
function stripToken(url) {
  url.searchParams.delete('token');
  window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
}

/** The page's join token: taken from the address (which then loses it), or this tab's kept one. */
export function takeJoinToken(roomId) {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    keep(roomId, fromUrl);
    stripToken(url);
    return fromUrl;
  }
  return kept(roomId);
}

/** On the error page of a join link: hide the token, or retry once with the tab's kept one. */
export function recoverJoin() {
  const match = /^\/join\/([^/]+)\/?$/.exec(window.location.pathname);
  if (!match) return;
  const roomId = decodeURIComponent(match[1]);
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    const code = document.getElementById('error-code')?.textContent || '';
    if (TEMPORARY.has(code)) keep(roomId, fromUrl);
    else forget(roomId); // it will not work: do not come back with it
    stripToken(url);
    return;
  }
  const token = kept(roomId);
  if (token) {
    url.searchParams.set('token', token);
    window.location.replace(url.toString()); // replaces this entry; the next page strips it again
  }
}

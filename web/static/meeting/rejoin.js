// A page that a meeting's old node sent to its home (`redirect`), or that left a
// dead node for another (failover.js), joins by itself: its site had clicked
// "Tham gia" there. The fragment says so, with the microphone and camera
// states to keep (a site that had muted stays muted).

const PREFIX = '#rejoin';

/** The fragment a redirected page carries: `#rejoin;mic=off;cam=on`. */
export function rejoinHash(micMuted, camMuted) {
  return `${PREFIX};mic=${micMuted ? 'off' : 'on'};cam=${camMuted ? 'off' : 'on'}`;
}

/**
 * This page's rejoin request, taken out of the address (a reload must not
 * join again by itself): null, or {micMuted, camMuted, failover}. `failover`:
 * a page whose node died came here unasked (failover.js), and must find out
 * where its meeting is before joining.
 */
export function takeRejoin() {
  const hash = window.location.hash;
  const url = new URL(window.location.href);
  const failover = url.searchParams.get('failover') === '1';
  if (!hash.startsWith(PREFIX) && !url.searchParams.has('failover')) return null;
  url.hash = '';
  url.searchParams.delete('failover');
  window.history.replaceState(window.history.state, '', url.pathname + url.search);
  if (!hash.startsWith(PREFIX)) return null;
  const fields = new Map(
    hash
      .slice(PREFIX.length)
      .split(';')
      .filter(Boolean)
      .map((part) => part.split('=', 2)),
  );
  // Anything but an explicit "on" keeps a device off: the safe reading of a mangled fragment.
  return { micMuted: fields.get('mic') !== 'on', camMuted: fields.get('cam') !== 'on', failover };
}

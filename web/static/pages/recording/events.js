// What happened during the meeting: the events timeline.

import { h } from '../../shared/api.js';
import { plural, t } from '../../shared/i18n.js';
import { dateTimeOf, numberOf, offsetOf, partsOf, reasonText } from '../recordings_i18n.js';
import { dom, state } from './state.js';
import { manifest, siteName, siteNames } from './summary.js';

const EVENT_GROUPS = {
  join: 'presence',
  leave: 'presence',
  removed: 'presence',
  floor: 'floor',
  spotlight: 'floor',
  speaker: 'floor',
  hands: 'floor',
  hand: 'floor',
};

// -- rendering: the events timeline -----------------------------------------------------------

function eventText(e, names, beforeStart) {
  const data = e.data || {};
  let type;
  let detail = '';
  switch (e.type) {
    case 'join':
      // The sites already in the room are noted just before `recording-started`.
      type = beforeStart ? 'rec.event.present' : 'rec.event.join';
      break;
    case 'floor':
      type = e.site_id ? 'rec.event.floor' : 'rec.event.floorEnd';
      break;
    case 'spotlight':
      type = e.site_id ? 'rec.event.spotlight' : 'rec.event.spotlightEnd';
      break;
    case 'lock':
      type = data.locked === false ? 'rec.event.unlock' : 'rec.event.lock';
      break;
    case 'recording-started':
      type = 'rec.event.recording-started';
      if (data.by) detail = t('rec.detail.by', { who: data.by === 'auto' ? t('rec.startedBy.auto') : data.by });
      break;
    case 'recording-stopped':
    case 'leave':
      type = `rec.event.${e.type}`;
      detail = reasonText(data.reason);
      break;
    case 'mute': {
      type = 'rec.event.mute';
      const parts = [];
      if (typeof data.audio === 'boolean') parts.push(t(data.audio ? 'rec.detail.micOff' : 'rec.detail.micOn'));
      if (typeof data.video === 'boolean') parts.push(t(data.video ? 'rec.detail.camOff' : 'rec.detail.camOn'));
      detail = parts.join(', ');
      break;
    }
    case 'hands': {
      type = 'rec.event.hands';
      const queue = Array.isArray(data.queue) ? data.queue : [];
      detail = queue.length
        ? `${plural('rec.detail.hands', queue.length)}: ${queue.map((id) => siteName(id, names)).join(', ')}`
        : t('rec.detail.handsNone');
      break;
    }
    case 'plate-alert':
      // A camera in the meeting read a listed plate: which, and why.
      type = 'rec.event.plate-alert';
      detail = [data.display || data.plate, data.text].filter(Boolean).join(' — ');
      break;
    default:
      type = `rec.event.${e.type}`;
  }
  let label = t(type);
  if (label === type) label = t('rec.event.other', { type: e.type });
  return { label, detail };
}

/** The events timeline. */
export function renderEvents() {
  const m = manifest();
  const start = state.data.started_at || 0;
  const names = siteNames();
  const startIndex = (m.events || []).findIndex((e) => e.type === 'recording-started');
  const startAt = startIndex >= 0 ? m.events[startIndex].at : null;
  // The sites present at the start are listed right after "recording started".
  const events = (m.events || [])
    .map((e, index) => {
      const beforeStart = startIndex >= 0 && index < startIndex;
      return { ...e, beforeStart, index, key: beforeStart ? Math.max(e.at, startAt) : e.at };
    })
    .sort((a, b) => (a.key - b.key)
      || (b.type === 'recording-started') - (a.type === 'recording-started')
      || a.index - b.index);
  const filter = dom.eventsFilter.value || 'all';
  const shown = events.filter((e) => filter === 'all' || (EVENT_GROUPS[e.type] || 'other') === filter);
  dom.eventsCount.textContent = String(events.length);
  dom.eventsNote.textContent = filter === 'all'
    ? (events.length ? plural('rec.eventsCount', events.length) : t('rec.eventsEmpty'))
    : (shown.length ? `${plural('rec.eventsCount', shown.length)} / ${numberOf(events.length)}` : t('rec.eventsEmpty'));
  dom.events.replaceChildren(...shown.map((e) => {
    const offset = Math.max(0, e.at - start);
    const { label, detail } = eventText(e, names, e.beforeStart);
    const at = partsOf(e.at);
    const wall = at ? `${dateTimeOf(e.at)}:${String(at.s).padStart(2, '0')}` : '';
    return h('li', {
      class: 'rec-event',
      dataset: { eventType: e.type, group: EVENT_GROUPS[e.type] || 'other', at: String(e.at) },
    },
    h('button', {
      type: 'button',
      class: 'rec-event-time',
      dataset: { seek: String(offset) },
      title: wall,
      'aria-label': t('rec.seek', { time: offsetOf(offset) }),
    }, offsetOf(offset)),
    h('span', { class: 'rec-event-body' },
      h('span', { class: 'rec-event-type' }, label),
      e.site_id ? h('span', { class: 'rec-event-site' }, siteName(e.site_id, names)) : null,
      detail ? h('span', { class: 'rec-event-detail' }, detail) : null));
  }));
}

// /meetings: the meetings the user may see, as a list grouped by day (from a
// week ago to 60 days ahead) or one week at a time.

import { t, plural, onLangChange } from '../shared/i18n.js';
import { api, user, isManagerRole, showError, mapLimit, h, setPageError } from '../shared/api.js';
import {
  learnOffset, isoAt, dayKey, formatDay, formatDate, formatTime, todayKey, addDays,
  weekdayOf, dayStartIso,
} from '../shared/time.js';

const DAY_MS = 86400000;
const VIEW_KEY = 'conference.meetingsView';
const REFRESH_MS = 60000;

const dom = {
  meetings: document.getElementById('meetings'),
  status: document.getElementById('meetings-status'),
  error: document.getElementById('page-error'),
  viewList: document.getElementById('view-list'),
  viewWeek: document.getElementById('view-week'),
  weekNav: document.getElementById('week-nav'),
  weekPrev: document.getElementById('week-prev'),
  weekNext: document.getElementById('week-next'),
  weekToday: document.getElementById('week-today'),
  rangeLabel: document.getElementById('range-label'),
};

const state = {
  view: readView(),
  weekStart: mondayOf(todayKey()),
  meetings: null, // last list answer
  range: null, // {from, to} day keys shown
  details: new Map(), // meeting id -> detail answer (host name, invited count)
  loadSeq: 0,
};

function readView() {
  const fromUrl = new URLSearchParams(location.search).get('view');
  if (fromUrl === 'week' || fromUrl === 'list') return fromUrl;
  try {
    return localStorage.getItem(VIEW_KEY) === 'week' ? 'week' : 'list';
  } catch {
    return 'list';
  }
}

function mondayOf(key) {
  const wd = weekdayOf(key); // 0 = Sunday
  return addDays(key, wd === 0 ? -6 : 1 - wd);
}

// -- loading ------------------------------------------------------------------------------

function window_() {
  if (state.view === 'week') {
    return {
      from: dayStartIso(state.weekStart),
      to: dayStartIso(addDays(state.weekStart, 7)),
      fromKey: state.weekStart,
      toKey: addDays(state.weekStart, 6),
    };
  }
  const now = Date.now();
  const from = isoAt(now - 7 * DAY_MS);
  const to = isoAt(now + 60 * DAY_MS);
  return { from, to, fromKey: dayKey(from), toKey: dayKey(to) };
}

async function load({ quiet = false } = {}) {
  const seq = ++state.loadSeq;
  const range = window_();
  if (!quiet) {
    dom.meetings.setAttribute('aria-busy', 'true');
    setStatus(t('loading'));
  }
  const query = new URLSearchParams({ from: range.from, to: range.to });
  try {
    const data = await api(`/api/meetings?${query}`);
    if (seq !== state.loadSeq) return;
    const meetings = (data?.meetings || []).slice().sort((a, b) => a.start_ts - b.start_ts);
    if (meetings[0]) learnOffset(meetings[0].start);
    const signature = JSON.stringify([state.view, range.fromKey, range.toKey, meetings.map((m) => [m.id, m.status, m.title, m.start, m.end])]);
    setPageError(state, dom.error, null);
    if (quiet && signature === state.signature) return; // nothing changed: keep the DOM (and focus)
    state.signature = signature;
    state.meetings = meetings;
    state.range = range;
    render();
    loadDetails(meetings);
  } catch (exc) {
    if (seq !== state.loadSeq) return;
    if (!quiet || !state.meetings) {
      setPageError(state, dom.error, exc);
      setStatus(t('meetings.loadError'));
    }
  } finally {
    if (seq === state.loadSeq) dom.meetings.setAttribute('aria-busy', 'false');
  }
}

async function loadDetails(meetings) {
  const missing = meetings.filter((m) => !state.details.has(m.id));
  await mapLimit(missing, 6, async (m) => {
    const detail = await api(`/api/meetings/${encodeURIComponent(m.id)}`);
    state.details.set(m.id, detail);
    fillDetail(m.id);
  });
}

function setStatus(text) {
  delete dom.status.dataset.i18n;
  dom.status.textContent = text;
}

function setTitle() {
  document.title = `${t('meetings.title')} – ${t('app.title')}`;
}

// -- rendering ----------------------------------------------------------------------------

function statusBadge(status) {
  return h('span', { class: 'status-badge', dataset: { status } }, t(`status.${status}`));
}

function meetingCard(m) {
  const detail = state.details.get(m.id);
  const canManage = detail ? detail.can_manage : isManagerRole();
  const actions = h('div', { class: 'mc-actions' },
    h('a', {
      class: 'btn btn-sm',
      href: `/meetings/${encodeURIComponent(m.id)}`,
      dataset: { action: 'details' },
      'aria-label': t('action.detailsLabel', { title: m.title }),
    }, t('action.details')));
  if (user?.role === 'site' && (m.status === 'open' || m.status === 'live')) {
    actions.append(h('a', {
      class: 'btn btn-primary btn-sm',
      href: `/meetings/${encodeURIComponent(m.id)}/join`,
      dataset: { action: 'join' },
      'aria-label': t('action.joinLabel', { title: m.title }),
    }, t('action.join')));
  }
  if (isManagerRole() && canManage && m.status !== 'cancelled' && m.status !== 'ended') {
    actions.append(h('a', {
      class: 'btn btn-sm btn-console',
      href: `/meetings/${encodeURIComponent(m.id)}/console`,
      dataset: { action: 'console' },
      'aria-label': t('action.consoleLabel', { title: m.title }),
    }, t('action.console')));
  }
  const sameDay = dayKey(m.start) === dayKey(m.end);
  const time = h('p', { class: 'mc-time' },
    h('time', { datetime: m.start }, formatTime(m.start)),
    ' – ',
    h('time', { datetime: m.end }, sameDay ? formatTime(m.end) : `${formatTime(m.end)} ${formatDate(m.end)}`));
  const host = h('span', { class: 'mc-host-name', dataset: { hostFor: m.id } },
    detail ? detail.host.name : '…');
  const sites = h('span', { class: 'mc-sites', dataset: { sitesFor: m.id } },
    detail ? plural('meeting.sites', detail.invited.length) : '');
  return h('li', {
    class: 'meeting-card',
    dataset: { meetingId: m.id, status: m.status },
  },
  h('div', { class: 'mc-head' }, time, statusBadge(m.status)),
  h('h3', { class: 'mc-title' }, m.title),
  h('p', { class: 'mc-host' },
    h('span', { class: 'mc-label' }, `${t('meeting.host')}: `), host),
  h('p', { class: 'mc-meta muted' }, sites),
  actions);
}

function fillDetail(id) {
  const detail = state.details.get(id);
  if (!detail) return;
  for (const el of dom.meetings.querySelectorAll(`[data-host-for="${CSS.escape(id)}"]`)) {
    el.textContent = detail.host.name;
  }
  for (const el of dom.meetings.querySelectorAll(`[data-sites-for="${CSS.escape(id)}"]`)) {
    el.textContent = plural('meeting.sites', detail.invited.length);
  }
  if (!detail.can_manage) {
    // Not a manager after all: no console link.
    for (const el of dom.meetings.querySelectorAll(`[data-meeting-id="${CSS.escape(id)}"] [data-action="console"]`)) {
      el.remove();
    }
  }
}

function dayHeading(key, tag = 'h2') {
  const today = key === todayKey();
  return h(tag, { class: 'day-title', id: `day-${key}` },
    formatDay(key),
    today ? h('span', { class: 'tag tag-today' }, t('today')) : null);
}

function renderList(meetings) {
  const byDay = new Map();
  for (const m of meetings) {
    const key = dayKey(m.start);
    if (!byDay.has(key)) byDay.set(key, []);
    byDay.get(key).push(m);
  }
  const out = [];
  for (const [key, items] of byDay) {
    out.push(h('section', {
      class: `day${key === todayKey() ? ' is-today' : ''}${key < todayKey() ? ' is-past' : ''}`,
      dataset: { day: key },
      'aria-labelledby': `day-${key}`,
    }, dayHeading(key), h('ul', { class: 'meeting-list' }, items.map(meetingCard))));
  }
  return out;
}

function renderWeek(meetings) {
  const out = [];
  for (let i = 0; i < 7; i += 1) {
    const key = addDays(state.weekStart, i);
    const items = meetings.filter((m) => dayKey(m.start) === key);
    out.push(h('section', {
      class: `day week-day${key === todayKey() ? ' is-today' : ''}${key < todayKey() ? ' is-past' : ''}`,
      dataset: { day: key },
      'aria-labelledby': `day-${key}`,
    },
    dayHeading(key),
    items.length
      ? h('ul', { class: 'meeting-list' }, items.map(meetingCard))
      : h('p', { class: 'week-empty muted' }, t('week.noMeetings'))));
  }
  return out;
}

function focusKey() {
  const el = document.activeElement;
  const card = el?.closest?.('[data-meeting-id]');
  if (!card || !dom.meetings.contains(card)) return null;
  return { id: card.dataset.meetingId, action: el.dataset.action || null };
}

function restoreFocus(key) {
  if (!key) return;
  const card = dom.meetings.querySelector(`[data-meeting-id="${CSS.escape(key.id)}"]`);
  const target = (key.action && card?.querySelector(`[data-action="${key.action}"]`))
    || card?.querySelector('[data-action="details"]');
  target?.focus();
}

function render() {
  const meetings = state.meetings;
  if (!meetings) return;
  const keep = focusKey();
  dom.meetings.dataset.view = state.view;
  dom.meetings.replaceChildren(...(state.view === 'week' ? renderWeek(meetings) : renderList(meetings)));
  restoreFocus(keep);
  const range = state.range;
  const [fy, fm, fd] = range.fromKey.split('-');
  const [ty, tm, td] = range.toKey.split('-');
  dom.rangeLabel.textContent = t('meetings.range', {
    from: `${fd}/${fm}/${fy}`,
    to: `${td}/${tm}/${ty}`,
  });
  setStatus(meetings.length ? plural('meetings.count', meetings.length) : t('meetings.empty'));
}

function setView(view, { focus = false } = {}) {
  state.view = view;
  try {
    localStorage.setItem(VIEW_KEY, view);
  } catch {
    /* ignore */
  }
  dom.viewList.setAttribute('aria-pressed', String(view === 'list'));
  dom.viewWeek.setAttribute('aria-pressed', String(view === 'week'));
  dom.weekNav.hidden = view !== 'week';
  if (focus) (view === 'week' ? dom.viewWeek : dom.viewList).focus();
  load();
}

// -- wiring -------------------------------------------------------------------------------

dom.viewList.addEventListener('click', () => setView('list'));
dom.viewWeek.addEventListener('click', () => setView('week'));
dom.weekPrev.addEventListener('click', () => {
  state.weekStart = addDays(state.weekStart, -7);
  load();
});
dom.weekNext.addEventListener('click', () => {
  state.weekStart = addDays(state.weekStart, 7);
  load();
});
dom.weekToday.addEventListener('click', () => {
  state.weekStart = mondayOf(todayKey());
  load();
});

onLangChange(() => {
  setTitle();
  if (state.meetings) render();
  if (state.error) {
    showError(dom.error, state.error);
    if (!state.meetings) setStatus(t('meetings.loadError'));
  }
});

// Statuses change with the clock (a room opens 15 minutes before the start).
setInterval(() => {
  if (document.visibilityState === 'visible') load({ quiet: true });
}, REFRESH_MS);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && state.meetings) load({ quiet: true });
});

setTitle();
setView(state.view);

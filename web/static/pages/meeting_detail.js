// /meetings/{id}: a meeting, its invited sites and (for its managers) every
// site's join link with a copy button.

import { t, plural, onLangChange } from '../shared/i18n.js';
import { api, page, user, showError, mapLimit, h, setPageError } from '../shared/api.js';
import { learnOffset, formatDay, dayKey, formatRange, formatDateTime, formatTime } from '../shared/time.js';
import { fillIcons } from '../shared/icons.js';
import { mountDocuments } from '../shared/documents.js';

const $ = (id) => document.getElementById(id);
const dom = {
  article: $('meeting'),
  error: $('page-error'),
  notice: $('page-notice'),
  title: $('meeting-title'),
  status: $('meeting-status'),
  time: $('meeting-time'),
  host: $('meeting-host'),
  autoRecord: $('meeting-auto-record'),
  agenda: $('meeting-agenda'),
  join: $('join-button'),
  console: $('console-link'),
  edit: $('edit-link'),
  ics: $('ics-link'),
  minutesPdf: $('minutes-pdf-link'),
  minutesDocx: $('minutes-docx-link'),
  cancel: $('cancel-button'),
  count: $('invitation-count'),
  summary: $('invitation-summary'),
  invitations: $('invitations'),
  copyAll: $('copy-all-links'),
  copyStatus: $('copy-status'),
  linksHint: $('links-hint'),
};

const meetingId = page.meeting_id;
const state = {
  data: null, // {meeting, host, invited, can_manage}
  units: new Map(), // unit code -> unit (depth, parent, name)
  links: null, // site id -> absolute URL
  notice: null, // key of the notice shown
  error: null,
};

// -- helpers --------------------------------------------------------------------------

function absolute(url) {
  return new URL(url, window.location.origin).toString();
}

function setError(error) {
  setPageError(state, dom.error, error);
}

function setNotice(key) {
  state.notice = key;
  dom.notice.hidden = !key;
  dom.notice.textContent = key ? t(key) : '';
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      /* fall back below */
    }
  }
  const area = h('textarea', { class: 'visually-hidden', readonly: true, 'aria-hidden': 'true' });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

// -- loading --------------------------------------------------------------------------

async function loadMeeting() {
  const data = await api(`/api/meetings/${encodeURIComponent(meetingId)}`);
  learnOffset(data.meeting.start);
  state.data = data;
  return data;
}

/** Depths of the invited units, to group the invitation list by level. */
async function loadLevels(data) {
  const codes = [...new Set([data.host, ...data.invited].map((s) => s.unit_code))];
  try {
    const info = await api(`/api/units/${encodeURIComponent(data.host.unit_code)}`);
    const root = info.ancestors?.[0]?.code || info.unit.code;
    const tree = await api(`/api/units/${encodeURIComponent(root)}/subtree`);
    for (const unit of tree.units || []) state.units.set(unit.code, unit);
  } catch {
    /* grouped as far as known */
  }
  const missing = codes.filter((code) => !state.units.has(code)).slice(0, 50);
  await mapLimit(missing, 6, async (code) => {
    const info = await api(`/api/units/${encodeURIComponent(code)}`);
    state.units.set(code, info.unit);
    for (const a of info.ancestors || []) if (!state.units.has(a.code)) state.units.set(a.code, a);
  });
}

async function loadLinks() {
  const data = await api(`/api/meetings/${encodeURIComponent(meetingId)}/links`);
  state.links = new Map((data?.links || []).map((l) => [l.site.id, absolute(l.url)]));
}

// -- rendering ------------------------------------------------------------------------

function renderMeeting() {
  const { meeting: m, host, can_manage: canManage } = state.data;
  delete dom.title.dataset.i18n;
  dom.title.textContent = m.title;
  document.title = `${m.title} – ${t('app.title')}`;
  dom.status.hidden = false;
  dom.status.dataset.status = m.status;
  dom.status.textContent = t(`status.${m.status}`);
  dom.article.dataset.status = m.status;
  dom.article.classList.toggle('is-cancelled', m.status === 'cancelled');

  const sameDay = dayKey(m.start) === dayKey(m.end);
  dom.time.replaceChildren(
    h('span', { class: 'fact-day' }, formatDay(dayKey(m.start))),
    ' ',
    h('time', { datetime: m.start }, formatTime(m.start)),
    ' – ',
    h('time', { datetime: m.end }, sameDay ? formatTime(m.end) : formatDateTime(m.end)),
  );
  dom.host.textContent = host.name;
  dom.autoRecord.textContent = m.auto_record ? t('yes') : t('no');
  dom.agenda.textContent = m.agenda || t('meeting.noAgenda');
  dom.agenda.classList.toggle('muted', !m.agenda);

  const active = m.status !== 'cancelled' && m.status !== 'ended';
  dom.join.hidden = !(user?.role === 'site' && (m.status === 'open' || m.status === 'live'));
  dom.console.hidden = !(canManage && active);
  dom.edit.hidden = !(canManage && active);
  dom.cancel.hidden = !(canManage && active);
  // The minutes: for its hosts at any time (so far during the meeting, whole after it).
  dom.minutesPdf.hidden = !canManage;
  dom.minutesDocx.hidden = !canManage;
  dom.article.removeAttribute('aria-busy');
}

function levelName(depth) {
  if (depth === null || depth === undefined) return t('detail.level.other');
  const key = `detail.level.${depth}`;
  return t(key) === key ? t('detail.level.n', { n: depth + 1 }) : t(key);
}

function invitationRow(site, showParent) {
  const { host } = state.data;
  const unit = state.units.get(site.unit_code);
  const parent = unit?.parent ? state.units.get(unit.parent) : null;
  const isHost = site.id === host.id;
  const nameId = `site-name-${site.id}`;
  const main = h('div', { class: 'inv-main' },
    h('p', { class: 'inv-name', id: nameId },
      site.name,
      isHost ? h('span', { class: 'tag tag-host' }, t('detail.hostTag')) : null),
    h('p', { class: 'inv-meta muted' },
      h('span', { class: 'inv-code' },
        h('span', { class: 'visually-hidden' }, `${t('detail.unitCode')}: `), site.unit_code),
      showParent && parent ? h('span', { class: 'inv-parent' }, parent.name) : null));
  const row = h('li', {
    class: `invitation${isHost ? ' is-host' : ''}`,
    dataset: { siteId: site.id, unit: site.unit_code },
  }, main);
  const url = state.links?.get(site.id);
  if (url) {
    const inputId = `link-${site.id}`;
    row.append(h('div', { class: 'inv-link' },
      h('label', { class: 'visually-hidden', for: inputId }, t('detail.linkLabel', { name: site.name })),
      h('input', {
        id: inputId,
        class: 'link-input',
        type: 'text',
        readonly: true,
        value: url,
        dataset: { linkFor: site.id },
        spellcheck: 'false',
        onfocus: (event) => event.target.select(),
      }),
      h('button', {
        type: 'button',
        class: 'btn btn-sm copy-button',
        dataset: { copyLink: url, siteName: site.name },
        'aria-describedby': nameId,
      }, t('detail.copy'))));
  }
  return row;
}

function renderInvitations() {
  const { invited } = state.data;
  dom.count.textContent = String(invited.length);
  dom.count.dataset.count = String(invited.length);
  dom.summary.textContent = plural('detail.invitedCount', invited.length);

  // Group by level (depth), in the order returned within each level.
  const groups = new Map();
  for (const site of invited) {
    const depth = state.units.get(site.unit_code)?.depth ?? null;
    if (!groups.has(depth)) groups.set(depth, []);
    groups.get(depth).push(site);
  }
  const order = [...groups.keys()].sort((a, b) => (a ?? 99) - (b ?? 99));
  dom.invitations.replaceChildren(...order.map((depth) => {
    const sites = groups.get(depth);
    const parents = new Set(sites.map((s) => state.units.get(s.unit_code)?.parent));
    const headingId = `level-${depth ?? 'other'}`;
    return h('section', {
      class: 'inv-group',
      dataset: { depth: depth ?? '' },
      'aria-labelledby': headingId,
    },
    h('h3', { id: headingId, class: 'inv-group-title' },
      levelName(depth), ' ', h('span', { class: 'count-badge' }, String(sites.length))),
    h('ol', { class: 'inv-list' }, sites.map((s) => invitationRow(s, parents.size > 1))));
  }));
  const withLinks = Boolean(state.links && state.links.size);
  dom.copyAll.hidden = !withLinks;
  dom.linksHint.hidden = !withLinks;
}

function render() {
  if (!state.data) return;
  renderMeeting();
  renderInvitations();
  if (state.notice) setNotice(state.notice);
  if (state.error) showError(dom.error, state.error);
}

// -- actions --------------------------------------------------------------------------

dom.invitations.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-copy-link]');
  if (!button) return;
  const ok = await copyText(button.dataset.copyLink);
  dom.copyStatus.textContent = ok
    ? t('detail.copied', { name: button.dataset.siteName })
    : t('detail.copyFailed');
  if (ok) {
    button.classList.add('is-copied');
    setTimeout(() => button.classList.remove('is-copied'), 2000);
  } else {
    const input = $(`link-${button.closest('[data-site-id]')?.dataset.siteId}`);
    input?.focus();
  }
});

dom.copyAll.addEventListener('click', async () => {
  const { invited } = state.data;
  const lines = invited
    .filter((s) => state.links?.has(s.id))
    .map((s) => `${s.name}: ${state.links.get(s.id)}`);
  const text = `${state.data.meeting.title}\n${formatDay(dayKey(state.data.meeting.start))} ${formatRange(state.data.meeting.start, state.data.meeting.end)}\n\n${lines.join('\n')}`;
  const ok = await copyText(text);
  dom.copyStatus.textContent = ok ? plural('detail.copiedAll', lines.length) : t('detail.copyFailed');
});

dom.cancel.addEventListener('click', async () => {
  const title = state.data?.meeting.title || '';
  if (!window.confirm(t('detail.cancelConfirm', { title }))) return;
  dom.cancel.disabled = true;
  const label = dom.cancel.querySelector('[data-i18n]');
  if (label) label.textContent = t('detail.cancelling');
  try {
    const data = await api(`/api/meetings/${encodeURIComponent(meetingId)}`, { method: 'DELETE' });
    state.data = { ...state.data, meeting: data.meeting };
    setError(null);
    render();
    setNotice('detail.cancelled');
    dom.notice.setAttribute('tabindex', '-1');
    dom.notice.focus();
  } catch (exc) {
    setError(exc);
    dom.error.focus();
  } finally {
    dom.cancel.disabled = false;
    if (label) label.textContent = t(label.dataset.i18n);
  }
});

// -- start ----------------------------------------------------------------------------

async function init() {
  try {
    const data = await loadMeeting();
    renderMeeting();
    // The meeting's documents: read by all who see it, uploaded and deleted by its hosts.
    mountDocuments($('documents'), { meetingId, canManage: data.can_manage && !data.meeting.cancelled });
    const tasks = [loadLevels(data)];
    if (data.can_manage) {
      tasks.push(loadLinks().catch((exc) => {
        setError(exc);
        dom.error.prepend(`${t('detail.linksError')} `);
      }));
    }
    await Promise.all(tasks);
    renderInvitations();
  } catch (exc) {
    setError(exc);
    dom.article.removeAttribute('aria-busy');
    if (dom.title.dataset.i18n) {
      delete dom.title.dataset.i18n;
      dom.title.textContent = '—';
    }
  }
}

// The status changes with the clock (the room opens 15 minutes before the start).
setInterval(async () => {
  if (document.visibilityState !== 'visible' || !state.data) return;
  try {
    const data = await api(`/api/meetings/${encodeURIComponent(meetingId)}`);
    if (data.meeting.status !== state.data.meeting.status) {
      state.data = { ...state.data, meeting: data.meeting };
      renderMeeting();
    }
  } catch {
    /* keep what is shown */
  }
}, 60000);

onLangChange(() => render());
fillIcons(dom.article);
init();

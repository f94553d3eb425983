// /meetings/new and /meetings/{id}/edit: the scheduling form.

import { t, onLangChange } from '../shared/i18n.js';
import { api, page, user, showError, h, ApiError } from '../shared/api.js';
import { fold } from '../shared/text.js';
import {
  learnOffset, toLocalInput, fromLocalInput, parseIso, partsAt, msOf, formatDay, dayKey,
  formatTime, formatDuration, isoAt,
} from '../shared/time.js';
import { TreePicker } from './tree_picker.js';
import { mountDocuments } from '../shared/documents.js';

const $ = (id) => document.getElementById(id);
const dom = {
  form: $('meeting-form'),
  error: $('form-error'),
  title: $('title'),
  agenda: $('agenda'),
  start: $('start'),
  end: $('end'),
  startPreview: $('start-preview'),
  endPreview: $('end-preview'),
  host: $('host-site'),
  hostSearch: $('host-site-search'),
  hostNote: $('host-site-note'),
  autoRecord: $('auto-record'),
  tree: $('unit-tree'),
  count: $('selected-count'),
  filter: $('unit-filter'),
  filterStatus: $('unit-filter-status'),
  clear: $('clear-selection'),
  save: $('save-button'),
  pageTitle: $('page-title'),
};

const meetingId = page.meeting_id || null;
// Changing a meeting: its documents can be uploaded here too (a new meeting gets
// them on its page, once it exists).
if (meetingId && document.getElementById('documents')) {
  mountDocuments(document.getElementById('documents'), { meetingId, canManage: true });
}
const state = {
  hostOptions: [], // units, in tree order: {code, name, depth, parent}
  names: new Map(), // unit code -> name
  extraSites: [], // invited sites that are not a unit's default site (kept on save)
  saving: false,
  editable: true,
};

const picker = new TreePicker({
  root: dom.tree,
  count: dom.count,
  filter: dom.filter,
  filterStatus: dom.filterStatus,
  error: dom.error,
});

// -- time fields ----------------------------------------------------------------------

function preview(input, out) {
  const iso = fromLocalInput(input.value);
  const p = iso && parseIso(iso);
  if (!p) {
    out.textContent = '';
    return;
  }
  let text = `${formatDay(dayKey(p))} ${formatTime(p)}`;
  if (input === dom.end) {
    const start = parseIso(fromLocalInput(dom.start.value) || '');
    if (start) {
      const minutes = Math.round((msOf(p) - msOf(start)) / 60000);
      if (minutes > 0) text += ` · ${t('form.durationHint', { duration: formatDuration(minutes) })}`;
    }
  }
  out.textContent = text;
}

function previews() {
  preview(dom.start, dom.startPreview);
  preview(dom.end, dom.endPreview);
}

function defaultTimes() {
  // The next full hour in the server's zone, for two hours.
  const now = partsAt(Date.now());
  const startMs = msOf({ ...now, mi: 0, s: 0 }) + 3600000;
  dom.start.value = toLocalInput(isoAt(startMs));
  dom.end.value = toLocalInput(isoAt(startMs + 2 * 3600000));
}

dom.start.addEventListener('input', () => {
  // Keep the end after the start: if it is empty or not later, move it two hours on.
  const start = parseIso(fromLocalInput(dom.start.value) || '');
  const end = parseIso(fromLocalInput(dom.end.value) || '');
  if (start && (!end || msOf(end) <= msOf(start))) {
    dom.end.value = toLocalInput(isoAt(msOf(start) + 2 * 3600000));
  }
  previews();
});
dom.end.addEventListener('input', previews);

// -- host site ------------------------------------------------------------------------

function hostLabel(unit, filtered) {
  if (filtered) {
    const parent = unit.parent && state.names.get(unit.parent);
    return parent ? `${unit.name} (${parent})` : unit.name;
  }
  const minDepth = state.hostOptions[0]?.depth ?? 0;
  return '\u00a0\u00a0\u00a0'.repeat(Math.max(0, (unit.depth ?? 0) - minDepth)) + unit.name;
}

function renderHostOptions() {
  const query = fold(dom.hostSearch.value);
  const selected = dom.host.value || state.wantedHost || '';
  const shown = state.hostOptions.filter((u) => !query || u.code === selected
    || fold(u.name).includes(query) || u.code.startsWith(query));
  dom.host.replaceChildren(...shown.map((u) => h('option', { value: u.code }, hostLabel(u, Boolean(query)))));
  if (selected && shown.some((u) => u.code === selected)) dom.host.value = selected;
  const others = shown.filter((u) => u.code !== selected).length;
  dom.hostNote.textContent = query && others === 0 ? t('form.hostNoMatch') : '';
  if (query && others > 0 && !shown.some((u) => u.code === selected)) dom.host.selectedIndex = 0;
}

dom.hostSearch.addEventListener('input', () => {
  renderHostOptions();
  // When exactly one site matches, pick it.
  const query = fold(dom.hostSearch.value);
  const matches = state.hostOptions.filter((u) => query && (fold(u.name).includes(query) || u.code.startsWith(query)));
  if (matches.length === 1) dom.host.value = matches[0].code;
});
dom.hostSearch.addEventListener('keydown', (event) => {
  if (event.key === 'Enter') {
    event.preventDefault();
    dom.host.focus();
  }
});

function addHostOption(site) {
  if (state.hostOptions.some((u) => u.code === site.id)) return;
  state.hostOptions.push({ code: site.id, name: site.name, depth: state.hostOptions[0]?.depth ?? 0, parent: null });
  state.names.set(site.id, site.name);
}

// -- loading --------------------------------------------------------------------------

async function loadScope() {
  if (user?.role === 'admin' || !user?.unit_code) {
    const roots = (await api('/api/units'))?.units || [];
    const trees = await Promise.all(roots.map((r) => api(`/api/units/${encodeURIComponent(r.code)}/subtree`)));
    state.hostOptions = trees.flatMap((tr) => tr?.units || []);
    for (const u of state.hostOptions) state.names.set(u.code, u.name);
    return roots;
  }
  const units = (await api(`/api/units/${encodeURIComponent(user.unit_code)}/subtree`))?.units || [];
  state.hostOptions = units;
  for (const u of units) state.names.set(u.code, u.name);
  const root = units[0] || { code: user.unit_code, name: user.unit_code, depth: 0, parent: null };
  return [{ ...root, leaf: !units.some((u) => u.parent === root.code) }];
}

async function loadMeeting() {
  const data = await api(`/api/meetings/${encodeURIComponent(meetingId)}`);
  const m = data.meeting;
  learnOffset(m.start);
  dom.title.value = m.title;
  dom.agenda.value = m.agenda || '';
  dom.start.value = toLocalInput(m.start);
  dom.end.value = toLocalInput(m.end);
  dom.autoRecord.checked = Boolean(m.auto_record);
  addHostOption(data.host);
  state.wantedHost = data.host.id;
  const units = [];
  for (const site of data.invited || []) {
    if (site.id === site.unit_code) units.push(site.unit_code);
    else state.extraSites.push(site.id);
  }
  picker.setChecked(units);
  if (m.status === 'cancelled' || m.status === 'ended' || !data.can_manage) {
    state.editable = false;
    state.lastError = data.can_manage ? () => t('form.notEditable') : new ApiError(403, 'not-your-meeting', '');
    showError(dom.error, typeof state.lastError === 'function' ? state.lastError() : state.lastError);
    dom.save.disabled = true;
  }
}

async function init() {
  try {
    const roots = await loadScope();
    if (meetingId) await loadMeeting();
    else {
      defaultTimes();
      state.wantedHost = user?.unit_code || state.hostOptions[0]?.code || '';
    }
    renderHostOptions();
    if (state.wantedHost) dom.host.value = state.wantedHost;
    previews();
    await picker.setRoots(roots);
  } catch (exc) {
    showError(dom.error, exc);
  } finally {
    dom.form.removeAttribute('aria-busy');
  }
}

// -- saving ---------------------------------------------------------------------------

const FIELD_OF_CODE = {
  'bad-title': 'title',
  'bad-agenda': 'agenda',
  'end-before-start': 'end',
  'too-long': 'end',
  'start-in-past': 'start',
  'unknown-site': 'host-site',
  overlap: 'start',
};

function clearInvalid() {
  for (const el of dom.form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
  }
}

function markInvalid(id) {
  const el = id && $(id);
  if (!el) return;
  el.setAttribute('aria-invalid', 'true');
}

function fail(error, fieldId) {
  clearInvalid();
  state.lastError = error;
  showError(dom.error, typeof error === 'function' ? error() : error);
  markInvalid(fieldId);
  dom.error.focus();
}

function labelOf(id) {
  return document.querySelector(`label[for="${id}"]`)?.textContent.trim() || id;
}

function collect() {
  const title = dom.title.value.trim();
  if (!title) return fail(() => t('form.required', { field: labelOf('title') }), 'title');
  const start = fromLocalInput(dom.start.value);
  if (!start) return fail(() => t('form.required', { field: labelOf('start') }), 'start');
  const end = fromLocalInput(dom.end.value);
  if (!end) return fail(() => t('form.required', { field: labelOf('end') }), 'end');
  if (msOf(parseIso(end)) <= msOf(parseIso(start))) return fail(() => t('error.end-before-start'), 'end');
  const host = dom.host.value;
  if (!host) return fail(() => t('form.required', { field: labelOf('host-site') }), 'host-site');
  const body = {
    title,
    agenda: dom.agenda.value,
    start,
    end,
    host_site: host,
    units: picker.selected(),
    auto_record: dom.autoRecord.checked,
  };
  if (state.extraSites.length) body.sites = state.extraSites;
  return body;
}

function setSaving(saving) {
  state.saving = saving;
  dom.save.disabled = saving || !state.editable;
  dom.form.setAttribute('aria-busy', String(saving));
  const text = dom.save.querySelector('[data-i18n]');
  if (text) {
    text.textContent = saving ? t('form.saving') : t(text.dataset.i18n);
  }
}

dom.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (state.saving || !state.editable) return;
  const body = collect();
  if (!body) return;
  clearInvalid();
  state.lastError = null;
  showError(dom.error, null);
  setSaving(true);
  try {
    const data = meetingId
      ? await api(`/api/meetings/${encodeURIComponent(meetingId)}`, { method: 'PUT', body })
      : await api('/api/meetings', { method: 'POST', body });
    const id = data?.meeting?.id || meetingId;
    window.location.assign(`/meetings/${encodeURIComponent(id)}`);
  } catch (exc) {
    let field = FIELD_OF_CODE[exc?.code];
    if (exc?.code === 'invalid-request' && Array.isArray(exc.details) && exc.details[0]) {
      const name = String(exc.details[0].field || '').split('.')[0];
      field = { host_site: 'host-site', auto_record: 'auto-record', units: 'unit-filter' }[name] || name;
    }
    setSaving(false);
    fail(exc, field);
  }
});

dom.clear.addEventListener('click', () => picker.clear());

onLangChange(() => {
  previews();
  picker.relabel();
  renderHostOptions();
  if (state.saving) setSaving(true);
  if (state.lastError && !dom.error.hidden) {
    showError(dom.error, typeof state.lastError === 'function' ? state.lastError() : state.lastError);
  }
  setTitle();
});

function setTitle() {
  document.title = `${t(meetingId ? 'form.editTitle' : 'form.newTitle')} – ${t('app.title')}`;
}

setTitle();

init();

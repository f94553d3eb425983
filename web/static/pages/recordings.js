// /recordings: the library of recordings the user may see (GET /api/recordings),
// newest first, filtered by unit and by date range. The filters live in the
// URL (?unit=&from=YYYY-MM-DD&to=YYYY-MM-DD) so a filtered list can be
// bookmarked or sent. The list is loaded on demand only (no polling).

import { t, plural, onLangChange } from '../shared/i18n.js';
import { api, showError, h, setPageError } from '../shared/api.js';
import { getOffset, addDays } from '../shared/time.js';
import {
  clockOf, sizeOf, dateTimeOf, isoOf, statusLabel, orderUnits, unitsSummary,
} from './recordings_i18n.js';

const $ = (id) => document.getElementById(id);
const dom = {
  list: $('recordings'),
  status: $('recordings-status'),
  error: $('page-error'),
  retention: $('retention'),
  form: $('recordings-filters'),
  unit: $('filter-unit'),
  from: $('filter-from'),
  to: $('filter-to'),
  filterError: $('filter-error'),
};

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

const state = {
  filter: readFilter(),
  recordings: null, // the last answer's list
  retentionDays: null,
  units: new Map(), // unit code -> {code, name, depth}: every unit seen, for the unit filter
  error: null,
  filterError: null,
  seq: 0,
};

function readFilter() {
  const q = new URLSearchParams(location.search);
  const date = (name) => (DATE_RE.test(q.get(name) || '') ? q.get(name) : '');
  return { unit: (q.get('unit') || '').trim().slice(0, 64), from: date('from'), to: date('to') };
}

function writeFilter() {
  const url = new URL(location.href);
  for (const name of ['unit', 'from', 'to']) {
    if (state.filter[name]) url.searchParams.set(name, state.filter[name]);
    else url.searchParams.delete(name);
  }
  if (url.toString() !== location.href) history.replaceState(history.state, '', url.toString());
}

const filtered = () => Boolean(state.filter.unit || state.filter.from || state.filter.to);

// -- loading ------------------------------------------------------------------------------

async function load() {
  const seq = ++state.seq;
  const { unit, from, to } = state.filter;
  if (from && to && from > to) {
    setFilterError('rec.filter.badRange');
    return;
  }
  setFilterError(null);
  const query = new URLSearchParams();
  if (unit) query.set('unit', unit);
  // Whole days in the server's zone: from the first day's midnight to the midnight after the last.
  if (from) query.set('from', `${from}T00:00:00${getOffset()}`);
  if (to) query.set('to', `${addDays(to, 1)}T00:00:00${getOffset()}`);
  dom.list.setAttribute('aria-busy', 'true');
  setStatus(t('loading'));
  try {
    const data = await api(`/api/recordings${query.toString() ? `?${query}` : ''}`);
    if (seq !== state.seq) return;
    state.recordings = data?.recordings || [];
    state.retentionDays = typeof data?.retention_days === 'number' ? data.retention_days : null;
    setPageError(state, dom.error, null);
    for (const r of state.recordings) {
      for (const u of r.units || []) if (u?.code && !state.units.has(u.code)) state.units.set(u.code, u);
    }
    render();
  } catch (exc) {
    if (seq !== state.seq) return;
    setPageError(state, dom.error, exc);
    setStatus(t('rec.loadError'));
  } finally {
    if (seq === state.seq) dom.list.setAttribute('aria-busy', 'false');
  }
}

function setStatus(text) {
  delete dom.status.dataset.i18n;
  dom.status.textContent = text;
}

function setFilterError(key) {
  state.filterError = key;
  dom.filterError.hidden = !key;
  dom.filterError.textContent = key ? t(key) : '';
  for (const input of [dom.from, dom.to]) {
    if (key) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
}

// -- rendering ----------------------------------------------------------------------------

function renderUnitOptions() {
  const select = dom.unit;
  const units = [...state.units.values()].sort((a, b) => (
    (a.depth ?? 99) - (b.depth ?? 99) || String(a.name).localeCompare(String(b.name), 'vi')
  ));
  const wanted = state.filter.unit;
  if (wanted && !state.units.has(wanted)) units.unshift({ code: wanted, name: wanted, depth: -1 });
  const options = [h('option', { value: '' }, t('rec.filter.allUnits'))];
  for (const u of units) {
    options.push(h('option', { value: u.code }, u.name === u.code ? u.code : `${u.name} (${u.code})`));
  }
  const signature = options.map((o) => `${o.value}:${o.textContent}`).join('|');
  if (select.dataset.signature !== signature) {
    select.replaceChildren(...options);
    select.dataset.signature = signature;
  }
  select.value = wanted;
}

function renderRetention() {
  const days = state.retentionDays;
  dom.retention.hidden = days === null;
  if (days === null) return;
  dom.retention.dataset.days = String(days);
  dom.retention.textContent = days > 0 ? plural('rec.retention', days) : t('rec.retentionForever');
}

function recordingRow(r) {
  const units = orderUnits(r.units, r.host_site);
  const unitText = unitsSummary(r.units, r.host_site);
  const title = r.title || r.id;
  const unitsEl = h('span', { class: 'rec-units-text' }, unitText);
  if (units.length > 2) unitsEl.title = units.map((u) => u.name).join(', ');
  return h('li', { class: 'rec-card', dataset: { recordingId: r.id, status: r.status } },
    h('div', { class: 'rec-when' },
      h('time', { class: 'rec-date', datetime: isoOf(r.started_at) }, dateTimeOf(r.started_at)),
      h('span', { class: 'status-badge rec-status', dataset: { status: r.status } }, statusLabel(r.status))),
    h('h2', { class: 'rec-title' }, title),
    h('p', { class: 'rec-units' },
      h('span', { class: 'rec-label' }, `${t('rec.units')}: `), unitsEl),
    h('p', { class: 'rec-meta' },
      h('span', { class: 'rec-fact', dataset: { fact: 'duration' } },
        h('span', { class: 'rec-label' }, `${t('rec.duration')} `),
        h('strong', { class: 'rec-duration' }, clockOf(r.duration))),
      h('span', { class: 'rec-fact', dataset: { fact: 'size' } },
        h('span', { class: 'rec-label' }, `${t('rec.size')} `),
        h('strong', { class: 'rec-size', dataset: { bytes: String(r.size ?? '') } }, sizeOf(r.size))),
      h('span', { class: 'rec-fact rec-files', dataset: { fact: 'tracks' } },
        plural('rec.tracksCount', Number(r.tracks) || 0))),
    h('div', { class: 'rec-actions' },
      h('a', {
        class: 'btn btn-sm btn-primary',
        href: `/recordings/${encodeURIComponent(r.id)}`,
        dataset: { action: 'open' },
        'aria-label': t('rec.openLabel', { title: `${title} ${dateTimeOf(r.started_at)}` }),
      }, t('rec.open'))));
}

function render() {
  renderUnitOptions();
  renderRetention();
  if (state.filterError) setFilterError(state.filterError);
  if (!state.recordings) return;
  const focused = document.activeElement?.closest?.('[data-recording-id]')?.dataset.recordingId;
  dom.list.replaceChildren(...state.recordings.map(recordingRow));
  if (focused) dom.list.querySelector(`[data-recording-id="${CSS.escape(focused)}"] a`)?.focus();
  const n = state.recordings.length;
  dom.list.dataset.count = String(n);
  setStatus(n ? plural('rec.count', n) : t(filtered() ? 'rec.emptyFiltered' : 'rec.empty'));
  dom.status.classList.toggle('rec-empty', !n);
}

function setTitle() {
  document.title = `${t('rec.title')} – ${t('app.title')}`;
}

// -- wiring -------------------------------------------------------------------------------

function onFilterChange() {
  state.filter = {
    unit: dom.unit.value,
    from: DATE_RE.test(dom.from.value) ? dom.from.value : '',
    to: DATE_RE.test(dom.to.value) ? dom.to.value : '',
  };
  writeFilter();
  load();
}

dom.unit.addEventListener('change', onFilterChange);
dom.from.addEventListener('change', onFilterChange);
dom.to.addEventListener('change', onFilterChange);
dom.form.addEventListener('submit', (event) => {
  event.preventDefault();
  onFilterChange();
});
dom.form.addEventListener('reset', () => {
  // After the form has reset its fields.
  setTimeout(() => {
    dom.unit.value = '';
    dom.from.value = '';
    dom.to.value = '';
    onFilterChange();
  });
});

onLangChange(() => {
  setTitle();
  render();
  if (state.error) {
    showError(dom.error, state.error);
    if (!state.recordings) setStatus(t('rec.loadError'));
  }
});

setTitle();
dom.from.value = state.filter.from;
dom.to.value = state.filter.to;
renderUnitOptions();
load();

// For automated tests and support staff.
window.recordingsPage = {
  get recordings() {
    return state.recordings;
  },
  get filter() {
    return { ...state.filter };
  },
  reload: load,
};

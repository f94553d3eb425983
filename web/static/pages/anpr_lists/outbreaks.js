// The outbreak provinces: loading, showing, adding and removing them.

import { ApiError, api, h } from '../../shared/api.js';
import { plural, t } from '../../shared/i18n.js';
import { todayKey } from '../../shared/time.js';
import { dom, state } from './state.js';
import { busy, dayText, invalid, setError, setStatus } from './view.js';
import { listedBy, removeControl } from './watch.js';

/** Load the outbreak provinces (GET /api/anpr/outbreaks). */
export async function loadOutbreaks() {
  try {
    const data = await api('/api/anpr/outbreaks');
    state.outbreaks = Array.isArray(data?.outbreaks) ? data.outbreaks : [];
    renderOutbreaks();
  } catch (exc) {
    setError(dom.error, exc);
    setStatus(dom.outbreakStatus, t('lists.outbreak.loadError'));
  } finally {
    dom.outbreakList.setAttribute('aria-busy', 'false');
  }
}

/** Load the provinces the form offers (GET /api/anpr/provinces). */
export async function loadProvinces() {
  if (!dom.province) return;
  try {
    const data = await api('/api/anpr/provinces');
    state.provinces = Array.isArray(data?.provinces) ? data.provinces : [];
  } catch (exc) {
    setError(dom.outbreakError, exc);
  }
  renderProvinces();
}

// -- outbreak provinces -------------------------------------------------------------------

function provinceText(o) {
  return o.province ? `${o.province} (${o.province_code})` : o.province_code;
}

function outbreakPhase(o, today) {
  if (o.end < today) return 'past';
  if (o.start > today) return 'upcoming';
  return 'active';
}

function outbreakRow(o, today) {
  const phase = outbreakPhase(o, today);
  const range = t('lists.outbreak.range', { start: dayText(o.start), end: dayText(o.end) });
  return h('li', { class: 'lists-row outbreak-row', dataset: { outbreakId: o.id, phase, province: o.province_code } },
    h('span', { class: 'outbreak-province' }, provinceText(o)),
    h('span', { class: 'outbreak-range' },
      h('span', { class: 'status-badge outbreak-phase', dataset: { status: phase } }, t(`lists.outbreak.${phase}`)),
      ' ', range),
    h('span', { class: 'lists-reason' }, o.reason || ''),
    listedBy(o),
    removeControl(o, { action: 'delete-outbreak', outbreakId: o.id },
      t('lists.outbreak.deleteLabel', { province: provinceText(o), range })));
}

/** The outbreak list: in force first, then coming, then past. */
export function renderOutbreaks() {
  if (!state.outbreaks) return;
  const today = todayKey();
  const order = { active: 0, upcoming: 1, past: 2 };
  const items = [...state.outbreaks].sort((a, b) => (
    order[outbreakPhase(a, today)] - order[outbreakPhase(b, today)] || (a.start < b.start ? -1 : a.start > b.start ? 1 : 0)
  ));
  dom.outbreakList.replaceChildren(...items.map((o) => outbreakRow(o, today)));
  dom.outbreakList.dataset.count = String(items.length);
  dom.outbreakCount.textContent = String(items.length);
  const parts = [];
  const notice = state.notices.outbreak;
  if (notice) parts.push(t(notice[0], notice[1]));
  parts.push(items.length ? plural('lists.outbreak.count', items.length) : t('lists.outbreak.empty'));
  setStatus(dom.outbreakStatus, parts.join(' · '));
}

/** The province picker's options. */
export function renderProvinces() {
  if (!dom.province) return;
  const current = dom.province.value;
  const options = [
    h('option', { value: '' }, t('lists.outbreak.choose')),
    ...state.provinces.map((p) => h('option', { value: p.code }, `${p.code} – ${p.name}`)),
  ];
  dom.province.replaceChildren(...options);
  dom.province.value = current;
}

/** The outbreak form: add a province for a period. */
export async function addOutbreak(event) {
  event.preventDefault();
  const body = {
    province_code: dom.province.value,
    start: dom.start.value,
    end: dom.end.value,
    reason: dom.outbreakReason.value.trim(),
  };
  invalid(dom.province, !body.province_code);
  invalid(dom.start, !body.start);
  invalid(dom.end, !body.end);
  if (!body.province_code || !body.start || !body.end) {
    setError(dom.outbreakError, { key: 'lists.outbreak.required' });
    return;
  }
  if (body.end < body.start) {
    dom.end.setAttribute('aria-invalid', 'true');
    setError(dom.outbreakError, { key: 'lists.outbreak.badRange' });
    return;
  }
  busy(dom.outbreakSubmit, true);
  try {
    const outbreak = await api('/api/anpr/outbreaks', { method: 'POST', body });
    setError(dom.outbreakError, null);
    dom.outbreakReason.value = '';
    dom.province.value = '';
    state.outbreaks = [...(state.outbreaks || []), outbreak];
    state.notices.outbreak = ['lists.outbreak.added', { province: provinceText(outbreak) }];
    renderOutbreaks();
  } catch (exc) {
    setError(dom.outbreakError, exc);
    if (exc instanceof ApiError && exc.code === 'bad-dates') dom.end.setAttribute('aria-invalid', 'true');
    dom.outbreakError.focus();
  } finally {
    busy(dom.outbreakSubmit, false);
  }
}

/** Remove the outbreak entry of `button`. */
export async function deleteOutbreak(button) {
  const o = (state.outbreaks || []).find((x) => x.id === button.dataset.outbreakId);
  if (!o) return;
  const range = t('lists.outbreak.range', { start: dayText(o.start), end: dayText(o.end) });
  if (!window.confirm(t('lists.outbreak.deleteConfirm', { province: provinceText(o), range }))) return;
  busy(button, true);
  try {
    await api(`/api/anpr/outbreaks/${encodeURIComponent(o.id)}`, { method: 'DELETE' });
    state.outbreaks = state.outbreaks.filter((x) => x.id !== o.id);
    state.notices.outbreak = ['lists.outbreak.deleted', { province: provinceText(o) }];
    setError(dom.error, null);
    renderOutbreaks();
  } catch (exc) {
    setError(dom.error, exc);
    busy(button, false);
  }
}

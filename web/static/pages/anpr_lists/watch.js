// The plate watch list: loading, showing, adding and removing entries.

import { ApiError, api, h } from '../../shared/api.js';
import { getLang, plural, t } from '../../shared/i18n.js';
import { fold } from '../../shared/text.js';
import { canEdit, dom, state } from './state.js';
import { busy, invalid, setError, setStatus, when } from './view.js';

const WATCH_SHOWN = 300; // rows rendered at most (a list can hold 100 000 plates)

// -- loading ------------------------------------------------------------------------------

/** Load the watch list (GET /api/anpr/watchlist). */
export async function loadWatch() {
  try {
    const data = await api('/api/anpr/watchlist');
    state.watch = Array.isArray(data?.entries) ? data.entries : [];
    renderWatch();
  } catch (exc) {
    setError(dom.error, exc);
    setStatus(dom.watchStatus, t('lists.watch.loadError'));
  } finally {
    dom.watchList.setAttribute('aria-busy', 'false');
  }
}

// -- the watch list -----------------------------------------------------------------------

/** Who listed an entry, and for which unit. */
export function listedBy(entry) {
  const unit = entry.unit || entry.unit_code;
  const args = { who: entry.created_by, time: when(entry.created_at), unit };
  return h('span', { class: 'lists-by muted small' }, t(unit ? 'lists.byUnit' : 'lists.by', args));
}

/** The remove button where this account may remove the entry, else a note saying whose it is. */
export function removeControl(entry, dataset, label) {
  if (!canEdit) return null;
  if (entry.can_remove === false) {
    const unit = entry.unit || entry.unit_code || t('lists.admin');
    return h('span', {
      class: 'lists-locked muted small',
      title: t('lists.notYoursTitle', { unit }),
      dataset: { locked: 'true' },
    }, t('lists.notYours', { unit }));
  }
  return h('button', {
    class: 'btn btn-sm btn-ghost lists-delete',
    type: 'button',
    dataset,
    'aria-label': label,
  }, t('lists.delete'));
}

function watchRow(entry) {
  return h('li', { class: 'lists-row watch-row', dataset: { entryId: entry.id, pattern: entry.pattern } },
    h('span', { class: 'watch-pattern plate-chip' }, entry.pattern),
    h('span', { class: 'lists-reason' }, entry.reason),
    listedBy(entry),
    removeControl(entry, { action: 'delete-watch', entryId: entry.id },
      t('lists.watch.deleteLabel', { pattern: entry.pattern })));
}

/** The watch list, filtered, at most WATCH_SHOWN rows. */
export function renderWatch() {
  if (!state.watch) return;
  const all = state.watch;
  const raw = dom.filter.value.trim();
  const q = fold(raw);
  const plain = q.toUpperCase().replace(/[^A-Z0-9]/g, '');
  const matches = q
    ? all.filter((e) => fold(e.reason).includes(q) || (plain && e.pattern.includes(plain)) || fold(e.pattern).includes(q))
    : all;
  const shown = matches.slice(0, WATCH_SHOWN);
  const focusedId = document.activeElement?.closest?.('[data-entry-id]')?.dataset.entryId;
  dom.watchList.replaceChildren(...shown.map(watchRow));
  if (focusedId) dom.watchList.querySelector(`[data-entry-id="${CSS.escape(focusedId)}"] button`)?.focus();
  dom.watchList.dataset.count = String(all.length);
  dom.watchCount.textContent = all.length.toLocaleString(getLang() === 'vi' ? 'vi-VN' : 'en-GB');
  const parts = [];
  const notice = state.notices.watch;
  if (notice) parts.push(t(notice[0], notice[1]));
  if (!all.length) parts.push(t('lists.watch.empty'));
  else if (q && !matches.length) parts.push(t('lists.watch.noMatch', { q: raw }));
  else if (q) parts.push(t('lists.watch.matches', { shown: matches.length, n: all.length, q: raw }));
  else parts.push(plural('lists.watch.count', all.length));
  if (matches.length > shown.length) parts.push(t('lists.watch.capped', { shown: shown.length }));
  setStatus(dom.watchStatus, parts.join(' · '));
}

/** The watch list form: add a plate pattern. */
export async function addWatch(event) {
  event.preventDefault();
  const pattern = dom.pattern.value.trim();
  const reason = dom.reason.value.trim();
  invalid(dom.pattern, !pattern);
  invalid(dom.reason, Boolean(pattern) && !reason);
  if (!pattern || !reason) {
    setError(dom.watchError, { key: 'form.required', params: () => ({ field: t(pattern ? 'lists.watch.reason' : 'lists.watch.pattern') }) });
    (pattern ? dom.reason : dom.pattern).focus();
    return;
  }
  busy(dom.watchSubmit, true);
  try {
    const entry = await api('/api/anpr/watchlist', { method: 'POST', body: { pattern, reason } });
    setError(dom.watchError, null);
    dom.pattern.value = '';
    dom.reason.value = '';
    state.notices.watch = ['lists.watch.added', { pattern: entry.pattern }];
    state.watch = [...(state.watch || []).filter((e) => e.id !== entry.id), entry]
      .sort((a, b) => (a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0));
    renderWatch();
    dom.pattern.focus();
  } catch (exc) {
    setError(dom.watchError, exc);
    if (exc instanceof ApiError && ['bad-pattern', 'conflict'].includes(exc.code)) dom.pattern.setAttribute('aria-invalid', 'true');
    if (exc instanceof ApiError && exc.code === 'invalid-request') {
      const field = String(exc.details?.[0]?.field || '');
      (field === 'reason' ? dom.reason : dom.pattern).setAttribute('aria-invalid', 'true');
    }
    dom.watchError.focus();
  } finally {
    busy(dom.watchSubmit, false);
  }
}

/** Remove the watch list entry of `button`. */
export async function deleteWatch(button) {
  const entry = (state.watch || []).find((e) => e.id === button.dataset.entryId);
  if (!entry) return;
  if (!window.confirm(t('lists.watch.deleteConfirm', { pattern: entry.pattern, reason: entry.reason }))) return;
  busy(button, true);
  try {
    await api(`/api/anpr/watchlist/${encodeURIComponent(entry.id)}`, { method: 'DELETE' });
    state.watch = state.watch.filter((e) => e.id !== entry.id);
    state.notices.watch = ['lists.watch.deleted', { pattern: entry.pattern }];
    setError(dom.error, null);
    renderWatch();
  } catch (exc) {
    setError(dom.error, exc);
    busy(button, false);
  }
}

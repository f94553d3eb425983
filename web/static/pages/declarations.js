// /anpr/declarations: "khai báo không trung thực" alerts on a checkpoint officer's phone.
// GET /api/anpr/declaration-alerts lists those of the officer's units; opening one
// (?alert=<id>, so it can be sent) shows its evidence (the passes, their plate crops),
// the declaration and the history, where the officer records what was found
// (POST .../notes). A declaration can also be entered by hand (POST /api/anpr/declarations).

import { t, addMessages, onLangChange } from '../shared/i18n.js';
import { api, h, showError, setPageError } from '../shared/api.js';
import { learnOffset, formatDateTime, fromLocalInput } from '../shared/time.js';

addMessages({
  vi: {
    'decl.title': 'Cảnh báo khai báo không trung thực',
    'decl.back': 'Quay lại danh sách',
    'decl.evidence': 'Bằng chứng: các lượt xe',
    'decl.declaration': 'Khai báo',
    'decl.history': 'Lịch sử xử lý',
    'decl.outcome': 'Kết quả kiểm tra',
    'decl.outcome.truthful': 'Đúng khai báo',
    'decl.outcome.false': 'Khai báo sai',
    'decl.outcome.not-found': 'Không gặp được xe',
    'decl.outcome.note': 'Ghi chú',
    'decl.note': 'Ghi chú',
    'decl.save': 'Lưu kết quả',
    'decl.byHand': 'Nhập một khai báo',
    'decl.plate': 'Biển số',
    'decl.driver': 'Họ tên lái xe',
    'decl.origin': 'Nơi đi (tỉnh/thành)',
    'decl.from': 'Từ lúc',
    'decl.to': 'Đến lúc',
    'decl.phone': 'Điện thoại',
    'decl.add': 'Lưu khai báo',
    'decl.added': 'Đã lưu khai báo của xe {plate}.',
    'decl.count': '{n} cảnh báo',
    'decl.none': 'Chưa có cảnh báo nào.',
    'decl.open': 'Chưa xử lý',
    'decl.this': 'Lượt xe này',
    'decl.earlier': 'Lượt xe trước',
    'decl.noDeclaration': 'Xe không có khai báo.',
    'decl.window': 'Thời gian khai báo',
    'decl.noHistory': 'Chưa có ai ghi kết quả.',
    'decl.noPicture': 'Không còn ảnh',
    'decl.cropAlt': 'Ảnh biển số {plate} tại {place}',
    'decl.place': 'Chốt',
  },
  en: {
    'decl.title': 'Untruthful travel declaration alerts',
    'decl.back': 'Back to the list',
    'decl.evidence': 'Evidence: the passes',
    'decl.declaration': 'Declaration',
    'decl.history': 'History',
    'decl.outcome': 'What was found',
    'decl.outcome.truthful': 'Declaration true',
    'decl.outcome.false': 'Declaration false',
    'decl.outcome.not-found': 'Vehicle not met',
    'decl.outcome.note': 'Note',
    'decl.note': 'Note',
    'decl.save': 'Save',
    'decl.byHand': 'Enter a declaration',
    'decl.plate': 'Plate',
    'decl.driver': 'Driver',
    'decl.origin': 'Coming from (province)',
    'decl.from': 'From',
    'decl.to': 'To',
    'decl.phone': 'Phone',
    'decl.add': 'Save the declaration',
    'decl.added': 'The declaration of {plate} is saved.',
    'decl.count': '{n} alerts',
    'decl.none': 'No alert yet.',
    'decl.open': 'Not followed up',
    'decl.this': 'This pass',
    'decl.earlier': 'Earlier pass',
    'decl.noDeclaration': 'The vehicle has no declaration.',
    'decl.window': 'Declared window',
    'decl.noHistory': 'Nobody has recorded anything yet.',
    'decl.noPicture': 'Picture no longer kept',
    'decl.cropAlt': 'Plate {plate} at {place}',
    'decl.place': 'Checkpoint',
  },
});

const $ = (id) => document.getElementById(id);
const dom = {
  error: $('page-error'),
  status: $('alerts-status'),
  list: $('alerts'),
  listSection: $('alert-list-section'),
  detail: $('alert-detail'),
  title: $('detail-title'),
  close: $('detail-close'),
  reason: $('detail-reason'),
  evidence: $('detail-evidence'),
  declaration: $('detail-declaration'),
  history: $('detail-history'),
  noteForm: $('note-form'),
  noteText: $('note-text'),
  noteError: $('note-error'),
  declForm: $('declaration-form'),
  declError: $('declaration-error'),
  declDone: $('declaration-done'),
  provinces: $('provinces'),
};

// Exposed for tests and for the console: what the page shows.
const state = { alerts: null, alert: null, error: null };
window.declarationsPage = state;

function outcomeText(outcome) {
  return outcome ? t(`decl.outcome.${outcome}`) : t('decl.open');
}

function renderList() {
  const alerts = state.alerts || [];
  dom.list.setAttribute('aria-busy', 'false');
  dom.status.textContent = alerts.length ? t('decl.count', { n: alerts.length }) : t('decl.none');
  dom.list.replaceChildren(
    ...alerts.map((a) =>
      h('li', { class: 'plate-card', dataset: { alertId: a.id, alert: String(!a.outcome) } },
        h('button', { class: 'btn btn-ghost decl-alert-open', type: 'button', onclick: () => openAlert(a.id) },
          h('strong', { class: 'plate-display', text: a.plate }), ' · ',
          h('span', { text: formatDateTime(a.time) }), ' · ',
          h('span', { text: a.checkpoint })),
        h('p', { class: 'plate-alert', text: a.reason }),
        h('p', { class: 'decl-outcome', text: outcomeText(a.outcome) })),
    ),
  );
}

function fact(label, value) {
  return [h('dt', { text: label }), h('dd', { text: value ?? '—' })];
}

function renderDetail() {
  const a = state.alert;
  dom.detail.hidden = !a;
  dom.listSection.hidden = Boolean(a);
  if (!a) return;
  dom.detail.dataset.alertId = a.id;
  dom.title.textContent = a.evidence[0]?.display || a.plate;
  dom.reason.textContent = a.reason;
  dom.evidence.replaceChildren(
    ...a.evidence.map((e, i) =>
      h('li', { class: 'plate-card', dataset: { eventId: e.id } },
        e.crop_url
          ? h('img', { class: 'plate-crop', src: e.crop_url, alt: t('decl.cropAlt', { plate: e.display, place: e.checkpoint }) })
          : h('span', { class: 'plate-crop picture-missing', text: t('decl.noPicture') }),
        h('dl', { class: 'plate-facts' },
          ...fact(i === 0 ? t('decl.this') : t('decl.earlier'), formatDateTime(e.time)),
          ...fact(t('decl.place'), e.checkpoint))),
    ),
  );
  const d = a.declaration;
  dom.declaration.replaceChildren(
    ...(d
      ? [
          ...fact(t('decl.driver'), d.driver),
          ...fact(t('decl.origin'), d.origin),
          ...fact(t('decl.window'), `${formatDateTime(d.valid_from)} – ${formatDateTime(d.valid_to)}`),
          h('dt', { text: t('decl.phone') }),
          h('dd', {}, d.phone ? h('a', { href: `tel:${d.phone}`, text: d.phone }) : '—'),
        ]
      : [h('dd', { text: t('decl.noDeclaration') })]),
  );
  dom.history.replaceChildren(
    ...(a.notes.length
      ? a.notes.map((n) =>
          h('li', { class: 'decl-note' },
            h('span', { class: 'decl-outcome', text: outcomeText(n.outcome) }),
            ` — ${n.by_name || n.by}, ${formatDateTime(n.at)}`,
            n.text ? h('div', { text: n.text }) : ''))
      : [h('li', { class: 'muted', text: t('decl.noHistory') })]),
  );
}

async function loadList() {
  try {
    const body = await api('/api/anpr/declaration-alerts');
    state.alerts = body.alerts;
    if (state.alerts[0]) learnOffset(state.alerts[0].time);
    setPageError(state, dom.error, null);
  } catch (exc) {
    setPageError(state, dom.error, exc);
    state.alerts = [];
  }
  renderList();
}

async function openAlert(id, push = true) {
  try {
    state.alert = await api(`/api/anpr/declaration-alerts/${encodeURIComponent(id)}`);
    setPageError(state, dom.error, null);
    if (push) history.pushState({ alert: id }, '', `?alert=${encodeURIComponent(id)}`);
  } catch (exc) {
    state.alert = null;
    setPageError(state, dom.error, exc);
  }
  renderDetail();
}

function closeAlert() {
  state.alert = null;
  history.pushState({}, '', location.pathname);
  renderDetail();
  loadList();
}

dom.close.addEventListener('click', closeAlert);
window.addEventListener('popstate', () => {
  const id = new URLSearchParams(location.search).get('alert');
  if (id) openAlert(id, false);
  else { state.alert = null; renderDetail(); }
});

dom.noteForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const a = state.alert;
  if (!a) return;
  const outcome = new FormData(dom.noteForm).get('outcome') || 'note';
  try {
    await api(`/api/anpr/declaration-alerts/${encodeURIComponent(a.id)}/notes`, {
      method: 'POST',
      body: { outcome, text: dom.noteText.value },
    });
    dom.noteText.value = '';
    showError(dom.noteError, null);
    await openAlert(a.id, false);
  } catch (exc) {
    showError(dom.noteError, exc);
  }
});

dom.declForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(dom.declForm));
  dom.declDone.hidden = true;
  try {
    const saved = await api('/api/anpr/declarations', {
      method: 'POST',
      body: { ...data, valid_from: fromLocalInput(data.valid_from), valid_to: fromLocalInput(data.valid_to) },
    });
    showError(dom.declError, null);
    dom.declForm.reset();
    dom.declDone.textContent = t('decl.added', { plate: saved.plate });
    dom.declDone.hidden = false;
  } catch (exc) {
    const errors = exc?.details?.errors;
    showError(dom.declError, errors ? errors.map((e) => e.message).join('; ') : exc);
  }
});

async function loadProvinces() {
  try {
    const body = await api('/api/anpr/provinces');
    const names = [...new Set(body.provinces.map((p) => p.name))];
    dom.provinces.replaceChildren(...names.map((name) => h('option', { value: name })));
  } catch {
    // the field takes a code or a name without the list
  }
}

onLangChange(() => {
  renderList();
  renderDetail();
  showError(dom.error, state.error);
});

loadProvinces();
await loadList();
const wanted = new URLSearchParams(location.search).get('alert');
if (wanted) await openAlert(wanted, false);

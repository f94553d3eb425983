// /anpr/declarations: "khai báo không trung thực" alerts on a checkpoint officer's phone.
// GET /api/anpr/declaration-alerts lists those of the officer's units; opening one
// (?alert=<id>, so it can be sent) shows its evidence (the passes, their plate crops),
// the declaration and the history, where the officer records what was found
// (POST .../notes). A declaration can also be entered by hand (POST /api/anpr/declarations).
// Supervisors (hosts, admins: page.can_supervise) also import a CSV/JSON file
// (POST /api/anpr/declarations/upload: all or nothing, every bad row named by its line),
// see the declarations kept, and set each camera's rule (PUT /api/anpr/feeds/{id}/declaration-rule).

import { t, addMessages, onLangChange } from '../shared/i18n.js';
import { api, page, h, showError, errorText, setPageError } from '../shared/api.js';
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
    'decl.sup.title': 'Quản lý khai báo (chỉ huy)',
    'decl.sup.upload': 'Nhập tệp khai báo (CSV hoặc JSON)',
    'decl.sup.file': 'Chọn tệp',
    'decl.sup.example': 'Ví dụ tệp CSV (dòng đầu là tên cột; điện thoại có thể để trống):',
    'decl.sup.allOrNothing': 'Tệp có dòng lỗi sẽ không được nhập dòng nào: sửa các dòng báo lỗi rồi tải lại.',
    'decl.sup.send': 'Tải lên',
    'decl.sup.noFile': 'Hãy chọn một tệp CSV hoặc JSON.',
    'decl.sup.sending': 'Đang tải lên…',
    'decl.sup.added': 'Đã thêm {n} khai báo từ tệp {name}.',
    'decl.sup.refused': 'Tệp không được nhập ({n} lỗi), chưa lưu dòng nào:',
    'decl.sup.line': 'Dòng {line}: {message}',
    'decl.sup.more': '… và {n} lỗi khác.',
    'decl.sup.list': 'Khai báo đã nhập',
    'decl.sup.count': '{n} khai báo',
    'decl.sup.none': 'Chưa có khai báo nào.',
    'decl.sup.rules': 'Quy định khai báo theo camera',
    'decl.sup.noFeeds': 'Chưa có camera nào.',
    'decl.sup.noRule': 'Chưa đặt quy định.',
    'decl.sup.rule': 'Chốt ở {province} · {required}',
    'decl.sup.province': 'Tỉnh/thành của chốt',
    'decl.sup.required': 'Ai phải khai báo',
    'decl.sup.saveRule': 'Lưu quy định',
    'decl.req.none': 'Không bắt buộc',
    'decl.req.outbreak': 'Xe đăng ký ở tỉnh có dịch',
    'decl.req.all': 'Mọi xe',
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
    'decl.sup.title': 'Managing declarations (supervisors)',
    'decl.sup.upload': 'Import a file of declarations (CSV or JSON)',
    'decl.sup.file': 'Choose a file',
    'decl.sup.example': 'A CSV example (the first line names the columns; the phone may be empty):',
    'decl.sup.allOrNothing': 'A file with a bad row is not imported at all: fix the rows named and upload it again.',
    'decl.sup.send': 'Upload',
    'decl.sup.noFile': 'Choose a CSV or JSON file.',
    'decl.sup.sending': 'Uploading…',
    'decl.sup.added': '{n} declarations added from {name}.',
    'decl.sup.refused': 'The file was not imported ({n} errors), no row was kept:',
    'decl.sup.line': 'Line {line}: {message}',
    'decl.sup.more': '… and {n} more errors.',
    'decl.sup.list': 'Declarations kept',
    'decl.sup.count': '{n} declarations',
    'decl.sup.none': 'No declaration yet.',
    'decl.sup.rules': 'Each camera\'s declaration rule',
    'decl.sup.noFeeds': 'No camera yet.',
    'decl.sup.noRule': 'No rule set.',
    'decl.sup.rule': 'Checkpoint in {province} · {required}',
    'decl.sup.province': 'The checkpoint\'s province',
    'decl.sup.required': 'Who must declare',
    'decl.sup.saveRule': 'Save the rule',
    'decl.req.none': 'Nobody',
    'decl.req.outbreak': 'Vehicles registered in an outbreak province',
    'decl.req.all': 'Every vehicle',
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
  // The supervisors' part (absent from an officer's page).
  uploadForm: $('upload-form'),
  uploadFile: $('upload-file'),
  uploadError: $('upload-error'),
  uploadErrorTitle: $('upload-error-title'),
  uploadErrors: $('upload-errors'),
  uploadDone: $('upload-done'),
  uploadSend: $('upload-send'),
  declarationsStatus: $('declarations-status'),
  declarations: $('declarations'),
  rulesStatus: $('rules-status'),
  rules: $('rules'),
};

const REQUIREMENTS = ['none', 'outbreak', 'all'];

// Exposed for tests and for the console: what the page shows.
const state = {
  alerts: null,
  alert: null,
  error: null,
  canSupervise: Boolean(page.can_supervise && dom.uploadForm),
  declarations: null, // supervisors: those kept for their units
  feeds: null, // supervisors: the cameras they may see
  rules: {}, // feed id -> its rule
  upload: null, // the last upload's outcome: {added, name} or {errors, more}
};
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

// -- supervisors: file import, the declarations kept, each camera's rule ---------------

function renderUpload() {
  const u = state.upload;
  dom.uploadDone.hidden = !u?.added && u?.added !== 0;
  dom.uploadError.hidden = !u?.errors && !u?.error;
  if (!u) return;
  if (u.added !== undefined) {
    dom.uploadDone.textContent = t('decl.sup.added', { n: u.added, name: u.name });
  } else if (u.errors) {
    dom.uploadErrorTitle.textContent = t('decl.sup.refused', { n: u.errors.length + u.more });
    dom.uploadErrors.replaceChildren(
      ...u.errors.map((e) =>
        h('li', { dataset: { line: String(e.line), code: e.code }, text: t('decl.sup.line', e) })),
      ...(u.more ? [h('li', { text: t('decl.sup.more', { n: u.more }) })] : []),
    );
  } else {
    dom.uploadErrorTitle.textContent = u.error instanceof Error ? errorText(u.error) : u.error;
    dom.uploadErrors.replaceChildren();
  }
}

function renderDeclarations() {
  const list = state.declarations || [];
  dom.declarationsStatus.textContent = list.length
    ? t('decl.sup.count', { n: list.length })
    : t('decl.sup.none');
  dom.declarations.replaceChildren(
    ...list.map((d) =>
      h('li', { class: 'plate-card', dataset: { declarationId: d.id, plate: d.plate } },
        h('strong', { class: 'plate-display', text: d.plate }),
        h('dl', { class: 'plate-facts' },
          ...fact(t('decl.driver'), d.driver),
          ...fact(t('decl.origin'), d.origin),
          ...fact(t('decl.window'), `${formatDateTime(d.valid_from)} – ${formatDateTime(d.valid_to)}`),
          ...fact(t('decl.phone'), d.phone || '—'))),
    ),
  );
}

function ruleText(rule) {
  return rule
    ? t('decl.sup.rule', { province: rule.province, required: t(`decl.req.${rule.required}`) })
    : t('decl.sup.noRule');
}

function ruleItem(feed) {
  const rule = state.rules[feed.id];
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const province = h('input', {
    type: 'text', name: 'province_code', required: true, maxlength: '60', list: 'provinces',
    value: rule?.province || '', 'aria-label': t('decl.sup.province'),
  });
  const required = h('select', { name: 'required', 'aria-label': t('decl.sup.required') },
    ...REQUIREMENTS.map((r) =>
      h('option', { value: r, text: t(`decl.req.${r}`), selected: (rule?.required || 'none') === r })));
  const form = h('form', { class: 'decl-rule-form', novalidate: true },
    h('label', {}, h('span', { text: t('decl.sup.province') }), province),
    h('label', {}, h('span', { text: t('decl.sup.required') }), required),
    h('button', { class: 'btn btn-primary', type: 'submit', text: t('decl.sup.saveRule') }),
    error);
  const item = h('li', { class: 'plate-card', dataset: { feedId: feed.id } },
    // A checkpoint has several cameras (lanes): name both, as the wall does.
    h('strong', { text: feed.checkpoint ? `${feed.checkpoint} – ${feed.name}` : feed.name }),
    h('p', { class: 'decl-rule-current', text: ruleText(rule) }),
    form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      state.rules[feed.id] = await api(`/api/anpr/feeds/${encodeURIComponent(feed.id)}/declaration-rule`, {
        method: 'PUT',
        body: { province_code: province.value.trim(), required: required.value },
      });
      item.replaceWith(ruleItem(feed));
    } catch (exc) {
      showError(error, exc);
    }
  });
  return item;
}

function renderRules() {
  const feeds = state.feeds || [];
  dom.rulesStatus.textContent = feeds.length ? '' : t('decl.sup.noFeeds');
  dom.rulesStatus.hidden = feeds.length > 0;
  dom.rules.replaceChildren(...feeds.map(ruleItem));
}

async function loadDeclarations() {
  try {
    state.declarations = (await api('/api/anpr/declarations')).declarations;
  } catch (exc) {
    state.declarations = [];
    setPageError(state, dom.error, exc);
  }
  renderDeclarations();
}

async function loadRules() {
  try {
    const [feeds, rules] = await Promise.all([api('/api/feeds'), api('/api/anpr/declaration-rules')]);
    state.rules = Object.fromEntries(rules.rules.map((r) => [r.feed_id, r]));
    state.feeds = feeds.feeds;
  } catch (exc) {
    state.feeds = [];
    setPageError(state, dom.error, exc);
  }
  renderRules();
}

if (state.canSupervise) {
  dom.uploadForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = dom.uploadFile.files[0];
    if (!file) {
      state.upload = { error: t('decl.sup.noFile') };
      renderUpload();
      return;
    }
    // The server also sniffs a JSON list; the name says it for a file the browser gives no type.
    const json = /\.json$/i.test(file.name) || file.type.includes('json');
    dom.uploadSend.disabled = true;
    dom.uploadDone.hidden = false;
    dom.uploadDone.textContent = t('decl.sup.sending');
    dom.uploadError.hidden = true;
    try {
      const body = await api(`/api/anpr/declarations/upload?name=${encodeURIComponent(file.name)}`, {
        method: 'POST',
        body: file,
        contentType: json ? 'application/json' : 'text/csv',
      });
      state.upload = { added: body.added, name: file.name };
      dom.uploadForm.reset();
    } catch (exc) {
      const errors = exc?.details?.errors;
      state.upload = errors ? { errors, more: exc.details.more_errors || 0 } : { error: exc };
    } finally {
      dom.uploadSend.disabled = false;
    }
    renderUpload();
    await loadDeclarations();
  });
}

onLangChange(() => {
  renderList();
  renderDetail();
  showError(dom.error, state.error);
  if (state.canSupervise) {
    renderUpload();
    renderDeclarations();
    renderRules();
  }
});

loadProvinces();
if (state.canSupervise) {
  loadDeclarations();
  loadRules();
}
await loadList();
const wanted = new URLSearchParams(location.search).get('alert');
if (wanted) await openAlert(wanted, false);

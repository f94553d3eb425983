// /anpr/lists: the plate watch list (GET/POST/DELETE /api/anpr/watchlist,
// POST /api/anpr/watchlist/upload) and the outbreak provinces
// (GET/POST/DELETE /api/anpr/outbreaks, provinces from /api/anpr/provinces).
// Hosts (the operators' supervisors) and administrators change them; for
// operators the page is read-only (the forms are not rendered and no delete
// buttons are shown; the API refuses anyway). An entry belongs to the unit
// that listed it: a host removes only its own unit's entries and those of
// the units below (the API says so per entry in `can_remove`).

import { t, plural, addMessages, onLangChange, getLang } from '../shared/i18n.js';
import { api, showError, errorText, h, ApiError } from '../shared/api.js';
import { fold } from '../shared/text.js';
import { partsAt, formatDateTime, formatDate, todayKey, addDays, parseIso } from '../shared/time.js';

const MESSAGES = {
  vi: {
    'lists.title': 'Danh sách cảnh báo',
    'lists.readOnly': 'Bạn chỉ xem được các danh sách này. Chủ trì hoặc quản trị mới thêm, xóa được.',
    'lists.delete': 'Xóa',
    'lists.by': '{who}, {time}',
    'lists.byUnit': '{who} ({unit}), {time}',
    'lists.notYours': 'Chỉ {unit} xóa được',
    'lists.notYoursTitle': 'Do {unit} đưa vào: chỉ chủ trì của đơn vị đó, cấp trên hoặc quản trị mới xóa được.',
    'lists.admin': 'quản trị',

    'lists.watch.title': 'Danh sách theo dõi',
    'lists.watch.hint': 'Xe có biển số khớp sẽ được cảnh báo ở mọi chốt. Dấu * thay cho một dãy ký tự, dấu ? thay cho đúng một ký tự: 29A* (mọi xe 29A), *8888, 30?1234. Biển đọc lệch một ký tự dễ nhầm (8/B, 0/D…) vẫn được cảnh báo, kèm ghi chú “gần đúng”.',
    'lists.watch.add': 'Thêm biển số',
    'lists.watch.pattern': 'Biển số hoặc mẫu',
    'lists.watch.reason': 'Lý do',
    'lists.watch.reasonPlaceholder': 'Ví dụ: xe bị mất cắp, trình báo ngày 20/11',
    'lists.watch.submit': 'Thêm',
    'lists.watch.added': 'Đã thêm {pattern} vào danh sách theo dõi.',
    'lists.watch.deleted': 'Đã xóa {pattern} khỏi danh sách theo dõi.',
    'lists.watch.deleteLabel': 'Xóa {pattern} khỏi danh sách theo dõi',
    'lists.watch.deleteConfirm': 'Xóa “{pattern}” ({reason}) khỏi danh sách theo dõi? Các chốt sẽ không cảnh báo biển số này nữa.',
    'lists.watch.filter': 'Tìm trong danh sách',
    'lists.watch.filterPlaceholder': 'Biển số hoặc lý do',
    'lists.watch.count': '{n} mục',
    'lists.watch.empty': 'Danh sách theo dõi đang trống.',
    'lists.watch.noMatch': 'Không có mục nào khớp “{q}”.',
    'lists.watch.matches': '{shown}/{n} mục khớp “{q}”',
    'lists.watch.capped': 'hiện {shown} mục đầu; gõ để tìm thêm',
    'lists.watch.loadError': 'Không tải được danh sách theo dõi.',

    'lists.upload.title': 'Nạp từ tệp',
    'lists.upload.hint': 'Tệp CSV, mỗi dòng “biển số,lý do” (dòng tiêu đề được bỏ qua), hoặc tệp JSON dạng [{"pattern": "…", "reason": "…"}]. Nếu có dòng sai, không dòng nào được nạp.',
    'lists.upload.file': 'Tệp danh sách (.csv, .json)',
    'lists.upload.submit': 'Nạp danh sách',
    'lists.upload.sending': 'Đang nạp…',
    'lists.upload.noFile': 'Xin chọn tệp danh sách.',
    'lists.upload.tooLarge': 'Tệp lớn hơn 5 MB. Xin chia thành nhiều tệp nhỏ hơn.',
    'lists.upload.done': 'Đã nạp “{file}”: thêm {added} mục, {already} mục đã có sẵn.',
    'lists.upload.bad': 'Tệp “{file}” không nạp được, chưa có mục nào được thêm: {detail}',

    'lists.outbreak.title': 'Tỉnh có dịch',
    'lists.outbreak.hint': 'Trong khoảng ngày đã chọn, mọi xe mang biển số của tỉnh đó qua chốt đều được cảnh báo.',
    'lists.outbreak.add': 'Đánh dấu tỉnh có dịch',
    'lists.outbreak.province': 'Tỉnh (mã biển số)',
    'lists.outbreak.choose': 'Chọn tỉnh…',
    'lists.outbreak.start': 'Từ ngày',
    'lists.outbreak.end': 'Đến ngày',
    'lists.outbreak.reason': 'Lý do',
    'lists.outbreak.reasonPlaceholder': 'Ví dụ: theo công điện số …',
    'lists.outbreak.submit': 'Thêm',
    'lists.outbreak.required': 'Xin chọn tỉnh và khoảng ngày.',
    'lists.outbreak.badRange': '“Đến ngày” phải sau hoặc bằng “Từ ngày”.',
    'lists.outbreak.added': 'Đã đánh dấu {province} có dịch.',
    'lists.outbreak.deleted': 'Đã bỏ đánh dấu {province}.',
    'lists.outbreak.deleteLabel': 'Bỏ đánh dấu {province} ({range})',
    'lists.outbreak.deleteConfirm': 'Bỏ đánh dấu {province} có dịch ({range})? Xe của tỉnh này sẽ không bị cảnh báo nữa.',
    'lists.outbreak.range': 'từ {start} đến {end}',
    'lists.outbreak.count': '{n} tỉnh được đánh dấu',
    'lists.outbreak.empty': 'Chưa có tỉnh nào được đánh dấu có dịch.',
    'lists.outbreak.active': 'Đang áp dụng',
    'lists.outbreak.upcoming': 'Sắp áp dụng',
    'lists.outbreak.past': 'Đã hết hạn',
    'lists.outbreak.loadError': 'Không tải được danh sách tỉnh có dịch.',

    'error.bad-pattern': 'Biển số hoặc mẫu không hợp lệ: chỉ dùng chữ, số, * và ?, và cần ít nhất 2 chữ hoặc số.',
    'error.bad-dates': '“Đến ngày” phải sau hoặc bằng “Từ ngày”.',
    'error.conflict': 'Mục này đã có trong danh sách.',
    'error.out-of-scope': 'Mục này do đơn vị khác đưa vào: chỉ chủ trì của đơn vị đó, cấp trên hoặc quản trị mới xóa được.',
    'error.too-large': 'Tệp lớn hơn 5 MB.',
    // What the server says about an upload, for the Vietnamese page.
    'upload.line': 'dòng {n}',
    'upload.item': 'mục {n}',
    'upload.empty': 'tệp rỗng',
    'upload.notUtf8': 'tệp không phải văn bản UTF-8',
    'upload.badJson': 'nội dung JSON sai cú pháp',
    'upload.notList': 'JSON phải là một danh sách [{"pattern": …, "reason": …}]',
    'upload.needsPattern': 'thiếu “pattern” dạng văn bản',
    'upload.needsBoth': 'cần biển số và lý do, cách nhau bằng dấu phẩy',
    'upload.noEntries': 'tệp không có mục nào',
    'upload.notPattern': '“{text}” không phải biển số hay mẫu hợp lệ',
    'upload.tooWide': '“{text}” khớp với gần như mọi biển số',
  },
  en: {
    'lists.title': 'Alert lists',
    'lists.readOnly': 'You can only view these lists. Hosts and administrators add and remove entries.',
    'lists.delete': 'Delete',
    'lists.by': '{who}, {time}',
    'lists.byUnit': '{who} ({unit}), {time}',
    'lists.notYours': 'Only {unit} can remove it',
    'lists.notYoursTitle': 'Listed by {unit}: only its hosts, the units above it or an administrator can remove it.',
    'lists.admin': 'administrator',

    'lists.watch.title': 'Watch list',
    'lists.watch.hint': 'A vehicle whose plate matches raises an alert at every checkpoint. * stands for any run of characters, ? for exactly one: 29A* (every 29A vehicle), *8888, 30?1234. A read that is one easily confused character off (8/B, 0/D…) still alerts, marked “near match”.',
    'lists.watch.add': 'Add a plate',
    'lists.watch.pattern': 'Plate or pattern',
    'lists.watch.reason': 'Reason',
    'lists.watch.reasonPlaceholder': 'For example: stolen vehicle, reported on 20/11',
    'lists.watch.submit': 'Add',
    'lists.watch.added': '{pattern} was added to the watch list.',
    'lists.watch.deleted': '{pattern} was removed from the watch list.',
    'lists.watch.deleteLabel': 'Remove {pattern} from the watch list',
    'lists.watch.deleteConfirm': 'Remove “{pattern}” ({reason}) from the watch list? The checkpoints will no longer alert on it.',
    'lists.watch.filter': 'Search the list',
    'lists.watch.filterPlaceholder': 'Plate or reason',
    'lists.watch.count': '{n} entries',
    'lists.watch.countOne': '1 entry',
    'lists.watch.empty': 'The watch list is empty.',
    'lists.watch.noMatch': 'No entry matches “{q}”.',
    'lists.watch.matches': '{shown}/{n} entries match “{q}”',
    'lists.watch.capped': 'showing the first {shown}; type to find more',
    'lists.watch.loadError': 'Could not load the watch list.',

    'lists.upload.title': 'Load from a file',
    'lists.upload.hint': 'A CSV file with one “plate,reason” per line (a header line is skipped), or a JSON file like [{"pattern": "…", "reason": "…"}]. If any line is wrong, nothing is loaded.',
    'lists.upload.file': 'List file (.csv, .json)',
    'lists.upload.submit': 'Load the list',
    'lists.upload.sending': 'Loading…',
    'lists.upload.noFile': 'Please choose a list file.',
    'lists.upload.tooLarge': 'The file is over 5 MB. Please split it into smaller files.',
    'lists.upload.done': 'Loaded “{file}”: {added} added, {already} already listed.',
    'lists.upload.bad': 'The file “{file}” could not be loaded; nothing was added: {detail}',

    'lists.outbreak.title': 'Outbreak provinces',
    'lists.outbreak.hint': 'Between the chosen dates, every vehicle with a plate of that province raises an alert at the checkpoints.',
    'lists.outbreak.add': 'Mark a province',
    'lists.outbreak.province': 'Province (plate code)',
    'lists.outbreak.choose': 'Choose a province…',
    'lists.outbreak.start': 'From',
    'lists.outbreak.end': 'To',
    'lists.outbreak.reason': 'Reason',
    'lists.outbreak.reasonPlaceholder': 'For example: per official dispatch no. …',
    'lists.outbreak.submit': 'Add',
    'lists.outbreak.required': 'Please choose a province and the dates.',
    'lists.outbreak.badRange': '“To” must be on or after “From”.',
    'lists.outbreak.added': '{province} was marked as an outbreak province.',
    'lists.outbreak.deleted': '{province} is no longer marked.',
    'lists.outbreak.deleteLabel': 'Unmark {province} ({range})',
    'lists.outbreak.deleteConfirm': 'Unmark {province} ({range})? Its vehicles will no longer raise alerts.',
    'lists.outbreak.range': 'from {start} to {end}',
    'lists.outbreak.count': '{n} provinces marked',
    'lists.outbreak.countOne': '1 province marked',
    'lists.outbreak.empty': 'No province is marked as an outbreak zone.',
    'lists.outbreak.active': 'In force',
    'lists.outbreak.upcoming': 'Upcoming',
    'lists.outbreak.past': 'Expired',
    'lists.outbreak.loadError': 'Could not load the outbreak provinces.',

    'error.bad-pattern': 'Not a valid plate or pattern: use letters, digits, * and ?, with at least 2 letters or digits.',
    'error.bad-dates': '“To” must be on or after “From”.',
    'error.conflict': 'This entry is already listed.',
    'error.too-large': 'The file is over 5 MB.',
  },
};
addMessages(MESSAGES);

const UPLOAD_MAX_BYTES = 5 * 1024 * 1024; // as web/anpr.py
const WATCH_SHOWN = 300; // rows rendered at most (a list can hold 100 000 plates)

const $ = (id) => document.getElementById(id);
const canEdit = document.querySelector('.lists-page')?.dataset.canEdit === 'true';
const dom = {
  error: $('page-error'),
  watchCount: $('watch-count'),
  watchForm: $('watch-form'),
  watchError: $('watch-error'),
  pattern: $('watch-pattern'),
  reason: $('watch-reason'),
  watchSubmit: $('watch-submit'),
  uploadForm: $('upload-form'),
  uploadFile: $('upload-file'),
  uploadButton: $('upload-button'),
  uploadError: $('upload-error'),
  uploadResult: $('upload-result'),
  filter: $('watch-filter'),
  watchStatus: $('watch-status'),
  watchList: $('watch-list'),
  outbreakCount: $('outbreak-count'),
  outbreakForm: $('outbreak-form'),
  outbreakError: $('outbreak-error'),
  province: $('outbreak-province'),
  start: $('outbreak-start'),
  end: $('outbreak-end'),
  outbreakReason: $('outbreak-reason'),
  outbreakSubmit: $('outbreak-submit'),
  outbreakStatus: $('outbreak-status'),
  outbreakList: $('outbreak-list'),
};

const state = {
  watch: null, // [{id, pattern, reason, created_by, created_at, unit_code, unit, can_remove}]
  outbreaks: null, // [{id, province_code, province, start, end, reason, created_by, created_at, unit_code, unit, can_remove}]
  provinces: [], // [{code, name}]
  errors: {}, // banner id -> what it shows (an ApiError, or {key, params}), for the language switch
  notices: {}, // 'watch' | 'outbreak' -> [key, params] of the last change
  uploadResult: null, // [key, params]
};

// -- small helpers ------------------------------------------------------------------------

const when = (seconds) => (typeof seconds === 'number' ? formatDateTime(partsAt(seconds * 1000)) : '');
const dayText = (key) => (parseIso(`${key}T00:00`) ? formatDate(`${key}T00:00`) : key);

function setStatus(el, text) {
  delete el.dataset.i18n;
  el.textContent = text;
}

/** The server's English reason for a bad upload, in Vietnamese when the page is. */
function uploadDetail(message) {
  const text = String(message || '');
  if (getLang() !== 'vi') return text;
  let m = /^(line|item) (\d+): (.*)$/s.exec(text);
  if (m) return `${t(m[1] === 'line' ? 'upload.line' : 'upload.item', { n: m[2] })}: ${uploadDetail(m[3])}`;
  if (text === 'the file is empty') return t('upload.empty');
  if (text === 'the file is not UTF-8 text') return t('upload.notUtf8');
  if (text.startsWith('the JSON is malformed')) return `${t('upload.badJson')} (${text.split(': ').slice(1).join(': ')})`;
  if (text.startsWith('the JSON must be a list')) return t('upload.notList');
  if (text === "needs a text 'pattern'") return t('upload.needsPattern');
  if (text === 'needs a plate pattern and a reason') return t('upload.needsBoth');
  if (text === 'the file has no entries') return t('upload.noEntries');
  m = /^'(.*)' is not a plate pattern/s.exec(text);
  if (m) return t('upload.notPattern', { text: m[1] });
  m = /^'(.*)' would match almost every plate/s.exec(text);
  if (m) return t('upload.tooWide', { text: m[1] });
  return text;
}

function bannerText(what) {
  if (what instanceof ApiError || what instanceof Error) {
    if (what instanceof ApiError && what.code === 'bad-pattern' && what.message) {
      return `${t('error.bad-pattern')} (${uploadDetail(what.message)})`;
    }
    return errorText(what);
  }
  return t(what.key, typeof what.params === 'function' ? what.params() : what.params);
}

/** Show (or hide, with null) an error in a banner; remembered for the language switch. */
function setError(el, what) {
  if (!el) return;
  if (!what) {
    delete state.errors[el.id];
    showError(el, null);
    return;
  }
  state.errors[el.id] = what;
  showError(el, bannerText(what));
  if (what instanceof ApiError) el.dataset.code = what.code;
  else delete el.dataset.code;
}

function invalid(input, on) {
  if (on) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

function busy(button, on, key) {
  button.disabled = on;
  button.setAttribute('aria-busy', String(on));
  const label = button.querySelector('span');
  if (key) {
    label.dataset.i18n = key;
    label.textContent = t(key);
  }
}

// -- loading ------------------------------------------------------------------------------

async function loadWatch() {
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

async function loadOutbreaks() {
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

async function loadProvinces() {
  if (!dom.province) return;
  try {
    const data = await api('/api/anpr/provinces');
    state.provinces = Array.isArray(data?.provinces) ? data.provinces : [];
  } catch (exc) {
    setError(dom.outbreakError, exc);
  }
  renderProvinces();
}

// -- the watch list -----------------------------------------------------------------------

/** Who listed an entry, and for which unit. */
function listedBy(entry) {
  const unit = entry.unit || entry.unit_code;
  const args = { who: entry.created_by, time: when(entry.created_at), unit };
  return h('span', { class: 'lists-by muted small' }, t(unit ? 'lists.byUnit' : 'lists.by', args));
}

/** The remove button where this account may remove the entry, else a note saying whose it is. */
function removeControl(entry, dataset, label) {
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

function renderWatch() {
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

async function addWatch(event) {
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

async function deleteWatch(button) {
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

// -- uploading ----------------------------------------------------------------------------

function uploadType(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith('.json')) return 'application/json';
  if (name.endsWith('.csv') || name.endsWith('.txt')) return 'text/csv';
  return file.type || 'text/csv';
}

function showUploadResult(result) {
  state.uploadResult = result;
  dom.uploadResult.hidden = !result;
  dom.uploadResult.textContent = result ? t(result[0], result[1]) : '';
}

async function upload(event) {
  event.preventDefault();
  const file = dom.uploadFile.files?.[0];
  showUploadResult(null);
  if (!file) {
    setError(dom.uploadError, { key: 'lists.upload.noFile' });
    dom.uploadFile.focus();
    return;
  }
  if (file.size > UPLOAD_MAX_BYTES) {
    setError(dom.uploadError, { key: 'lists.upload.tooLarge' });
    return;
  }
  busy(dom.uploadButton, true, 'lists.upload.sending');
  try {
    const data = await api('/api/anpr/watchlist/upload', { method: 'POST', body: file, contentType: uploadType(file) });
    setError(dom.uploadError, null);
    delete state.notices.watch; // the upload's own result says what changed
    showUploadResult(['lists.upload.done', { file: file.name, added: data?.added ?? 0, already: data?.already_listed ?? 0 }]);
    dom.uploadForm.reset();
    await loadWatch();
  } catch (exc) {
    if (exc instanceof ApiError && exc.code === 'bad-upload') {
      const message = exc.message;
      setError(dom.uploadError, {
        key: 'lists.upload.bad',
        params: () => ({ file: file.name, detail: uploadDetail(message) }),
      });
      dom.uploadError.dataset.code = exc.code;
    } else {
      setError(dom.uploadError, exc);
    }
    dom.uploadError.focus();
  } finally {
    busy(dom.uploadButton, false, 'lists.upload.submit');
  }
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

function renderOutbreaks() {
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

function renderProvinces() {
  if (!dom.province) return;
  const current = dom.province.value;
  const options = [
    h('option', { value: '' }, t('lists.outbreak.choose')),
    ...state.provinces.map((p) => h('option', { value: p.code }, `${p.code} – ${p.name}`)),
  ];
  dom.province.replaceChildren(...options);
  dom.province.value = current;
}

async function addOutbreak(event) {
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

async function deleteOutbreak(button) {
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

// -- wiring -------------------------------------------------------------------------------

function setTitle() {
  document.title = `${t('lists.title')} – ${t('app.title')}`;
}

let filterTimer = null;
dom.filter.addEventListener('input', () => {
  clearTimeout(filterTimer);
  filterTimer = setTimeout(renderWatch, 150);
});
dom.watchList.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action="delete-watch"]');
  if (button && !button.disabled) deleteWatch(button);
});
dom.outbreakList.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action="delete-outbreak"]');
  if (button && !button.disabled) deleteOutbreak(button);
});
if (canEdit) {
  dom.watchForm?.addEventListener('submit', addWatch);
  dom.uploadForm?.addEventListener('submit', upload);
  dom.uploadFile?.addEventListener('change', () => {
    setError(dom.uploadError, null);
    delete state.notices.watch; // the upload's own result says what changed
    showUploadResult(null);
  });
  dom.outbreakForm?.addEventListener('submit', addOutbreak);
  if (dom.start && dom.end) {
    dom.start.value = todayKey();
    dom.end.value = addDays(todayKey(), 14);
  }
}

onLangChange(() => {
  setTitle();
  renderWatch();
  renderOutbreaks();
  renderProvinces();
  for (const [id, what] of Object.entries(state.errors)) {
    const el = document.getElementById(id);
    if (el) showError(el, bannerText(what));
  }
  if (state.uploadResult) showUploadResult(state.uploadResult);
});

setTitle();
loadWatch();
loadOutbreaks();
loadProvinces();

// For automated tests and support staff.
window.listsPage = {
  get watch() {
    return state.watch;
  },
  get outbreaks() {
    return state.outbreaks;
  },
  canEdit,
  reload: () => Promise.all([loadWatch(), loadOutbreaks()]),
};

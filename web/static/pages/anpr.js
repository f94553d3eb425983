// /anpr: the checkpoint officer's plate search, built for a phone first.
// GET /api/anpr/events?plate=&from=&to=&checkpoint=&limit= matches any part
// of a plate (separators ignored), newest first. The query lives in the URL
// (?plate=&from=&to=&checkpoint=) so a search can be bookmarked or sent, and
// the feeds page links a camera's last plate here.

import { t, plural, addMessages, onLangChange, getLang } from '../shared/i18n.js';
import { api, showError, h, ApiError, setPageError } from '../shared/api.js';
import { learnOffset, formatDateTime, fromLocalInput, toLocalInput, parseIso } from '../shared/time.js';
import { icon, fillIcons } from '../shared/icons.js';

const MESSAGES = {
  vi: {
    'anpr.title': 'Tra cứu biển số',
    'anpr.plate': 'Biển số (đầy đủ hoặc một phần)',
    'anpr.platePlaceholder': 'Ví dụ: 30A12345, 123.45, 20A',
    'anpr.plateHint': 'Gõ bất kỳ phần nào của biển số; dấu chấm, gạch ngang và khoảng trắng được bỏ qua.',
    'anpr.search': 'Tìm',
    'anpr.more': 'Lọc theo thời gian, chốt',
    'anpr.from': 'Từ lúc',
    'anpr.to': 'Đến lúc',
    'anpr.checkpoint': 'Chốt',
    'anpr.allCheckpoints': 'Tất cả các chốt',
    'anpr.clear': 'Xóa bộ lọc',
    'anpr.badRange': '“Từ lúc” phải trước “Đến lúc”.',
    'anpr.needChars': 'Xin nhập chữ hoặc số của biển số.',
    'anpr.searching': 'Đang tìm…',
    'anpr.latest': '{n} lượt xe gần nhất',
    'anpr.found': '{n} lượt xe khớp “{q}”',
    'anpr.none': 'Không có lượt xe nào khớp “{q}”.',
    'anpr.noneAtAll': 'Chưa có lượt xe nào được ghi nhận.',
    'anpr.noneFiltered': 'Không có lượt xe nào trong khoảng đã chọn.',
    'anpr.truncated': 'Chỉ hiện {n} lượt mới nhất.',
    'anpr.showMore': 'Xem thêm lượt xe cũ hơn',
    'anpr.loadError': 'Không tra cứu được.',
    'anpr.time': 'Thời gian',
    'anpr.place': 'Chốt',
    'anpr.province': 'Tỉnh',
    'anpr.confidence': 'Độ tin cậy',
    'anpr.colour': 'Màu biển',
    'anpr.colour.white': 'Nền trắng (xe cá nhân)',
    'anpr.colour.yellow': 'Nền vàng (xe kinh doanh vận tải)',
    'anpr.colour.blue': 'Nền xanh (cơ quan nhà nước)',
    'anpr.colour.red': 'Nền đỏ (quân đội)',
    'anpr.lowConfidence': 'thấp, xin đối chiếu ảnh',
    'anpr.alert': 'Cảnh báo',
    'anpr.cropAlt': 'Ảnh chụp biển số {plate}',
    'anpr.noPicture': 'Không còn ảnh',
    'anpr.frame': 'Ảnh toàn cảnh',
    'anpr.frameLabel': 'Phóng to ảnh toàn cảnh của xe {plate} lúc {time}',
    'anpr.frameAlt': 'Ảnh toàn cảnh của xe {plate}',
    'anpr.closeFrame': 'Đóng ảnh',
    'anpr.unknownProvince': 'Không rõ',
    'error.bad-plate': 'Xin nhập chữ hoặc số của biển số.',
    'error.bad-limit': 'Số kết quả yêu cầu không hợp lệ.',
  },
  en: {
    'anpr.title': 'Plate search',
    'anpr.plate': 'Plate (whole or any part)',
    'anpr.platePlaceholder': 'For example: 30A12345, 123.45, 20A',
    'anpr.plateHint': 'Type any part of the plate; dots, dashes and spaces are ignored.',
    'anpr.search': 'Search',
    'anpr.more': 'Filter by time, checkpoint',
    'anpr.from': 'From',
    'anpr.to': 'To',
    'anpr.checkpoint': 'Checkpoint',
    'anpr.allCheckpoints': 'All checkpoints',
    'anpr.clear': 'Clear filters',
    'anpr.badRange': '“From” must be before “To”.',
    'anpr.needChars': 'Please type letters or digits of the plate.',
    'anpr.searching': 'Searching…',
    'anpr.latest': 'The {n} latest vehicles',
    'anpr.latestOne': 'The latest vehicle',
    'anpr.found': '{n} vehicles match “{q}”',
    'anpr.foundOne': '1 vehicle matches “{q}”',
    'anpr.none': 'No vehicle matches “{q}”.',
    'anpr.noneAtAll': 'No vehicle has been recorded yet.',
    'anpr.noneFiltered': 'No vehicle in the chosen range.',
    'anpr.truncated': 'Only the {n} latest are shown.',
    'anpr.showMore': 'Show older vehicles',
    'anpr.loadError': 'The search failed.',
    'anpr.time': 'Time',
    'anpr.place': 'Checkpoint',
    'anpr.province': 'Province',
    'anpr.confidence': 'Confidence',
    'anpr.colour': 'Plate colour',
    'anpr.colour.white': 'White (private)',
    'anpr.colour.yellow': 'Yellow (commercial transport)',
    'anpr.colour.blue': 'Blue (state body)',
    'anpr.colour.red': 'Red (military)',
    'anpr.lowConfidence': 'low, check the picture',
    'anpr.alert': 'Alert',
    'anpr.cropAlt': 'Photo of the plate {plate}',
    'anpr.noPicture': 'Picture no longer kept',
    'anpr.frame': 'Whole picture',
    'anpr.frameLabel': 'Enlarge the whole picture of {plate} at {time}',
    'anpr.frameAlt': 'Whole picture of the vehicle {plate}',
    'anpr.closeFrame': 'Close the picture',
    'anpr.unknownProvince': 'Unknown',
    'error.bad-plate': 'Please type letters or digits of the plate.',
    'error.bad-limit': 'The number of results asked for is not valid.',
  },
};
addMessages(MESSAGES);

const PAGE_SIZE = 50;
const MAX_RESULTS = 500; // the API's cap
const TYPE_DELAY_MS = 350;
const LOW_CONFIDENCE = 0.8;
const COLOURS = new Set(['white', 'yellow', 'blue', 'red']);

const $ = (id) => document.getElementById(id);
const dom = {
  form: $('plate-search'),
  plate: $('plate'),
  from: $('search-from'),
  to: $('search-to'),
  checkpoint: $('search-checkpoint'),
  more: $('search-more'),
  clear: $('search-clear'),
  searchError: $('search-error'),
  error: $('page-error'),
  status: $('results-status'),
  list: $('results'),
  viewer: $('frame-viewer'),
  viewerTitle: $('frame-viewer-title'),
  viewerImg: $('frame-viewer-img'),
  viewerCaption: $('frame-viewer-caption'),
  viewerClose: $('frame-viewer-close'),
};

const showMore = h('button', { id: 'show-more', class: 'btn btn-ghost btn-block', type: 'button', hidden: true });
dom.list.after(showMore);

const state = {
  query: readQuery(),
  limit: PAGE_SIZE,
  events: null, // the last answer
  checkpoints: [], // checkpoint names of the feeds in scope
  error: null,
  searchError: null, // an i18n key
  seq: 0,
  typeTimer: null,
  viewing: null, // the event shown in the frame viewer
};

/** Letters and digits only, upper case: what the server matches (plate_query). */
function normalise(text) {
  return String(text || '').toUpperCase().replace(/Đ/g, 'D').replace(/[^A-Z0-9]/g, '').slice(0, 16);
}

function readQuery() {
  const q = new URLSearchParams(location.search);
  const time = (name) => (parseIso(q.get(name) || '') ? q.get(name) : '');
  return {
    plate: (q.get('plate') || '').slice(0, 20),
    from: time('from'),
    to: time('to'),
    checkpoint: (q.get('checkpoint') || '').slice(0, 200),
  };
}

function writeQuery() {
  const url = new URL(location.href);
  for (const name of ['plate', 'from', 'to', 'checkpoint']) {
    if (state.query[name]) url.searchParams.set(name, state.query[name]);
    else url.searchParams.delete(name);
  }
  if (url.toString() !== location.href) history.replaceState(history.state, '', url.toString());
}

// -- searching ----------------------------------------------------------------------------

function readForm() {
  return {
    plate: dom.plate.value.trim(),
    from: fromLocalInput(dom.from.value) || '',
    to: fromLocalInput(dom.to.value) || '',
    checkpoint: dom.checkpoint.value,
  };
}

function setSearchError(key) {
  state.searchError = key;
  dom.searchError.hidden = !key;
  dom.searchError.textContent = key ? t(key) : '';
  const rangeBad = key === 'anpr.badRange';
  for (const input of [dom.from, dom.to]) {
    if (rangeBad) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  if (key === 'anpr.needChars') dom.plate.setAttribute('aria-invalid', 'true');
  else dom.plate.removeAttribute('aria-invalid');
}

async function search({ more = false } = {}) {
  clearTimeout(state.typeTimer);
  const query = readForm();
  if (query.plate && !normalise(query.plate)) {
    setSearchError('anpr.needChars');
    return;
  }
  if (query.from && query.to && Date.parse(query.from) >= Date.parse(query.to)) {
    setSearchError('anpr.badRange');
    return;
  }
  setSearchError(null);
  const same = JSON.stringify(query) === JSON.stringify(state.query);
  state.limit = more && same ? Math.min(state.limit + PAGE_SIZE, MAX_RESULTS) : PAGE_SIZE;
  state.query = query;
  writeQuery();
  const seq = ++state.seq;
  const params = new URLSearchParams();
  if (query.plate) params.set('plate', query.plate);
  if (query.from) params.set('from', query.from);
  if (query.to) params.set('to', query.to);
  if (query.checkpoint) params.set('checkpoint', query.checkpoint);
  params.set('limit', String(state.limit));
  dom.list.setAttribute('aria-busy', 'true');
  showMore.disabled = true;
  setStatus(t('anpr.searching'));
  try {
    const data = await api(`/api/anpr/events?${params}`);
    if (seq !== state.seq) return;
    state.events = Array.isArray(data?.events) ? data.events : [];
    if (state.events[0]?.time) learnOffset(state.events[0].time);
    setPageError(state, dom.error, null);
    render();
  } catch (exc) {
    if (seq !== state.seq) return;
    setPageError(state, dom.error, exc);
    if (exc instanceof ApiError && exc.code === 'bad-plate') dom.plate.setAttribute('aria-invalid', 'true');
    setStatus(t('anpr.loadError'));
  } finally {
    if (seq === state.seq) {
      dom.list.setAttribute('aria-busy', 'false');
      showMore.disabled = false;
    }
  }
}

async function loadCheckpoints() {
  try {
    const data = await api('/api/feeds');
    const names = new Set((data?.feeds || []).map((f) => f.checkpoint).filter(Boolean));
    state.checkpoints = [...names].sort((a, b) => a.localeCompare(b, 'vi'));
  } catch {
    state.checkpoints = []; // the search still works without the list
  }
  renderCheckpoints();
}

function setStatus(text) {
  delete dom.status.dataset.i18n;
  dom.status.textContent = text;
}

// -- rendering ----------------------------------------------------------------------------

function renderCheckpoints() {
  const wanted = dom.checkpoint.value || state.query.checkpoint;
  const names = [...state.checkpoints];
  if (wanted && !names.includes(wanted)) names.unshift(wanted);
  const options = [h('option', { value: '' }, t('anpr.allCheckpoints')), ...names.map((n) => h('option', { value: n }, n))];
  const signature = options.map((o) => `${o.value}:${o.textContent}`).join('|');
  if (dom.checkpoint.dataset.signature !== signature) {
    dom.checkpoint.replaceChildren(...options);
    dom.checkpoint.dataset.signature = signature;
  }
  dom.checkpoint.value = wanted;
}

/** The plate's display text with the searched part marked (separators ignored). */
function markedPlate(display, query) {
  const q = normalise(query);
  const text = String(display || '');
  if (!q) return [text];
  const positions = []; // index in `text` of each letter or digit
  let plain = '';
  for (let i = 0; i < text.length; i += 1) {
    const ch = normalise(text[i]);
    if (ch) {
      positions.push(i);
      plain += ch;
    }
  }
  const at = plain.indexOf(q);
  if (at < 0) return [text];
  const start = positions[at];
  const end = positions[at + q.length - 1] + 1;
  return [text.slice(0, start), h('mark', {}, text.slice(start, end)), text.slice(end)];
}

function picture(url, cls, alt) {
  const img = h('img', { class: cls, src: url, alt, loading: 'lazy', decoding: 'async' });
  img.addEventListener('error', () => {
    img.replaceWith(h('span', { class: `${cls} picture-missing` }, t('anpr.noPicture')));
  }, { once: true });
  return img;
}

const locale = () => (getLang() === 'vi' ? 'vi-VN' : 'en-GB');

function eventCard(ev) {
  const when = formatDateTime(ev.time);
  const confidence = typeof ev.confidence === 'number' ? ev.confidence : null;
  const low = confidence !== null && confidence < LOW_CONFIDENCE;
  const province = ev.province
    ? `${ev.province} (${ev.province_code})`
    : `${t('anpr.unknownProvince')}${ev.province_code ? ` (${ev.province_code})` : ''}`;
  const facts = h('dl', { class: 'plate-facts' },
    h('div', { dataset: { fact: 'time' } },
      h('dt', {}, t('anpr.time')),
      h('dd', {}, h('time', { datetime: ev.time || '' }, when))),
    h('div', { dataset: { fact: 'checkpoint' } },
      h('dt', {}, t('anpr.place')),
      h('dd', { class: 'plate-checkpoint' }, ev.checkpoint)),
    h('div', { dataset: { fact: 'province' } },
      h('dt', {}, t('anpr.province')),
      h('dd', {}, province)),
    // The background colour says what kind of vehicle it is; shown only where the camera saw it.
    COLOURS.has(ev.colour)
      ? h('div', { dataset: { fact: 'colour' } },
        h('dt', {}, t('anpr.colour')),
        h('dd', {}, h('span', { class: `plate-swatch plate-swatch-${ev.colour}`, 'aria-hidden': 'true' }),
          t(`anpr.colour.${ev.colour}`)))
      : null,
    h('div', { dataset: { fact: 'confidence' } },
      h('dt', {}, t('anpr.confidence')),
      h('dd', { class: low ? 'is-low' : '' },
        confidence === null ? '–' : `${Math.round(confidence * 100).toLocaleString(locale())} %`,
        low ? ` (${t('anpr.lowConfidence')})` : '')));
  let thumb = null;
  if (ev.thumbnail_url) {
    thumb = h('button', {
      class: 'plate-thumb',
      type: 'button',
      dataset: { action: 'enlarge', eventId: ev.id },
      'aria-label': t('anpr.frameLabel', { plate: ev.display, time: when }),
    }, picture(ev.thumbnail_url, 'plate-thumb-img', ''), h('span', { class: 'plate-thumb-label' }, t('anpr.frame')));
  }
  return h('li', { class: 'plate-card', dataset: { eventId: ev.id, alert: String(Boolean(ev.alert)) } },
    h('div', { class: 'plate-card-top' },
      h('p', { class: 'plate-display', lang: 'vi' }, markedPlate(ev.display || ev.plate, state.query.plate)),
      ev.crop_url
        ? picture(ev.crop_url, 'plate-crop', t('anpr.cropAlt', { plate: ev.display }))
        : h('span', { class: 'plate-crop picture-missing' }, t('anpr.noPicture'))),
    ev.alert
      ? h('p', { class: 'plate-alert' }, icon('warning'),
        h('span', {}, h('strong', {}, `${t('anpr.alert')}: `), ev.alert))
      : null,
    h('div', { class: 'plate-card-body' }, facts, thumb));
}

function render() {
  renderCheckpoints();
  if (state.searchError) setSearchError(state.searchError);
  if (!state.events) return;
  dom.list.replaceChildren(...state.events.map(eventCard));
  const n = state.events.length;
  dom.list.dataset.count = String(n);
  const q = state.query.plate;
  const filtered = Boolean(state.query.from || state.query.to || state.query.checkpoint);
  let text;
  if (!n) text = q ? t('anpr.none', { q }) : t(filtered ? 'anpr.noneFiltered' : 'anpr.noneAtAll');
  else if (q) text = plural('anpr.found', n).split('{q}').join(q);
  else text = plural('anpr.latest', n);
  const truncated = n >= state.limit;
  if (truncated) text += ` ${t('anpr.truncated', { n })}`;
  setStatus(text);
  dom.status.classList.toggle('rec-empty', !n);
  showMore.hidden = !truncated || state.limit >= MAX_RESULTS;
  showMore.textContent = t('anpr.showMore');
}

// -- the frame viewer ---------------------------------------------------------------------

function openViewer(ev, opener) {
  state.viewing = ev;
  const when = formatDateTime(ev.time);
  dom.viewerTitle.textContent = `${ev.display} · ${when}`;
  dom.viewerCaption.textContent = ev.checkpoint;
  dom.viewerImg.alt = t('anpr.frameAlt', { plate: ev.display });
  dom.viewerImg.src = ev.thumbnail_url;
  dom.viewer._opener = opener;
  if (typeof dom.viewer.showModal === 'function') dom.viewer.showModal();
  else dom.viewer.setAttribute('open', '');
  dom.viewerClose.focus();
}

function closeViewer() {
  if (dom.viewer.open) dom.viewer.close();
}

dom.viewer.addEventListener('close', () => {
  state.viewing = null;
  dom.viewerImg.removeAttribute('src');
  dom.viewer._opener?.focus();
});
dom.viewerClose.addEventListener('click', closeViewer);
dom.viewer.addEventListener('click', (event) => {
  if (event.target === dom.viewer) closeViewer(); // a tap on the backdrop
});

// -- wiring -------------------------------------------------------------------------------

function setTitle() {
  document.title = `${t('anpr.title')} – ${t('app.title')}`;
}

dom.form.addEventListener('submit', (event) => {
  event.preventDefault();
  search();
});
dom.plate.addEventListener('input', () => {
  clearTimeout(state.typeTimer);
  const value = dom.plate.value.trim();
  if (value && normalise(value).length < 2) return; // wait for a useful part
  state.typeTimer = setTimeout(() => search(), TYPE_DELAY_MS);
});
for (const input of [dom.from, dom.to, dom.checkpoint]) input.addEventListener('change', () => search());
dom.clear.addEventListener('click', () => {
  dom.from.value = '';
  dom.to.value = '';
  dom.checkpoint.value = '';
  search();
});
dom.list.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action="enlarge"]');
  if (!button) return;
  const ev = (state.events || []).find((e) => e.id === button.dataset.eventId);
  if (ev) openViewer(ev, button);
});
showMore.addEventListener('click', () => search({ more: true }));

onLangChange(() => {
  setTitle();
  render();
  if (state.error) {
    showError(dom.error, state.error);
    setStatus(t('anpr.loadError'));
  }
  if (state.viewing) {
    dom.viewerImg.alt = t('anpr.frameAlt', { plate: state.viewing.display });
  }
});

setTitle();
fillIcons(document.getElementById('main'));
dom.plate.value = state.query.plate;
dom.from.value = toLocalInput(state.query.from);
dom.to.value = toLocalInput(state.query.to);
if (state.query.from || state.query.to || state.query.checkpoint) dom.more.open = true;
renderCheckpoints();
loadCheckpoints();
search();
if (!state.query.plate) dom.plate.focus();

// For automated tests and support staff.
window.anprPage = {
  get events() {
    return state.events;
  },
  get query() {
    return { ...state.query };
  },
  search,
};


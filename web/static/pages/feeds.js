// /feeds: the checkpoint cameras in the user's scope (GET /api/feeds) with
// their live status, refreshed every few seconds while the page is visible;
// a form to register a camera (POST /api/feeds) and deletion with
// confirmation (DELETE /api/feeds/{id}).

import { t, plural, addMessages, onLangChange, getLang } from '../shared/i18n.js';
import { api, showError, errorText, h, ApiError, setPageError } from '../shared/api.js';
import { partsAt, formatDateTime, formatTime } from '../shared/time.js';

const MESSAGES = {
  vi: {
    'feeds.title': 'Camera tại các chốt',
    'feeds.add': 'Đăng ký camera',
    'feeds.intro': 'Trạng thái được cập nhật vài giây một lần. Camera đang chạy có thể được đưa vào cuộc họp từ màn hình điều hành.',
    'feeds.count': '{n} camera',
    'feeds.updated': 'cập nhật lúc {time}',
    'feeds.empty': 'Chưa có camera nào trong phạm vi của bạn. Đăng ký camera bằng biểu mẫu bên dưới.',
    'feeds.loadError': 'Không tải được danh sách camera.',
    'feeds.state.starting': 'Đang khởi động',
    'feeds.state.connecting': 'Đang kết nối',
    'feeds.state.online': 'Đang hoạt động',
    'feeds.state.offline': 'Mất tín hiệu',
    'feeds.state.failed': 'Nguồn không dùng được',
    'feeds.state.stopped': 'Đã dừng',
    'feeds.location': 'Vị trí',
    'feeds.unit': 'Đơn vị',
    'feeds.noUnit': 'Mọi đơn vị',
    'feeds.url': 'Luồng video',
    'feeds.fps': 'Khung hình/giây',
    'feeds.frames': 'Số khung hình',
    'feeds.passes': 'Lượt xe',
    'feeds.alerts': 'Cảnh báo',
    'feeds.restarts': 'Khởi động lại',
    'feeds.shedReads': 'Lượt đọc bị bỏ (quá tải)',
    'feeds.unread': 'Xe không kịp đọc',
    'feeds.sheddingTag': 'Quá tải: đang bỏ bớt lượt đọc biển số',
    'feeds.node': 'Máy chủ đọc',
    'feeds.video': 'Hình ảnh',
    'feeds.passthroughTag': 'Chuyển tiếp nguyên luồng',
    'feeds.error': 'Lỗi',
    'feeds.note.passthrough-b-frames': 'Không chuyển tiếp nguyên luồng: camera gửi khung B, trình duyệt không phát được; hình được mã hóa lại.',
    'feeds.note.passthrough-not-h264': 'Không chuyển tiếp nguyên luồng: camera không gửi H.264; hình được mã hóa lại.',
    'feeds.lastRead': 'Biển số gần nhất',
    'feeds.lastReadNone': 'Chưa đọc được biển số nào',
    'feeds.lastReadSearch': 'Tra cứu biển số {plate}',
    'feeds.lastFrame': 'Khung hình gần nhất lúc {time}',
    'feeds.watching': 'Đang phát trong {n} cuộc họp',
    'feeds.delete': 'Xóa',
    'feeds.deleteLabel': 'Xóa camera {name}',
    'feeds.deleteConfirm': 'Xóa camera “{name}”? Camera sẽ dừng và rời mọi cuộc họp. Các lượt xe đã ghi vẫn được giữ.',
    'feeds.deleted': 'Đã xóa camera {name}.',
    'feeds.form.title': 'Đăng ký camera',
    'feeds.form.name': 'Tên camera',
    'feeds.form.namePlaceholder': 'Ví dụ: Camera làn 1 hướng Thái Nguyên',
    'feeds.form.checkpoint': 'Chốt kiểm soát',
    'feeds.form.checkpointPlaceholder': 'Ví dụ: Chốt Km 52 cao tốc Hà Nội – Thái Nguyên',
    'feeds.form.location': 'Vị trí (không bắt buộc)',
    'feeds.form.locationPlaceholder': 'Địa chỉ hoặc tọa độ',
    'feeds.form.url': 'Địa chỉ luồng video',
    'feeds.form.urlHint': 'rtsp://, http(s):// (MJPEG hoặc tệp video) của camera trong mạng nội bộ, hoặc (quản trị viên) tên một tệp video trong thư mục tệp camera của máy chủ.',
    'feeds.form.unit': 'Mã đơn vị quản lý chốt',
    'feeds.form.unitHint': 'Cán bộ của đơn vị này và đơn vị cấp trên thấy được camera.',
    'feeds.form.passthrough': 'Chuyển tiếp nguyên luồng H.264',
    'feeds.form.passthroughHint': 'Không vẽ khung biển số lên hình; nhẹ máy chủ hơn. Chỉ dùng với camera H.264.',
    'feeds.form.submit': 'Đăng ký camera',
    'feeds.form.saving': 'Đang đăng ký…',
    'feeds.form.required': 'Xin điền “{field}”.',
    'feeds.form.created': 'Đã đăng ký camera “{name}”.',
    'feeds.error.bad-source': 'Địa chỉ luồng video không dùng được',
    'feeds.error.unknownUnit': 'Không có đơn vị mã “{code}” trong danh mục.',
    'error.unit-required': 'Xin nhập mã đơn vị quản lý chốt.',
  },
  en: {
    'feeds.title': 'Checkpoint cameras',
    'feeds.add': 'Register a camera',
    'feeds.intro': 'The status is refreshed every few seconds. A running camera can be brought into a meeting from the meeting console.',
    'feeds.count': '{n} cameras',
    'feeds.countOne': '1 camera',
    'feeds.updated': 'updated at {time}',
    'feeds.empty': 'No camera in your scope yet. Register one with the form below.',
    'feeds.loadError': 'Could not load the cameras.',
    'feeds.state.starting': 'Starting',
    'feeds.state.connecting': 'Connecting',
    'feeds.state.online': 'Online',
    'feeds.state.offline': 'No signal',
    'feeds.state.failed': 'Unusable source',
    'feeds.state.stopped': 'Stopped',
    'feeds.location': 'Location',
    'feeds.unit': 'Unit',
    'feeds.noUnit': 'All units',
    'feeds.url': 'Video stream',
    'feeds.fps': 'Frames/s',
    'feeds.frames': 'Frames',
    'feeds.passes': 'Vehicles',
    'feeds.alerts': 'Alerts',
    'feeds.restarts': 'Restarts',
    'feeds.shedReads': 'Reads shed (overload)',
    'feeds.unread': 'Vehicles left unread',
    'feeds.sheddingTag': 'Overloaded: shedding plate reads',
    'feeds.node': 'Read by node',
    'feeds.video': 'Picture',
    'feeds.passthroughTag': 'Passed through as is',
    'feeds.error': 'Error',
    'feeds.note.passthrough-b-frames': 'Not passed through: the camera sends B-frames, which browsers cannot play; its video is re-encoded.',
    'feeds.note.passthrough-not-h264': 'Not passed through: the camera does not send H.264; its video is re-encoded.',
    'feeds.lastRead': 'Last plate',
    'feeds.lastReadNone': 'No plate read yet',
    'feeds.lastReadSearch': 'Search for the plate {plate}',
    'feeds.lastFrame': 'Last frame at {time}',
    'feeds.watching': 'Shown in {n} meetings',
    'feeds.watchingOne': 'Shown in 1 meeting',
    'feeds.delete': 'Delete',
    'feeds.deleteLabel': 'Delete the camera {name}',
    'feeds.deleteConfirm': 'Delete the camera “{name}”? It stops and leaves every meeting. The vehicle passes it recorded are kept.',
    'feeds.deleted': 'The camera {name} was deleted.',
    'feeds.form.title': 'Register a camera',
    'feeds.form.name': 'Camera name',
    'feeds.form.namePlaceholder': 'For example: Lane 1 towards Thái Nguyên',
    'feeds.form.checkpoint': 'Checkpoint',
    'feeds.form.checkpointPlaceholder': 'For example: Km 52 checkpoint, Hà Nội – Thái Nguyên expressway',
    'feeds.form.location': 'Location (optional)',
    'feeds.form.locationPlaceholder': 'Address or coordinates',
    'feeds.form.url': 'Video stream address',
    'feeds.form.urlHint': 'rtsp://, http(s):// (MJPEG or a video file) of a camera on the camera network, or (administrators) the name of a video file in the feed files folder of the server.',
    'feeds.form.unit': 'Code of the unit in charge',
    'feeds.form.unitHint': 'Officers of this unit and of the units above it see the camera.',
    'feeds.form.passthrough': 'Pass the H.264 stream through as is',
    'feeds.form.passthroughHint': 'No plate boxes drawn on the picture; lighter on the server. H.264 cameras only.',
    'feeds.form.submit': 'Register the camera',
    'feeds.form.saving': 'Registering…',
    'feeds.form.required': 'Please fill in “{field}”.',
    'feeds.form.created': 'The camera “{name}” was registered.',
    'feeds.error.bad-source': 'This video stream address cannot be used',
    'feeds.error.unknownUnit': 'There is no unit with the code “{code}”.',
    'error.unit-required': 'Please enter the code of the unit in charge of the checkpoint.',
  },
};
addMessages(MESSAGES);

const REFRESH_MS = 4000;
const STATES = ['starting', 'connecting', 'online', 'offline', 'failed', 'stopped'];

const $ = (id) => document.getElementById(id);
const dom = {
  list: $('feeds'),
  status: $('feeds-status'),
  updated: $('feeds-updated'),
  error: $('page-error'),
  form: $('feed-form'),
  formError: $('feed-form-error'),
  name: $('feed-name'),
  checkpoint: $('feed-checkpoint'),
  location: $('feed-location'),
  url: $('feed-url'),
  unit: $('feed-unit'),
  passthrough: $('feed-passthrough'),
  submit: $('feed-submit'),
};

const state = {
  feeds: null, // the last answer
  loadedAt: 0, // ms
  error: null, // the last load error
  formError: null, // {error, field} of the last failed registration
  notice: null, // [key, params]: the last action's outcome, shown in the status line
  loading: false,
  saving: false,
  seq: 0,
};

// -- formatting ---------------------------------------------------------------------------

const locale = () => (getLang() === 'vi' ? 'vi-VN' : 'en-GB');
const num = (value, digits = 0) => (typeof value === 'number' && Number.isFinite(value)
  ? value.toLocaleString(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits })
  : '–');
const pad = (n) => String(n).padStart(2, '0');
/** "HH:mm:ss" of an epoch-ms moment in the server's zone. */
function clock(ms) {
  const p = partsAt(ms);
  return `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
}
const at = (seconds) => (typeof seconds === 'number' && seconds > 0 ? formatDateTime(partsAt(seconds * 1000)) : '');

function stateLabel(value) {
  return STATES.includes(value) ? t(`feeds.state.${value}`) : value;
}

/** The stream address without its password (rtsp://user:pass@host -> rtsp://user:•••@host). */
function maskUrl(url) {
  const text = String(url || '');
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/@]*)@/i.exec(text);
  if (!m || !m[2].includes(':')) return text;
  return `${m[1]}${m[2].slice(0, m[2].indexOf(':'))}:•••@${text.slice(m[0].length)}`;
}

function feedErrorText(error, field) {
  if (error instanceof ApiError) {
    if (error.code === 'bad-source') return `${t('feeds.error.bad-source')}: ${error.message}`;
    if (error.code === 'not-found' && field === 'unit') {
      return t('feeds.error.unknownUnit', { code: dom.unit.value.trim() });
    }
  }
  return errorText(error);
}

// -- loading ------------------------------------------------------------------------------

async function load() {
  if (state.loading) return;
  state.loading = true;
  const seq = ++state.seq;
  try {
    const data = await api('/api/feeds');
    if (seq !== state.seq) return;
    state.feeds = Array.isArray(data?.feeds) ? data.feeds : [];
    state.loadedAt = Date.now();
    setPageError(state, dom.error, null);
    render();
  } catch (exc) {
    if (seq !== state.seq) return;
    setPageError(state, dom.error, exc);
    if (!state.feeds) setStatus(t('feeds.loadError'));
  } finally {
    state.loading = false;
    dom.list.setAttribute('aria-busy', 'false');
  }
}

function setStatus(text) {
  delete dom.status.dataset.i18n;
  // A live region: only real changes, so that a refresh is not read out every few seconds.
  if (dom.status.textContent !== text) dom.status.textContent = text;
}

// -- rendering ----------------------------------------------------------------------------

function fact(name, label, value) {
  return h('div', { class: 'feed-fact', dataset: { fact: name } },
    h('dt', {}, label),
    h('dd', {}, value));
}

function feedCard(feed) {
  const s = feed.status || {};
  const st = s.state || 'stopped';
  const video = s.width && s.height
    ? `${s.width}×${s.height}${s.codec ? ` · ${String(s.codec).toUpperCase()}` : ''}`
    : '–';
  const last = s.last_read;
  const lastRead = h('p', { class: 'feed-last' },
    h('span', { class: 'feed-label' }, `${t('feeds.lastRead')}: `),
    last && last.display
      ? [
        h('a', {
          class: 'plate-chip',
          href: `/anpr?plate=${encodeURIComponent(last.plate || last.display)}`,
          'aria-label': t('feeds.lastReadSearch', { plate: last.display }),
        }, last.display),
        ' ',
        h('time', { class: 'feed-last-at', datetime: new Date(last.at * 1000).toISOString() }, at(last.at)),
      ]
      : h('span', { class: 'muted' }, t('feeds.lastReadNone')));
  const watching = Array.isArray(s.watching) ? s.watching.length : 0;
  return h('li', { class: 'feed-card', dataset: { feedId: feed.id, state: st } },
    h('div', { class: 'feed-head' },
      h('h2', { class: 'feed-name' }, feed.name),
      h('span', { class: 'status-badge feed-state', dataset: { state: st } }, stateLabel(st))),
    h('p', { class: 'feed-checkpoint' }, feed.checkpoint),
    feed.location ? h('p', { class: 'feed-location muted' }, `${t('feeds.location')}: ${feed.location}`) : null,
    s.error
      ? h('p', { class: 'feed-error' },
        h('strong', { class: 'feed-error-label' }, `${t('feeds.error')}: `),
        h('span', { class: 'feed-error-text' }, s.error))
      : null,
    s.note ? h('p', { class: 'feed-note muted', dataset: { note: s.note } }, t(`feeds.note.${s.note}`)) : null,
    lastRead,
    h('dl', { class: 'feed-facts' },
      fact('fps', t('feeds.fps'), num(s.fps, 1)),
      fact('frames', t('feeds.frames'), num(s.frames)),
      fact('passes', t('feeds.passes'), num(s.passes)),
      fact('alerts', t('feeds.alerts'), num(s.alerts)),
      fact('restarts', t('feeds.restarts'), num(s.restarts)),
      // A live feed that cannot read every vehicle in time says so (shown once it has).
      s.shed_reads || s.unread ? fact('shed', t('feeds.shedReads'), num(s.shed_reads)) : null,
      s.shed_reads || s.unread ? fact('unread', t('feeds.unread'), num(s.unread)) : null,
      fact('video', t('feeds.video'), video),
      fact('unit', t('feeds.unit'), feed.unit_code || t('feeds.noUnit')),
      // Only with a cluster: which node's worker reads the camera.
      s.node ? fact('node', t('feeds.node'), s.node) : null),
    h('p', { class: 'feed-url' },
      h('span', { class: 'feed-label' }, `${t('feeds.url')}: `),
      h('code', {}, maskUrl(feed.url))),
    h('p', { class: 'feed-tags' },
      s.last_frame_at ? h('span', { class: 'muted' }, t('feeds.lastFrame', { time: formatTime(partsAt(s.last_frame_at * 1000)) })) : null,
      watching ? h('span', { class: 'tag feed-watching' }, plural('feeds.watching', watching)) : null,
      s.shedding ? h('span', { class: 'tag feed-shedding' }, t('feeds.sheddingTag')) : null,
      feed.passthrough ? h('span', { class: 'tag feed-passthrough-tag' }, t('feeds.passthroughTag')) : null),
    h('div', { class: 'feed-actions' },
      h('button', {
        class: 'btn btn-sm btn-danger',
        type: 'button',
        dataset: { action: 'delete', feedId: feed.id },
        'aria-label': t('feeds.deleteLabel', { name: feed.name }),
      }, t('feeds.delete'))));
}

function render() {
  if (!state.feeds) return;
  const lang = getLang();
  const focused = document.activeElement?.closest?.('[data-feed-id]');
  const focusKey = focused ? `${focused.dataset.feedId}|${document.activeElement.dataset.action || ''}` : null;
  const old = new Map([...dom.list.children].map((li) => [li.dataset.feedId, li]));
  const cards = state.feeds.map((feed) => {
    const signature = `${lang}|${JSON.stringify(feed)}`;
    const existing = old.get(feed.id);
    if (existing && existing.dataset.signature === signature) return existing;
    const card = feedCard(feed);
    card.dataset.signature = signature;
    return card;
  });
  // Replace only what changed, keeping the order of the answer.
  cards.forEach((card, index) => {
    const current = dom.list.children[index];
    if (current !== card) dom.list.insertBefore(card, current || null);
  });
  while (dom.list.children.length > cards.length) dom.list.lastElementChild.remove();
  if (focusKey && !dom.list.contains(document.activeElement)) {
    const [id, action] = focusKey.split('|');
    const card = dom.list.querySelector(`[data-feed-id="${CSS.escape(id)}"]`);
    (action && card?.querySelector(`[data-action="${CSS.escape(action)}"]`))?.focus();
  }
  const n = state.feeds.length;
  dom.list.dataset.count = String(n);
  const parts = [];
  if (state.notice) parts.push(t(state.notice[0], state.notice[1]));
  parts.push(n ? plural('feeds.count', n) : t('feeds.empty'));
  setStatus(parts.join(' · '));
  dom.status.classList.toggle('rec-empty', !n);
  dom.updated.hidden = !n;
  dom.updated.textContent = t('feeds.updated', { time: clock(state.loadedAt) });
}

// -- deleting -----------------------------------------------------------------------------

async function onListClick(event) {
  const button = event.target.closest('button[data-action="delete"]');
  if (!button || button.disabled) return;
  const feed = (state.feeds || []).find((f) => f.id === button.dataset.feedId);
  if (!feed) return;
  if (!window.confirm(t('feeds.deleteConfirm', { name: feed.name }))) return;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    await api(`/api/feeds/${encodeURIComponent(feed.id)}`, { method: 'DELETE' });
    state.feeds = state.feeds.filter((f) => f.id !== feed.id);
    state.notice = ['feeds.deleted', { name: feed.name }];
    showError(dom.error, null);
    render();
  } catch (exc) {
    showError(dom.error, exc);
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

// -- registering --------------------------------------------------------------------------

const REQUIRED = [
  ['name', 'feeds.form.name'],
  ['checkpoint', 'feeds.form.checkpoint'],
  ['url', 'feeds.form.url'],
];

function setInvalid(field) {
  for (const name of ['name', 'checkpoint', 'location', 'url', 'unit']) {
    if (name === field) dom[name].setAttribute('aria-invalid', 'true');
    else dom[name].removeAttribute('aria-invalid');
  }
}

function showFormError(error, field = null) {
  state.formError = error ? { error, field } : null;
  setInvalid(error ? field : null);
  if (!error) {
    showError(dom.formError, null);
    return;
  }
  const text = error.required
    ? t('feeds.form.required', { field: t(error.required) })
    : feedErrorText(error, field);
  showError(dom.formError, text);
  if (error instanceof ApiError) dom.formError.dataset.code = error.code;
}

function fieldOf(error) {
  if (!(error instanceof ApiError)) return null;
  if (error.code === 'bad-source') return 'url';
  if (['unit-required', 'out-of-scope', 'not-found', 'unknown-unit'].includes(error.code)) return 'unit';
  if (error.code === 'invalid-request') {
    const name = String(error.details?.[0]?.field || error.message.split(':')[0] || '');
    return { name: 'name', checkpoint: 'checkpoint', location: 'location', url: 'url', unit_code: 'unit' }[name] || null;
  }
  return null;
}

function setSaving(saving) {
  state.saving = saving;
  dom.submit.disabled = saving;
  dom.submit.setAttribute('aria-busy', String(saving));
  const label = dom.submit.querySelector('span');
  label.dataset.i18n = saving ? 'feeds.form.saving' : 'feeds.form.submit';
  label.textContent = t(label.dataset.i18n);
}

async function onSubmit(event) {
  event.preventDefault();
  if (state.saving) return;
  for (const [name, key] of REQUIRED) {
    if (!dom[name].value.trim()) {
      showFormError({ required: key }, name);
      dom.formError.dataset.missing = name;
      dom[name].focus();
      return;
    }
  }
  const body = {
    name: dom.name.value.trim(),
    checkpoint: dom.checkpoint.value.trim(),
    location: dom.location.value.trim(),
    url: dom.url.value.trim(),
    unit_code: dom.unit.value.trim() || null,
    passthrough: dom.passthrough.checked,
  };
  setSaving(true);
  try {
    const feed = await api('/api/feeds', { method: 'POST', body });
    showFormError(null);
    for (const name of ['name', 'checkpoint', 'location', 'url']) dom[name].value = '';
    dom.passthrough.checked = false;
    state.feeds = [...(state.feeds || []).filter((f) => f.id !== feed.id), feed];
    state.notice = ['feeds.form.created', { name: feed.name }];
    render();
    dom.list.querySelector(`[data-feed-id="${CSS.escape(feed.id)}"]`)?.scrollIntoView({ block: 'nearest' });
    load();
  } catch (exc) {
    showFormError(exc, fieldOf(exc));
    dom.formError.focus();
  } finally {
    setSaving(false);
  }
}

// -- wiring -------------------------------------------------------------------------------

function setTitle() {
  document.title = `${t('feeds.title')} – ${t('app.title')}`;
}

dom.list.addEventListener('click', onListClick);
dom.form.addEventListener('submit', onSubmit);
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) load();
});
setInterval(() => {
  if (!document.hidden) load();
}, REFRESH_MS);

onLangChange(() => {
  setTitle();
  render();
  if (state.error) {
    showError(dom.error, state.error);
    if (!state.feeds) setStatus(t('feeds.loadError'));
  }
  if (state.formError) showFormError(state.formError.error, state.formError.field);
  setSaving(state.saving);
});

setTitle();
load();

// For automated tests and support staff.
window.feedsPage = {
  get feeds() {
    return state.feeds;
  },
  reload: load,
};

// Translations for the meeting page. Vietnamese is the default language;
// English is one click away (#lang-toggle). The choice is remembered in
// localStorage and `?lang=en` / `?lang=vi` in the URL overrides it.
//
// Markup opts in with attributes:
//   data-i18n="key"             -> textContent
//   data-i18n-aria-label="key"  -> aria-label
//   data-i18n-title="key"       -> title
//   data-i18n-alt="key"         -> alt

const STORAGE_KEY = 'conference.lang';
export const LANGUAGES = ['vi', 'en'];
const DEFAULT_LANG = 'vi';

const MESSAGES = {
  vi: {
    'app.title': 'Hệ thống họp trực tuyến',
    'lang.toggle': 'English',
    'lang.toggleLabel': 'Switch to English',
    'site': 'Điểm cầu',
    'room': 'Phòng họp',
    'noscript': 'Trang họp cần JavaScript. Xin bật JavaScript hoặc dùng trình duyệt Chrome, Edge, Firefox bản mới.',

    'prejoin.heading': 'Chuẩn bị tham gia',
    'prejoin.joiningAs': 'Bạn tham gia với tư cách điểm cầu',
    'prejoin.expires': 'Đường dẫn có hiệu lực đến {time}',
    'prejoin.checking': 'Đang kiểm tra camera và micrô…',
    'prejoin.ready': 'Camera và micrô đã sẵn sàng.',
    'prejoin.viewer': 'Điểm cầu này tham dự với vai trò theo dõi: chỉ xem và nghe, không phát hình và tiếng.',
    'prejoin.hint': 'Kiểm tra hình ảnh của bạn, rồi bấm “Tham gia”.',
    'prejoin.camera': 'Camera',
    'prejoin.microphone': 'Micrô',
    'preview.label': 'Hình ảnh camera của bạn',
    'join': 'Tham gia',
    'joining': 'Đang tham gia…',

    'mic.mute': 'Tắt micrô',
    'mic.unmute': 'Bật micrô',
    'cam.mute': 'Tắt camera',
    'cam.unmute': 'Bật camera',
    'mic.none': 'Không có micrô',
    'cam.none': 'Không có camera',
    'leave': 'Rời cuộc họp',
    'participants.toggle': 'Điểm cầu',
    'participants.title': 'Các điểm cầu',
    'participants.count': '{n} điểm cầu',
    'controls.label': 'Điều khiển cuộc họp',
    'thumbnails.label': 'Các điểm cầu khác',
    'audio.enable': 'Bấm vào đây để nghe âm thanh cuộc họp',

    'you': 'Bạn',
    'selfView': 'Hình của bạn',
    'role.host': 'Chủ trì',
    'role.viewer': 'Theo dõi',
    'speaker': 'Người phát biểu',
    'speaking': 'Đang phát biểu',
    'camera.off': 'Camera đang tắt',
    'camera.none': 'Không có hình',
    'mic.on': 'Micrô đang bật',
    'mic.off': 'Micrô đang tắt',
    'cam.on': 'Camera đang bật',
    'cam.off': 'Camera đang tắt',
    'peer.connecting': 'đang kết nối',
    'stage.waiting': 'Đang chờ các điểm cầu khác tham gia…',
    'stage.reconnecting': 'Đang kết nối lại, xin chờ trong giây lát…',
    'stage.noVideo': 'Chưa có điểm cầu nào khác phát hình.',

    'state.idle': 'Chưa tham gia',
    'state.connecting': 'Đang kết nối…',
    'state.connected': 'Đã kết nối',
    'state.reconnecting': 'Đang kết nối lại…',
    'state.disconnected': 'Mất kết nối',
    'state.left': 'Đã rời cuộc họp',
    'state.error': 'Không tham gia được',
    'reconnect.in': 'Mất kết nối. Tự động kết nối lại sau {n} giây…',
    'reconnect.offline': 'Máy tính đang mất mạng. Sẽ tự kết nối lại khi có mạng.',

    'left.title': 'Bạn đã rời cuộc họp',
    'left.body': 'Cảm ơn điểm cầu đã tham dự.',
    'rejoin': 'Tham gia lại',
    'ended.replaced.title': 'Cuộc họp đang mở ở nơi khác',
    'ended.replaced': 'Đường dẫn của điểm cầu này vừa được mở trên một máy hoặc cửa sổ khác, nên cửa sổ này đã ngừng kết nối. Bấm “Tham gia lại” nếu muốn họp tiếp tại đây.',
    'ended.removed.title': 'Đã ngừng kết nối',
    'ended.removed': 'Điểm cầu của bạn đã được ban tổ chức mời ra khỏi cuộc họp.',
    'ended.closed.title': 'Cuộc họp đã kết thúc',
    'ended.closed': 'Ban tổ chức đã kết thúc cuộc họp.',
    'ended.error.title': 'Không tham gia được cuộc họp',

    'media.denied': 'Trình duyệt chưa được phép dùng camera và micrô. Hãy bấm biểu tượng ổ khóa cạnh thanh địa chỉ, chọn “Cho phép”, rồi tải lại trang. Bạn vẫn có thể tham gia để xem và nghe.',
    'media.none': 'Không tìm thấy camera và micrô. Bạn vẫn có thể tham gia để xem và nghe.',
    'media.audioOnly': 'Không dùng được camera. Điểm cầu sẽ tham gia chỉ với tiếng (micrô).',
    'media.videoOnly': 'Không dùng được micrô. Điểm cầu sẽ tham gia chỉ với hình (camera).',
    'media.insecure': 'Trình duyệt chỉ cho dùng camera và micrô khi trang được mở bằng địa chỉ an toàn (https). Bạn vẫn có thể tham gia để xem và nghe.',
    'media.busy': 'Camera hoặc micrô đang được một chương trình khác sử dụng. Hãy tắt chương trình đó rồi tải lại trang. Bạn vẫn có thể tham gia để xem và nghe.',
    'media.ended': 'Camera hoặc micrô vừa bị ngắt. Hãy kiểm tra dây cắm.',
    'error.webrtc-unsupported': 'Trình duyệt này không hỗ trợ họp trực tuyến. Xin dùng Chrome, Edge hoặc Firefox bản mới.',

    'error.token-expired': 'Đường dẫn tham gia đã hết hạn. Xin liên hệ ban tổ chức để nhận đường dẫn mới.',
    'error.token-invalid': 'Đường dẫn tham gia không hợp lệ. Xin kiểm tra lại đường dẫn đã nhận.',
    'error.token-malformed': 'Đường dẫn tham gia không hợp lệ. Xin kiểm tra lại đường dẫn đã nhận.',
    'error.token-missing': 'Thiếu mã tham gia trong đường dẫn.',
    'error.wrong-room': 'Đường dẫn này dành cho phòng họp khác.',
    'error.room-not-found': 'Không tìm thấy phòng họp. Có thể cuộc họp đã bị hủy.',
    'error.role-cannot-publish': 'Điểm cầu này chỉ được phép theo dõi, không được phát hình và tiếng.',
    'error.shutting-down': 'Máy chủ đang khởi động lại.',
    'error.generic': 'Đã có lỗi xảy ra ({code}). Xin liên hệ bộ phận kỹ thuật.',
  },
  en: {
    'app.title': 'Online meeting system',
    'lang.toggle': 'Tiếng Việt',
    'lang.toggleLabel': 'Chuyển sang tiếng Việt',
    'site': 'Site',
    'room': 'Meeting room',
    'noscript': 'The meeting page needs JavaScript. Please enable it or use a recent Chrome, Edge or Firefox.',

    'prejoin.heading': 'Get ready to join',
    'prejoin.joiningAs': 'You are joining as the site',
    'prejoin.expires': 'This link is valid until {time}',
    'prejoin.checking': 'Checking camera and microphone…',
    'prejoin.ready': 'Camera and microphone are ready.',
    'prejoin.viewer': 'This site attends as a viewer: it watches and listens but does not send video or sound.',
    'prejoin.hint': 'Check your picture, then press “Join”.',
    'prejoin.camera': 'Camera',
    'prejoin.microphone': 'Microphone',
    'preview.label': 'Your camera picture',
    'join': 'Join',
    'joining': 'Joining…',

    'mic.mute': 'Mute microphone',
    'mic.unmute': 'Unmute microphone',
    'cam.mute': 'Turn camera off',
    'cam.unmute': 'Turn camera on',
    'mic.none': 'No microphone',
    'cam.none': 'No camera',
    'leave': 'Leave meeting',
    'participants.toggle': 'Sites',
    'participants.title': 'Sites',
    'participants.count': '{n} sites',
    'controls.label': 'Meeting controls',
    'thumbnails.label': 'Other sites',
    'audio.enable': 'Click here to hear the meeting',

    'you': 'You',
    'selfView': 'Your picture',
    'role.host': 'Chair',
    'role.viewer': 'Viewer',
    'speaker': 'Speaker',
    'speaking': 'Speaking',
    'camera.off': 'Camera is off',
    'camera.none': 'No video',
    'mic.on': 'Microphone on',
    'mic.off': 'Microphone muted',
    'cam.on': 'Camera on',
    'cam.off': 'Camera off',
    'peer.connecting': 'connecting',
    'stage.waiting': 'Waiting for other sites to join…',
    'stage.reconnecting': 'Reconnecting, please wait…',
    'stage.noVideo': 'No other site is sending video yet.',

    'state.idle': 'Not joined',
    'state.connecting': 'Connecting…',
    'state.connected': 'Connected',
    'state.reconnecting': 'Reconnecting…',
    'state.disconnected': 'Disconnected',
    'state.left': 'Left the meeting',
    'state.error': 'Could not join',
    'reconnect.in': 'Connection lost. Reconnecting in {n} s…',
    'reconnect.offline': 'This computer is offline. It will reconnect when the network is back.',

    'left.title': 'You have left the meeting',
    'left.body': 'Thank you for attending.',
    'rejoin': 'Join again',
    'ended.replaced.title': 'The meeting is open elsewhere',
    'ended.replaced': 'This site’s link was just opened on another computer or window, so this window has disconnected. Press “Join again” to continue here.',
    'ended.removed.title': 'Disconnected',
    'ended.removed': 'The organiser has removed your site from the meeting.',
    'ended.closed.title': 'The meeting has ended',
    'ended.closed': 'The organiser has ended the meeting.',
    'ended.error.title': 'Could not join the meeting',

    'media.denied': 'The browser is not allowed to use the camera and microphone. Click the padlock next to the address bar, choose “Allow”, then reload the page. You can still join to watch and listen.',
    'media.none': 'No camera or microphone was found. You can still join to watch and listen.',
    'media.audioOnly': 'The camera cannot be used. This site will join with sound only.',
    'media.videoOnly': 'The microphone cannot be used. This site will join with video only.',
    'media.insecure': 'Browsers only allow the camera and microphone on secure (https) addresses. You can still join to watch and listen.',
    'media.busy': 'The camera or microphone is in use by another program. Close it and reload the page. You can still join to watch and listen.',
    'media.ended': 'The camera or microphone was disconnected. Please check the cable.',
    'error.webrtc-unsupported': 'This browser cannot take part in online meetings. Please use a recent Chrome, Edge or Firefox.',

    'error.token-expired': 'This join link has expired. Ask the organiser for a new one.',
    'error.token-invalid': 'This join link is not valid. Please check the link you received.',
    'error.token-malformed': 'This join link is not valid. Please check the link you received.',
    'error.token-missing': 'The link has no join token.',
    'error.wrong-room': 'This link is for another meeting room.',
    'error.room-not-found': 'The meeting room does not exist. The meeting may have been cancelled.',
    'error.role-cannot-publish': 'This site may only watch; it cannot send video or sound.',
    'error.shutting-down': 'The server is restarting.',
    'error.generic': 'Something went wrong ({code}). Please contact technical support.',
  },
};

function normalise(value) {
  const v = String(value || '').trim().toLowerCase().slice(0, 2);
  return LANGUAGES.includes(v) ? v : null;
}

function storedLang() {
  try {
    return normalise(window.localStorage.getItem(STORAGE_KEY));
  } catch {
    return null; // storage disabled (private mode, policy)
  }
}

function urlLang() {
  return normalise(new URLSearchParams(window.location.search).get('lang'));
}

let current = urlLang() || storedLang() || DEFAULT_LANG;
const listeners = new Set();

/** The active language code ("vi" or "en"). */
export function getLang() {
  return current;
}

/** Translate `key`, replacing `{name}` with params.name. Unknown keys fall back to Vietnamese, then to the key. */
export function t(key, params = {}) {
  const table = MESSAGES[current] || MESSAGES[DEFAULT_LANG];
  let text = table[key] ?? MESSAGES[DEFAULT_LANG][key] ?? key;
  for (const [name, value] of Object.entries(params)) {
    text = text.split(`{${name}}`).join(String(value));
  }
  return text;
}

/** Whether a translation exists for `key`. */
export function has(key) {
  return key in MESSAGES[DEFAULT_LANG];
}

/** Fill every [data-i18n*] element under `root` with the active language. */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const [attr, name] of [['i18nAriaLabel', 'aria-label'], ['i18nTitle', 'title'], ['i18nAlt', 'alt']]) {
    const selector = `[data-${attr.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}]`;
    for (const el of root.querySelectorAll(selector)) {
      el.setAttribute(name, t(el.dataset[attr]));
    }
  }
  document.documentElement.lang = current;
}

/** Switch language, remember it, update the URL's `lang` if it has one, and re-render. */
export function setLang(lang) {
  const next = normalise(lang) || DEFAULT_LANG;
  current = next;
  try {
    window.localStorage.setItem(STORAGE_KEY, next);
  } catch {
    /* ignore */
  }
  const url = new URL(window.location.href);
  if (url.searchParams.has('lang')) {
    // The URL overrides storage, so keep it in line with the choice (the token stays).
    url.searchParams.set('lang', next);
    window.history.replaceState(window.history.state, '', url.toString());
  }
  applyI18n();
  for (const fn of listeners) fn(next);
}

export function toggleLang() {
  setLang(current === 'vi' ? 'en' : 'vi');
}

/** Call `fn(lang)` after every language change. */
export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** A date-time in the active language's conventions, e.g. "17:30 ngày 12/05/2026". */
export function formatDateTime(date) {
  const locale = current === 'vi' ? 'vi-VN' : 'en-GB';
  try {
    return new Intl.DateTimeFormat(locale, {
      hour: '2-digit', minute: '2-digit', day: '2-digit', month: '2-digit', year: 'numeric',
    }).format(date);
  } catch {
    return date.toLocaleString();
  }
}

/** Wire a #lang-toggle button: label shows the other language. */
export function bindLangToggle(button) {
  if (!button) return;
  button.addEventListener('click', () => toggleLang());
}

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
    'ended.removed.title': 'Chủ trì đã mời điểm cầu rời cuộc họp',
    'ended.removed': 'Điểm cầu sẽ không tự kết nối lại. Nếu cần tham dự tiếp, xin liên hệ chủ trì cuộc họp.',
    'ended.uninvited.title': 'Điểm cầu không còn trong danh sách mời',
    'ended.uninvited': 'Ban tổ chức đã bỏ điểm cầu này khỏi danh sách mời của cuộc họp. Nếu cần tham dự, xin liên hệ ban tổ chức.',
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

    'hand.raise': 'Giơ tay phát biểu',
    'hand.lower': 'Hạ tay',
    'hand.floor': 'Đang phát biểu',
    'hand.raised': 'Điểm cầu đã giơ tay xin phát biểu. Xin chờ chủ trì mời.',
    'hand.lowered': 'Chủ trì đã hạ tay của điểm cầu.',
    'floor.banner': 'Đang được phát biểu: {name}',
    'floor.self': 'Chủ trì đã mời điểm cầu của bạn phát biểu. Micrô đã được bật.',
    'floor.selfNoMic': 'Chủ trì đã mời điểm cầu của bạn phát biểu.',
    'floor.over': 'Lượt phát biểu của điểm cầu đã kết thúc.',
    'floor.tag': 'Được phát biểu',
    'hostMute.on': 'Chủ trì đã tắt micrô của điểm cầu. Muốn phát biểu, hãy bấm “Giơ tay phát biểu”.',
    'hostMute.off': 'Chủ trì đã cho phép bật lại micrô. Bấm “Bật micrô” khi cần phát biểu.',
    'hostMute.button': 'Micrô bị chủ trì tắt',
    'hostMute.hint': 'Chủ trì đang tắt micrô của điểm cầu. Hãy bấm “Giơ tay phát biểu” để xin phát biểu.',
    'closing.minutes': 'Cuộc họp sẽ kết thúc sau {n} phút',
    'closing.seconds': 'Cuộc họp sẽ kết thúc sau {n} giây',
    'closing.now': 'Cuộc họp đang kết thúc…',
    'recording.active': 'Đang ghi hình',
    'recording.started': 'Cuộc họp đang được ghi hình.',
    'recording.stopped': 'Đã dừng ghi hình cuộc họp.',
    'participants.more': 'Và {n} điểm cầu khác',
    'ended.ended.title': 'Cuộc họp đã kết thúc',
    'ended.ended': 'Cảm ơn điểm cầu đã tham dự.',
    'ended.cancelled.title': 'Cuộc họp đã bị hủy',
    'ended.cancelled': 'Ban tổ chức đã hủy cuộc họp này.',
    'error.removed': 'Chủ trì đã mời điểm cầu rời cuộc họp.',
    'error.not-invited': 'Điểm cầu này không còn trong danh sách mời của cuộc họp. Xin liên hệ ban tổ chức.',
    'error.room-locked': 'Chủ trì đã khóa phòng họp, điểm cầu chưa vào được. Xin liên hệ ban tổ chức.',
    'error.room-closed': 'Cuộc họp đã kết thúc.',
    'error.meeting-ended': 'Cuộc họp đã kết thúc.',
    'error.meeting-cancelled': 'Cuộc họp đã bị hủy.',
    'error.meeting-not-found': 'Không tìm thấy cuộc họp.',
    'error.meeting-not-open': 'Phòng họp chưa mở. Xin quay lại gần giờ họp.',
    'error.token-not-yet-valid': 'Phòng họp chưa mở. Xin quay lại gần giờ họp.',
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
    'ended.removed.title': 'The chair asked your site to leave the meeting',
    'ended.removed': 'This window will not reconnect. If your site needs to attend again, please contact the chair.',
    'ended.uninvited.title': 'Your site is no longer invited',
    'ended.uninvited': 'The organiser took this site off the meeting’s invitation list. If your site needs to attend, please contact the organiser.',
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

    'hand.raise': 'Raise hand',
    'hand.lower': 'Lower hand',
    'hand.floor': 'You have the floor',
    'hand.raised': 'Your site has raised its hand. Please wait for the chair to give you the floor.',
    'hand.lowered': 'The chair lowered your site’s hand.',
    'floor.banner': 'Has the floor: {name}',
    'floor.self': 'The chair has given your site the floor. Your microphone is on.',
    'floor.selfNoMic': 'The chair has given your site the floor.',
    'floor.over': 'Your site no longer has the floor.',
    'floor.tag': 'Has the floor',
    'hostMute.on': 'The chair muted your site’s microphone. To speak, press “Raise hand”.',
    'hostMute.off': 'The chair allows your microphone again. Press “Unmute microphone” when you need to speak.',
    'hostMute.button': 'Muted by the chair',
    'hostMute.hint': 'The chair keeps your microphone muted. Press “Raise hand” to ask for the floor.',
    'closing.minutes': 'The meeting ends in {n} min',
    'closing.seconds': 'The meeting ends in {n} s',
    'closing.now': 'The meeting is ending…',
    'recording.active': 'Recording',
    'recording.started': 'This meeting is being recorded.',
    'recording.stopped': 'The meeting is no longer being recorded.',
    'participants.more': 'And {n} other sites',
    'ended.ended.title': 'The meeting has ended',
    'ended.ended': 'Thank you for attending.',
    'ended.cancelled.title': 'The meeting was cancelled',
    'ended.cancelled': 'The organiser cancelled this meeting.',
    'error.removed': 'The chair asked your site to leave the meeting.',
    'error.not-invited': 'This site is no longer on the meeting’s invitation list. Please contact the organiser.',
    'error.room-locked': 'The chair has locked the meeting, so your site cannot come in. Please contact the organiser.',
    'error.room-closed': 'The meeting has ended.',
    'error.meeting-ended': 'The meeting has ended.',
    'error.meeting-cancelled': 'The meeting was cancelled.',
    'error.meeting-not-found': 'The meeting does not exist.',
    'error.meeting-not-open': 'The meeting room is not open yet. Come back closer to the start.',
    'error.token-not-yet-valid': 'The meeting room is not open yet. Come back closer to the start.',
  },
};

/** Add (or override) translations, e.g. a page's own strings: {vi: {...}, en: {...}}. */
export function addMessages(tables) {
  for (const [lang, entries] of Object.entries(tables || {})) {
    if (MESSAGES[lang]) Object.assign(MESSAGES[lang], entries);
  }
}

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

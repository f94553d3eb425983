// Translations for the logged-in pages (login, meetings, scheduling form,
// meeting details) and the shared header of base.html. Vietnamese first,
// English one click away (#lang-toggle). The choice is shared with the
// meeting page: localStorage key `conference.lang`; `?lang=en|vi` overrides.
//
// Markup opts in with attributes (keys this table does not know are left
// alone, so other pages can keep their own texts in the same document):
//   data-i18n="key"              -> textContent
//   data-i18n-aria-label="key"   -> aria-label
//   data-i18n-title="key"        -> title
//   data-i18n-placeholder="key"  -> placeholder
// Other pages may add their own keys with addMessages({vi: {...}, en: {...}}).

const STORAGE_KEY = 'conference.lang';
export const LANGUAGES = ['vi', 'en'];
const DEFAULT_LANG = 'vi';

const MESSAGES = {
  vi: {
    'app.title': 'Hệ thống họp trực tuyến',
    'lang.toggle': 'English',
    'lang.toggleLabel': 'Switch to English',
    'nav.label': 'Điều hướng chính',
    'nav.skip': 'Bỏ qua, đến nội dung chính',
    'nav.meetings': 'Lịch họp',
    'nav.new': 'Tạo cuộc họp',
    'nav.recordings': 'Ghi hình',
    'user.label': 'Tài khoản',
    'logout': 'Đăng xuất',
    'role.admin': 'Quản trị',
    'role.host': 'Chủ trì',
    'role.site': 'Điểm cầu',
    'role.viewer': 'Theo dõi',
    'role.operator': 'Vận hành',
    'loading': 'Đang tải…',
    'noscript': 'Trang này cần JavaScript. Xin bật JavaScript hoặc dùng trình duyệt Chrome, Edge, Firefox bản mới.',
    'yes': 'Có',
    'no': 'Không',

    'login.title': 'Đăng nhập',
    'login.intro': 'Đăng nhập để xem lịch họp và quản lý các cuộc họp trực tuyến của đơn vị.',
    'login.username': 'Tên đăng nhập',
    'login.password': 'Mật khẩu',
    'login.showPassword': 'Hiện mật khẩu',
    'login.submit': 'Đăng nhập',
    'login.help': 'Quên mật khẩu hoặc chưa có tài khoản? Xin liên hệ quản trị hệ thống của đơn vị.',
    'login.error.invalid-credentials': 'Tên đăng nhập hoặc mật khẩu không đúng.',
    'login.error.form-expired': 'Biểu mẫu đăng nhập đã hết hạn. Xin nhập lại và bấm “Đăng nhập”.',
    'login.error.too-many-attempts': 'Đã đăng nhập sai nhiều lần. Xin đợi một lát (thời gian chờ tăng dần sau mỗi lần sai) rồi thử lại.',
    'login.error.busy': 'Máy chủ đang bận kiểm tra nhiều lượt đăng nhập. Xin thử lại sau vài giây.',

    'meetings.title': 'Lịch họp',
    'meetings.new': 'Tạo cuộc họp',
    'meetings.ics': 'Tải lịch (.ics)',
    'meetings.icsLabel': 'Tải lịch họp của điểm cầu (tệp .ics để đưa vào Outlook, Google Calendar…)',
    'meetings.empty': 'Không có cuộc họp nào trong khoảng thời gian này.',
    'meetings.count': '{n} cuộc họp',
    'meetings.range': 'Từ {from} đến {to}',
    'meetings.loadError': 'Không tải được lịch họp.',
    'view.label': 'Cách hiển thị',
    'view.list': 'Danh sách',
    'view.week': 'Theo tuần',
    'week.prev': 'Tuần trước',
    'week.next': 'Tuần sau',
    'week.this': 'Tuần này',
    'week.nav': 'Chọn tuần',
    'week.noMeetings': 'Không có cuộc họp',
    'today': 'Hôm nay',
    'status.scheduled': 'Sắp diễn ra',
    'status.open': 'Đang mở phòng',
    'status.live': 'Đang họp',
    'status.ended': 'Đã kết thúc',
    'status.cancelled': 'Đã hủy',
    'action.details': 'Chi tiết',
    'action.detailsLabel': 'Chi tiết cuộc họp {title}',
    'action.join': 'Tham gia',
    'action.joinLabel': 'Tham gia cuộc họp {title}',
    'action.console': 'Điều hành cuộc họp',
    'action.consoleLabel': 'Điều hành cuộc họp {title}',
    'meeting.host': 'Điểm cầu chủ trì',
    'meeting.time': 'Thời gian',
    'meeting.agenda': 'Nội dung',
    'meeting.noAgenda': '(Chưa có nội dung)',
    'meeting.autoRecord': 'Ghi hình tự động',
    'meeting.status': 'Trạng thái',
    'meeting.start': 'Bắt đầu',
    'meeting.end': 'Kết thúc',
    'meeting.sites': '{n} điểm cầu',

    'weekday.0': 'Chủ nhật',
    'weekday.1': 'Thứ Hai',
    'weekday.2': 'Thứ Ba',
    'weekday.3': 'Thứ Tư',
    'weekday.4': 'Thứ Năm',
    'weekday.5': 'Thứ Sáu',
    'weekday.6': 'Thứ Bảy',

    'form.newTitle': 'Tạo cuộc họp',
    'form.editTitle': 'Sửa cuộc họp',
    'form.title': 'Tên cuộc họp',
    'form.agenda': 'Nội dung',
    'form.agendaHint': 'Chương trình họp, tài liệu cần chuẩn bị… (không bắt buộc)',
    'form.start': 'Bắt đầu',
    'form.end': 'Kết thúc',
    'form.timeHint': 'Giờ Việt Nam (UTC+07:00), 24 giờ. Phòng họp mở trước giờ bắt đầu 15 phút.',
    'form.host': 'Điểm cầu chủ trì',
    'form.hostSearch': 'Tìm điểm cầu chủ trì',
    'form.hostSearchPlaceholder': 'Gõ tên để lọc danh sách…',
    'form.hostNoMatch': 'Không có điểm cầu nào khớp.',
    'form.autoRecord': 'Ghi hình tự động',
    'form.autoRecordHint': 'Tự động ghi hình khi cuộc họp bắt đầu.',
    'form.units': 'Thành phần tham dự',
    'form.unitsHint': 'Chọn các đơn vị được mời; mỗi đơn vị có một điểm cầu. Điểm cầu chủ trì luôn được mời.',
    'form.create': 'Tạo cuộc họp',
    'form.save': 'Lưu thay đổi',
    'form.saving': 'Đang lưu…',
    'form.back': 'Quay lại',
    'form.required': 'Xin điền {field}.',
    'form.badTime': 'Thời gian không hợp lệ: {field}.',
    'form.notEditable': 'Cuộc họp đã kết thúc hoặc đã bị hủy nên không sửa được nữa.',
    'form.loadError': 'Không tải được dữ liệu cho biểu mẫu.',
    'form.durationHint': 'Thời lượng: {duration}',
    'duration.hm': '{h} giờ {m} phút',
    'duration.h': '{h} giờ',
    'duration.m': '{m} phút',

    'tree.label': 'Cây đơn vị hành chính',
    'tree.filter': 'Tìm đơn vị theo tên',
    'tree.filterPlaceholder': 'Ví dụ: Định Hóa, Chợ Chu…',
    'tree.filterHint': 'Tìm trong các đơn vị đã mở.',
    'tree.subtree': 'Cả đơn vị và cấp dưới',
    'tree.subtreeLabel': 'Chọn {name} và tất cả đơn vị cấp dưới',
    'tree.expand': 'Mở {name}',
    'tree.collapse': 'Thu gọn {name}',
    'tree.loading': 'Đang tải…',
    'tree.loadError': 'Không tải được danh sách đơn vị.',
    'tree.noMatch': 'Không tìm thấy đơn vị nào trong các đơn vị đã mở.',
    'tree.matches': 'Tìm thấy {n} đơn vị.',
    'tree.selected': 'Đã chọn {n} điểm cầu',
    'tree.selectedNone': 'Chưa chọn điểm cầu nào',
    'tree.selectedBelow': 'đã chọn {n} đơn vị cấp dưới',
    'tree.clear': 'Bỏ chọn tất cả',

    'detail.invitations': 'Thành phần tham dự',
    'detail.invitedCount': '{n} điểm cầu được mời',
    'detail.ics': 'Tải lịch (.ics)',
    'detail.join': 'Tham gia cuộc họp',
    'detail.console': 'Điều hành cuộc họp',
    'detail.edit': 'Sửa',
    'detail.cancel': 'Hủy cuộc họp',
    'detail.cancelConfirm': 'Hủy cuộc họp “{title}”? Các điểm cầu sẽ không vào được phòng họp nữa. Không thể hoàn tác.',
    'detail.cancelled': 'Đã hủy cuộc họp.',
    'detail.cancelling': 'Đang hủy…',
    'detail.back': 'Về lịch họp',
    'detail.hostTag': 'Chủ trì',
    'detail.level.0': 'Cấp tỉnh',
    'detail.level.1': 'Cấp huyện',
    'detail.level.2': 'Cấp xã',
    'detail.level.n': 'Cấp {n}',
    'detail.level.other': 'Điểm cầu khác',
    'detail.unitCode': 'Mã đơn vị',
    'detail.link': 'Đường dẫn tham gia',
    'detail.linkLabel': 'Đường dẫn tham gia của {name}',
    'detail.copy': 'Sao chép',
    'detail.copyLabel': 'Sao chép đường dẫn tham gia của {name}',
    'detail.copied': 'Đã sao chép đường dẫn của {name}.',
    'detail.copyAll': 'Sao chép tất cả đường dẫn',
    'detail.copiedAll': 'Đã sao chép {n} đường dẫn.',
    'detail.copyFailed': 'Không sao chép được. Xin chọn đường dẫn và bấm Ctrl+C.',
    'detail.linksHint': 'Mỗi điểm cầu có đường dẫn riêng, dùng được từ 15 phút trước giờ họp đến khi kết thúc.',
    'detail.linksError': 'Không tải được đường dẫn tham gia.',

    'error.overlap': 'Điểm cầu chủ trì đã có cuộc họp khác trùng thời gian. Xin chọn thời gian khác.',
    'error.out-of-scope': 'Có đơn vị nằm ngoài phạm vi quản lý của đơn vị bạn.',
    'error.end-before-start': 'Giờ kết thúc phải sau giờ bắt đầu.',
    'error.start-in-past': 'Giờ bắt đầu đã qua. Xin chọn thời gian trong tương lai.',
    'error.too-long': 'Một cuộc họp kéo dài tối đa 24 giờ.',
    'error.unknown-unit': 'Có đơn vị không tồn tại trong danh mục.',
    'error.unknown-site': 'Điểm cầu không tồn tại.',
    'error.too-many-sites': 'Cuộc họp mời quá nhiều điểm cầu.',
    'error.bad-title': 'Tên cuộc họp phải có từ 1 đến 200 ký tự.',
    'error.bad-agenda': 'Nội dung dài tối đa 10.000 ký tự.',
    'error.invalid-request': 'Dữ liệu gửi lên không hợp lệ.',
    'error.csrf': 'Phiên làm việc đã thay đổi. Xin tải lại trang rồi thử lại.',
    'error.login-required': 'Phiên đăng nhập đã hết hạn. Xin đăng nhập lại.',
    'error.meeting-over': 'Cuộc họp đã kết thúc hoặc đã bị hủy nên không thay đổi được.',
    'error.meeting-cancelled': 'Cuộc họp đã bị hủy.',
    'error.not-your-meeting': 'Bạn không quản lý cuộc họp này.',
    'error.not-invited': 'Điểm cầu của bạn không được mời dự cuộc họp này.',
    'error.role-forbidden': 'Tài khoản của bạn không có quyền này.',
    'error.not-found': 'Không tìm thấy dữ liệu yêu cầu.',
    'error.bad-time': 'Khoảng thời gian không hợp lệ.',
    'error.network': 'Không kết nối được máy chủ. Xin kiểm tra mạng rồi thử lại.',
    'error.generic': 'Đã có lỗi xảy ra ({code}).',
    'error.loginLink': 'Đăng nhập lại',
  },
  en: {
    'app.title': 'Online meeting system',
    'lang.toggle': 'Tiếng Việt',
    'lang.toggleLabel': 'Chuyển sang tiếng Việt',
    'nav.label': 'Main navigation',
    'nav.skip': 'Skip to main content',
    'nav.meetings': 'Meetings',
    'nav.new': 'New meeting',
    'nav.recordings': 'Recordings',
    'user.label': 'Account',
    'logout': 'Log out',
    'role.admin': 'Administrator',
    'role.host': 'Host',
    'role.site': 'Site',
    'role.viewer': 'Viewer',
    'role.operator': 'Operator',
    'loading': 'Loading…',
    'noscript': 'This page needs JavaScript. Please enable it or use a recent Chrome, Edge or Firefox.',
    'yes': 'Yes',
    'no': 'No',

    'login.title': 'Log in',
    'login.intro': 'Log in to see the meeting schedule and manage your unit’s online meetings.',
    'login.username': 'Username',
    'login.password': 'Password',
    'login.showPassword': 'Show password',
    'login.submit': 'Log in',
    'login.help': 'Forgot your password or have no account? Please contact your unit’s system administrator.',
    'login.error.invalid-credentials': 'Wrong username or password.',
    'login.error.form-expired': 'The login form expired. Please enter your details again and press “Log in”.',
    'login.error.too-many-attempts': 'Too many failed attempts. Please wait a moment (the wait grows after each failure) and try again.',
    'login.error.busy': 'The server is checking many logins. Please try again in a few seconds.',

    'meetings.title': 'Meetings',
    'meetings.new': 'New meeting',
    'meetings.ics': 'Download calendar (.ics)',
    'meetings.icsLabel': 'Download this site’s meeting calendar (.ics file for Outlook, Google Calendar…)',
    'meetings.empty': 'No meetings in this period.',
    'meetings.count': '{n} meetings',
    'meetings.countOne': '1 meeting',
    'meetings.range': 'From {from} to {to}',
    'meetings.loadError': 'Could not load the meetings.',
    'view.label': 'View',
    'view.list': 'List',
    'view.week': 'Week',
    'week.prev': 'Previous week',
    'week.next': 'Next week',
    'week.this': 'This week',
    'week.nav': 'Choose a week',
    'week.noMeetings': 'No meetings',
    'today': 'Today',
    'status.scheduled': 'Scheduled',
    'status.open': 'Room open',
    'status.live': 'In progress',
    'status.ended': 'Ended',
    'status.cancelled': 'Cancelled',
    'action.details': 'Details',
    'action.detailsLabel': 'Details of the meeting {title}',
    'action.join': 'Join',
    'action.joinLabel': 'Join the meeting {title}',
    'action.console': 'Run the meeting',
    'action.consoleLabel': 'Run the meeting {title}',
    'meeting.host': 'Host site',
    'meeting.time': 'Time',
    'meeting.agenda': 'Agenda',
    'meeting.noAgenda': '(No agenda yet)',
    'meeting.autoRecord': 'Automatic recording',
    'meeting.status': 'Status',
    'meeting.start': 'Start',
    'meeting.end': 'End',
    'meeting.sites': '{n} sites',
    'meeting.sitesOne': '1 site',

    'weekday.0': 'Sunday',
    'weekday.1': 'Monday',
    'weekday.2': 'Tuesday',
    'weekday.3': 'Wednesday',
    'weekday.4': 'Thursday',
    'weekday.5': 'Friday',
    'weekday.6': 'Saturday',

    'form.newTitle': 'New meeting',
    'form.editTitle': 'Edit meeting',
    'form.title': 'Title',
    'form.agenda': 'Agenda',
    'form.agendaHint': 'Programme, documents to prepare… (optional)',
    'form.start': 'Start',
    'form.end': 'End',
    'form.timeHint': 'Viet Nam time (UTC+07:00), 24-hour clock. The room opens 15 minutes before the start.',
    'form.host': 'Host site',
    'form.hostSearch': 'Find the host site',
    'form.hostSearchPlaceholder': 'Type a name to filter the list…',
    'form.hostNoMatch': 'No site matches.',
    'form.autoRecord': 'Automatic recording',
    'form.autoRecordHint': 'Start recording automatically when the meeting begins.',
    'form.units': 'Participants',
    'form.unitsHint': 'Choose the invited units; each unit has one site. The host site is always invited.',
    'form.create': 'Create meeting',
    'form.save': 'Save changes',
    'form.saving': 'Saving…',
    'form.back': 'Back',
    'form.required': 'Please fill in {field}.',
    'form.badTime': 'Invalid time: {field}.',
    'form.notEditable': 'This meeting has ended or was cancelled, so it can no longer be changed.',
    'form.loadError': 'Could not load the form data.',
    'form.durationHint': 'Duration: {duration}',
    'duration.hm': '{h} h {m} min',
    'duration.h': '{h} h',
    'duration.m': '{m} min',

    'tree.label': 'Administrative unit tree',
    'tree.filter': 'Find a unit by name',
    'tree.filterPlaceholder': 'For example: Định Hóa, Chợ Chu…',
    'tree.filterHint': 'Searches the units opened so far.',
    'tree.subtree': 'Whole subtree',
    'tree.subtreeLabel': 'Select {name} and every unit below it',
    'tree.expand': 'Expand {name}',
    'tree.collapse': 'Collapse {name}',
    'tree.loading': 'Loading…',
    'tree.loadError': 'Could not load the units.',
    'tree.noMatch': 'No unit found among the opened units.',
    'tree.matches': '{n} units found.',
    'tree.matchesOne': '1 unit found.',
    'tree.selected': '{n} sites selected',
    'tree.selectedOne': '1 site selected',
    'tree.selectedNone': 'No site selected',
    'tree.selectedBelow': '{n} units below selected',
    'tree.clear': 'Clear selection',

    'detail.invitations': 'Participants',
    'detail.invitedCount': '{n} sites invited',
    'detail.invitedCountOne': '1 site invited',
    'detail.ics': 'Download calendar (.ics)',
    'detail.join': 'Join the meeting',
    'detail.console': 'Run the meeting',
    'detail.edit': 'Edit',
    'detail.cancel': 'Cancel meeting',
    'detail.cancelConfirm': 'Cancel the meeting “{title}”? The sites will no longer be able to enter the room. This cannot be undone.',
    'detail.cancelled': 'The meeting was cancelled.',
    'detail.cancelling': 'Cancelling…',
    'detail.back': 'Back to meetings',
    'detail.hostTag': 'Host',
    'detail.level.0': 'Province level',
    'detail.level.1': 'District level',
    'detail.level.2': 'Commune level',
    'detail.level.n': 'Level {n}',
    'detail.level.other': 'Other sites',
    'detail.unitCode': 'Unit code',
    'detail.link': 'Join link',
    'detail.linkLabel': 'Join link of {name}',
    'detail.copy': 'Copy',
    'detail.copyLabel': 'Copy the join link of {name}',
    'detail.copied': 'Copied the link of {name}.',
    'detail.copyAll': 'Copy all links',
    'detail.copiedAll': 'Copied {n} links.',
    'detail.copiedAllOne': 'Copied 1 link.',
    'detail.copyFailed': 'Could not copy. Select the link and press Ctrl+C.',
    'detail.linksHint': 'Each site has its own link, valid from 15 minutes before the start until the end.',
    'detail.linksError': 'Could not load the join links.',

    'error.overlap': 'The host site already has another meeting at this time. Please choose another time.',
    'error.out-of-scope': 'Some units are outside your unit’s scope.',
    'error.end-before-start': 'The end must be after the start.',
    'error.start-in-past': 'The start time has passed. Please choose a time in the future.',
    'error.too-long': 'A meeting can last at most 24 hours.',
    'error.unknown-unit': 'Some units do not exist in the catalogue.',
    'error.unknown-site': 'The site does not exist.',
    'error.too-many-sites': 'The meeting invites too many sites.',
    'error.bad-title': 'The title must be 1 to 200 characters.',
    'error.bad-agenda': 'The agenda can be at most 10,000 characters.',
    'error.invalid-request': 'The form data is not valid.',
    'error.csrf': 'Your session changed. Please reload the page and try again.',
    'error.login-required': 'Your login has expired. Please log in again.',
    'error.meeting-over': 'This meeting has ended or was cancelled, so it cannot be changed.',
    'error.meeting-cancelled': 'The meeting was cancelled.',
    'error.not-your-meeting': 'You do not manage this meeting.',
    'error.not-invited': 'Your site is not invited to this meeting.',
    'error.role-forbidden': 'Your account may not do this.',
    'error.not-found': 'The requested item was not found.',
    'error.bad-time': 'The time range is not valid.',
    'error.network': 'Cannot reach the server. Please check the network and try again.',
    'error.generic': 'Something went wrong ({code}).',
    'error.loginLink': 'Log in again',
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

/** Add translations (other pages' keys): {vi: {...}, en: {...}}. */
export function addMessages(tables) {
  for (const lang of LANGUAGES) Object.assign(MESSAGES[lang], tables?.[lang] || {});
}

/** The active language code ("vi" or "en"). */
export function getLang() {
  return current;
}

/** Whether a translation exists for `key`. */
export function has(key) {
  return key in MESSAGES[DEFAULT_LANG] || key in MESSAGES.en;
}

/** Translate `key`, replacing `{name}` with params.name; falls back to Vietnamese, then to the key. */
export function t(key, params = {}) {
  let text = MESSAGES[current]?.[key] ?? MESSAGES[DEFAULT_LANG][key] ?? key;
  for (const [name, value] of Object.entries(params)) {
    text = text.split(`{${name}}`).join(String(value));
  }
  return text;
}

const ATTRS = [
  ['i18nAriaLabel', 'data-i18n-aria-label', 'aria-label'],
  ['i18nTitle', 'data-i18n-title', 'title'],
  ['i18nPlaceholder', 'data-i18n-placeholder', 'placeholder'],
];

/** Fill every [data-i18n*] element under `root` whose key is known. */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    if (has(el.dataset.i18n)) el.textContent = t(el.dataset.i18n);
  }
  for (const [prop, selector, attr] of ATTRS) {
    for (const el of root.querySelectorAll(`[${selector}]`)) {
      if (has(el.dataset[prop])) el.setAttribute(attr, t(el.dataset[prop]));
    }
  }
  document.documentElement.lang = current;
}

/** Switch language, remember it, keep a `?lang=` in the URL in line, re-render. */
export function setLang(lang) {
  current = normalise(lang) || DEFAULT_LANG;
  try {
    window.localStorage.setItem(STORAGE_KEY, current);
  } catch {
    /* ignore */
  }
  const url = new URL(window.location.href);
  if (url.searchParams.has('lang')) {
    url.searchParams.set('lang', current);
    window.history.replaceState(window.history.state, '', url.toString());
  }
  applyI18n();
  for (const fn of listeners) fn(current);
}

export function toggleLang() {
  setLang(current === 'vi' ? 'en' : 'vi');
}

/** Call `fn(lang)` after every language change. */
export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** "{n} sites selected" with English singular. */
export function plural(key, n) {
  if (n === 1 && has(`${key}One`) && current === 'en') return t(`${key}One`, { n });
  return t(key, { n: n.toLocaleString(current === 'vi' ? 'vi-VN' : 'en-GB') });
}

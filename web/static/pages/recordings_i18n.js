// Texts and formatting shared by the recordings pages (/recordings and
// /recordings/{id}), Vietnamese first. Importing this module registers the
// texts with ../shared/i18n.js (addMessages).
//
// The API gives times as Unix seconds (the server's clock); they are shown
// in the server's zone (+07:00), whatever the browser's own zone, like the
// meetings pages.

import { t, addMessages, getLang } from '../shared/i18n.js';
import { partsAt, formatDateTime, formatDate, formatTime } from '../shared/time.js';

export const MESSAGES = {
  vi: {
    'rec.title': 'Thư viện ghi hình',
    'rec.filters': 'Lọc bản ghi',
    'rec.filter.unit': 'Đơn vị',
    'rec.filter.allUnits': 'Tất cả đơn vị',
    'rec.filter.from': 'Từ ngày',
    'rec.filter.to': 'Đến ngày',
    'rec.filter.clear': 'Xóa bộ lọc',
    'rec.filter.badRange': '“Từ ngày” phải trước hoặc bằng “Đến ngày”.',
    'rec.retention': 'Bản ghi được lưu {n} ngày, sau đó tự động xóa.',
    'rec.retentionForever': 'Bản ghi được lưu vĩnh viễn.',
    'rec.count': '{n} bản ghi',
    'rec.empty': 'Chưa có bản ghi nào. Chủ trì bắt đầu ghi hình từ màn hình điều hành cuộc họp.',
    'rec.emptyFiltered': 'Không có bản ghi nào khớp bộ lọc.',
    'rec.loadError': 'Không tải được danh sách bản ghi.',
    'rec.open': 'Xem',
    'rec.openLabel': 'Xem bản ghi {title}',
    'rec.duration': 'Thời lượng',
    'rec.size': 'Dung lượng',
    'rec.units': 'Đơn vị',
    'rec.start': 'Bắt đầu',
    'rec.host': 'Điểm cầu chủ trì',
    'rec.startedBy': 'Người ghi',
    'rec.startedBy.auto': 'Tự động theo lịch họp',
    'rec.stopReason': 'Kết thúc',
    'rec.tracksCount': '{n} tệp',
    'rec.unitsMore': '{first} và {n} đơn vị',
    'rec.unitsAnd': '{a} và {b}',
    'rec.unitsNone': '—',
    'rec.unknown': '—',
    'rec.status': 'Trạng thái',
    'rec.status.complete': 'Hoàn tất',
    'rec.status.recording': 'Đang ghi',
    'rec.status.interrupted': 'Bị gián đoạn',
    'rec.status.stopped-low-disk': 'Dừng do đầy đĩa',

    'rec.back': 'Về thư viện ghi hình',
    'rec.facts': 'Thông tin bản ghi',
    'rec.allUnits': 'Xem tất cả {n} đơn vị',
    'rec.liveNote': 'Cuộc họp vẫn đang được ghi hình. Tải lại trang để xem phần mới nhất.',
    'rec.interruptedNote': 'Máy chủ đã dừng đột ngột trong khi ghi: các tệp dùng được đến thời điểm đó.',
    'rec.lowDiskNote': 'Việc ghi hình đã dừng vì ổ đĩa máy chủ sắp đầy.',
    'rec.player': 'Xem lại',
    'rec.playerLabel': 'Trình phát bản ghi',
    'rec.nowPlaying': 'Đang mở: {what}',
    'rec.nothingToPlay': 'Bản ghi chưa có tệp nào để phát.',
    'rec.playError': 'Trình duyệt không phát được tệp này. Hãy bấm “Tải xuống” để xem bằng phần mềm khác (ví dụ VLC).',
    'rec.composite': 'Video tổng hợp – {layout}',
    'rec.compositeDownload': 'Tải xuống video tổng hợp',
    'rec.trackWhat': '{site} – {kind}',

    'rec.render': 'Dựng video tổng hợp',
    'rec.renderHint': 'Ghép hình và tiếng của các điểm cầu thành một tệp MP4 để lưu trữ hoặc gửi đi. Việc dựng chạy trên máy chủ và có thể mất vài phút.',
    'rec.renderBusyHint': 'Chỉ dựng được khi đã dừng ghi hình.',
    'rec.layout.grid': 'Bố cục lưới',
    'rec.layout.speaker': 'Bố cục người phát biểu',
    'rec.renderStart': 'Dựng: {layout}',
    'rec.renderStartLabel': 'Dựng video tổng hợp theo {layout}',
    'rec.render.queued': 'Đang chờ đến lượt dựng video ({layout})…',
    'rec.render.running': 'Đang dựng video ({layout}): {pct} %',
    'rec.render.done': 'Đã dựng xong video ({layout}).',
    'rec.render.failed': 'Không dựng được video ({layout}): {error}',
    'rec.render.failedNoDetail': 'Không dựng được video ({layout}).',
    'rec.render.lost': 'Mất kết nối khi theo dõi tiến độ dựng video. Đang thử kết nối lại…',
    'rec.render.none': 'Máy chủ không có việc dựng video nào cho bố cục này.',
    'rec.render.progressLabel': 'Tiến độ dựng video',
    'rec.composites': 'Video tổng hợp đã dựng',
    'rec.play': 'Phát',
    'rec.playLabel': 'Phát {what}',
    'rec.playing': 'Đang phát',
    'rec.download': 'Tải xuống',
    'rec.downloadLabel': 'Tải xuống {what}',

    'rec.tracks': 'Các tệp ghi',
    'rec.tracksHint': 'Mỗi điểm cầu có một tệp hình và một tệp tiếng; khi điểm cầu vào lại, một tệp mới được tạo.',
    'rec.tracksEmpty': 'Chưa có tệp nào.',
    'rec.kind.video': 'Hình',
    'rec.kind.audio': 'Tiếng',
    'rec.frames': '{n} khung hình',
    'rec.packets': '{n} gói tiếng',
    'rec.part': 'lần {n}',
    'rec.offset': 'từ {time}',

    'rec.events': 'Diễn biến',
    'rec.eventsFilter': 'Hiển thị',
    'rec.eventsFilter.all': 'Tất cả',
    'rec.eventsFilter.presence': 'Vào, rời phòng',
    'rec.eventsFilter.floor': 'Phát biểu',
    'rec.eventsFilter.other': 'Khác',
    'rec.eventsEmpty': 'Không có sự kiện nào.',
    'rec.eventsCount': '{n} sự kiện',
    'rec.seek': 'Tua đến {time}',
    'rec.seekOutside': 'Thời điểm {time} nằm ngoài tệp đang mở.',
    'rec.event.recording-started': 'Bắt đầu ghi hình',
    'rec.event.recording-stopped': 'Dừng ghi hình',
    'rec.event.join': 'Vào phòng họp',
    'rec.event.present': 'Có mặt khi bắt đầu ghi',
    'rec.event.leave': 'Rời phòng họp',
    'rec.event.mute': 'Micrô, camera',
    'rec.event.hands': 'Giơ tay',
    'rec.event.hand': 'Giơ tay',
    'rec.event.floor': 'Được phát biểu',
    'rec.event.floorEnd': 'Kết thúc phát biểu',
    'rec.event.spotlight': 'Ghim hình chính',
    'rec.event.spotlightEnd': 'Bỏ ghim hình',
    'rec.event.speaker': 'Người nói',
    'rec.event.lock': 'Khóa phòng họp',
    'rec.event.unlock': 'Mở khóa phòng họp',
    'rec.event.removed': 'Bị mời ra khỏi phòng',
    'rec.event.plate': 'Biển tên',
    'rec.event.plate-alert': 'Cảnh báo biển số',
    'rec.event.other': 'Sự kiện “{type}”',
    'rec.detail.by': 'bởi {who}',
    'rec.detail.micOn': 'micrô bật',
    'rec.detail.micOff': 'micrô tắt',
    'rec.detail.camOn': 'camera bật',
    'rec.detail.camOff': 'camera tắt',
    'rec.detail.hands': '{n} điểm cầu đang giơ tay',
    'rec.detail.handsNone': 'không còn ai giơ tay',
    'rec.reason.left': 'tự rời',
    'rec.reason.connection-lost': 'mất kết nối',
    'rec.reason.replaced': 'kết nối lại',
    'rec.reason.removed': 'bị mời ra',
    'rec.reason.ended': 'cuộc họp kết thúc',
    'rec.reason.cancelled': 'cuộc họp bị hủy',
    'rec.reason.shutdown': 'máy chủ dừng',
    'rec.reason.stopped-by-host': 'chủ trì dừng ghi',
    'rec.reason.low-disk': 'ổ đĩa sắp đầy',
    'rec.reason.room-ended': 'cuộc họp kết thúc',
    'rec.reason.room-closed': 'phòng họp đóng',
    'rec.reason.room-cancelled': 'cuộc họp bị hủy',
    'rec.reason.stopped': 'đã dừng',

    'rec.delete': 'Xóa',
    'rec.deleteLabel': 'Xóa bản ghi này',
    'rec.deleteConfirm': 'Xóa vĩnh viễn bản ghi “{title}” ({date}) cùng mọi tệp của nó? Không thể hoàn tác.',
    'rec.deleting': 'Đang xóa…',

    'error.not-your-recording': 'Bạn không có quyền xem bản ghi này.',
    'error.still-recording': 'Bản ghi đang được ghi: hãy dừng ghi hình trước khi xóa.',
    'error.recording-not-found': 'Không tìm thấy bản ghi. Có thể bản ghi đã bị xóa.',
  },
  en: {
    'rec.title': 'Recording library',
    'rec.filters': 'Filter recordings',
    'rec.filter.unit': 'Unit',
    'rec.filter.allUnits': 'All units',
    'rec.filter.from': 'From',
    'rec.filter.to': 'To',
    'rec.filter.clear': 'Clear filters',
    'rec.filter.badRange': '“From” must be on or before “To”.',
    'rec.retention': 'Recordings are kept for {n} days, then deleted automatically.',
    'rec.retentionOne': 'Recordings are kept for 1 day, then deleted automatically.',
    'rec.retentionForever': 'Recordings are kept forever.',
    'rec.count': '{n} recordings',
    'rec.countOne': '1 recording',
    'rec.empty': 'No recordings yet. Hosts start recording from the meeting console.',
    'rec.emptyFiltered': 'No recording matches the filters.',
    'rec.loadError': 'Could not load the recordings.',
    'rec.open': 'Open',
    'rec.openLabel': 'Open the recording {title}',
    'rec.duration': 'Duration',
    'rec.size': 'Size',
    'rec.units': 'Units',
    'rec.start': 'Started',
    'rec.host': 'Host site',
    'rec.startedBy': 'Recorded by',
    'rec.startedBy.auto': 'Automatically (meeting schedule)',
    'rec.stopReason': 'Ended',
    'rec.tracksCount': '{n} files',
    'rec.tracksCountOne': '1 file',
    'rec.unitsMore': '{first} and {n} other units',
    'rec.unitsAnd': '{a} and {b}',
    'rec.unitsNone': '—',
    'rec.unknown': '—',
    'rec.status': 'Status',
    'rec.status.complete': 'Complete',
    'rec.status.recording': 'Recording',
    'rec.status.interrupted': 'Interrupted',
    'rec.status.stopped-low-disk': 'Stopped: disk full',

    'rec.back': 'Back to the recording library',
    'rec.facts': 'About this recording',
    'rec.allUnits': 'Show all {n} units',
    'rec.liveNote': 'The meeting is still being recorded. Reload the page to see the latest part.',
    'rec.interruptedNote': 'The server stopped suddenly while recording: the files are good up to that moment.',
    'rec.lowDiskNote': 'Recording stopped because the server’s disk was almost full.',
    'rec.player': 'Playback',
    'rec.playerLabel': 'Recording player',
    'rec.nowPlaying': 'Now open: {what}',
    'rec.nothingToPlay': 'This recording has no file to play yet.',
    'rec.playError': 'The browser cannot play this file. Press “Download” and open it with another player (e.g. VLC).',
    'rec.composite': 'Composite video – {layout}',
    'rec.compositeDownload': 'Download the composite video',
    'rec.trackWhat': '{site} – {kind}',

    'rec.render': 'Render a composite video',
    'rec.renderHint': 'Combines every site’s picture and sound into one MP4 file to archive or send. Rendering runs on the server and can take a few minutes.',
    'rec.renderBusyHint': 'Rendering is possible once the recording has stopped.',
    'rec.layout.grid': 'Grid layout',
    'rec.layout.speaker': 'Speaker layout',
    'rec.renderStart': 'Render: {layout}',
    'rec.renderStartLabel': 'Render a composite video in the {layout}',
    'rec.render.queued': 'Waiting for its turn to render ({layout})…',
    'rec.render.running': 'Rendering ({layout}): {pct} %',
    'rec.render.done': 'The video is ready ({layout}).',
    'rec.render.failed': 'Rendering failed ({layout}): {error}',
    'rec.render.failedNoDetail': 'Rendering failed ({layout}).',
    'rec.render.lost': 'Lost the connection while following the render. Reconnecting…',
    'rec.render.none': 'The server has no render for this layout.',
    'rec.render.progressLabel': 'Render progress',
    'rec.composites': 'Rendered composite videos',
    'rec.play': 'Play',
    'rec.playLabel': 'Play {what}',
    'rec.playing': 'Playing',
    'rec.download': 'Download',
    'rec.downloadLabel': 'Download {what}',

    'rec.tracks': 'Recorded files',
    'rec.tracksHint': 'Each site has one picture file and one sound file; a site that rejoins gets new files.',
    'rec.tracksEmpty': 'No files yet.',
    'rec.kind.video': 'Video',
    'rec.kind.audio': 'Audio',
    'rec.frames': '{n} frames',
    'rec.packets': '{n} audio packets',
    'rec.part': 'part {n}',
    'rec.offset': 'from {time}',

    'rec.events': 'Timeline',
    'rec.eventsFilter': 'Show',
    'rec.eventsFilter.all': 'Everything',
    'rec.eventsFilter.presence': 'Joins and leaves',
    'rec.eventsFilter.floor': 'Speaking',
    'rec.eventsFilter.other': 'Other',
    'rec.eventsEmpty': 'No events.',
    'rec.eventsCount': '{n} events',
    'rec.eventsCountOne': '1 event',
    'rec.seek': 'Go to {time}',
    'rec.seekOutside': 'The moment {time} is outside the open file.',
    'rec.event.recording-started': 'Recording started',
    'rec.event.recording-stopped': 'Recording stopped',
    'rec.event.join': 'Joined',
    'rec.event.present': 'Present when recording started',
    'rec.event.leave': 'Left',
    'rec.event.mute': 'Microphone, camera',
    'rec.event.hands': 'Raised hands',
    'rec.event.hand': 'Raised hand',
    'rec.event.floor': 'Given the floor',
    'rec.event.floorEnd': 'Floor taken back',
    'rec.event.spotlight': 'Pinned to the main screen',
    'rec.event.spotlightEnd': 'Unpinned',
    'rec.event.speaker': 'Speaking',
    'rec.event.lock': 'Meeting locked',
    'rec.event.unlock': 'Meeting unlocked',
    'rec.event.removed': 'Removed from the meeting',
    'rec.event.plate': 'Name plate',
    'rec.event.plate-alert': 'Plate alert',
    'rec.event.other': 'Event “{type}”',
    'rec.detail.by': 'by {who}',
    'rec.detail.micOn': 'microphone on',
    'rec.detail.micOff': 'microphone muted',
    'rec.detail.camOn': 'camera on',
    'rec.detail.camOff': 'camera off',
    'rec.detail.hands': '{n} sites have raised their hand',
    'rec.detail.handsOne': '1 site has raised its hand',
    'rec.detail.handsNone': 'no raised hands',
    'rec.reason.left': 'left',
    'rec.reason.connection-lost': 'connection lost',
    'rec.reason.replaced': 'reconnected',
    'rec.reason.removed': 'removed',
    'rec.reason.ended': 'meeting ended',
    'rec.reason.cancelled': 'meeting cancelled',
    'rec.reason.shutdown': 'server stopped',
    'rec.reason.stopped-by-host': 'stopped by the host',
    'rec.reason.low-disk': 'disk almost full',
    'rec.reason.room-ended': 'meeting ended',
    'rec.reason.room-closed': 'room closed',
    'rec.reason.room-cancelled': 'meeting cancelled',
    'rec.reason.stopped': 'stopped',

    'rec.delete': 'Delete',
    'rec.deleteLabel': 'Delete this recording',
    'rec.deleteConfirm': 'Permanently delete the recording “{title}” ({date}) and all its files? This cannot be undone.',
    'rec.deleting': 'Deleting…',

    'error.not-your-recording': 'You may not see this recording.',
    'error.still-recording': 'This recording is still running: stop recording before deleting it.',
    'error.recording-not-found': 'The recording was not found. It may have been deleted.',
  },
};

addMessages(MESSAGES);

export const STATUSES = ['complete', 'recording', 'interrupted', 'stopped-low-disk'];
export const LAYOUTS = ['grid', 'speaker'];

const locale = () => (getLang() === 'vi' ? 'vi-VN' : 'en-GB');
const pad = (n) => String(n).padStart(2, '0');

/** Wall-clock parts (server zone) of a Unix-seconds time. */
export function partsOf(seconds) {
  return typeof seconds === 'number' && Number.isFinite(seconds) ? partsAt(seconds * 1000) : null;
}

/** "27/11/2026 08:00" */
export function dateTimeOf(seconds) {
  const p = partsOf(seconds);
  return p ? formatDateTime(p) : '';
}

export function dateOf(seconds) {
  const p = partsOf(seconds);
  return p ? formatDate(p) : '';
}

export function timeOf(seconds) {
  const p = partsOf(seconds);
  return p ? formatTime(p) : '';
}

/** ISO 8601 (with the server's offset) of a Unix-seconds time, for <time datetime>. */
export function isoOf(seconds) {
  const p = partsOf(seconds);
  return p ? `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}${p.offset}` : '';
}

/** "1:02:03" (h:mm:ss) of seconds; "–" when unknown. */
export function clockOf(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '–';
  const total = Math.floor(seconds + 0.5);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h}:${pad(m)}:${pad(s)}`;
}

/** "+0:01:05": a moment relative to the start. */
export function offsetOf(seconds) {
  return `+${clockOf(Math.max(0, seconds))}`;
}

/** "12,3 MB", "1,27 GB" (binary units, as the server counts disk space). */
export function sizeOf(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) return '–';
  const mb = bytes / (1024 * 1024);
  const format = (value, digits) => value.toLocaleString(locale(), {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  if (mb >= 1024) return `${format(mb / 1024, mb >= 100 * 1024 ? 1 : 2)} GB`;
  if (bytes === 0) return '0 MB';
  if (mb < 0.1) return `< ${format(0.1, 1)} MB`;
  return `${format(mb, mb < 100 ? 1 : 0)} MB`;
}

export function numberOf(n) {
  return Number(n || 0).toLocaleString(locale());
}

/** A status badge (.status-badge[data-status]). */
export function statusLabel(status) {
  const key = `rec.status.${status}`;
  const text = t(key);
  return text === key ? String(status || '') : text;
}

/**
 * The invited units in a short form: the host's unit (or the highest one)
 * first, then "và N đơn vị". `units` are {code, name, depth}.
 */
export function orderUnits(units, hostSite) {
  return [...(units || [])].sort((a, b) => (
    (b.code === hostSite) - (a.code === hostSite)
    || (a.depth ?? 99) - (b.depth ?? 99)
    || String(a.name).localeCompare(String(b.name), 'vi')
  ));
}

export function unitsSummary(units, hostSite) {
  const ordered = orderUnits(units, hostSite);
  if (!ordered.length) return t('rec.unitsNone');
  if (ordered.length === 1) return ordered[0].name;
  if (ordered.length === 2) return t('rec.unitsAnd', { a: ordered[0].name, b: ordered[1].name });
  return t('rec.unitsMore', { first: ordered[0].name, n: numberOf(ordered.length - 1) });
}

/** A recording's stop reason in words ("chủ trì dừng ghi"). */
export function reasonText(reason) {
  if (!reason) return '';
  const key = `rec.reason.${reason}`;
  const text = t(key);
  return text === key ? reason : text;
}

export function layoutName(layout) {
  const key = `rec.layout.${layout}`;
  const text = t(key);
  return text === key ? layout : text;
}

/** The layout's name inside a sentence ("bố cục lưới"). */
export function layoutPhrase(layout) {
  const name = layoutName(layout);
  return name.charAt(0).toLocaleLowerCase(getLang()) + name.slice(1);
}

/** The URL of a recording's file; `download` adds ?download=1 (Content-Disposition: attachment). */
export function fileUrl(recordingId, file, download = false) {
  const url = `/api/recordings/${encodeURIComponent(recordingId)}/files/${encodeURIComponent(file)}`;
  return download ? `${url}?download=1` : url;
}

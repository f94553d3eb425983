// Dates and times in the server's time zone. The API sends ISO 8601 strings
// with the server's offset ("2026-11-27T08:00:00+07:00"); we show their wall
// time as written (dd/mm/yyyy HH:mm, 24 h), whatever the browser's own zone.

import { t, locale } from './i18n.js';

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

// The server's UTC offset; Asia/Ho_Chi_Minh unless an API answer says otherwise.
let serverOffset = '+07:00';

/** Learn the server's offset from an ISO string it sent. */
export function learnOffset(iso) {
  const parts = parseIso(iso);
  if (parts && parts.offset) serverOffset = parts.offset;
}

/** The server's UTC offset as last learned ("+07:00"). */
export function getOffset() {
  return serverOffset;
}

function offsetMinutes(offset) {
  if (!offset || offset === 'Z') return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(offset);
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

/** {y, mo, d, h, mi, s, offset} of an ISO string (wall time as written), or null. */
export function parseIso(iso) {
  const m = ISO_RE.exec(String(iso || ''));
  if (!m) return null;
  let offset = m[7] || null;
  if (offset && offset !== 'Z' && !offset.includes(':')) offset = `${offset.slice(0, 3)}:${offset.slice(3)}`;
  return {
    y: Number(m[1]), mo: Number(m[2]), d: Number(m[3]),
    h: Number(m[4]), mi: Number(m[5]), s: Number(m[6] || 0), offset,
  };
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** "27/11/2026" */
export function formatDate(iso) {
  const p = typeof iso === 'string' ? parseIso(iso) : iso;
  return p ? `${pad(p.d)}/${pad(p.mo)}/${p.y}` : '';
}

/** "08:00" */
export function formatTime(iso) {
  const p = typeof iso === 'string' ? parseIso(iso) : iso;
  return p ? `${pad(p.h)}:${pad(p.mi)}` : '';
}

/** "27/11/2026 08:00" */
export function formatDateTime(iso) {
  const p = typeof iso === 'string' ? parseIso(iso) : iso;
  return p ? `${formatDate(p)} ${formatTime(p)}` : '';
}

/** "2026-11-27": the day of an ISO time in the server's zone (as written). */
export function dayKey(iso) {
  const p = typeof iso === 'string' ? parseIso(iso) : iso;
  return p ? `${p.y}-${pad(p.mo)}-${pad(p.d)}` : '';
}

/** 0 (Sunday) .. 6 of a day key. */
export function weekdayOf(key) {
  const [y, mo, d] = key.split('-').map(Number);
  return new Date(Date.UTC(y, mo - 1, d)).getUTCDay();
}

/** "Thứ Sáu, 27/11/2026" */
export function formatDay(key) {
  const [y, mo, d] = key.split('-').map(Number);
  return `${t(`weekday.${weekdayOf(key)}`)}, ${pad(d)}/${pad(mo)}/${y}`;
}

/** "08:00 – 10:00", or with dates when it spans days; `withDate` puts the date first. */
export function formatRange(startIso, endIso, withDate = false) {
  const a = parseIso(startIso);
  const b = parseIso(endIso);
  if (!a || !b) return '';
  const sameDay = dayKey(a) === dayKey(b);
  const start = withDate ? formatDateTime(a) : formatTime(a);
  const end = sameDay ? formatTime(b) : formatDateTime(b);
  return `${start} – ${end}`;
}

/** Wall-clock parts of an epoch-ms moment in the server's zone. */
export function partsAt(ms, offset = serverOffset) {
  const shifted = new Date(ms + offsetMinutes(offset) * 60000);
  return {
    y: shifted.getUTCFullYear(), mo: shifted.getUTCMonth() + 1, d: shifted.getUTCDate(),
    h: shifted.getUTCHours(), mi: shifted.getUTCMinutes(), s: shifted.getUTCSeconds(), offset,
  };
}

/** ISO string with the server's offset for an epoch-ms moment. */
export function isoAt(ms, offset = serverOffset) {
  const p = partsAt(ms, offset);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}${offset}`;
}

/** Epoch ms of server-zone wall time parts. */
export function msOf(p, offset = serverOffset) {
  return Date.UTC(p.y, p.mo - 1, p.d, p.h || 0, p.mi || 0, p.s || 0) - offsetMinutes(p.offset || offset) * 60000;
}

/** Today's day key in the server's zone. */
export function todayKey() {
  return dayKey(partsAt(Date.now()));
}

/** Shift a day key by n days. */
export function addDays(key, n) {
  const [y, mo, d] = key.split('-').map(Number);
  const dt = new Date(Date.UTC(y, mo - 1, d + n));
  return `${dt.getUTCFullYear()}-${pad(dt.getUTCMonth() + 1)}-${pad(dt.getUTCDate())}`;
}

/** ISO midnight of a day key in the server's zone. */
export function dayStartIso(key) {
  return `${key}T00:00:00${serverOffset}`;
}

/** The value of a datetime-local input ("2026-11-27T08:00") for an ISO time. */
export function toLocalInput(iso) {
  const p = typeof iso === 'string' ? parseIso(iso) : iso;
  return p ? `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}` : '';
}

/** The ISO string with the server's offset for a datetime-local value, or null. */
export function fromLocalInput(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(String(value || ''));
  if (!m) return null;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] || '00'}${serverOffset}`;
}

/** "2 giờ 30 phút" */
export function formatDuration(minutes) {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  if (h && m) return t('duration.hm', { h, m });
  if (h) return t('duration.h', { h });
  return t('duration.m', { m });
}

/** A moment in the browser's own zone and the active language's conventions, e.g. "17:30 12/05/2026". */
export function formatMoment(date) {
  try {
    return new Intl.DateTimeFormat(locale(), {
      hour: '2-digit', minute: '2-digit', day: '2-digit', month: '2-digit', year: 'numeric',
    }).format(date);
  } catch {
    return date.toLocaleString();
  }
}

const clockFormats = new Map(); // IANA zone -> Intl.DateTimeFormat

/** "HH:mm:ss" of an epoch-seconds time in the IANA zone `timeZone` ('' for none known). */
export function clockIn(seconds, timeZone) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return '';
  let format = clockFormats.get(timeZone);
  if (!format) {
    const options = { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };
    try {
      format = new Intl.DateTimeFormat('en-GB', { ...options, timeZone: timeZone || undefined });
    } catch {
      format = new Intl.DateTimeFormat('en-GB', options); // a zone this browser does not know: its own
    }
    clockFormats.set(timeZone, format);
  }
  return format.format(new Date(seconds * 1000));
}

// Text matching shared by the pages' search boxes and the console's filter.

/** Lower-case without Vietnamese diacritics, for searching ("Định Hóa" ~ "dinh hoa"). */
export function fold(text) {
  return String(text || '')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D')
    .toLowerCase()
    .trim();
}

// The alert lists page's elements and what it knows: the one place its modules share state.

/** The element with id `id`. */
export const $ = (id) => document.getElementById(id);
/** Whether this user may change the lists (the template says so). */
export const canEdit = document.querySelector('.lists-page')?.dataset.canEdit === 'true';
/** The page's elements, by what they show. */
export const dom = {
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

/** What the page knows: the lists, notices and the errors shown. */
export const state = {
  watch: null, // [{id, pattern, reason, created_by, created_at, unit_code, unit, can_remove}]
  outbreaks: null, // [{id, province_code, province, start, end, reason, created_by, created_at, unit_code, unit, can_remove}]
  provinces: [], // [{code, name}]
  errors: {}, // banner id -> what it shows (an ApiError, or {key, params}), for the language switch
  notices: {}, // 'watch' | 'outbreak' -> [key, params] of the last change
  uploadResult: null, // [key, params]
};

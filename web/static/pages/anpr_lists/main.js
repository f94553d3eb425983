// /anpr/lists: the plate watch list (GET/POST/DELETE /api/anpr/watchlist,
// POST /api/anpr/watchlist/upload) and the outbreak provinces
// (GET/POST/DELETE /api/anpr/outbreaks, provinces from /api/anpr/provinces).
// Hosts (the operators' supervisors) and administrators change them; for
// operators the page is read-only (the forms are not rendered and no delete
// buttons are shown; the API refuses anyway). An entry belongs to the unit
// that listed it: a host removes only its own unit's entries and those of
// the units below (the API says so per entry in `can_remove`).
//
// This module starts the page and wires its forms; the rest is in the modules
// next to it: watch (the watch list), upload, outbreaks, view (small helpers);
// texts in messages.js, shared state in state.js.

import { showError } from '../../shared/api.js';
import { addMessages, onLangChange, t } from '../../shared/i18n.js';
import { addDays, todayKey } from '../../shared/time.js';
import { MESSAGES } from './messages.js';
import {
  addOutbreak,
  deleteOutbreak,
  loadOutbreaks,
  loadProvinces,
  renderOutbreaks,
  renderProvinces,
} from './outbreaks.js';
import { canEdit, dom, state } from './state.js';
import { showUploadResult, upload } from './upload.js';
import { bannerText, setError } from './view.js';
import { addWatch, deleteWatch, loadWatch, renderWatch } from './watch.js';

addMessages(MESSAGES);

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

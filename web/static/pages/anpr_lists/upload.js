// Uploading a file of plates to the watch list.

import { ApiError, api } from '../../shared/api.js';
import { t } from '../../shared/i18n.js';
import { dom, state } from './state.js';
import { busy, setError, uploadDetail } from './view.js';
import { loadWatch } from './watch.js';

const UPLOAD_MAX_BYTES = 5 * 1024 * 1024; // as web/anpr_lists.py

// -- uploading ----------------------------------------------------------------------------

function uploadType(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith('.json')) return 'application/json';
  if (name.endsWith('.csv') || name.endsWith('.txt')) return 'text/csv';
  return file.type || 'text/csv';
}

/** What an upload did ([key, params]; null: nothing). */
export function showUploadResult(result) {
  state.uploadResult = result;
  dom.uploadResult.hidden = !result;
  dom.uploadResult.textContent = result ? t(result[0], result[1]) : '';
}

/** The upload form: send the file of plates. */
export async function upload(event) {
  event.preventDefault();
  const file = dom.uploadFile.files?.[0];
  showUploadResult(null);
  if (!file) {
    setError(dom.uploadError, { key: 'lists.upload.noFile' });
    dom.uploadFile.focus();
    return;
  }
  if (file.size > UPLOAD_MAX_BYTES) {
    setError(dom.uploadError, { key: 'lists.upload.tooLarge' });
    return;
  }
  busy(dom.uploadButton, true, 'lists.upload.sending');
  try {
    const data = await api('/api/anpr/watchlist/upload', { method: 'POST', body: file, contentType: uploadType(file) });
    setError(dom.uploadError, null);
    delete state.notices.watch; // the upload's own result says what changed
    showUploadResult(['lists.upload.done', { file: file.name, added: data?.added ?? 0, already: data?.already_listed ?? 0 }]);
    dom.uploadForm.reset();
    await loadWatch();
  } catch (exc) {
    if (exc instanceof ApiError && exc.code === 'bad-upload') {
      const message = exc.message;
      setError(dom.uploadError, {
        key: 'lists.upload.bad',
        params: () => ({ file: file.name, detail: uploadDetail(message) }),
      });
      dom.uploadError.dataset.code = exc.code;
    } else {
      setError(dom.uploadError, exc);
    }
    dom.uploadError.focus();
  } finally {
    busy(dom.uploadButton, false, 'lists.upload.submit');
  }
}

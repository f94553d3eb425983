// A meeting's documents on the logged-in pages (the meeting's page and the
// host console): list and download for whoever sees the meeting; upload and
// delete for its hosts; on the console, "show" a document to every site at a
// page, and stop showing it (PUT/DELETE /api/meetings/{id}/shown-document).
//
// The files go to the server as they are (the body of
// POST /api/meetings/{id}/documents?name=...), one at a time.

import { addMessages, locale, onLangChange, t } from './i18n.js';
import { api, errorText, h } from './api.js';
import { formatDateTime } from './time.js';

export const DOCUMENT_MESSAGES = {
  vi: {
    'documents.title': 'Tài liệu cuộc họp',
    'documents.empty': 'Chưa có tài liệu nào.',
    'documents.upload': 'Tải tài liệu lên',
    'documents.uploadHint': 'PDF, Word (.docx), Excel (.xlsx), ảnh PNG hoặc JPEG; tối đa {size}.',
    'documents.uploading': 'Đang tải lên “{name}”…',
    'documents.uploaded': 'Đã tải lên “{name}”.',
    'documents.download': 'Tải về',
    'documents.delete': 'Xóa',
    'documents.confirmDelete': 'Xóa tài liệu “{name}”? Các điểm cầu sẽ không xem được nữa.',
    'documents.show': 'Trình chiếu',
    'documents.page': 'Trang',
    'documents.hide': 'Ngừng trình chiếu',
    'documents.shown': 'Đang trình chiếu cho các điểm cầu: “{name}”, trang {page}.',
    'documents.by': '{size} · {who} · {time}',
    'documents.list': 'Danh sách tài liệu',
    'error.too-large': 'Tệp quá lớn, vượt giới hạn cho phép.',
    'error.unsupported-type': 'Chỉ nhận tệp PDF, DOCX, XLSX, PNG, JPEG.',
    'error.type-mismatch': 'Nội dung tệp không đúng với loại tệp (phần mở rộng).',
    'error.document-has-macros': 'Không nhận tài liệu có macro.',
    'error.pdf-script': 'Không nhận tệp PDF có chứa mã JavaScript hoặc lệnh chạy chương trình.',
    'error.pdf-encrypted': 'Không nhận tệp PDF có mật khẩu hoặc mã hóa; xin lưu lại bản không bảo vệ.',
    'error.pdf-unreadable': 'Không kiểm tra được nội dung tệp PDF.',
    'error.empty-file': 'Tệp rỗng.',
    'error.bad-name': 'Tệp cần có tên.',
    'error.room-not-open': 'Phòng họp chưa mở: chỉ trình chiếu được khi cuộc họp đang diễn ra.',
  },
  en: {
    'documents.title': 'Meeting documents',
    'documents.empty': 'No documents yet.',
    'documents.upload': 'Upload a document',
    'documents.uploadHint': 'PDF, Word (.docx), Excel (.xlsx), PNG or JPEG pictures; at most {size}.',
    'documents.uploading': 'Uploading “{name}”…',
    'documents.uploaded': 'Uploaded “{name}”.',
    'documents.download': 'Download',
    'documents.delete': 'Delete',
    'documents.confirmDelete': 'Delete the document “{name}”? The sites will no longer see it.',
    'documents.show': 'Show',
    'documents.page': 'Page',
    'documents.hide': 'Stop showing',
    'documents.shown': 'Shown to every site: “{name}”, page {page}.',
    'documents.by': '{size} · {who} · {time}',
    'documents.list': 'Documents',
    'error.too-large': 'The file is larger than allowed.',
    'error.unsupported-type': 'Only PDF, DOCX, XLSX, PNG and JPEG files are accepted.',
    'error.type-mismatch': "The file's contents do not match its type (extension).",
    'error.document-has-macros': 'Documents with macros are not accepted.',
    'error.pdf-script': 'PDF files with JavaScript or launch actions are not accepted.',
    'error.pdf-encrypted': 'Password-protected or encrypted PDFs are not accepted; save an unprotected copy.',
    'error.pdf-unreadable': "The PDF's contents cannot be checked.",
    'error.empty-file': 'The file is empty.',
    'error.bad-name': 'The file needs a name.',
    'error.room-not-open': 'The meeting room is not open: documents can be shown only during the meeting.',
  },
};
addMessages(DOCUMENT_MESSAGES);

const ACCEPT = '.pdf,.docx,.xlsx,.png,.jpg,.jpeg';
const SHOWABLE = new Set(['pdf', 'png', 'jpeg']);

/** A size in bytes for people: 1,2 MB. */
export function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toLocaleString(locale(), { maximumFractionDigits: 1 })} ${units[unit]}`;
}

/**
 * Build the documents section inside `root` (an element the page gives).
 * `canManage`: upload and delete; `canShow`: the show controls (the console);
 * `titleClass`: the heading's class where the page has its own (the console's cards).
 * Returns {refresh, setShown}.
 */
export function mountDocuments(root, { meetingId, canManage = false, canShow = false, titleClass = 'documents-title' }) {
  const base = `/api/meetings/${encodeURIComponent(meetingId)}`;
  const state = { documents: [], shown: null, maxBytes: 0, status: null, error: null, loaded: false };
  const status = h('p', { class: 'documents-status', role: 'status', 'aria-live': 'polite' });
  const error = h('p', { class: 'documents-error', role: 'alert', hidden: true });
  const shownLine = h('div', { class: 'documents-shown', hidden: true });
  const list = h('ul', { class: 'documents-list' });
  const empty = h('p', { class: 'documents-empty muted' });
  const heading = h('h2', { class: titleClass, id: `${root.id || 'documents'}-title` });
  root.setAttribute('aria-labelledby', heading.id);
  const hint = h('p', { class: 'documents-hint hint' });
  const input = h('input', { type: 'file', accept: ACCEPT, class: 'documents-file', id: `documents-file-${meetingId}` });
  const uploadLabel = h('label', { class: 'btn btn-sm documents-upload', for: input.id });
  input.addEventListener('change', () => upload(input));
  root.classList.add('documents');
  root.replaceChildren(
    titleClass === 'documents-title' ? h('div', { class: 'section-head' }, heading) : heading,
    canManage ? h('div', { class: 'documents-upload-row' }, input, uploadLabel, hint) : null,
    status,
    error,
    shownLine,
    list,
    empty,
  );

  function setStatus(key, params) {
    state.status = key ? [key, params] : null;
    status.textContent = key ? t(key, params) : '';
  }

  function setError(exc) {
    state.error = exc;
    error.hidden = !exc;
    error.textContent = exc ? errorText(exc) : '';
  }

  async function refresh() {
    try {
      const data = await api(`${base}/documents`);
      state.documents = data.documents;
      state.shown = data.shown;
      state.maxBytes = data.max_bytes;
      state.loaded = true;
      setError(null);
    } catch (exc) {
      setError(exc);
    }
    render();
  }

  async function upload(fileInput) {
    const file = fileInput.files && fileInput.files[0];
    if (!file) return;
    setError(null);
    setStatus('documents.uploading', { name: file.name });
    try {
      await api(`${base}/documents?name=${encodeURIComponent(file.name)}`, {
        method: 'POST',
        body: file,
        contentType: 'application/octet-stream',
      });
      setStatus('documents.uploaded', { name: file.name });
    } catch (exc) {
      setStatus(null);
      setError(exc);
    }
    fileInput.value = '';
    await refresh();
  }

  async function remove(doc) {
    if (!window.confirm(t('documents.confirmDelete', { name: doc.name }))) return;
    try {
      await api(`${base}/documents/${doc.id}`, { method: 'DELETE' });
      setError(null);
    } catch (exc) {
      setError(exc);
    }
    await refresh();
  }

  async function show(doc, page) {
    try {
      const data = await api(`${base}/shown-document`, { method: 'PUT', body: { document: doc.id, page } });
      state.shown = data.shown;
      setError(null);
    } catch (exc) {
      setError(exc);
    }
    render();
  }

  async function hide() {
    try {
      await api(`${base}/shown-document`, { method: 'DELETE' });
      state.shown = null;
      setError(null);
    } catch (exc) {
      setError(exc);
    }
    render();
  }

  function item(doc) {
    const meta = t('documents.by', {
      size: formatSize(doc.size),
      who: doc.uploaded_by,
      time: formatDateTime(doc.uploaded_at),
    });
    const actions = [
      h('a', { class: 'btn btn-sm', href: doc.url, download: doc.name, text: t('documents.download') }),
    ];
    if (canShow && SHOWABLE.has(doc.kind)) {
      const shownHere = state.shown && state.shown.id === doc.id;
      const page = h('input', {
        type: 'number', min: '1', max: '100000', value: String(shownHere ? state.shown.page : 1),
        class: 'documents-page', 'aria-label': t('documents.page'), hidden: doc.kind !== 'pdf',
      });
      const go = () => show(doc, Math.max(1, parseInt(page.value, 10) || 1));
      page.addEventListener('change', () => {
        if (state.shown && state.shown.id === doc.id) go();
      });
      actions.push(
        doc.kind === 'pdf' ? h('label', { class: 'documents-page-label' }, t('documents.page'), ' ', page) : null,
        h('button', { type: 'button', class: 'btn btn-sm btn-primary documents-show', onclick: go, text: t('documents.show') }),
      );
    }
    if (canManage) {
      actions.push(h('button', {
        type: 'button', class: 'btn btn-sm btn-danger documents-delete', onclick: () => remove(doc), text: t('documents.delete'),
      }));
    }
    return h('li', { class: 'documents-item', dataset: { id: doc.id, kind: doc.kind } },
      h('div', { class: 'documents-main' },
        h('a', { class: 'documents-name', href: doc.url, download: doc.name, text: doc.name }),
        h('span', { class: 'tag documents-kind', text: doc.kind.toUpperCase() }),
        h('p', { class: 'documents-meta muted', text: meta })),
      h('div', { class: 'documents-actions' }, actions));
  }

  function render() {
    heading.textContent = t('documents.title');
    list.setAttribute('aria-label', t('documents.list'));
    uploadLabel.textContent = t('documents.upload');
    hint.textContent = t('documents.uploadHint', { size: formatSize(state.maxBytes || 0) });
    if (state.status) status.textContent = t(state.status[0], state.status[1]);
    if (state.error) error.textContent = errorText(state.error);
    list.replaceChildren(...state.documents.map(item));
    empty.textContent = t('documents.empty');
    empty.hidden = !state.loaded || state.documents.length > 0;
    const shown = canShow ? state.shown : null;
    shownLine.hidden = !shown;
    shownLine.replaceChildren();
    if (shown) {
      shownLine.append(
        h('span', { text: t('documents.shown', { name: shown.name, page: shown.page }) }),
        h('button', { type: 'button', class: 'btn btn-sm documents-hide', onclick: hide, text: t('documents.hide') }),
      );
    }
  }

  onLangChange(render);
  render();
  refresh();
  return { refresh };
}

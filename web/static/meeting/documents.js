// The meeting's documents in the meeting page: the list (read and download),
// a viewer over the stage (the browser's own PDF viewer in an iframe; pictures
// too), and what the host shows: a `document` message opens the document for
// every site at the host's page (#page=N); `document` with no id closes it.
// `documents` says the list changed (a host uploaded or deleted one).
//
// The page lists them with its join token (Authorization: Bearer); each
// document's `url` carries a key for that document alone, so the viewer and
// the download link need no header and the token never goes into a URL.

import { addMessages, onLangChange, t } from '../shared/i18n.js';
import { room, token } from './state.js';

const MESSAGES = {
  vi: {
    'docs.toggle': 'Tài liệu',
    'docs.title': 'Tài liệu cuộc họp',
    'docs.empty': 'Cuộc họp chưa có tài liệu.',
    'docs.open': 'Xem',
    'docs.download': 'Tải về',
    'docs.close': 'Đóng tài liệu',
    'docs.frame': 'Tài liệu: {name}',
    'docs.page': 'Trang {page}',
    'docs.shown': 'Chủ trì đang trình chiếu “{name}”, trang {page}.',
    'docs.error': 'Không tải được danh sách tài liệu.',
  },
  en: {
    'docs.toggle': 'Documents',
    'docs.title': 'Meeting documents',
    'docs.empty': 'The meeting has no documents yet.',
    'docs.open': 'View',
    'docs.download': 'Download',
    'docs.close': 'Close the document',
    'docs.frame': 'Document: {name}',
    'docs.page': 'Page {page}',
    'docs.shown': 'The host is showing “{name}”, page {page}.',
    'docs.error': 'The documents could not be listed.',
  },
};
addMessages(MESSAGES);

const $ = (id) => document.getElementById(id);
const els = {
  toggle: $('toggle-documents'),
  count: $('documents-count'),
  panel: $('documents-panel'),
  list: $('documents-list'),
  empty: $('documents-empty'),
  viewer: $('document-viewer'),
  frame: $('document-frame'),
  name: $('document-name'),
  page: $('document-page'),
  download: $('document-download'),
  close: $('document-close'),
  banner: $('document-banner'),
  bannerText: $('document-banner-text'),
};

const state = {
  documents: [], // as GET /api/meetings/{id}/documents lists them
  available: false, // this page may read the meeting's documents (a scheduled meeting's site)
  error: false,
  open: null, // {id, page, byHost}: what the viewer shows
  shown: null, // the host's `document` message, while one is shown
};

/** The documents, listed again (on join, and when the host changed them). */
export async function loadDocuments() {
  if (!token || !els.panel) return;
  try {
    const response = await fetch(`/api/meetings/${encodeURIComponent(room.id)}/documents`, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      credentials: 'omit',
    });
    if (response.status === 401 || response.status === 403 || response.status === 404) {
      state.available = false; // a room without a meeting, or no longer ours
    } else if (response.ok) {
      const data = await response.json();
      state.documents = data.documents || [];
      state.available = true;
      state.error = false;
      if (data.shown && !state.shown) onDocument(data.shown);
    } else {
      state.error = true;
    }
  } catch {
    state.error = true;
  }
  render();
  if (state.shown) openShown();
}

/** The host shows a document (or stops: `id` null). */
export function onDocument(message) {
  if (!message || !message.id) {
    state.shown = null;
    if (state.open && state.open.byHost) close();
    render();
    return;
  }
  state.shown = { id: message.id, name: message.name || '', page: Math.max(1, message.page | 0) };
  if (!state.documents.some((d) => d.id === message.id)) {
    loadDocuments(); // uploaded just now: its link comes with the list
    return;
  }
  openShown();
}

function openShown() {
  const shown = state.shown;
  if (shown && state.documents.some((d) => d.id === shown.id)) open(shown.id, shown.page, true);
  render();
}

function documentUrl(doc, page) {
  const url = new URL(doc.url, window.location.origin);
  url.searchParams.set('inline', '1');
  // A new address for a new page, so the viewer opens it there (the browser
  // revalidates the same bytes, it does not download them again).
  url.searchParams.set('p', String(page));
  return `${url.pathname}${url.search}#page=${page}`;
}

function open(id, page, byHost) {
  const doc = state.documents.find((d) => d.id === id);
  if (!doc || !els.viewer) return;
  state.open = { id, page, byHost };
  const src = documentUrl(doc, page);
  if (els.frame.getAttribute('src') !== src) els.frame.setAttribute('src', src);
  els.frame.dataset.document = id;
  els.frame.dataset.page = String(page);
  els.viewer.hidden = false;
  document.body.classList.add('document-open');
  renderViewer();
}

function close() {
  state.open = null;
  if (!els.viewer) return;
  els.viewer.hidden = true;
  els.frame.setAttribute('src', 'about:blank');
  delete els.frame.dataset.document;
  document.body.classList.remove('document-open');
}

function renderViewer() {
  const doc = state.open && state.documents.find((d) => d.id === state.open.id);
  if (!doc) return;
  els.name.textContent = doc.name;
  els.page.textContent = doc.kind === 'pdf' ? t('docs.page', { page: state.open.page }) : '';
  els.download.href = doc.url;
  els.download.setAttribute('download', doc.name);
  els.download.textContent = t('docs.download');
  els.frame.title = t('docs.frame', { name: doc.name });
  els.close.setAttribute('aria-label', t('docs.close'));
  els.close.title = t('docs.close');
}

function render() {
  if (!els.panel) return;
  els.toggle.hidden = !state.available;
  els.count.textContent = String(state.documents.length);
  els.empty.textContent = state.error ? t('docs.error') : t('docs.empty');
  els.empty.hidden = state.documents.length > 0 && !state.error;
  els.list.replaceChildren(...state.documents.map(item));
  const shown = state.shown;
  els.banner.hidden = !shown;
  if (shown) els.bannerText.textContent = t('docs.shown', { name: shown.name, page: shown.page });
  renderViewer();
}

function item(doc) {
  const li = document.createElement('li');
  li.className = 'documents-item';
  li.dataset.id = doc.id;
  const name = document.createElement('span');
  name.className = 'documents-name';
  name.textContent = doc.name;
  li.append(name);
  if (doc.kind === 'pdf' || doc.kind === 'png' || doc.kind === 'jpeg') {
    const view = document.createElement('button');
    view.type = 'button';
    view.className = 'btn btn-small documents-open';
    view.textContent = t('docs.open');
    view.addEventListener('click', () => open(doc.id, 1, false));
    li.append(view);
  }
  const download = document.createElement('a');
  download.className = 'btn btn-small documents-download';
  download.href = doc.url;
  download.setAttribute('download', doc.name);
  download.textContent = t('docs.download');
  li.append(download);
  return li;
}

function setPanelOpen(open) {
  els.panel.hidden = !open;
  els.toggle.setAttribute('aria-expanded', String(open));
  els.toggle.classList.toggle('is-active', open);
}

if (els.panel) {
  els.toggle.addEventListener('click', () => {
    setPanelOpen(els.panel.hidden);
    if (!els.panel.hidden) loadDocuments();
  });
  els.close.addEventListener('click', () => close());
  onLangChange(render);
  render();
}

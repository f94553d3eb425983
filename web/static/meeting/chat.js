// The meeting page's chat: a drawer with the meeting's messages and a form.
//
// Messages arrive as `chat` on the signaling socket (to every site, or to the
// host: those this site sent, and all of them at the host site); a message is
// sent as `{type: "chat", text, to}`. Refusals (`chat-empty`, `chat-too-long`,
// `chat-rate-limited`...) come back as non-fatal `error`s and are shown under
// the form. Text is always put in the page as text (textContent), never as HTML.

import { has, locale, t } from '../shared/i18n.js';
import { $ } from './dom.js';
import { app } from './state.js';

const MAX_CHARS = 1000;
const KEPT = 500; // messages kept in the drawer (the REST listing has them all)

const el = {
  panel: $('#chat-panel'),
  list: $('#chat-list'),
  empty: $('#chat-empty'),
  form: $('#chat-form'),
  to: $('#chat-to'),
  text: $('#chat-text'),
  counter: $('#chat-counter'),
  error: $('#chat-error'),
  toggle: $('#toggle-chat'),
  close: $('#chat-close'),
  unread: $('#chat-unread'),
};

/** What the chat knows; read by `window.conference.chat`. */
export const chat = {
  messages: [], // as the server sent them, in order
  unread: 0,
  error: null, // the code of the last refusal shown
};

let errorTimer = null;

function timeOf(at) {
  return new Date(at * 1000).toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' });
}

function messageItem(message) {
  const own = message.site === app.selfId && !message.host;
  const li = document.createElement('li');
  li.className = 'chat-message';
  li.dataset.seq = String(message.seq);
  li.classList.toggle('is-own', own);
  li.classList.toggle('is-host', !!message.host);
  li.classList.toggle('is-private', message.to === 'host');
  const head = document.createElement('p');
  head.className = 'chat-head';
  const who = document.createElement('strong');
  who.className = 'chat-who';
  who.textContent = own ? t('chat.you') : message.name;
  head.append(who);
  if (message.host) {
    const tag = document.createElement('span');
    tag.className = 'chat-tag';
    tag.textContent = t('chat.host');
    head.append(' ', tag);
  }
  if (message.to === 'host') {
    const tag = document.createElement('span');
    tag.className = 'chat-tag chat-tag-private';
    tag.textContent = t('chat.privateTag');
    head.append(' ', tag);
  }
  const when = document.createElement('time');
  when.className = 'chat-time';
  when.dateTime = new Date(message.at * 1000).toISOString();
  when.textContent = timeOf(message.at);
  head.append(' ', when);
  const body = document.createElement('p');
  body.className = 'chat-text';
  body.textContent = message.text; // text, never HTML
  li.append(head, body);
  return li;
}

function isOpen() {
  return !el.panel.hidden;
}

function renderUnread() {
  el.unread.hidden = chat.unread === 0;
  el.unread.textContent = String(chat.unread);
  el.toggle.setAttribute(
    'aria-label',
    chat.unread ? `${t('chat.toggle')} (${t('chat.unread', { n: chat.unread })})` : t('chat.toggle'),
  );
}

/** Open or close the drawer; opening reads every message. */
export function setChatOpen(open) {
  el.panel.hidden = !open;
  el.toggle.setAttribute('aria-expanded', String(open));
  el.toggle.classList.toggle('is-active', open);
  if (open) {
    chat.unread = 0;
    el.list.scrollTop = el.list.scrollHeight;
    el.text.focus();
  }
  renderUnread();
}

/** A `chat` from the server. */
export function onChat(message) {
  if (typeof message.text !== 'string' || chat.messages.some((m) => m.seq === message.seq)) return;
  chat.messages.push(message);
  if (chat.messages.length > KEPT) {
    chat.messages.shift();
    el.list.firstElementChild?.remove();
  }
  const atBottom = el.list.scrollHeight - el.list.scrollTop - el.list.clientHeight < 40;
  el.list.append(messageItem(message));
  el.empty.hidden = true;
  if (atBottom || message.site === app.selfId) el.list.scrollTop = el.list.scrollHeight;
  if (!isOpen() && message.site !== app.selfId) {
    chat.unread += 1;
    renderUnread();
  }
}

/** A refused message (non-fatal `error` with a chat code): shown under the form. */
export function onChatError(code) {
  chat.error = code;
  const key = has(`chat.error.${code}`) ? `chat.error.${code}` : 'chat.error.generic';
  el.error.textContent = t(key, { code });
  el.error.hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => {
    el.error.hidden = true;
  }, 8000);
}

function renderCounter() {
  el.counter.textContent = `${el.text.value.length}/${MAX_CHARS}`;
}

function send(event) {
  event.preventDefault();
  const text = el.text.value.trim();
  if (!text) {
    onChatError('chat-empty');
    return;
  }
  const session = app.session;
  const message = { type: 'chat', text, to: el.to.value === 'host' ? 'host' : 'all' };
  if (!session || !session.welcomed || !session.send(message)) {
    el.error.textContent = t('chat.notConnected');
    el.error.hidden = false;
    return; // the text stays in the box, to send once connected again
  }
  el.error.hidden = true;
  el.text.value = '';
  renderCounter();
}

/** Re-render the messages in the current language (names of "you" and tags). */
export function renderChat() {
  el.list.replaceChildren(...chat.messages.map(messageItem));
  el.empty.hidden = chat.messages.length > 0;
  if (chat.error && !el.error.hidden) onChatError(chat.error);
  renderUnread();
}

/** Bind the chat's controls. */
export function initChat() {
  el.toggle.addEventListener('click', () => setChatOpen(!isOpen()));
  el.close.addEventListener('click', () => {
    setChatOpen(false);
    el.toggle.focus();
  });
  el.form.addEventListener('submit', send);
  el.text.addEventListener('input', renderCounter);
  el.text.addEventListener('keydown', (event) => {
    // Enter sends, Shift+Enter is a new line (as in every chat).
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) send(event);
  });
  el.panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      setChatOpen(false);
      el.toggle.focus();
    }
  });
  renderCounter();
  renderUnread();
}

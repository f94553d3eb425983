// The console's chat and votes: every site's messages with its name, the host's
// reply to all, and the votes (put a question, watch the tally, close it).
//
// Live: `chat`, `vote-tally` and `vote-result` on the console socket. What
// came before (or while this socket was away) is read from
// GET /api/meetings/{id}/chat and /votes whenever the socket (re)connects.
// Commands: `chat` {text}, `vote-open` {question, options, secret},
// `vote-close` {vote}. Every text goes in as text (textContent).

import { api } from '../shared/api.js';
import { locale, t } from '../shared/i18n.js';
import { $ } from './dom.js';
import { command } from './socket.js';
import { meetingId, store } from './state.js';

const KEPT = 1000;

const el = {
  chatList: $('#talk-chat-list'),
  chatEmpty: $('#talk-chat-empty'),
  chatCount: $('#talk-chat-count'),
  chatForm: $('#talk-chat-form'),
  chatText: $('#talk-chat-text'),
  chatSend: $('#talk-chat-send'),
  live: $('#talk-vote-live'),
  question: $('#talk-vote-question'),
  mode: $('#talk-vote-mode'),
  counts: $('#talk-vote-counts'),
  answered: $('#talk-vote-answered'),
  ballots: $('#talk-vote-ballots'),
  close: $('#talk-vote-close'),
  voteForm: $('#talk-vote-form'),
  questionInput: $('#talk-vote-question-input'),
  options: $('#talk-vote-options'),
  secret: $('#talk-vote-secret'),
  open: $('#talk-vote-open'),
  past: $('#talk-vote-past'),
  pastEmpty: $('#talk-vote-past-empty'),
};

/** The chat and votes as this console knows them (also `consoleState.talk`). */
export const talk = {
  chat: [], // {seq, at (unix s), site, name, to, text, host}, by seq
  votes: new Map(), // vote id -> {vote, counts, ballots, invited}, in opening order
};
store.talk = talk;

function seconds(at) {
  return typeof at === 'number' ? at : Date.parse(at) / 1000;
}

function timeText(at) {
  return new Date(seconds(at) * 1000).toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' });
}

function chatItem(message) {
  const li = document.createElement('li');
  li.className = 'talk-message';
  li.classList.toggle('is-host', !!message.host);
  li.classList.toggle('is-private', message.to === 'host');
  const head = document.createElement('p');
  head.className = 'talk-head';
  const who = document.createElement('strong');
  who.textContent = message.name;
  head.append(who);
  const tags = [];
  if (message.host) tags.push(t('console.chatHost'));
  if (message.to === 'host') tags.push(t('console.chatToHost'));
  for (const text of tags) {
    const tag = document.createElement('span');
    tag.className = 'talk-tag';
    tag.textContent = text;
    head.append(' ', tag);
  }
  const when = document.createElement('time');
  when.className = 'talk-time';
  when.textContent = timeText(message.at);
  head.append(' ', when);
  const body = document.createElement('p');
  body.className = 'talk-text';
  body.textContent = message.text;
  li.append(head, body);
  return li;
}

function renderChat() {
  const atBottom = el.chatList.scrollHeight - el.chatList.scrollTop - el.chatList.clientHeight < 40;
  el.chatList.replaceChildren(...talk.chat.map(chatItem));
  el.chatEmpty.hidden = talk.chat.length > 0;
  el.chatCount.textContent = String(talk.chat.length);
  if (atBottom) el.chatList.scrollTop = el.chatList.scrollHeight;
}

function addChat(message) {
  if (talk.chat.some((m) => m.seq === message.seq)) return false;
  talk.chat.push({ ...message, at: seconds(message.at) });
  talk.chat.sort((a, b) => a.seq - b.seq);
  if (talk.chat.length > KEPT) talk.chat.splice(0, talk.chat.length - KEPT);
  return true;
}

/** A `chat` event: a site's message (or the host's own). */
export function onConsoleChat(message) {
  if (typeof message.text !== 'string') return;
  if (addChat(message)) {
    const atBottom = el.chatList.scrollHeight - el.chatList.scrollTop - el.chatList.clientHeight < 40;
    el.chatList.append(chatItem(message));
    el.chatEmpty.hidden = true;
    el.chatCount.textContent = String(talk.chat.length);
    if (atBottom) el.chatList.scrollTop = el.chatList.scrollHeight;
  }
}

function openVote() {
  for (const entry of talk.votes.values()) if (entry.vote.open) return entry;
  return null;
}

function countsItems(entry) {
  return entry.vote.options.map((option, index) => {
    const li = document.createElement('li');
    li.textContent = t('console.voteCount', { option, n: entry.counts[index] || 0 });
    return li;
  });
}

function renderVotes() {
  const live = openVote();
  el.live.hidden = !live;
  el.voteForm.hidden = !!live;
  if (live) {
    el.question.textContent = live.vote.question;
    el.mode.textContent = t(live.vote.secret ? 'console.voteModeSecret' : 'console.voteModeOpen');
    el.counts.replaceChildren(...countsItems(live));
    const answered = live.counts.reduce((a, b) => a + b, 0);
    el.answered.textContent = t('console.voteAnswered', { n: answered, invited: live.invited ?? '?' });
    el.ballots.replaceChildren(
      ...(live.ballots || []).map((ballot) => {
        const li = document.createElement('li');
        li.textContent = `${ballot.name}: ${live.vote.options[ballot.choice] ?? ''}`;
        return li;
      }),
    );
  }
  const past = [...talk.votes.values()].filter((entry) => !entry.vote.open).reverse();
  el.pastEmpty.hidden = past.length > 0;
  el.past.replaceChildren(
    ...past.map((entry) => {
      const li = document.createElement('li');
      li.className = 'talk-vote-result';
      li.dataset.vote = entry.vote.id;
      const question = document.createElement('p');
      question.className = 'talk-vote-question';
      question.textContent = entry.vote.secret
        ? `${entry.vote.question} (${t('console.voteSecretTag')})`
        : entry.vote.question;
      const counts = document.createElement('ol');
      counts.className = 'talk-vote-counts';
      counts.append(...countsItems(entry));
      li.append(question, counts);
      if (entry.ballots && entry.ballots.length) {
        const ballots = document.createElement('ul');
        ballots.className = 'talk-vote-ballots';
        for (const ballot of entry.ballots) {
          const item = document.createElement('li');
          item.textContent = `${ballot.name}: ${entry.vote.options[ballot.choice] ?? ''}`;
          ballots.append(item);
        }
        li.append(ballots);
      }
      return li;
    }),
  );
}

function keepVote(vote, counts, ballots, invited) {
  const before = talk.votes.get(vote.id);
  talk.votes.set(vote.id, {
    vote,
    counts: counts || [],
    ballots: ballots || [],
    invited: invited ?? before?.invited ?? null,
  });
}

/** `vote-tally`: a vote opened or an answer was counted. */
export function onVoteTally(message) {
  if (!message.vote) return;
  keepVote(message.vote, message.counts, message.ballots, message.invited);
  renderVotes();
}

/** `vote-result`: the host closed a vote. */
export function onVoteResult(message) {
  if (!message.vote) return;
  keepVote(message.vote, message.counts, message.ballots, null);
  renderVotes();
}

/** Read the meeting's chat and votes so far (on every (re)connection of the socket). */
export async function loadTalk() {
  const path = `/api/meetings/${encodeURIComponent(meetingId)}`;
  try {
    const [chat, votes] = await Promise.all([api(`${path}/chat`), api(`${path}/votes`)]);
    for (const message of chat.messages || []) addChat(message);
    for (const entry of votes.votes || []) {
      const vote = {
        id: entry.id,
        question: entry.question,
        options: entry.options,
        secret: entry.secret,
        open: entry.open,
      };
      const ballots = (entry.ballots || [])
        .filter((b) => b.choice !== null)
        .map((b) => ({ site: b.site, name: b.name, choice: b.choice, at: seconds(b.at) }));
      keepVote(vote, entry.counts, ballots, null);
    }
  } catch (err) {
    console.warn('console: the chat and votes could not be read', err);
  }
  renderChat();
  renderVotes();
}

/** Re-render in the current language. */
export function renderTalk() {
  renderChat();
  renderVotes();
}

function sendChat(event) {
  event.preventDefault();
  const text = el.chatText.value.trim();
  if (!text) return;
  command('chat', null, el.chatSend, { text })
    .then(() => {
      el.chatText.value = '';
    })
    .catch(() => {}); // the error banner says why; the text stays to send again
}

function startVote(event) {
  event.preventDefault();
  const options = el.options.value
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  command('vote-open', null, el.open, {
    question: el.questionInput.value.trim(),
    options,
    secret: el.secret.checked,
  })
    .then(() => {
      el.questionInput.value = '';
    })
    .catch(() => {});
}

function closeVote() {
  const live = openVote();
  if (!live || !window.confirm(t('console.voteConfirmClose'))) return;
  command('vote-close', null, el.close, { vote: live.vote.id }).catch(() => {});
}

/** Bind the chat and vote cards. */
export function initTalk() {
  el.chatForm.addEventListener('submit', sendChat);
  el.chatText.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) sendChat(event);
  });
  el.voteForm.addEventListener('submit', startVote);
  el.close.addEventListener('click', closeVote);
  renderTalk();
}

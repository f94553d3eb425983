// The meeting page's votes (biểu quyết): the host's question, this site's answer, the result.
//
// `vote` puts a question (also sent right after `welcome` while one is open);
// the site answers once with `{type: "vote", vote, choice}` and gets
// `vote-answered`; `vote-result` shows the counts (and, for an open vote, who
// chose what). Refusals (`vote-already-answered`, `vote-closed`...) are
// non-fatal `error`s shown on the card. Everything is put in as text.

import { has, t } from '../shared/i18n.js';
import { $ } from './dom.js';
import { app } from './state.js';

const el = {
  card: $('#vote-card'),
  kind: $('#vote-kind'),
  question: $('#vote-question'),
  form: $('#vote-form'),
  options: $('#vote-options'),
  submit: $('#vote-submit'),
  result: $('#vote-result'),
  ballots: $('#vote-ballots'),
  status: $('#vote-status'),
  dismiss: $('#vote-dismiss'),
};

/** What this page knows of the current vote; read by `window.conference.vote`. */
export const voteState = {
  vote: null, // {id, question, options, secret, open}
  answered: false, // this site's answer counted (also after joining again)
  choice: null, // that answer (null in a secret vote after joining again: not kept)
  result: null, // {counts, ballots} once closed
  status: null, // {key, params}: the card's status line
};

function setStatus(key, params = {}) {
  voteState.status = key ? { key, params } : null;
  el.status.textContent = key ? t(key, params) : '';
}

function renderOptions() {
  const vote = voteState.vote;
  el.options.replaceChildren();
  vote.options.forEach((option, index) => {
    const label = document.createElement('label');
    label.className = 'vote-option';
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'vote-choice';
    input.value = String(index);
    input.checked = voteState.choice === index;
    input.disabled = voteState.answered || !vote.open;
    const text = document.createElement('span');
    text.textContent = option;
    label.append(input, text);
    el.options.append(label);
  });
  el.submit.disabled = true;
}

function renderResult() {
  const { vote, result } = voteState;
  el.form.hidden = true;
  el.result.hidden = false;
  const total = result.counts.reduce((a, b) => a + b, 0);
  el.result.replaceChildren(
    ...vote.options.map((option, index) => {
      const count = result.counts[index] || 0;
      const li = document.createElement('li');
      li.className = 'vote-result-row';
      const name = document.createElement('span');
      name.className = 'vote-result-option';
      name.textContent = option;
      const bar = document.createElement('span');
      bar.className = 'vote-bar';
      bar.style.setProperty('--share', total ? String(count / total) : '0');
      const figure = document.createElement('span');
      figure.className = 'vote-result-count';
      figure.textContent = t('vote.count', { n: count });
      li.append(name, bar, figure);
      return li;
    }),
  );
  const ballots = result.ballots || [];
  el.ballots.hidden = ballots.length === 0;
  el.ballots.replaceChildren(
    ...ballots.map((ballot) => {
      const li = document.createElement('li');
      li.textContent = `${ballot.name}: ${vote.options[ballot.choice] ?? ''}`;
      return li;
    }),
  );
  setStatus('vote.total', { n: total });
  el.dismiss.hidden = false;
}

function render() {
  const vote = voteState.vote;
  if (!vote) {
    el.card.hidden = true;
    return;
  }
  el.card.hidden = false;
  el.card.dataset.state = voteState.result ? 'result' : 'open';
  el.kind.textContent = voteState.result
    ? t('vote.resultTitle')
    : t(vote.secret ? 'vote.secret' : 'vote.open');
  el.question.textContent = vote.question;
  if (voteState.result) {
    renderResult();
    return;
  }
  el.form.hidden = false;
  el.result.hidden = true;
  el.ballots.hidden = true;
  el.dismiss.hidden = true;
  renderOptions();
  if (voteState.answered && voteState.choice !== null) {
    setStatus('vote.answered', { option: vote.options[voteState.choice] });
  } else if (voteState.answered) {
    setStatus('vote.answeredSecret');
  } else if (voteState.status) {
    setStatus(voteState.status.key, voteState.status.params);
  } else {
    setStatus(vote.secret ? 'vote.hint.secret' : 'vote.hint.open');
  }
}

/** A `vote`: the host put a question (or it is still open when this site joined). */
export function onVote(message) {
  const vote = message.vote;
  if (!vote || !Array.isArray(vote.options)) return;
  const again = voteState.vote && voteState.vote.id === vote.id && !voteState.result;
  voteState.vote = vote;
  if (!again) {
    voteState.answered = false;
    voteState.choice = null;
    voteState.status = null;
  }
  voteState.result = null;
  // Sent again after a reconnection: the server says whether this site answered.
  if (message.answered) {
    voteState.answered = true;
    if (Number.isInteger(message.choice)) voteState.choice = message.choice;
  }
  render();
}

/** `vote-answered`: this site's answer counted. */
export function onVoteAnswered(message) {
  if (!voteState.vote || voteState.vote.id !== message.vote) return;
  voteState.answered = true;
  voteState.choice = message.choice;
  render();
}

/** `vote-result`: the host closed the vote. */
export function onVoteResult(message) {
  if (!message.vote) return;
  voteState.vote = message.vote;
  voteState.result = { counts: message.counts || [], ballots: message.ballots || [] };
  render();
}

/** A refused answer (non-fatal `error` with a vote code). */
export function onVoteError(code) {
  setStatus(has(`vote.error.${code}`) ? `vote.error.${code}` : 'vote.error.generic', { code });
  if (code === 'vote-already-answered') voteState.answered = true;
  if (code === 'vote-closed' || code === 'vote-already-answered') {
    for (const input of el.options.querySelectorAll('input')) input.disabled = true;
    el.submit.disabled = true;
  }
}

/** Re-render in the current language. */
export function renderVote() {
  render();
}

function submit(event) {
  event.preventDefault();
  const picked = el.options.querySelector('input:checked');
  if (!picked || !voteState.vote || !app.session) return;
  el.submit.disabled = true;
  app.session.send({ type: 'vote', vote: voteState.vote.id, choice: Number(picked.value) });
}

/** Bind the vote card's controls. */
export function initVotes() {
  el.form.addEventListener('submit', submit);
  el.options.addEventListener('change', () => {
    el.submit.disabled = voteState.answered || !el.options.querySelector('input:checked');
  });
  el.dismiss.addEventListener('click', () => {
    voteState.vote = null;
    voteState.result = null;
    render();
  });
}

// Presenting: who shows a screen now, the host's stop, and who asks to present
// (with "presenting needs approval" on, the host allows or refuses each).
//
// console.html has no markup for it: the side card (#presenting-card) is built
// here, like the recording card.

import { t } from '../shared/i18n.js';
import { icon } from '../shared/icons.js';
import { $, dom } from './dom.js';
import { command } from './socket.js';
import { store } from './state.js';
import { el, roomOpen, siteName } from './view.js';

/** A <span> with the text of `key`, translated again on a language switch. */
function translated(className, key) {
  const span = el('span', className, t(key));
  span.dataset.i18n = key;
  return span;
}

/** Build the presenting card; its elements, for `dom`. */
export function createPresentingControls() {
  const card = el('section', 'side-card presenting-card');
  card.id = 'presenting-card';
  card.setAttribute('aria-labelledby', 'presenting-title');
  const title = el('h2', 'side-title');
  title.id = 'presenting-title';
  title.append(icon('screen', 'side-title-icon'), translated('', 'console.presenting.title'));
  const now = el('p', 'side-hint presenting-now');
  now.id = 'presenting-now';
  now.setAttribute('role', 'status');
  const stop = el('button', 'btn btn-small btn-block btn-danger');
  stop.id = 'stop-presenting';
  stop.type = 'button';
  stop.hidden = true;
  stop.append(translated('btn-text', 'console.presenting.stop'));
  const approvalLabel = el('label', 'presenting-approval');
  const approval = document.createElement('input');
  approval.type = 'checkbox';
  approval.id = 'presenting-approval';
  approvalLabel.append(approval, ' ', translated('', 'console.presenting.approval'));
  const requests = el('ul', 'presenting-requests');
  requests.id = 'presenting-requests';
  requests.setAttribute('aria-label', t('console.presenting.requests'));
  card.append(title, now, stop, approvalLabel, requests);
  const recording = $('.recording-card');
  if (recording) recording.after(card);
  else $('.console-side')?.prepend(card);

  stop.addEventListener('click', () => {
    const presenter = store.presenting.presenter;
    if (presenter) command('stop-presenting', presenter, stop).catch(() => {});
  });
  approval.addEventListener('change', () => {
    const on = approval.checked;
    // What the host chose, at once (the `presenting` event confirms it): a render
    // before that event must not flip the switch back.
    store.presenting.approval = on;
    command(on ? 'presenting-approval' : 'presenting-open', null, approval).catch(() => {
      store.presenting.approval = !on; // refused: show what the room still has
      renderPresenting();
    });
  });
  requests.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-action]');
    if (!button) return;
    command(button.dataset.action, button.dataset.site, button).catch(() => {});
  });
  return { presentingNow: now, stopPresenting: stop, presentingApproval: approval, presentingRequests: requests };
}

/** A `presenting` event, or the state's `presenting`. */
export function setPresenting(presenting) {
  store.presenting = {
    presenter: presenting && presenting.presenter ? String(presenting.presenter) : null,
    requests: presenting && Array.isArray(presenting.requests) ? presenting.requests : [],
    approval: !!(presenting && presenting.approval),
  };
  renderPresenting();
}

/** The card: who presents, the stop button, the approval switch, the waiting sites. */
export function renderPresenting() {
  if (!dom.presentingNow) return;
  const { presenter, requests, approval } = store.presenting;
  const open = roomOpen();
  dom.presentingNow.textContent = presenter
    ? t('console.presenting.now', { name: siteName(presenter) })
    : t('console.presenting.none');
  dom.stopPresenting.hidden = !presenter;
  dom.stopPresenting.disabled = !open || dom.stopPresenting.getAttribute('aria-busy') === 'true';
  // While its command is on its way the switch shows what the host just chose.
  const switching = dom.presentingApproval.getAttribute('aria-busy') === 'true';
  if (!switching) dom.presentingApproval.checked = approval;
  dom.presentingApproval.disabled = !open || switching;
  const items = requests.map((request) => {
    const item = el('li', 'presenting-request');
    item.dataset.site = request.id;
    const name = el('span', 'presenting-request-name', request.name || siteName(request.id));
    const allow = el('button', 'btn btn-small btn-primary', t('console.presenting.allow'));
    allow.type = 'button';
    allow.dataset.action = 'allow-presenting';
    allow.dataset.site = request.id;
    allow.disabled = !open || !!presenter;
    if (presenter) allow.title = t('console.presenting.busy', { name: siteName(presenter) });
    const refuse = el('button', 'btn btn-small', t('console.presenting.refuse'));
    refuse.type = 'button';
    refuse.dataset.action = 'refuse-presenting';
    refuse.dataset.site = request.id;
    refuse.disabled = !open;
    item.append(name, allow, refuse);
    return item;
  });
  dom.presentingRequests.replaceChildren(...items);
  dom.presentingRequests.hidden = !items.length;
}

// The floor: who speaks, who is pinned, who is talking, and the raised hands.

import { t } from '../shared/i18n.js';
import { icon } from '../shared/icons.js';
import { dom } from './dom.js';
import { renderControls } from './header.js';
import { scheduleRender } from './roll_call.js';
import { store, ui } from './state.js';
import { clock, el, roomOpen, siteName } from './view.js';

/** Who has the floor, the spotlight, and who is speaking. */
export function renderHolders() {
  for (const [node, id, emptyKey] of [
    [dom.floorHolder, store.floor, 'console.nobody'],
    [dom.spotlightHolder, store.spotlight, 'console.nobody'],
    [dom.speaker, store.speaker, 'console.speakerAuto'],
  ]) {
    node.dataset.site = id || '';
    node.classList.toggle('is-empty', !id);
    node.textContent = id ? siteName(id) : t(emptyKey);
  }
  renderControls();
  ui.epoch += 1;
  scheduleRender();
}

// -- raised hands -----------------------------------------------------------------------

/** The raised hands, in the order they were raised. */
export function renderHands() {
  const items = store.hands.map((hand, index) => {
    const li = el('li', 'hand');
    li.dataset.handSite = hand.id;
    const info = el('div', 'hand-info');
    const position = el('span', 'hand-pos', String(index + 1));
    position.setAttribute('aria-hidden', 'true');
    const name = el('span', 'hand-name', siteName(hand.id));
    const when = el('span', 'hand-time', t('console.handAt', { time: clock(hand.at) }));
    info.append(position, name, when);
    const actions = el('div', 'hand-actions');
    const give = el('button', 'btn btn-small btn-primary');
    give.type = 'button';
    give.dataset.giveFloor = hand.id;
    give.append(icon('floor'), el('span', '', t('console.giveFloor')));
    give.setAttribute('aria-label', t('console.action.giveFloor', { name: siteName(hand.id) }));
    const lower = el('button', 'btn btn-small');
    lower.type = 'button';
    lower.dataset.lowerHand = hand.id;
    lower.append(icon('hand-down'), el('span', '', t('console.lowerHand')));
    const open = roomOpen();
    give.disabled = !open;
    lower.disabled = !open;
    actions.append(give, lower);
    li.append(info, actions);
    return li;
  });
  dom.hands.replaceChildren(...items);
  dom.handsCount.textContent = String(store.hands.length);
  dom.handsEmpty.hidden = store.hands.length > 0;
}

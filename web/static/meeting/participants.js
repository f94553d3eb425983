// The participants panel.

import { t } from '../shared/i18n.js';
import { icon } from '../shared/icons.js';
import { dom } from './dom.js';
import { app } from './state.js';
import { renderTiles } from './tiles.js';

// -- participants -----------------------------------------------------------------------

function participantRow(p) {
  const li = document.createElement('li');
  li.className = 'participant';
  li.dataset.participant = p.id;
  const isSelf = p.id === app.selfId;
  li.classList.toggle('is-self', isSelf);
  li.classList.toggle('is-speaker', p.id === app.speaker);
  const main = document.createElement('div');
  main.className = 'participant-main';
  const name = document.createElement('span');
  name.className = 'participant-name';
  name.textContent = p.name;
  main.append(name);
  const tags = [];
  if (isSelf) tags.push(['tag-self', t('you')]);
  if (p.role === 'host') tags.push(['tag-host', t('role.host')]);
  if (p.role === 'viewer') tags.push(['tag-viewer', t('role.viewer')]);
  if (p.id === app.floor) tags.push(['tag-floor', t('floor.tag')]);
  if (p.id === app.speaker) tags.push(['tag-speaking', t('speaking')]);
  if (p.connection && !['connected', 'new'].includes(p.connection) && !isSelf) {
    tags.push(['tag-connecting', t('peer.connecting')]);
  }
  if (tags.length) {
    const tagBox = document.createElement('span');
    tagBox.className = 'participant-tags';
    for (const [cls, text] of tags) {
      const tag = document.createElement('span');
      tag.className = `tag ${cls}`;
      tag.textContent = text;
      tagBox.append(tag);
    }
    main.append(tagBox);
  }
  const icons = document.createElement('span');
  icons.className = 'participant-icons';
  if (p.role !== 'viewer') {
    const micOff = !p.audio || p.audio_muted;
    const camOff = !p.video || p.video_muted;
    for (const [off, on, offName, onName, cls] of [
      [micOff, 'mic.on', 'mic.off', 'mic', 'state-mic'],
      [camOff, 'cam.on', 'cam.off', 'cam', 'state-cam'],
    ]) {
      const holder = document.createElement('span');
      holder.className = `state-icon ${cls}${off ? ' is-off' : ''}`;
      holder.setAttribute('role', 'img');
      holder.setAttribute('aria-label', t(off ? offName : on));
      holder.title = t(off ? offName : on);
      holder.append(icon(off ? `${onName}-off` : onName));
      icons.append(holder);
    }
  }
  li.append(main, icons);
  return li;
}

/** The participants panel and its counts. */
export function renderParticipants() {
  const list = [...app.participants.values()].sort((a, b) => {
    if (a.id === app.selfId) return -1;
    if (b.id === app.selfId) return 1;
    if ((a.role === 'host') !== (b.role === 'host')) return a.role === 'host' ? -1 : 1;
    return (a.joined_at || 0) - (b.joined_at || 0);
  });
  const rows = list.map(participantRow);
  const n = Math.max(app.count, app.participants.size);
  const hidden = n - app.participants.size;
  if (hidden > 0 && app.screen === 'meeting') {
    // A large room lists only this site and the hosts.
    const more = document.createElement('li');
    more.className = 'participant participant-more';
    more.textContent = t('participants.more', { n: hidden });
    rows.push(more);
  }
  dom.participantList.replaceChildren(...rows);
  dom.participantCount.textContent = String(n);
  dom.participantCount.setAttribute('aria-label', t('participants.count', { n }));
  dom.participantCountButton.textContent = String(n);
}

/** Everything that shows people: the panel and the tiles. */
export function renderPeople() {
  renderParticipants();
  renderTiles();
}

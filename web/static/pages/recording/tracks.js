// The recorded tracks, with play and download buttons.

import { h } from '../../shared/api.js';
import { plural, t } from '../../shared/i18n.js';
import { clockOf, offsetOf, sizeOf } from '../recordings_i18n.js';
import { downloadLink, playButton } from './player.js';
import { dom, state } from './state.js';
import { kindText, manifest, trackDuration } from './summary.js';

// -- rendering: tracks ----------------------------------------------------------------------

/** The tracks, by site and kind, with play and download. */
export function renderTracks() {
  const m = manifest();
  const tracks = [...(m.tracks || [])].sort((a, b) => (
    String(a.site_name).localeCompare(String(b.site_name), 'vi')
    || (a.kind === b.kind ? 0 : a.kind === 'video' ? -1 : 1)
    || a.started_at - b.started_at
  ));
  const parts = new Map(); // site|kind -> files so far
  const totals = new Map();
  for (const tr of tracks) totals.set(`${tr.site_id}|${tr.kind}`, (totals.get(`${tr.site_id}|${tr.kind}`) || 0) + 1);
  dom.tracksCount.textContent = String(tracks.length);
  if (!tracks.length) {
    dom.tracks.replaceChildren(h('li', { class: 'rec-tracks-empty muted' }, t('rec.tracksEmpty')));
    return;
  }
  dom.tracks.replaceChildren(...tracks.map((tr) => {
    const key = `${tr.site_id}|${tr.kind}`;
    const part = (parts.get(key) || 0) + 1;
    parts.set(key, part);
    const what = t('rec.trackWhat', { site: tr.site_name, kind: kindText(tr.kind) });
    const duration = trackDuration(tr);
    const facts = [
      h('span', { class: 'rec-codec' }, String(tr.codec || '').toUpperCase()),
    ];
    if (tr.kind === 'video' && tr.width && tr.height) facts.push(h('span', {}, `${tr.width}×${tr.height}`));
    if (duration !== null) facts.push(h('span', { class: 'rec-track-duration', dataset: { seconds: String(duration) } }, clockOf(duration)));
    if (tr.kind === 'video' || duration === null) {
      facts.push(h('span', { class: 'rec-frames', dataset: { frames: String(tr.frames || 0) } },
        plural(tr.kind === 'video' ? 'rec.frames' : 'rec.packets', tr.frames || 0)));
    }
    facts.push(h('span', { class: 'rec-track-size' }, sizeOf(tr.bytes)));
    const startOffset = (tr.first_frame_at ?? tr.started_at) - (state.data.started_at || 0);
    if (startOffset >= 1) facts.push(h('span', {}, t('rec.offset', { time: offsetOf(startOffset) })));
    if (totals.get(key) > 1) facts.push(h('span', {}, t('rec.part', { n: part })));
    const meta = h('p', { class: 'rec-track-meta' });
    facts.forEach((fact, i) => {
      if (i) meta.append(h('span', { class: 'rec-sep', 'aria-hidden': 'true' }, ' · '));
      meta.append(fact);
    });
    return h('li', {
      class: 'rec-track',
      dataset: { trackFile: tr.file, kind: tr.kind, siteId: tr.site_id },
    },
    h('div', { class: 'rec-track-main' },
      h('p', { class: 'rec-track-site' },
        h('span', { class: 'rec-track-name' }, tr.site_name),
        h('span', { class: 'tag rec-kind', dataset: { kind: tr.kind } }, kindText(tr.kind))),
      meta),
    h('div', { class: 'rec-track-actions' }, playButton(tr.file, what), downloadLink(tr.file, what)));
  }));
}

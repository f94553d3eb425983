// The roll call: order, filters and the virtual table (only the rows in view
// plus a margin are in the DOM).

import { t } from '../shared/i18n.js';
import { fold } from '../shared/text.js';
import { dom } from './dom.js';
import { fillGroup, fillSite, groupRow, siteRow } from './roll_call_rows.js';
import { STATUSES, collator, store, ui } from './state.js';
import { el, statusText, tierLabel } from './view.js';

const ROW_HEIGHT = 44; // px, rows and tier headers alike (see console.css --rc-row)
const OVERSCAN_ROWS = 30; // rendered above and below the visible rows

// Status filter values: which row statuses each one shows.
const STATUS_FILTERS = {
  all: null,
  'not-joined': new Set(['not-joined']),
  connecting: new Set(['connecting']),
  connected: new Set(['connected', 'poor']),
  poor: new Set(['poor']),
  left: new Set(['left']),
  removed: new Set(['removed']),
};

// -- roll call: filters and the flat list -------------------------------------------------

function sortOrder() {
  const rows = [...store.sites.values()];
  rows.sort((a, b) => (a.depth - b.depth) || collator.compare(a.name, b.name) || (a.site_id < b.site_id ? -1 : 1));
  ui.order = rows.map((r) => r.site_id);
  ui.orderDirty = false;
}

/** The tier filter's options, from the roll call's tiers. */
export function renderTierOptions() {
  const depths = new Map();
  for (const tier of store.tiers) depths.set(tier.depth, tier.label);
  for (const site of store.sites.values()) if (!depths.has(site.depth)) depths.set(site.depth, site.unit_type);
  const select = dom.filterTier;
  const current = select.value;
  const options = [el('option', '', t('console.filter.allTiers'))];
  options[0].value = 'all';
  for (const depth of [...depths.keys()].sort((a, b) => a - b)) {
    const option = el('option', '', tierLabel(depths.get(depth)));
    option.value = String(depth);
    options.push(option);
  }
  const signature = options.map((o) => `${o.value}:${o.textContent}`).join('|');
  if (select.dataset.signature !== signature) {
    select.replaceChildren(...options);
    select.dataset.signature = signature;
    select.value = [...select.options].some((o) => o.value === current) ? current : 'all';
    if (select.value !== ui.filter.tier) {
      ui.filter.tier = select.value;
      ui.listDirty = true;
    }
  }
}

function matchesText(site, words) {
  for (const word of words) if (!site._key.includes(word)) return false;
  return true;
}

function buildList() {
  if (ui.orderDirty) sortOrder();
  const { status, tier, text } = ui.filter;
  const allowed = STATUS_FILTERS[status] || null;
  const tierDepth = tier === 'all' ? null : Number(tier);
  const words = fold(text).split(/\s+/).filter(Boolean);
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
  let base = 0;
  const items = [];
  const groups = new Map(); // depth -> {present, total, shown}
  for (const id of ui.order) {
    const site = store.sites.get(id);
    if (!site) continue;
    if (tierDepth !== null && site.depth !== tierDepth) continue;
    if (words.length && !matchesText(site, words)) continue;
    base += 1;
    counts[site.status] = (counts[site.status] || 0) + 1;
    if (allowed && !allowed.has(site.status)) continue;
    let group = groups.get(site.depth);
    if (!group) {
      group = { shown: 0 };
      groups.set(site.depth, group);
      items.push({ kind: 'group', depth: site.depth, unitType: site.unit_type, key: `g:${site.depth}` });
    }
    group.shown += 1;
    if (!ui.collapsed.has(site.depth)) items.push({ kind: 'site', id, key: `s:${id}` });
  }
  for (const item of items) if (item.kind === 'group') item.shown = groups.get(item.depth).shown;
  ui.items = items;
  ui.counts = counts;
  ui.base = base;
  ui.shown = items.reduce((n, item) => n + (item.kind === 'group' ? item.shown : 0), 0);
  ui.listDirty = false;
  renderFilterCounts();
}

function renderFilterCounts() {
  const counts = ui.counts;
  const total = ui.base || 0;
  const countFor = (value) => {
    const allowed = STATUS_FILTERS[value];
    if (!allowed) return total;
    let n = 0;
    for (const s of allowed) n += counts[s] || 0;
    return n;
  };
  for (const option of dom.filterStatus.options) {
    const label = option.value === 'all' ? t('console.filter.all') : statusText(option.value);
    const text = `${label} (${countFor(option.value)})`;
    if (option.textContent !== text) option.textContent = text;
    option.dataset.count = String(countFor(option.value));
  }
  // Summary chips: one per status (they add up to the list's total).
  const chips = STATUSES.map((value) => {
    const n = counts[value] || 0;
    const chip = el('span', 'status-chip');
    chip.dataset.status = value;
    chip.dataset.count = String(n);
    chip.append(el('span', 'status-dot'), el('span', 'status-chip-label', statusText(value)), el('strong', 'status-chip-count', String(n)));
    if (!n && value !== 'connected' && value !== 'not-joined') chip.hidden = true;
    return chip;
  });
  const signature = chips.map((c) => `${c.dataset.status}:${c.dataset.count}:${c.hidden}:${c.textContent}`).join('|');
  if (dom.statusCounts.dataset.signature !== signature) {
    dom.statusCounts.replaceChildren(...chips);
    dom.statusCounts.dataset.signature = signature;
  }
  const filtered = ui.filter.status !== 'all' || ui.filter.tier !== 'all' || ui.filter.text.trim() !== '';
  dom.summary.textContent = t('console.showing', { shown: ui.shown, total: store.sites.size });
  dom.summary.dataset.shown = String(ui.shown);
  dom.summary.dataset.total = String(store.sites.size);
  dom.summary.classList.toggle('is-filtered', filtered);
}

// -- roll call: the virtual table -------------------------------------------------------------

/** Render the visible rows at the next animation frame (once per frame). */
export function scheduleRender() {
  if (ui.frame) return;
  ui.frame = requestAnimationFrame(() => {
    ui.frame = 0;
    render();
  });
}

function render() {
  if (ui.listDirty) buildList();
  const items = ui.items;
  const body = dom.body;
  body.style.height = `${items.length * ROW_HEIGHT}px`;
  dom.table.setAttribute('aria-rowcount', String(items.length + 1));
  dom.empty.hidden = items.length > 0;
  if (!items.length) {
    const key = store.loaded ? 'console.empty' : 'console.loading';
    dom.empty.dataset.i18n = key;
    dom.empty.textContent = t(key);
  }
  // Which items are in view.
  const scrollTop = dom.table.scrollTop;
  const viewTop = scrollTop - body.offsetTop;
  const viewHeight = dom.table.clientHeight || 600;
  const first = Math.max(0, Math.floor(viewTop / ROW_HEIGHT) - OVERSCAN_ROWS);
  const last = Math.min(items.length, Math.ceil((viewTop + viewHeight) / ROW_HEIGHT) + OVERSCAN_ROWS);
  const next = new Map();
  const ordered = [];
  for (let index = first; index < last; index += 1) {
    const item = items[index];
    let row = ui.rendered.get(item.key);
    if (!row) {
      row = item.kind === 'group' ? groupRow() : siteRow();
    }
    if (item.kind === 'group') fillGroup(row, item);
    else fillSite(row, store.sites.get(item.id));
    if (row._index !== index) {
      row._index = index;
      row.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
      row.setAttribute('aria-rowindex', String(index + 2));
    }
    next.set(item.key, row);
    ordered.push(row);
  }
  for (const [key, row] of ui.rendered) {
    if (!next.has(key)) row.remove();
  }
  // Keep DOM order = visual order (reading and tab order) with as few moves as possible.
  let cursor = body.firstChild;
  for (const row of ordered) {
    if (row === cursor) {
      cursor = cursor.nextSibling;
    } else {
      body.insertBefore(row, cursor);
    }
  }
  ui.rendered = next;
  store.rendered = ordered.length;
}

/** Change the filters and show the matching rows from the top. */
export function setFilter(change) {
  Object.assign(ui.filter, change);
  ui.listDirty = true;
  dom.table.scrollTop = 0;
  scheduleRender();
}

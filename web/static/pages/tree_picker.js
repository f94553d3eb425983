// The unit tree picker of the scheduling form.
//
// Nodes load lazily (GET /api/units?parent=CODE). Each node has a checkbox
// (input[type=checkbox][data-unit=CODE]) and, unless it is a leaf, a
// "whole subtree" button (button[data-subtree=CODE]) that checks the unit
// and every unit below it (GET /api/units/{code}/subtree) in one click.
// The selection is kept as a set of unit codes, so units checked through a
// subtree stay checked whether their nodes are shown or not.

import { t, plural } from '../shared/i18n.js';
import { api, h, showError } from '../shared/api.js';
import { fold } from '../shared/text.js';

export class TreePicker {
  /**
   * @param {object} o
   * @param {HTMLElement} o.root        the #unit-tree container
   * @param {HTMLElement} o.count       #selected-count
   * @param {HTMLInputElement} o.filter #unit-filter
   * @param {HTMLElement} o.filterStatus
   * @param {HTMLElement} o.error       where load errors go
   * @param {Function} [o.onChange]
   */
  constructor({ root, count, filter, filterStatus, error, onChange }) {
    this.root = root;
    this.countEl = count;
    this.filterInput = filter;
    this.filterStatus = filterStatus;
    this.errorEl = error;
    this.onChange = onChange || (() => {});
    this.units = new Map(); // code -> {code, name, type, parent, depth, leaf?}
    this.kids = new Map(); // code -> [child codes], once known
    this.nodes = new Map(); // code -> {li, checkbox, toggle, list, below, label}
    this.checked = new Set();
    this.expanded = new Set();
    this.rootCodes = [];
    this.loading = new Map(); // code -> Promise of its children
    this.list = h('ul', { class: 'tree-list tree-roots' });

    root.addEventListener('change', (event) => {
      const box = event.target.closest('input[type=checkbox][data-unit]');
      if (!box) return;
      if (box.checked) this.checked.add(box.dataset.unit);
      else this.checked.delete(box.dataset.unit);
      this.changed();
    });
    root.addEventListener('click', (event) => {
      const toggle = event.target.closest('button[data-expand]');
      if (toggle) {
        this.toggle(toggle.dataset.expand);
        return;
      }
      const subtree = event.target.closest('button[data-subtree]');
      if (subtree) this.selectSubtree(subtree.dataset.subtree);
    });
    filter?.addEventListener('input', () => this.applyFilter());
    filter?.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') event.preventDefault(); // do not submit the form
      if (event.key === 'Escape' && filter.value) {
        event.preventDefault();
        filter.value = '';
        this.applyFilter();
      }
    });
  }

  // -- data -----------------------------------------------------------------------------

  remember(unit) {
    const old = this.units.get(unit.code) || {};
    const merged = { ...old, ...unit };
    if (unit.leaf === undefined && old.leaf !== undefined) merged.leaf = old.leaf;
    this.units.set(unit.code, merged);
    return merged;
  }

  isLeaf(code) {
    const unit = this.units.get(code);
    if (unit?.leaf !== undefined) return unit.leaf;
    const kids = this.kids.get(code);
    return kids ? kids.length === 0 : false;
  }

  /** Show these units as the top of the tree and open each. */
  async setRoots(units) {
    this.rootCodes = units.map((u) => this.remember(u).code);
    this.list.replaceChildren(...this.rootCodes.map((code) => this.renderNode(code)));
    this.root.replaceChildren(this.list);
    this.updateCounts();
    await Promise.all(this.rootCodes.map((code) => this.expand(code)));
  }

  async loadChildren(code) {
    if (this.kids.has(code)) return this.kids.get(code);
    if (!this.loading.has(code)) {
      const promise = api(`/api/units?parent=${encodeURIComponent(code)}`)
        .then((data) => {
          const codes = (data?.units || []).map((u) => this.remember(u).code);
          this.kids.set(code, codes);
          const unit = this.units.get(code);
          if (unit) unit.leaf = codes.length === 0;
          return codes;
        })
        .finally(() => this.loading.delete(code));
      this.loading.set(code, promise);
    }
    return this.loading.get(code);
  }

  // -- rendering ------------------------------------------------------------------------

  /** The subtree button's text; the unit's name is for screen readers only. */
  subtreeText(name) {
    return [
      h('span', { class: 'tree-subtree-text' }, t('tree.subtree')),
      h('span', { class: 'visually-hidden' }, ` (${name})`),
    ];
  }

  renderNode(code) {
    const unit = this.units.get(code);
    const leaf = this.isLeaf(code);
    const boxId = `unit-cb-${code}`;
    const listId = `tree-children-${code}`;
    const toggle = leaf
      ? h('span', { class: 'tree-spacer', 'aria-hidden': 'true' })
      : h('button', {
        type: 'button',
        class: 'tree-toggle',
        dataset: { expand: code },
        'aria-expanded': String(this.expanded.has(code)),
        'aria-controls': listId,
        'aria-label': t(this.expanded.has(code) ? 'tree.collapse' : 'tree.expand', { name: unit.name }),
      }, h('span', { class: 'tree-caret', 'aria-hidden': 'true' }));
    const checkbox = h('input', {
      type: 'checkbox',
      id: boxId,
      dataset: { unit: code },
      checked: this.checked.has(code),
    });
    const label = h('label', { for: boxId, class: 'tree-label' },
      h('span', { class: 'tree-name' }, unit.name),
      h('span', { class: 'tree-code' }, code));
    const below = h('span', { class: 'tree-below', hidden: true });
    const subtree = leaf ? null : h('button', {
      type: 'button',
      class: 'btn btn-sm tree-subtree',
      dataset: { subtree: code },
    }, ...this.subtreeText(unit.name));
    const list = h('ul', { class: 'tree-list', id: listId, hidden: !this.expanded.has(code) });
    const row = h('div', { class: 'tree-row' }, toggle, checkbox, label, below, subtree);
    const li = h('li', { class: 'tree-node', dataset: { code, depth: unit.depth ?? '' } }, row, list);
    this.nodes.set(code, { li, checkbox, toggle, list, below, label, subtree, rendered: false });
    if (this.expanded.has(code) && this.kids.has(code)) this.renderChildren(code);
    return li;
  }

  renderChildren(code) {
    const node = this.nodes.get(code);
    const kids = this.kids.get(code);
    if (!node || !kids) return;
    node.list.replaceChildren(...kids.map((kid) => this.renderNode(kid)));
    node.rendered = true;
    this.updateCounts();
  }

  /** Re-render a node whose leaf-ness became known (e.g. a root with no children). */
  refreshNode(code) {
    const node = this.nodes.get(code);
    if (!node) return;
    const parent = node.li.parentElement;
    const fresh = this.renderNode(code);
    parent?.replaceChild(fresh, node.li);
  }

  setExpanded(code, open) {
    const node = this.nodes.get(code);
    if (open) this.expanded.add(code);
    else this.expanded.delete(code);
    if (!node || !node.toggle.matches('button')) return;
    node.toggle.setAttribute('aria-expanded', String(open));
    node.toggle.setAttribute('aria-label',
      t(open ? 'tree.collapse' : 'tree.expand', { name: this.units.get(code).name }));
    if (!this.filtering()) node.list.hidden = !open;
  }

  async expand(code) {
    const node = this.nodes.get(code);
    if (!node) return;
    if (!this.kids.has(code)) {
      node.list.hidden = false;
      node.list.replaceChildren(h('li', { class: 'tree-message muted' }, t('tree.loading')));
      node.li.setAttribute('aria-busy', 'true');
      try {
        await this.loadChildren(code);
      } catch (exc) {
        node.list.replaceChildren(h('li', { class: 'tree-message form-error' }, t('tree.loadError')));
        showError(this.errorEl, exc);
        node.li.removeAttribute('aria-busy');
        return;
      }
      node.li.removeAttribute('aria-busy');
      if (this.kids.get(code).length === 0) {
        this.expanded.delete(code);
        this.refreshNode(code);
        return;
      }
    }
    if (!node.rendered) this.renderChildren(code);
    this.setExpanded(code, true);
    if (this.filtering()) this.applyFilter();
  }

  toggle(code) {
    if (this.expanded.has(code)) this.setExpanded(code, false);
    else this.expand(code);
  }

  // -- selection ------------------------------------------------------------------------

  async selectSubtree(code) {
    const node = this.nodes.get(code);
    node?.subtree?.setAttribute('aria-busy', 'true');
    if (node?.subtree) node.subtree.disabled = true;
    try {
      const data = await api(`/api/units/${encodeURIComponent(code)}/subtree`);
      const units = data?.units || [];
      const children = new Map(units.map((u) => [u.code, []]));
      for (const unit of units) {
        this.remember(unit);
        if (unit.code !== code && children.has(unit.parent)) children.get(unit.parent).push(unit.code);
      }
      for (const [parent, kids] of children) {
        if (!this.kids.has(parent)) this.kids.set(parent, kids);
        const known = this.units.get(parent);
        if (known && known.leaf === undefined) known.leaf = kids.length === 0;
      }
      for (const unit of units) this.checked.add(unit.code);
      this.syncBoxes();
      this.changed();
      await this.expand(code);
    } catch (exc) {
      showError(this.errorEl, exc);
    } finally {
      if (node?.subtree) {
        node.subtree.disabled = false;
        node.subtree.removeAttribute('aria-busy');
      }
    }
  }

  setChecked(codes) {
    this.checked = new Set(codes);
    this.syncBoxes();
    this.changed();
  }

  clear() {
    this.checked.clear();
    this.syncBoxes();
    this.changed();
  }

  syncBoxes() {
    for (const [code, node] of this.nodes) node.checkbox.checked = this.checked.has(code);
  }

  /** The checked codes, in tree order where known. */
  selected() {
    const order = [];
    const seen = new Set();
    const walk = (code) => {
      if (seen.has(code)) return;
      seen.add(code);
      if (this.checked.has(code)) order.push(code);
      for (const kid of this.kids.get(code) || []) walk(kid);
    };
    for (const code of this.rootCodes) walk(code);
    for (const code of this.checked) if (!seen.has(code)) order.push(code);
    return order;
  }

  changed() {
    this.updateCounts();
    this.onChange(this.selected());
  }

  updateCounts() {
    const n = this.checked.size;
    if (this.countEl) {
      this.countEl.textContent = n ? plural('tree.selected', n) : t('tree.selectedNone');
      this.countEl.dataset.count = String(n);
    }
    const below = new Map();
    for (const code of this.checked) {
      let parent = this.units.get(code)?.parent;
      const guard = new Set();
      while (parent && !guard.has(parent)) {
        guard.add(parent);
        below.set(parent, (below.get(parent) || 0) + 1);
        parent = this.units.get(parent)?.parent;
      }
    }
    for (const [code, node] of this.nodes) {
      const count = below.get(code) || 0;
      node.below.hidden = count === 0;
      node.below.textContent = count ? t('tree.selectedBelow', { n: count }) : '';
    }
  }

  // -- filter ---------------------------------------------------------------------------

  filtering() {
    return Boolean(this.filterInput && fold(this.filterInput.value));
  }

  ensureRendered(code, guard = new Set()) {
    if (this.nodes.has(code)) return true;
    if (guard.has(code)) return false;
    guard.add(code);
    const parent = this.units.get(code)?.parent;
    if (!parent || !this.kids.has(parent) || !this.ensureRendered(parent, guard)) return false;
    if (!this.nodes.get(parent).rendered) this.renderChildren(parent);
    return this.nodes.has(code);
  }

  applyFilter() {
    const query = fold(this.filterInput?.value);
    if (!query) {
      for (const [code, node] of this.nodes) {
        node.li.hidden = false;
        node.list.hidden = !this.expanded.has(code);
        node.li.classList.remove('is-match');
      }
      if (this.filterStatus) this.filterStatus.textContent = '';
      return;
    }
    const matches = new Set();
    for (const [code, unit] of this.units) {
      if (fold(unit.name).includes(query) || code.startsWith(query)) {
        if (this.ensureRendered(code)) matches.add(code);
      }
    }
    const visible = new Set();
    const open = new Set();
    for (const code of this.nodes.keys()) {
      // A node shows if it, or one of its ancestors, matches (so a matching
      // district can still be opened), or if a descendant matches.
      let cur = code;
      const guard = new Set();
      while (cur && !guard.has(cur)) {
        guard.add(cur);
        if (matches.has(cur)) {
          visible.add(code);
          break;
        }
        cur = this.units.get(cur)?.parent;
      }
    }
    for (const code of matches) {
      let parent = this.units.get(code)?.parent;
      const guard = new Set();
      while (parent && !guard.has(parent)) {
        guard.add(parent);
        visible.add(parent);
        open.add(parent);
        parent = this.units.get(parent)?.parent;
      }
    }
    for (const [code, node] of this.nodes) {
      node.li.hidden = !visible.has(code);
      node.list.hidden = !(open.has(code) || this.expanded.has(code));
      node.li.classList.toggle('is-match', matches.has(code));
    }
    if (this.filterStatus) {
      this.filterStatus.textContent = matches.size ? plural('tree.matches', matches.size) : t('tree.noMatch');
    }
  }

  /** Re-translate the texts this picker wrote. */
  relabel() {
    for (const [code, node] of this.nodes) {
      const name = this.units.get(code)?.name || code;
      if (node.toggle.matches('button')) {
        node.toggle.setAttribute('aria-label', t(this.expanded.has(code) ? 'tree.collapse' : 'tree.expand', { name }));
      }
      if (node.subtree) node.subtree.replaceChildren(...this.subtreeText(name));
    }
    for (const el of this.root.querySelectorAll('.tree-message')) {
      el.textContent = el.classList.contains('form-error') ? t('tree.loadError') : t('tree.loading');
    }
    this.updateCounts();
    if (this.filtering()) this.applyFilter();
  }
}

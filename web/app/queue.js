// The officers' queue: contracted deals awaiting certification (GET /api/v1/transactions?
// awaiting_certification=true), how many there are, a page of them at a time in the order and township
// chosen (the service sorts, filters and counts: `sort`, `township`, `offset`, `number_matched`). Each
// deal says its lessee, use and township; choosing one opens its house, where it is certified.

import { api, el, loading, query } from './api.js';
import { lang, number, onLangChange, t } from './i18n.js';

/** Deals on one page. */
export const PAGE_SIZE = 20;

/** The orders offered, as the API names them. */
const SORTS = ['signed_on', '-signed_on', '-amount', 'amount', 'township'];

export class Queue {
  /**
   * @param {HTMLElement} list  where the deals are listed
   * @param {object} app        { openHouse(id, options), townshipNames: Map }
   */
  constructor(list, app) {
    this.list = list;
    this.app = app;
    this.page = null;
    this.offset = 0;
    this.sort = 'signed_on';
    this.township = '';
    this.sortSelect = el('select', { id: 'queue-sort', onchange: () => { this.sort = this.sortSelect.value; this.go(0); } });
    this.townshipSelect = el('select', { id: 'queue-township', onchange: () => { this.township = this.townshipSelect.value; this.go(0); } });
    this.count = el('p', { id: 'queue-count', class: 'count', 'aria-live': 'polite' });
    this.items = el('div', { id: 'queue-items' });
    this.prev = el('button', { type: 'button', id: 'queue-prev', onclick: () => this.turn(-PAGE_SIZE) });
    this.next = el('button', { type: 'button', id: 'queue-next', onclick: () => this.turn(PAGE_SIZE) });
    this.pageLabel = el('span', { id: 'queue-page', class: 'hint' });
    this.controls = el('div', { class: 'queue-controls' },
      el('label', {}, el('span', { id: 'queue-township-label' }), this.townshipSelect),
      el('label', {}, el('span', { id: 'queue-sort-label' }), this.sortSelect));
    this.pager = el('nav', { class: 'pager', id: 'queue-pager' }, this.prev, this.pageLabel, this.next);
    onLangChange(() => this.render());
  }

  async refresh() {
    await this.go(this.offset);
  }

  /** The page before or after, its count line brought into view. */
  async turn(by) {
    await this.go(this.offset + by);
    this.count.scrollIntoView({ block: 'nearest' });
  }

  /** Loads the page starting at row `offset` (kept within the deals there are). */
  async go(offset) {
    this.offset = Math.max(0, offset);
    this.list.setAttribute('aria-busy', 'true');
    const page = await loading(() => api(`/api/v1/transactions${query({
      awaiting_certification: true, limit: PAGE_SIZE, offset: this.offset, sort: this.sort, township: this.township,
    })}`));
    this.list.removeAttribute('aria-busy');
    if (!page) return;
    // A certification elsewhere may leave this page empty: go back to the last one with deals.
    if (!page.items.length && this.offset > 0 && page.number_matched > 0) {
      await this.go(Math.floor((page.number_matched - 1) / PAGE_SIZE) * PAGE_SIZE);
      return;
    }
    this.page = page;
    this.render();
  }

  render() {
    if (!this.page) return;
    if (!this.list.contains(this.controls)) this.list.replaceChildren(this.controls, this.count, this.items, this.pager);
    this.fillControls();
    const { items, number_matched: total } = this.page;
    this.count.textContent = total
      ? t('queue.count', { n: number(total), from: number(this.offset + 1), to: number(this.offset + items.length) })
      : t('queue.empty');
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    this.pageLabel.textContent = t('queue.page', { page: Math.floor(this.offset / PAGE_SIZE) + 1, pages });
    this.prev.textContent = t('queue.prev');
    this.next.textContent = t('queue.next');
    this.prev.disabled = this.offset === 0;
    this.next.disabled = !this.page.next;
    this.pager.hidden = total <= PAGE_SIZE;
    const sep = lang() === 'zh' ? '，' : ', ';
    this.items.replaceChildren(el('ul', { class: 'house-list' }, items.map((x) =>
      el('li', { dataset: { transaction: x.id, house: x.farmhouse_id, township: x.township_code, signed: x.signed_on, amount: x.total_amount_yuan } },
        el('button', { type: 'button', class: 'house-item', onclick: () => this.app.openHouse(x.farmhouse_id, { fly: true }) },
          el('strong', {}, t('queue.item', { contract: x.contract_no, date: x.signed_on })),
          el('span', {}, `${this.app.townshipNames?.get(x.township_code) ?? x.township_code} · ${x.village} · ${x.unit_number}`),
          el('span', { class: 'queue-lessee' }, t('queue.lessee', { lessee: x.lessee?.name ?? '—', use: t(`use.${x.intended_use}`) })),
          el('span', {}, [t('m2', { v: number(x.floor_area_m2, 0) }), t('yuan', { v: number(x.total_amount_yuan) })].join(sep)))))));
  }

  fillControls() {
    document.getElementById('queue-township-label').textContent = t('stats.township');
    document.getElementById('queue-sort-label').textContent = t('queue.sort');
    this.sortSelect.replaceChildren(...SORTS.map((s) => el('option', { value: s }, t(`queue.sort.${s}`))));
    this.sortSelect.value = this.sort;
    const names = [...(this.app.townshipNames ?? new Map())].sort(([a], [b]) => a.localeCompare(b));
    this.townshipSelect.replaceChildren(el('option', { value: '' }, t('stats.district')),
      ...names.map(([code, name]) => el('option', { value: code }, name)));
    this.townshipSelect.value = this.township;
  }
}

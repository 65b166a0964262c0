// The officers' queue: contracted deals awaiting certification (GET /api/v1/transactions?
// awaiting_certification=true). Choosing one opens its house, where it is certified.

import { api, el, loading } from './api.js';
import { number, onLangChange, t } from './i18n.js';

export class Queue {
  /**
   * @param {HTMLElement} list  where the deals are listed
   * @param {object} app        { openHouse(id, options) }
   */
  constructor(list, app) {
    this.list = list;
    this.app = app;
    this.items = null;
    onLangChange(() => this.render());
  }

  async refresh() {
    this.list.setAttribute('aria-busy', 'true');
    const page = await loading(() => api('/api/v1/transactions?awaiting_certification=true&limit=100'));
    this.list.removeAttribute('aria-busy');
    if (!page) return;
    this.items = page.items;
    this.render();
  }

  render() {
    if (!this.items) return;
    if (!this.items.length) {
      this.list.replaceChildren(el('p', { class: 'hint' }, t('queue.empty')));
      return;
    }
    this.list.replaceChildren(el('ul', { class: 'house-list' }, this.items.map((x) =>
      el('li', { dataset: { transaction: x.id, house: x.farmhouse_id } },
        el('button', { type: 'button', class: 'house-item', onclick: () => this.app.openHouse(x.farmhouse_id, { fly: true }) },
          el('strong', {}, t('queue.item', { contract: x.contract_no, date: x.signed_on })),
          el('span', {}, `${x.village} · ${x.unit_number}`),
          el('span', {}, `${t('m2', { v: number(x.floor_area_m2, 0) })} · ${t('yuan', { v: number(x.total_amount_yuan) })}`))))));
  }
}

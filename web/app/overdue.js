// Overdue rent, for officers: the instalments past their due day and not paid in full (GET
// /api/v1/instalments/overdue), of the district or of one township, with what is outstanding. Choosing
// one opens its house, whose schedule takes the payment.

import { api, el, loading, query } from './api.js';
import { number, onLangChange, t } from './i18n.js';
import { yuan } from './money.js';

export class Overdue {
  /**
   * @param {HTMLElement} root  the overdue tab (a township choice #overdue-township, the list #overdue)
   * @param {object} app        { openHouse(id, options), townshipNames }
   */
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.list = root.querySelector('#overdue');
    this.select = root.querySelector('#overdue-township');
    this.select.addEventListener('change', () => this.refresh());
    this.data = null;
    onLangChange(() => this.render());
  }

  async refresh() {
    if (this.select.options.length <= 1 && this.app.townshipNames) {
      this.select.append(...[...this.app.townshipNames].map(([code, name]) => el('option', { value: code }, name)));
    }
    this.list.setAttribute('aria-busy', 'true');
    const data = await loading(() => api(`/api/v1/instalments/overdue${query({ township: this.select.value })}`));
    this.list.removeAttribute('aria-busy');
    if (!data) return;
    this.data = data;
    this.render();
  }

  render() {
    if (!this.data) return;
    const items = this.data.items;
    if (!items.length) {
      this.list.replaceChildren(el('p', { class: 'hint' }, t('overdue.empty')));
      return;
    }
    this.list.replaceChildren(
      el('p', { class: 'count', id: 'overdue-total', dataset: { value: this.data.outstanding_yuan } },
        t('overdue.total', { n: number(items.length), amount: yuan(this.data.outstanding_yuan) })),
      el('ul', { class: 'house-list' }, items.map((x) => el('li', { dataset: { instalment: x.instalment_id, house: x.farmhouse_id } },
        el('button', { type: 'button', class: 'house-item', onclick: () => this.app.openHouse(x.farmhouse_id, { fly: true }) },
          el('strong', {}, t('overdue.item', { contract: x.contract_no, seq: x.seq })),
          el('span', {}, `${x.village} · ${x.unit_number}`),
          el('span', { class: 'overdue' }, t('overdue.line', {
            due: x.due_on, days: number(x.days_overdue), outstanding: yuan(x.outstanding_yuan), amount: yuan(x.amount_yuan),
          })))))));
  }
}

// Houses available to lease (listed), filtered by township, floor area, asking rent and allowed use;
// the list follows the filter and, when asked, the map's extent.

import { api, el, loading, query } from './api.js';
import { number, onLangChange, t } from './i18n.js';

const PAGE = 50;
export const USES = ['民宿', '康养', '文创', '电商', '来料加工', '其他'];

export class Listings {
  /**
   * @param {HTMLFormElement} form  the filter form (fields named as the API's filters)
   * @param {HTMLElement} list      where the houses are listed
   * @param {object} app            { map: FarmMap, openHouse(id) }
   */
  constructor(form, list, app) {
    this.form = form;
    this.list = list;
    this.app = app;
    this.houses = [];
    this.more = false;
    this.controller = null;
    let timer = null;
    const soon = () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.refresh(), 250);
    };
    form.addEventListener('input', soon);
    form.addEventListener('change', soon);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.refresh();
    });
    form.addEventListener('reset', () => setTimeout(() => this.refresh(), 0));
    app.map.map.on('moveend', () => {
      if (form.elements.extent.checked) soon();
    });
    onLangChange(() => this.render());
    const use = form.elements.allowed_use;
    this.useOptions = USES.map((u) => el('option', { value: u }, t(`use.${u}`)));
    use.append(...this.useOptions);
    onLangChange(() => this.useOptions.forEach((o) => { o.textContent = t(`use.${o.value}`); }));
  }

  /** Fills the township choice. */
  setTownships(townships) {
    const select = this.form.elements.township;
    select.append(...townships.map((tw) => el('option', { value: tw.code }, tw.name)));
  }

  /** The filter as the API's query parameters. */
  params() {
    const f = this.form.elements;
    return {
      status: 'listed',
      township: f.township.value,
      min_floor_area: f.min_floor_area.value,
      max_floor_area: f.max_floor_area.value,
      max_rent_yuan: f.max_rent_yuan.value,
      allowed_use: f.allowed_use.value,
      bbox: f.extent.checked ? this.app.map.extent() : '',
      limit: PAGE,
    };
  }

  async refresh() {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.list.setAttribute('aria-busy', 'true');
    const page = await loading(() => api(`/api/v1/farmhouses${query(this.params())}`, { signal: controller.signal }));
    if (controller !== this.controller) return;
    this.list.removeAttribute('aria-busy');
    if (!page) {
      this.list.replaceChildren(el('p', { class: 'error' }, document.getElementById('alert').textContent));
      return;
    }
    this.houses = page.features;
    this.more = Boolean(page.next);
    this.render();
  }

  render() {
    const count = el('p', { class: 'count', id: 'list-count', role: 'status' },
      t('list.count', { n: this.houses.length }), this.more ? t('list.more', { n: PAGE }) : '');
    if (!this.houses.length) {
      this.list.replaceChildren(count, el('p', { class: 'hint' }, t('list.empty')));
      return;
    }
    const items = this.houses.map((f) => {
      const p = f.properties;
      const l = p.listing;
      return el('li', { dataset: { id: f.id } },
        el('button', { type: 'button', class: 'house-item', onclick: () => this.app.openHouse(f.id, { fly: true }) },
          el('strong', {}, l?.title || `${p.village} · ${p.unit_number.slice(12, 19)}`),
          el('span', {}, `${p.township_name} ${p.village}`),
          el('span', {}, `${t('m2', { v: number(p.floor_area_m2, 0) })} · ${l ? t('list.rent', { v: number(l.asking_rent_yuan) }) : ''}`),
          el('span', { class: 'uses' }, (l?.allowed_uses ?? []).map((u) => t(`use.${u}`)).join(' · '))));
    });
    this.list.replaceChildren(count, el('ul', { class: 'house-list' }, items));
  }
}

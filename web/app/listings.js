// Houses available to lease (listed), filtered by township, village, floor area, asking rent and allowed
// use, in the order chosen (rent, floor area, end of notice: the API sorts), paged to the last with the
// full count the API gives; the list follows the filter and, when asked, the map's extent — but not a
// move of the map made by opening one of its houses.

import { api, chinese, el, loading, placeName, query } from './api.js';
import { lang, number, onLangChange, t } from './i18n.js';
import './texts.js';

const PAGE = 50;
export const USES = ['民宿', '康养', '文创', '电商', '来料加工', '其他'];
export const SORTS = ['', 'rent', '-rent', 'area', '-area', 'notice_end'];

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
    this.total = 0;
    this.next = null;
    this.village = null;
    this.controller = null;
    this.holdMove = false;
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
    form.addEventListener('reset', () => {
      this.village = null;
      setTimeout(() => this.refresh(), 0);
    });
    app.map.map.on('moveend', () => {
      // The map flew to a house opened from this list: the list stays as it was.
      if (this.holdMove) return;
      if (form.elements.extent.checked && !this.village) soon();
    });
    onLangChange(() => this.render());
    const use = form.elements.allowed_use;
    this.useOptions = USES.map((u) => el('option', { value: u }, t(`use.${u}`)));
    use.append(...this.useOptions);
    onLangChange(() => this.useOptions.forEach((o) => { o.textContent = t(`use.${o.value}`); }));
    // The order, before the form's buttons.
    this.sortOptions = SORTS.map((s) => el('option', { value: s }, t(`list.sort.${s || 'id'}`)));
    this.sortLabel = el('span', {}, t('list.sort'));
    const sort = el('label', {}, this.sortLabel, el('select', { name: 'sort', id: 'list-sort' }, ...this.sortOptions));
    form.querySelector('button[type=reset]').before(sort);
    onLangChange(() => {
      this.sortLabel.textContent = t('list.sort');
      this.sortOptions.forEach((o) => { o.textContent = t(`list.sort.${o.value || 'id'}`); });
    });
  }

  /** Fills the township choice. */
  setTownships(townships) {
    const select = this.form.elements.township;
    // An option holds text only: in English the pinyin, then the Chinese.
    const label = (tw) => (lang() === 'en' && tw.name_pinyin ? `${tw.name_pinyin} ${tw.name}` : tw.name);
    const options = townships.map((tw) => el('option', { value: tw.code }, label(tw)));
    select.append(...options);
    onLangChange(() => options.forEach((o, i) => { o.textContent = label(townships[i]); }));
  }

  /** Lists the houses of one village (clicked on the map), whatever the map shows; null: all again. */
  showVillage(village) {
    this.village = village;
    if (village) this.form.elements.township.value = village.township_code ?? '';
    return this.refresh();
  }

  /** The filter as the API's query parameters. */
  params() {
    const f = this.form.elements;
    return {
      status: 'listed',
      township: f.township.value,
      village: this.village?.name ?? '',
      min_floor_area: f.min_floor_area.value,
      max_floor_area: f.max_floor_area.value,
      max_rent_yuan: f.max_rent_yuan.value,
      allowed_use: f.allowed_use.value,
      bbox: f.extent.checked && !this.village ? this.app.map.extent() : '',
      sort: f.sort.value,
      limit: PAGE,
    };
  }

  /**
   * The filter as CQL2 for the map's house tiles: listed houses must match it, other statuses (drawn
   * when the legend asks) are left as they are. Null when nothing narrows the list.
   */
  cql() {
    const f = this.form.elements;
    const text = (v) => `'${String(v).replaceAll("'", "''")}'`;
    const number = (v) => (v === '' || !Number.isFinite(Number(v)) ? null : Number(v));
    const parts = [];
    if (f.township.value) parts.push(`township_code = ${text(f.township.value)}`);
    if (this.village?.name) parts.push(`village = ${text(this.village.name)}`);
    if (number(f.min_floor_area.value) !== null) parts.push(`floor_area_m2 >= ${number(f.min_floor_area.value)}`);
    if (number(f.max_floor_area.value) !== null) parts.push(`floor_area_m2 <= ${number(f.max_floor_area.value)}`);
    if (number(f.max_rent_yuan.value) !== null) parts.push(`asking_rent_yuan <= ${number(f.max_rent_yuan.value)}`);
    if (f.allowed_use.value) parts.push(`allowed_uses LIKE ${text(`%${f.allowed_use.value}%`)}`);
    return parts.length ? `status <> 'listed' OR (${parts.join(' AND ')})` : null;
  }

  async refresh() {
    this.app.map.filterHouses?.(this.cql());
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
    this.total = page.numberMatched ?? page.features.length;
    this.next = page.next;
    this.render();
  }

  /** The next page, added under the houses listed; focus goes to its first house. */
  async more() {
    if (!this.next) return;
    const controller = this.controller;
    const page = await loading(() => api(this.next));
    if (!page || controller !== this.controller) return;
    const first = this.houses.length;
    this.houses = this.houses.concat(page.features);
    this.next = page.next;
    this.render();
    this.list.querySelectorAll('.house-item')[first]?.focus();
  }

  /** Opens a house of the list: the map flies to it (and narrows beside the panel), the list stays. */
  async open(id) {
    this.holdMove = true;
    try {
      await this.app.openHouse(id, { fly: true });
    } finally {
      const map = this.app.map.map;
      // Released once the map stands still (the fly, and the resize beside the panel, are over).
      const release = () => {
        if (map.isMoving()) map.once('moveend', release);
        else setTimeout(() => { if (!map.isMoving()) this.holdMove = false; else release(); }, 300);
      };
      release();
    }
  }

  render() {
    // The house that had the focus keeps it when the list is drawn again.
    const focused = this.list.contains(document.activeElement) ? document.activeElement.closest('li')?.dataset.id : null;
    const shown = this.houses.length;
    const count = el('p', { class: 'count', id: 'list-count', role: 'status' },
      t('list.total', { n: number(this.total) }),
      shown < this.total ? t('list.shown', { n: number(shown) }) : '');
    const village = this.village
      ? el('p', { class: 'list-village' }, t('list.village', { name: this.village.name }), ' ',
        el('button', { type: 'button', class: 'link', onclick: () => this.showVillage(null) }, t('list.village.all')))
      : '';
    if (!shown) {
      this.list.replaceChildren(count, village, el('p', { class: 'hint' }, t('list.empty')));
      return;
    }
    const items = this.houses.map((f) => {
      const p = f.properties;
      const l = p.listing;
      return el('li', { dataset: { id: f.id } },
        el('button', { type: 'button', class: 'house-item', onclick: () => this.open(f.id) },
          el('strong', {}, l?.title ? chinese(l.title) : [placeName(p.village, p.village_pinyin), ` · ${p.unit_number.slice(12, 19)}`]),
          el('span', {}, placeName(p.township_name, p.township_name_pinyin), ' ', placeName(p.village, p.village_pinyin),
            ` · ${p.unit_number.slice(12, 19)}`),
          el('span', {}, `${t('m2', { v: number(p.floor_area_m2, 0) })} · ${l ? t('list.rent', { v: number(l.asking_rent_yuan) }) : ''}`),
          el('span', {}, l ? t('list.notice_end', { d: l.notice_end }) : ''),
          el('span', { class: 'uses' }, (l?.allowed_uses ?? []).map((u) => t(`use.${u}`)).join(' · '))));
    });
    const more = this.next
      ? el('button', { type: 'button', class: 'more', id: 'list-more', onclick: () => this.more() },
        t('list.load_more', { n: number(Math.min(PAGE, this.total - shown)) }))
      : '';
    this.list.replaceChildren(count, village, el('ul', { class: 'house-list' }, items), more);
    if (focused) this.list.querySelector(`li[data-id="${focused}"] button`)?.focus();
  }
}

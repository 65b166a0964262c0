// Search by village or township name, a house's short code (JC00004) or the start of its unit number
// (GET /api/v1/farmhouses?q=…): the count of every house found, results in pages under the box with
// status, floor area and rent; the arrow keys go through them; choosing one opens the house; Escape
// closes them and returns to the box.

import { api, el, loading, placeName, query } from './api.js';
import { number, onLangChange, t } from './i18n.js';
import './texts.js';

const PAGE = 20;

export class Search {
  /**
   * @param {HTMLFormElement} form  the search form (an input named q)
   * @param {HTMLElement} results   the results list
   * @param {object} app            { openHouse(id, options) }
   */
  constructor(form, results, app) {
    this.form = form;
    this.results = results;
    this.app = app;
    this.last = null;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.run(form.elements.q.value.trim());
    });
    form.elements.q.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown' && !this.results.hidden) {
        e.preventDefault();
        this.buttons()[0]?.focus();
      }
    });
    // The arrow keys go through every result (and the button for more); up from the first: the box.
    results.addEventListener('keydown', (e) => {
      const buttons = this.buttons();
      const at = buttons.indexOf(document.activeElement);
      if (at < 0) return;
      let next = null;
      if (e.key === 'ArrowDown') next = buttons[Math.min(at + 1, buttons.length - 1)];
      else if (e.key === 'ArrowUp') next = at === 0 ? form.elements.q : buttons[at - 1];
      else if (e.key === 'Home') next = buttons[0];
      else if (e.key === 'End') next = buttons[buttons.length - 1];
      if (!next) return;
      e.preventDefault();
      next.focus();
    });
    onLangChange(() => this.last && this.render());
  }

  buttons() {
    return [...this.results.querySelectorAll('button')];
  }

  async run(q) {
    if (!q) {
      this.close();
      return;
    }
    const page = await loading(() => api(`/api/v1/farmhouses${query({ q, limit: PAGE })}`));
    if (!page) return;
    this.last = { q, features: page.features, total: page.numberMatched ?? page.features.length, next: page.next };
    this.render();
    // A new search starts at its first result and its count.
    this.results.scrollTop = 0;
  }

  /** The next page of results, under those shown; focus goes to its first. */
  async more() {
    const last = this.last;
    if (!last?.next) return;
    const page = await loading(() => api(last.next));
    if (!page || this.last !== last) return;
    const first = last.features.length;
    last.features = last.features.concat(page.features);
    last.next = page.next;
    this.render();
    this.results.querySelectorAll('li button')[first]?.focus();
  }

  render() {
    const { q, features, total, next } = this.last;
    this.results.hidden = false;
    if (!features.length) {
      this.results.replaceChildren(el('p', { role: 'status' }, t('search.none', { q })));
      return;
    }
    // Place names in both languages (pinyin, then the Chinese marked lang="zh", in English).
    const line = (p) => [
      placeName(p.township_name, p.township_name_pinyin), ' ', placeName(p.village, p.village_pinyin),
      ` · ${[
        p.unit_number,
        t(`status.${p.status}`),
        t('m2', { v: number(p.floor_area_m2, 0) }),
        p.listing ? t('search.rent', { v: number(p.listing.asking_rent_yuan) }) : '',
      ].filter(Boolean).join(' · ')}`,
    ];
    this.results.replaceChildren(
      el('p', { role: 'status', class: 'count' }, t('search.total', { n: number(total) }),
        features.length < total ? t('search.shown', { n: number(features.length) }) : ''),
      el('ul', {}, features.map((f) => el('li', {},
        el('button', {
          type: 'button',
          onclick: () => {
            this.close();
            this.app.openHouse(f.id, { fly: true });
          },
        }, line(f.properties))))),
      next ? el('button', { type: 'button', class: 'more', id: 'search-more', onclick: () => this.more() },
        t('search.more', { n: number(Math.min(PAGE, total - features.length)) })) : '',
    );
  }

  /** Closes the results; focus in them goes back to the box. */
  close() {
    const within = this.results.contains(document.activeElement);
    this.results.hidden = true;
    this.results.replaceChildren();
    this.last = null;
    if (within) this.form.elements.q.focus();
  }
}

// Search by village name or the start of a unit number (GET /api/v1/farmhouses?q=…): results in a
// list under the box; choosing one opens the house.

import { api, el, loading, query } from './api.js';
import { onLangChange, t } from './i18n.js';

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
      if (e.key === 'ArrowDown') this.results.querySelector('button')?.focus();
    });
    onLangChange(() => this.last && this.render());
  }

  async run(q) {
    if (!q) {
      this.close();
      return;
    }
    const page = await loading(() => api(`/api/v1/farmhouses${query({ q, limit: 20 })}`));
    if (!page) return;
    this.last = { q, features: page.features };
    this.render();
  }

  render() {
    const { q, features } = this.last;
    this.results.hidden = false;
    if (!features.length) {
      this.results.replaceChildren(el('p', { role: 'status' }, t('search.none', { q })));
      return;
    }
    this.results.replaceChildren(
      el('p', { role: 'status', class: 'count' }, t('search.results', { n: features.length })),
      el('ul', {}, features.map((f) => el('li', {},
        el('button', {
          type: 'button',
          onclick: () => {
            this.close();
            this.app.openHouse(f.id, { fly: true });
          },
        }, `${f.properties.village} · ${f.properties.unit_number} · ${t(`status.${f.properties.status}`)}`)))));
  }

  close() {
    this.results.hidden = true;
    this.results.replaceChildren();
    this.last = null;
  }
}

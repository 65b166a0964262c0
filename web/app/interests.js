// Investors' interests (意向登记): the "my interests" tab lists what the investor registered, each with
// its house's place (in English its pinyin with the Chinese beside it) and message, and opens the house;
// the house panel shows an officer the interests registered in its open listing.

import { api, chinese, el, loading, placeName } from './api.js';
import { lang, onLangChange, t } from './i18n.js';

/** A date and time of the service in the page's language. */
function when(at) {
  return new Intl.DateTimeFormat(lang() === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' })
    .format(new Date(at));
}

/** The place of an interest's house: township · village, in both languages in English. */
function place(i) {
  return el('span', { class: 'interest-place' }, placeName(i.township_name, i.township_name_pinyin), ' · ',
    placeName(i.village, i.village_pinyin));
}

export class Interests {
  /**
   * @param {HTMLElement} root the tab's panel
   * @param {object} app { openHouse(id) }
   */
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.items = null;
    onLangChange(() => this.items && this.render());
  }

  /** Loads the investor's own interests (the service answers only theirs). */
  async refresh() {
    const items = await loading(() => api('/api/v1/interests'));
    if (items) {
      this.items = items;
      this.render();
    }
  }

  reset() {
    this.items = null;
    this.root.replaceChildren();
  }

  render() {
    const items = this.items ?? [];
    this.root.replaceChildren(
      el('h2', {}, t('interests.title')),
      items.length
        ? el('ul', { id: 'my-interests', class: 'interests' }, items.slice().reverse().map((i) => el('li', { dataset: { listing: i.listing_id } },
          el('p', { class: 'interest-title' }, i.listing_title ? chinese(i.listing_title) : i.unit_number),
          el('p', {}, place(i)),
          el('p', { class: 'hint' }, t('interests.at', { at: when(i.created_at) })),
          i.message ? el('p', { class: 'interest-message' }, chinese(i.message)) : null,
          el('button', { type: 'button', onclick: () => this.app.openHouse(i.farmhouse_id) }, t('interests.open')))))
        : el('p', { class: 'hint', id: 'my-interests-none' }, t('interests.none')));
  }
}

/** The interests registered in a listing, as the officer's house panel shows them. */
export function listingInterests(items) {
  return el('section', { class: 'interests', id: 'listing-interests' },
    el('h3', {}, t('house.interests')),
    items.length
      ? el('ul', {}, items.map((i) => el('li', { dataset: { user: i.username } },
        el('p', {}, t('house.interests.entry', { who: i.display_name || i.username, at: when(i.created_at) }),
          i.contact_phone ? ` · ${i.contact_phone}` : ''),
        i.message ? el('p', { class: 'interest-message' }, chinese(i.message)) : null)))
      : el('p', { class: 'hint' }, t('house.interests.none')));
}

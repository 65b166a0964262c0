// The public figures over the map, for every visitor: certified houses, certified floor area, transaction
// amount and activation rate (certified / registered houses) of the district and of one township — the
// one under the pointer, else the one chosen (a click on the map or the list beside its name). From
// GET /api/v1/stats/summary, asked again every 10 s and when the window gets the focus with the last
// ETag, so an officer's certification elsewhere shows without a reload (the service answers 304 while
// nothing changed).

import { apiIfChanged, el } from './api.js';
import { zoomToTownship } from './stats.js';
import { lang, number, onLangChange, t, wan } from './i18n.js';

/** How often the figures are asked for again (ms). */
export const POLL_MS = 10_000;

const FIGURES = ['certified', 'area', 'amount', 'rate'];

export class Figures {
  /**
   * @param {HTMLElement} root  the figures' box (#figures)
   * @param {object} app        { map: FarmMap, summaryChanged() }
   */
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.summary = null;
    this.etag = null;
    this.chosen = null;
    this.hovered = null;
    this.select = root.querySelector('#figures-township');
    this.select.addEventListener('change', () => this.choose(this.select.value || null));
    onLangChange(() => this.render());
    window.addEventListener('focus', () => this.refresh());
    document.addEventListener('visibilitychange', () => { if (!document.hidden) this.refresh(); });
    setInterval(() => { if (!document.hidden) this.refresh(); }, POLL_MS);
  }

  /**
   * Asks for the summary (again); answers whether it changed. A change the page did not make itself
   * tells the app (`quiet`: the page made it, or the session changed). A failed poll keeps the figures
   * shown and tries again at the next one.
   */
  async refresh({ quiet = false } = {}) {
    if (this.pending) return this.pending;
    this.pending = (async () => {
      try {
        const first = this.summary === null;
        const { changed, etag, data } = await apiIfChanged('/api/v1/stats/summary', this.etag);
        if (!changed) return false;
        this.etag = etag;
        this.summary = data;
        if (this.select.options.length <= 1) {
          this.select.append(...data.by_township.map((r) => el('option', { value: r.code }, r.name)));
          this.select.value = this.chosen ?? '';
        }
        this.render();
        if (!first && !quiet) this.app.summaryChanged();
        return true;
      } catch {
        this.root.dataset.stale = 'true';
        return false;
      } finally {
        this.pending = null;
      }
    })();
    return this.pending;
  }

  /** Chooses a township (null: none), from the list or a click on the map, and outlines it. */
  choose(code) {
    this.chosen = code || null;
    this.select.value = this.chosen ?? '';
    this.app.map.selectTownship(this.chosen);
    this.render();
    // The township on the map, whole: its figures are in the row above it.
    zoomToTownship(this.app, this.chosen);
  }

  /** The township under the pointer (null when it left them): shown while it is there. */
  hover(code) {
    const next = code ? String(code) : null;
    if (next === this.hovered) return;
    this.hovered = next;
    this.render();
  }

  render() {
    const s = this.summary;
    if (!s) return;
    delete this.root.dataset.stale;
    const zh = lang() === 'zh';
    for (const [i, key] of FIGURES.entries()) {
      this.root.querySelectorAll('thead th')[i + 1].textContent = t(`figures.${key}${key === 'area' || key === 'amount' ? (zh ? '.wan' : '.unit') : ''}`);
    }
    fill(this.root.querySelector('#figures-district'), s, s.houses?.total);
    const code = this.hovered ?? this.chosen;
    const row = code ? s.by_township.find((r) => r.code === code) : null;
    const township = this.root.querySelector('#figures-township-row');
    const name = this.root.querySelector('#figures-hovered');
    // While the pointer is over a township its name stands in for the list (which keeps the choice).
    const hovering = this.hovered !== null && this.hovered !== this.chosen && row;
    name.textContent = hovering ? row.name : '';
    name.hidden = !hovering;
    this.select.hidden = Boolean(hovering);
    township.dataset.code = row?.code ?? '';
    fill(township, row, row?.houses);
  }
}

/** The four cells of a row: figures of `s` (with `houses` registered), or dashes without one. */
function fill(row, s, houses) {
  const zh = lang() === 'zh';
  const shown = s ? {
    certified: [number(s.certified_houses), s.certified_houses],
    area: [zh ? wan(s.certified_floor_area_m2) : number(s.certified_floor_area_m2), s.certified_floor_area_m2],
    amount: [zh ? wan(s.transaction_amount_yuan) : number(Number(s.transaction_amount_yuan)), s.transaction_amount_yuan],
    rate: houses ? [`${number((100 * s.certified_houses) / houses, 1)}%`, s.certified_houses / houses] : ['—', ''],
  } : null;
  const cells = row.querySelectorAll('td');
  for (const [i, key] of FIGURES.entries()) {
    const [text, raw] = shown?.[key] ?? ['—', ''];
    cells[i].textContent = text;
    cells[i].dataset.value = raw;
  }
}

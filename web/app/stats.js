// Activation figures for officials (and officers): totals of the district and of the chosen township
// (certified houses, certified floor area in 万 m², transaction amount in 万元), money and credit (rent
// received by the households and by the village collectives, rent overdue, pledges in force; in 万元), a
// monthly chart, a table by township, and the table as CSV. All from GET /api/v1/stats/summary; the houses,
// income, overdue rent and pledges as CSV from the service's own exports.

import { api, downloadCsv, el, loading, query } from './api.js';
import { bbox } from './geometry.js';
import { number, onLangChange, t, wan } from './i18n.js';

const SVG = 'http://www.w3.org/2000/svg';

export class Stats {
  /**
   * @param {HTMLElement} root  the statistics tab
   * @param {object} app        { map: FarmMap }
   */
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.district = null;
    this.township = null;
    this.select = root.querySelector('#stats-township');
    this.select.addEventListener('change', () => this.choose(this.select.value || null));
    root.querySelector('#export-csv').addEventListener('click', () => this.exportCsv());
    onLangChange(() => this.render());
  }

  /** Loads the district's figures, and the chosen township's. */
  async refresh() {
    this.root.setAttribute('aria-busy', 'true');
    const [district, township] = await loading(() => Promise.all([
      api('/api/v1/stats/summary'),
      this.township ? api(`/api/v1/stats/summary${query({ township: this.township })}`) : null,
    ])) ?? [];
    this.root.removeAttribute('aria-busy');
    if (!district) return;
    this.district = district;
    this.townshipFigures = township;
    if (this.select.options.length <= 1) {
      this.select.append(...district.by_township.map((r) => el('option', { value: r.code }, r.name)));
    }
    this.render();
  }

  /** Chooses a township (or the whole district with null), from the list or a click on the map. */
  async choose(code) {
    this.township = code;
    this.select.value = code ?? '';
    // The registry's own export (no owner data) of the houses of the district or of this township, and
    // the service's reports of income, overdue rent and pledges.
    this.root.querySelector('#export-houses').href = `/api/v1/export/farmhouses.csv${query({ township: code })}`;
    for (const report of ['income', 'overdue', 'pledges']) {
      this.root.querySelector(`#export-${report}`).href = `/api/v1/stats/${report}.csv${query({ township: code })}`;
    }
    this.app.map.selectTownship(code);
    const zoomed = zoomToTownship(this.app, code);
    await this.refresh();
    await zoomed;
    // Its figures in view, in the tab's own scroll (or the phone's drawer).
    if (code) this.root.querySelector('#totals-township').scrollIntoView({ block: 'nearest' });
  }

  render() {
    if (!this.district) return;
    const d = this.district;
    this.root.querySelector('#totals-district').replaceChildren(...totals(d, 'total'), ...money(d, 'total'));
    const tw = this.townshipFigures;
    const twBox = this.root.querySelector('#totals-township');
    twBox.hidden = !tw;
    if (tw) {
      const name = d.by_township.find((r) => r.code === tw.township)?.name ?? tw.township;
      twBox.replaceChildren(el('h4', {}, name), ...totals(tw, 'township'), ...money(tw, 'township'));
    }
    const months = (tw ?? d).by_month;
    this.root.querySelector('#monthly-chart').replaceChildren(chart(months));
    this.root.querySelector('#township-table tbody').replaceChildren(...d.by_township.map((r) => {
      const row = el('tr', { dataset: { code: r.code }, class: r.code === this.township ? 'chosen' : '' },
        el('th', { scope: 'row' }, el('button', { type: 'button', class: 'link', onclick: () => this.choose(r.code) }, r.name)),
        el('td', {}, number(r.houses)),
        el('td', {}, number(r.certified_houses)),
        el('td', {}, wan(r.certified_floor_area_m2)),
        el('td', {}, wan(r.transaction_amount_yuan)));
      return row;
    }));
  }

  /** The township table as a CSV file (UTF-8 with BOM, so spreadsheet programs read the Chinese). */
  exportCsv() {
    if (!this.district) return;
    const head = ['code', 'stats.col.township', 'stats.col.houses', 'stats.col.certified', 'stats.col.area', 'stats.col.amount']
      .map((k) => (k === 'code' ? 'code' : t(k)));
    const rows = this.district.by_township.map((r) => [
      r.code, r.name, r.houses, r.certified_houses, (r.certified_floor_area_m2 / 10000).toFixed(2),
      (Number(r.transaction_amount_yuan) / 10000).toFixed(2),
    ]);
    const d = this.district;
    rows.push(['330604', t('stats.district'), d.houses?.total ?? '', d.certified_houses,
      (d.certified_floor_area_m2 / 10000).toFixed(2), (Number(d.transaction_amount_yuan) / 10000).toFixed(2)]);
    downloadCsv('shangyu-activation-by-township.csv', [head, ...rows]);
  }
}

/** The outlines of the townships, read once (GET /collections/townships/items). */
let outlines = null;

/**
 * Fits the map to township `code` (null: nothing). The map keeps its view when the township's outline
 * cannot be read; a caller need not wait for it.
 */
export async function zoomToTownship(app, code) {
  if (!code) return;
  outlines ??= api('/collections/townships/items?limit=200')
    .then((c) => new Map(c.features.map((f) => [String(f.properties.code ?? f.id), f.geometry])))
    .catch(() => { outlines = null; return new Map(); });
  const geometry = (await outlines).get(String(code));
  if (!geometry) return;
  const [w, s, e, n] = bbox(geometry);
  // On a desktop the figures' box covers the map's top and the legend, when open, its bottom left: keep
  // the township clear of both (a phone has the figures above the map and the legend closed).
  const wide = !window.matchMedia('(max-width: 720px)').matches;
  const legend = wide && document.getElementById('legend')?.open;
  const padding = wide ? { top: 150, bottom: 40, left: legend ? 240 : 40, right: 60 } : 20;
  app.map.map.fitBounds([[w, s], [e, n]], { padding, duration: 500, essential: true });
}

/** One figure: its label, the value as shown (id `<prefix>-<id>`) and the raw value in data-value. */
function card(prefix, id, label, shown, raw) {
  return el('div', { class: 'figure' },
    el('span', { class: 'label' }, t(label)),
    el('span', { class: 'value', id: `${prefix}-${id}`, dataset: { value: raw } }, shown));
}

/** Three figures: certified houses, floor area (万 m²), amount (万元). */
function totals(s, prefix) {
  return [
    card(prefix, 'certified', 'stats.certified_houses', number(s.certified_houses), s.certified_houses),
    card(prefix, 'area', 'stats.area', wan(s.certified_floor_area_m2), s.certified_floor_area_m2),
    card(prefix, 'amount', 'stats.amount', wan(s.transaction_amount_yuan), s.transaction_amount_yuan),
  ];
}

/**
 * Money and credit: rent received by the households and by the village collectives (万元), and what the
 * service tells staff only — rent overdue (万元), pledges in force (their number and amount, 万元).
 */
function money(s, prefix) {
  if (s.household_income_yuan === undefined) return [];
  const cards = [
    card(prefix, 'household', 'stats.household_income', wan(s.household_income_yuan), s.household_income_yuan),
    card(prefix, 'collective', 'stats.collective_income', wan(s.collective_income_yuan), s.collective_income_yuan),
  ];
  if (s.overdue_yuan !== undefined) cards.push(card(prefix, 'overdue', 'stats.overdue', wan(s.overdue_yuan), s.overdue_yuan));
  if (s.pledges_in_force !== undefined) {
    cards.push(card(prefix, 'pledges', 'stats.pledges', number(s.pledges_in_force), s.pledges_in_force),
      card(prefix, 'pledged', 'stats.pledged', wan(s.pledged_amount_yuan), s.pledged_amount_yuan));
  }
  // A grid of their own, so that their larger amounts do not widen the columns above.
  return [el('div', { class: 'figures money' }, el('h4', {}, t('stats.money')), cards)];
}

/** Bars of the certified amount per month (万元), as SVG with a title per bar. */
function chart(months) {
  if (!months?.length) return el('p', { class: 'hint' }, t('stats.none'));
  const w = 320, h = 140, pad = 22;
  const values = months.map((m) => Number(m.amount_yuan) / 10000);
  const max = Math.max(...values, 1);
  const bw = (w - pad) / months.length;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('role', 'img');
  const total = values.reduce((a, b) => a + b, 0);
  svg.setAttribute('aria-label', `${t('stats.monthly')}: ${months[0].month} – ${months[months.length - 1].month}, ${number(total, 2)}`);
  const node = (tag, attrs, text) => {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  };
  svg.append(node('line', { x1: pad, y1: h - pad, x2: w, y2: h - pad, class: 'axis' }));
  months.forEach((m, i) => {
    const bh = (values[i] / max) * (h - 2 * pad);
    const bar = node('rect', { x: pad + i * bw + 0.5, y: h - pad - bh, width: Math.max(bw - 1, 0.5), height: bh, class: 'bar' });
    bar.append(node('title', {}, `${m.month}: ${number(values[i], 2)} · ${m.certified}`));
    svg.append(bar);
  });
  svg.append(node('text', { x: pad, y: h - 6, class: 'tick' }, months[0].month));
  svg.append(node('text', { x: w, y: h - 6, class: 'tick end' }, months[months.length - 1].month));
  svg.append(node('text', { x: pad - 2, y: pad - 6, class: 'tick' }, number(max, 0)));
  return svg;
}

// The officials' analysis (officials, officers, admins): the activation figures of a date range, of the
// district or of one township, from GET /api/v1/stats/analysis — by month and by year on a continuous time
// axis (every month of the range, empty ones as zero) beside the same period a year earlier, by township
// (or by village of the chosen township) with the activation rate, by intended use, by deal mode, by kind
// of lessee, and the top villages. Every chart is a <figure>: its caption, the chart, a table of exactly
// its numbers and a button that downloads that table as CSV (raw numbers: m², yuan, so its columns add up
// to the totals exactly). The time series are drawn by uPlot (served from web/node_modules, pinned in
// web/package.json); the breakdowns are bars inside their tables.

import uPlot from '/vendor/uplot/uPlot.esm.js';
import { api, downloadCsv, el, loading, query } from './api.js';
import { amount, lang, number, onLangChange, t, wan } from './i18n.js';

/** What the time series can plot: the field, the field a year earlier (if the service gives one), the axis. */
const MEASURES = {
  certified: { field: 'certified', prev: 'certified_prev_year', label: 'analysis.measure.certified', scale: 1 },
  amount: { field: 'amount_yuan', prev: 'amount_yuan_prev_year', label: 'analysis.measure.amount', scale: 10000 },
  area: { field: 'certified_floor_area_m2', prev: null, label: 'analysis.measure.area', scale: 1 },
  transactions: { field: 'transactions', prev: null, label: 'analysis.measure.transactions', scale: 1 },
};

const COLOURS = { bar: '#6e50a8', prev: '#c05a00' };

/** A percentage of a ratio, as the tables show it (+12.5) and as the CSV has it (12.5); empty when none. */
const percent = (v, sign = false) => {
  if (v === null || v === undefined) return '—';
  const text = number(v * 100, 1);
  return sign && v > 0 ? `+${text}` : text;
};
const rawPercent = (v) => (v === null || v === undefined ? '' : (v * 100).toFixed(1));
const money = amount;

/**
 * The columns of the tables: the heading's key, the raw value (what the CSV has), the text shown, and
 * whether its cell carries the bar of the breakdowns.
 */
const COL = {
  certified: { head: 'analysis.col.certified', raw: (r) => r.certified, show: (v) => number(v) },
  certifiedYoy: { head: 'analysis.col.certified_yoy', raw: (r) => rawPercent(r.certified_yoy), show: (v, r) => percent(r.certified_yoy, true) },
  area: { head: 'analysis.col.area', raw: (r) => r.certified_floor_area_m2, show: (v) => number(v, 2) },
  amount: { head: 'analysis.col.amount', raw: (r) => r.amount_yuan, show: money },
  amountYoy: { head: 'analysis.col.amount_yoy', raw: (r) => rawPercent(r.amount_yoy), show: (v, r) => percent(r.amount_yoy, true) },
  transactions: { head: 'analysis.col.transactions', raw: (r) => r.transactions, show: (v) => number(v) },
  houses: { head: 'analysis.col.houses', raw: (r) => r.houses, show: (v) => number(v) },
  rate: { head: 'analysis.col.rate', raw: (r) => rawPercent(r.activation_rate), show: (v, r) => percent(r.activation_rate) },
};
const SUMS = [COL.certified, COL.area, COL.amount, COL.transactions];

/** The charts, in the order they are shown. */
const CHARTS = [
  { id: 'monthly', caption: () => 'analysis.monthly', time: 'month', rows: (r) => r.monthly,
    label: { head: 'analysis.col.month', raw: (r) => r.period },
    columns: [COL.certified, COL.certifiedYoy, COL.area, COL.amount, COL.amountYoy, COL.transactions] },
  { id: 'yearly', caption: () => 'analysis.yearly', time: 'year', rows: (r) => r.yearly,
    label: { head: 'analysis.col.year', raw: (r) => r.period },
    columns: [COL.certified, COL.certifiedYoy, COL.area, COL.amount, COL.amountYoy, COL.transactions] },
  { id: 'area', caption: (r) => (r.area_level === 'village' ? 'analysis.by_village' : 'analysis.by_township'), rows: (r) => r.by_area,
    label: { head: (r) => (r.area_level === 'village' ? 'analysis.col.village' : 'analysis.col.township'), raw: (r) => r.name },
    columns: [COL.houses, ...SUMS, COL.rate], bar: true },
  { id: 'top', caption: () => 'analysis.top', rows: (r) => r.top_villages,
    label: { head: 'analysis.col.village', raw: (r) => r.name },
    columns: [{ head: 'analysis.col.township', raw: (r) => r.township_name, text: true }, COL.houses, ...SUMS, COL.rate], bar: true },
  { id: 'use', caption: () => 'analysis.by_use', rows: (r) => r.by_use,
    label: { head: 'analysis.col.use', raw: (r) => t(`use.${r.key}`) }, columns: SUMS, bar: true },
  { id: 'mode', caption: () => 'analysis.by_mode', rows: (r) => r.by_mode,
    label: { head: 'analysis.col.mode', raw: (r) => t(`analysis.mode.${r.key}`) }, columns: SUMS, bar: true },
  { id: 'lessee', caption: () => 'analysis.by_lessee', rows: (r) => r.by_lessee_kind,
    label: { head: 'analysis.col.lessee', raw: (r) => t(`analysis.lessee.${r.key}`) }, columns: SUMS, bar: true },
];

export class Analysis {
  /**
   * @param {HTMLElement} root  the analysis tab
   * @param {object} app        { map: FarmMap }
   */
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.data = null;
    this.plots = [];
    this.measure = 'certified';
    this.form = root.querySelector('#analysis-form');
    this.from = root.querySelector('#analysis-from');
    this.to = root.querySelector('#analysis-to');
    this.township = root.querySelector('#analysis-township');
    this.measureSelect = root.querySelector('#analysis-measure');
    this.charts = root.querySelector('#analysis-charts');
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.refresh();
    });
    this.township.addEventListener('change', () => this.choose(this.township.value || null));
    this.measureSelect.addEventListener('change', () => {
      this.measure = this.measureSelect.value;
      this.render();
    });
    root.querySelector('#analysis-all').addEventListener('click', () => {
      this.from.value = '';
      this.to.value = '';
      this.refresh();
    });
    this.charts.addEventListener('click', (e) => {
      const button = e.target.closest('button[data-csv]');
      if (button) this.download(button.dataset.csv);
    });
    // The charts follow the width of the panel (a phone turned, the window resized).
    let width = 0;
    new ResizeObserver(() => {
      const w = this.charts.clientWidth;
      if (w && Math.abs(w - width) > 8) {
        width = w;
        this.resize();
      }
    }).observe(this.charts);
    onLangChange(() => this.render());
  }

  /** The tab was opened: the figures of the default range are loaded the first time. */
  async show() {
    if (!this.data) await this.refresh();
    else this.resize();
  }

  /** The records changed (a certification): the figures are loaded again, now or when the tab is next opened. */
  changed() {
    if (!this.data) return;
    if (this.root.hidden) this.data = null;
    else this.refresh();
  }

  /** Logged out, or another role: nothing of the last account's figures stays. */
  reset() {
    this.data = null;
    this.from.value = '';
    this.to.value = '';
    this.township.value = '';
    this.township.replaceChildren(this.township.options[0]);
    this.destroyPlots();
    this.charts.replaceChildren();
    this.root.querySelector('#analysis-totals').replaceChildren();
  }

  /** Loads the figures of the range and township chosen (the service's defaults for empty dates). */
  async refresh() {
    this.abort?.abort();
    const abort = new AbortController();
    this.abort = abort;
    this.root.setAttribute('aria-busy', 'true');
    const path = `/api/v1/stats/analysis${query({ from: this.from.value, to: this.to.value, township: this.township.value })}`;
    const data = await loading(() => api(path, { signal: abort.signal }));
    if (abort.signal.aborted) return;
    this.root.removeAttribute('aria-busy');
    if (!data) return;
    this.data = data;
    this.from.value = data.from;
    this.to.value = data.to;
    if (data.area_level === 'township' && this.township.options.length <= 1) {
      this.township.append(...data.by_area.map((a) => el('option', { value: a.code }, a.name)));
    }
    this.render();
  }

  /** Drills down to one township (null: the district), from the list, the table or a click on the map. */
  choose(code) {
    this.township.value = code ?? '';
    this.app.map.selectTownship(code || null);
    return this.refresh();
  }

  render() {
    const r = this.data;
    if (!r) return;
    const scope = r.township_name ?? t('stats.district');
    this.root.querySelector('#analysis-scope').textContent = t('analysis.scope', { scope, from: r.from, to: r.to });
    const tot = r.totals;
    this.root.querySelector('#analysis-totals').replaceChildren(
      card('houses', 'analysis.total.houses', number(tot.houses), tot.houses),
      card('certified', 'analysis.total.certified', number(tot.certified), tot.certified),
      card('area', 'analysis.total.area', wan(tot.certified_floor_area_m2), tot.certified_floor_area_m2),
      card('amount', 'analysis.total.amount', wan(tot.amount_yuan), tot.amount_yuan),
      card('transactions', 'analysis.total.transactions', number(tot.transactions), tot.transactions),
      card('rate', 'analysis.total.rate', tot.activation_rate === null ? '—' : `${percent(tot.activation_rate)}%`, tot.activation_rate ?? ''),
    );
    this.destroyPlots();
    this.charts.replaceChildren(...CHARTS.map((c) => this.figure(c)));
    this.resize();
    // What is shown, for the browser tests to wait on.
    this.root.dataset.shown = `${r.from}/${r.to}/${r.township ?? ''}/${lang()}/${this.measure}`;
  }

  /** One chart as a figure: caption, the chart, the table of its numbers, the CSV button. */
  figure(chart) {
    const r = this.data;
    const rows = chart.rows(r) ?? [];
    const captionId = `chart-${chart.id}-caption`;
    const caption = t(chart.caption(r), { township: r.township_name ?? '' });
    const heads = this.heads(chart);
    const measure = MEASURES[this.measure];
    // The bars of a breakdown show the measure chosen for the charts, against the largest row.
    const barCol = chart.bar ? colOf(measure.field) : null;
    const max = Math.max(...rows.map((row) => Number(barCol?.raw(row)) || 0), 0);
    const body = rows.map((row) => {
      const name = chart.label.raw(row);
      const head = chart.id === 'area' && r.area_level === 'township' && row.code
        ? el('button', { type: 'button', class: 'link', onclick: () => this.choose(row.code) }, name)
        : name;
      return el('tr', { dataset: row.code ? { code: row.code } : {} },
        el('th', { scope: 'row' }, head),
        chart.columns.map((c) => {
          const raw = c.raw(row);
          const shown = c.text ? raw : c.show(raw, row);
          if (c !== barCol) return el('td', { class: c.text ? 'text' : '' }, shown);
          const w = max > 0 ? (Number(raw) / max) * 100 : 0;
          return el('td', { class: 'with-bar' },
            el('span', { class: 'hbar', style: `width:${w.toFixed(1)}%`, 'aria-hidden': 'true' }), shown);
        }));
    });
    const table = el('table', { class: 'numbers', 'aria-labelledby': captionId },
      el('thead', {}, el('tr', {}, heads.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, body));
    // A table taller or wider than its room scrolls: focusable, so the keyboard scrolls it too.
    const wrap = el('div', { class: `table-wrap${rows.length > 12 ? ' scroll' : ''}`, tabindex: '0', role: 'region',
      'aria-labelledby': captionId }, table);
    const parts = [el('figcaption', { id: captionId }, caption)];
    if (chart.time) {
      const plot = el('div', { class: 'plot', role: 'img', dataset: { chart: chart.id } });
      plot.setAttribute('aria-label', this.plotLabel(chart, rows, caption));
      parts.push(plot, legend(measure));
    }
    if (!rows.length) parts.push(el('p', { class: 'hint' }, t('stats.none')));
    parts.push(wrap, el('p', { class: 'actions compact' },
      el('button', { type: 'button', dataset: { csv: chart.id } }, t('analysis.csv'),
        el('span', { class: 'visually-hidden' }, `：${caption}`))));
    return el('figure', { id: `chart-${chart.id}`, class: `chart-figure${chart.time ? ' time' : ''}` }, parts);
  }

  heads(chart) {
    const label = typeof chart.label.head === 'function' ? chart.label.head(this.data) : chart.label.head;
    return [t(label), ...chart.columns.map((c) => t(c.head))];
  }

  /** What a time chart shows, in words, for a screen reader (the table has the numbers). */
  plotLabel(chart, rows, caption) {
    const m = MEASURES[this.measure];
    const total = rows.reduce((s, row) => s + Number(row[m.field] || 0), 0);
    const first = rows[0]?.period ?? '';
    const last = rows.at(-1)?.period ?? '';
    return t('analysis.plot.label', { caption, measure: t(m.label), first, last, total: number(total / m.scale, m.scale > 1 ? 2 : 0) });
  }

  /** The CSV of a chart: exactly its table's header, rows and columns, with the numbers raw. */
  download(id) {
    const chart = CHARTS.find((c) => c.id === id);
    if (!chart || !this.data) return;
    const rows = (chart.rows(this.data) ?? []).map((row) => [chart.label.raw(row), ...chart.columns.map((c) => c.raw(row))]);
    const r = this.data;
    const name = `shangyu-analysis-${id}-${r.from}-${r.to}${r.township ? `-${r.township}` : ''}.csv`;
    downloadCsv(name, [this.heads(chart), ...rows]);
  }

  destroyPlots() {
    for (const p of this.plots) p.destroy();
    this.plots = [];
  }

  /** (Re)draws the time series at the width of their figures; nothing while the tab is hidden. */
  resize() {
    if (!this.data) return;
    for (const box of this.charts.querySelectorAll('.plot')) {
      const width = box.clientWidth;
      if (!width) continue;
      const height = Math.round(Math.min(240, Math.max(180, width * 0.36)));
      const existing = this.plots.find((p) => p.root.parentElement === box);
      if (existing) existing.setSize({ width, height });
      else this.plots.push(this.plot(box, CHARTS.find((c) => c.id === box.dataset.chart), width, height));
    }
  }

  /** A uPlot chart of a series: bars of the measure, and a dashed line of the same period a year earlier. */
  plot(box, chart, width, height) {
    const rows = chart.rows(this.data) ?? [];
    const m = MEASURES[this.measure];
    const x = rows.map((row) => stamp(row.period));
    const step = chart.time === 'month' ? 15 * 86400 : 183 * 86400;
    const series = [{}, {
      label: t(m.label), stroke: COLOURS.bar, fill: COLOURS.bar, width: 0,
      paths: uPlot.paths.bars({ size: [0.72, 64], align: 0 }), points: { show: false },
    }];
    const data = [x, rows.map((row) => Number(row[m.field] || 0) / m.scale)];
    if (m.prev) {
      series.push({ label: t('analysis.prev_year'), stroke: COLOURS.prev, width: 1.5, dash: [5, 4], points: { show: false } });
      data.push(rows.map((row) => Number(row[m.prev] || 0) / m.scale));
    }
    const zh = lang() === 'zh';
    const names = zh ? ZH_DATE_NAMES : undefined;
    const top = Math.max(1, ...data.slice(1).flat());
    const opts = {
      width, height,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      fmtDate: (tpl) => uPlot.fmtDate(zh ? tpl.replace('{MMM}', '{M}月') : tpl, names),
      legend: { show: false },
      cursor: { show: false },
      scales: {
        x: { time: true, range: () => [(x[0] ?? 0) - step, (x.at(-1) ?? 0) + step] },
        y: { range: () => [0, top * 1.08] },
      },
      axes: [
        { stroke: '#5b6470', grid: { stroke: '#eceff3' }, ticks: { stroke: '#d5dae0' }, size: 34 },
        { stroke: '#5b6470', grid: { stroke: '#eceff3' }, ticks: { stroke: '#d5dae0' }, size: 56,
          values: (u, splits) => splits.map((v) => number(v, m.scale > 1 && top < 10 ? 1 : 0)) },
      ],
      series,
    };
    return new uPlot(opts, data, box);
  }
}

const ZH_DATE_NAMES = {
  MMMM: ['1月', '2月', '3月', '4月', '5月', '6月', '7月', '8月', '9月', '10月', '11月', '12月'],
  MMM: ['1月', '2月', '3月', '4月', '5月', '6月', '7月', '8月', '9月', '10月', '11月', '12月'],
  WWWW: ['星期日', '星期一', '星期二', '星期三', '星期四', '星期五', '星期六'],
  WWW: ['日', '一', '二', '三', '四', '五', '六'],
};

/** The first instant (UTC seconds) of a period: "2024-03" a month, "2024" a year. */
function stamp(period) {
  const [y, m] = period.split('-').map(Number);
  return Date.UTC(y, (m || 1) - 1, 1) / 1000;
}

/** The column that holds an API field, for the bars of the breakdowns. */
function colOf(field) {
  return { certified: COL.certified, amount_yuan: COL.amount, certified_floor_area_m2: COL.area, transactions: COL.transactions }[field];
}

/** The key under a time chart: the bars and the line of a year earlier. */
function legend(m) {
  return el('p', { class: 'plot-legend', 'aria-hidden': 'true' },
    el('span', {}, el('span', { class: 'swatch', style: `background:${COLOURS.bar}` }), t(m.label)),
    m.prev ? el('span', {}, el('span', { class: 'swatch dashed', style: `border-color:${COLOURS.prev}` }), t('analysis.prev_year')) : null);
}

/** One total: its label and the value as shown (id analysis-total-<id>), the raw value in data-value. */
function card(id, label, shown, raw) {
  return el('div', { class: 'figure' },
    el('span', { class: 'label' }, t(label)),
    el('span', { class: 'value', id: `analysis-total-${id}`, dataset: { value: raw } }, shown));
}

// Officials' analysis: the tab shows GET /api/v1/stats/analysis as charts, each with a table of its numbers
// and a CSV of exactly that table. Every month of the range is a row (empty ones as zero, no gap); the CSV
// of each chart with sums adds up to the summary's certified houses, floor area and amount; a township
// drills down to its villages, which add up to its row; a narrower range changes the figures; the view
// is translated and has no serious or critical axe-core violation.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { SCREENSHOTS, axeViolations as violations, getJson, launch, logIn, mapIdle, openMap } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The cells of a CSV text (quoted cells as RFC 4180 has them), after the BOM. */
function parseCsv(text) {
  assert.ok(text.startsWith('\ufeff'), 'UTF-8 with a BOM');
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  const body = text.slice(1);
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (quoted) {
      if (c === '"' && body[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\r' && body[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}

/** Downloads the CSV of chart `id` from its button: its rows, the header first. */
async function csvOf(page, id) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#chart-${id} button[data-csv="${id}"]`)]);
  assert.match(download.suggestedFilename(), new RegExp(`^shangyu-analysis-${id}-.*\\.csv$`));
  return parseCsv(readFileSync(await download.path(), 'utf8'));
}

/** The table of chart `id` as the page shows it: header and body cells as text. */
async function tableOf(page, id) {
  return page.locator(`#chart-${id} table`).evaluate((table) => ({
    head: [...table.querySelectorAll('thead th')].map((th) => th.textContent),
    rows: [...table.querySelectorAll('tbody tr')].map((tr) => [...tr.children].map((c) => c.textContent)),
  }));
}

/** The sums of a CSV's certified, floor area and amount columns, found by their headings. */
function sums(csv) {
  const [head, ...rows] = csv;
  const col = (name) => {
    const i = head.indexOf(name);
    assert.ok(i > 0, `${name} in ${head.join(',')}`);
    return i;
  };
  const add = (i) => rows.reduce((s, r) => s + Number(r[i]), 0);
  return { certified: add(col('鉴证房屋')), area: add(col('鉴证面积（m²）')), amount: add(col('鉴证成交金额（元）')) };
}

function assertSums(got, want, what) {
  assert.equal(got.certified, want.certified, `${what}: certified`);
  assert.ok(Math.abs(got.area - want.area) <= 0.01, `${what}: floor area ${got.area} ≠ ${want.area}`);
  assert.ok(Math.abs(got.amount - want.amount) <= 0.01, `${what}: amount ${got.amount} ≠ ${want.amount}`);
}

/** Waits until the view shows the figures of `from`–`to` (empty: any) for `township` (empty: the district). */
async function shown(page, township = '') {
  await page.waitForFunction((tw) => {
    const s = document.getElementById('tab-analysis').dataset.shown;
    return s && s.split('/')[2] === tw && !document.getElementById('tab-analysis').hasAttribute('aria-busy');
  }, township);
}


const nextMonth = (p) => {
  const [y, m] = p.split('-').map(Number);
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
};

test('an official analyses the figures: every month, sums equal to the summary, townships to villages, a narrower range', async () => {
  const { page, problems } = await openMap(browser.context);
  await logIn(page, 'official');
  assert.equal(await page.isVisible('#tab-button-analysis'), true);
  // Reached from the keyboard: the tabs move with the arrow keys.
  await page.focus('#tab-button-stats');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.getAttribute('#tab-button-analysis', 'aria-selected'), 'true');
  await shown(page);
  const summary = await getJson(page, '/api/v1/stats/summary');
  const analysis = await getJson(page, '/api/v1/stats/analysis');
  assert.equal(await page.inputValue('#analysis-from'), analysis.from);
  assert.equal(await page.inputValue('#analysis-to'), analysis.to);
  assert.equal(Number(await page.getAttribute('#analysis-total-certified', 'data-value')), summary.certified_houses);

  // The monthly table: every month from the first to the last, none left out, the empty ones as zero.
  const monthly = await tableOf(page, 'monthly');
  const periods = monthly.rows.map((r) => r[0]);
  assert.equal(periods[0], analysis.from.slice(0, 7));
  assert.equal(periods.at(-1), analysis.to.slice(0, 7));
  for (let i = 1; i < periods.length; i++) assert.equal(periods[i], nextMonth(periods[i - 1]), `a gap after ${periods[i - 1]}`);
  const zeros = monthly.rows.filter((r) => r[1] === '0').map((r) => r[0]);
  assert.ok(zeros.some((p) => p.startsWith('2022')), `zero months are rows too: ${zeros.length}`);
  // The series are drawn (uPlot, a canvas per time chart).
  for (const id of ['monthly', 'yearly']) {
    const width = await page.locator(`#chart-${id} .uplot canvas`).evaluate((c) => c.width);
    assert.ok(width > 100, `${id} drawn ${width} px wide`);
  }

  // Each chart with sums: its CSV is its table, and adds up to the summary.
  const want = { certified: summary.certified_houses, area: summary.certified_floor_area_m2, amount: Number(summary.transaction_amount_yuan) };
  assert.equal(want.certified, 3535);
  for (const id of ['monthly', 'yearly', 'area', 'use', 'mode', 'lessee']) {
    const csv = await csvOf(page, id);
    const table = await tableOf(page, id);
    assert.deepEqual(csv[0], table.head, `${id}: the CSV's columns are the table's`);
    assert.equal(csv.length - 1, table.rows.length, `${id}: the CSV's rows are the table's`);
    assert.deepEqual(csv.slice(1).map((r) => r[0]), table.rows.map((r) => r[0]), `${id}: the same rows in the same order`);
    assertSums(sums(csv), want, id);
  }
  const top = await csvOf(page, 'top');
  assert.equal(top.length - 1, Math.min(10, analysis.top_villages.length));
  assert.deepEqual(top[0], (await tableOf(page, 'top')).head);
  // The lessee kinds are named in words.
  const kinds = (await tableOf(page, 'lessee')).rows.map((r) => r[0]);
  assert.ok(kinds.every((k) => ['个人', '企业', '合作社', '其他'].includes(k)), kinds.join(','));
  await page.evaluate(() => { document.getElementById('side').scrollTop = 0; });
  await mapIdle(page);
  await page.screenshot({ path: `${SCREENSHOTS}analysis.png` });

  // A township: its villages, which add up to its row of the district.
  const busiest = [...analysis.by_area].sort((a, b) => b.certified - a.certified)[0];
  await page.selectOption('#analysis-township', busiest.code);
  await shown(page, busiest.code);
  assert.match(await page.textContent('#chart-area figcaption'), new RegExp(busiest.name));
  const villages = await csvOf(page, 'area');
  assert.equal(villages[0][0], '村');
  assert.ok(villages.length > 2, 'the township has villages');
  assertSums(sums(villages), { certified: busiest.certified, area: busiest.certified_floor_area_m2, amount: busiest.amount_yuan }, busiest.name);
  assert.equal(Number(await page.getAttribute('#analysis-total-certified', 'data-value')), busiest.certified);

  // A narrower range (the district, 2019): other figures, twelve months, and its CSV adds up to its totals.
  await page.selectOption('#analysis-township', '');
  await shown(page, '');
  await page.fill('#analysis-from', '2019-01-01');
  await page.fill('#analysis-to', '2019-12-31');
  await page.click('#analysis-form button[type=submit]');
  await page.waitForFunction(() => document.getElementById('tab-analysis').dataset.shown?.startsWith('2019-01-01/2019-12-31/'));
  const narrow = await tableOf(page, 'monthly');
  assert.deepEqual(narrow.rows.map((r) => r[0]), Array.from({ length: 12 }, (_, i) => `2019-${String(i + 1).padStart(2, '0')}`));
  const total = async (k) => Number(await page.getAttribute(`#analysis-total-${k}`, 'data-value'));
  const narrowed = { certified: await total('certified'), area: await total('area'), amount: await total('amount') };
  assert.ok(narrowed.certified > 0 && narrowed.certified < want.certified, `2019: ${narrowed.certified}`);
  assertSums(sums(await csvOf(page, 'monthly')), narrowed, '2019 by month');
  assertSums(sums(await csvOf(page, 'use')), narrowed, '2019 by use');
  const yearly = await tableOf(page, 'yearly');
  assert.deepEqual(yearly.rows.map((r) => r[0]), ['2019']);

  // Back to all of the time: the defaults again.
  await page.click('#analysis-all');
  await page.waitForFunction((from) => document.getElementById('tab-analysis').dataset.shown?.startsWith(`${from}/`), analysis.from);
  assert.equal(await total('certified'), want.certified);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the analysis view is translated, has no serious or critical axe-core violation, and fits a phone', async () => {
  const { page, problems } = await openMap(browser.context);
  if (await page.evaluate(() => document.body.dataset.role !== 'official')) await logIn(page, 'official');
  await page.click('#tab-button-analysis');
  await shown(page);
  assert.deepEqual(await violations(page), [], 'analysis (zh)');
  await page.click('#lang');
  await page.waitForFunction(() => document.getElementById('tab-analysis').dataset.shown?.includes('/en/'));
  const text = await page.textContent('#tab-analysis');
  assert.doesNotMatch(text, /\b(analysis|stats|use)\.[a-z_]/, 'no untranslated keys');
  assert.match(text, /Activation analysis/);
  assert.match(text, /Certified houses/);
  assert.match(await page.textContent('#chart-lessee table'), /Person|Company|Cooperative|Other/);
  assert.match(await page.textContent('#chart-mode table'), /By agreement|Auction|Tender/);
  assert.deepEqual(await violations(page), [], 'analysis (en)');
  await page.click('#lang');
  await page.close();

  // A phone: the panel is a drawer over the map; the charts fit its width.
  const phone = await openMap(browser.context, { viewport: { width: 390, height: 844 } });
  await phone.page.click('#side-toggle');
  await phone.page.click('#tab-button-analysis');
  await shown(phone.page);
  const fits = await phone.page.evaluate(() => [...document.querySelectorAll('#analysis-charts .uplot')]
    .every((u) => u.getBoundingClientRect().right <= window.innerWidth));
  assert.ok(fits, 'the charts fit a phone');
  // The monthly chart and its table at the top of the drawer, under its tabs.
  await phone.page.evaluate(() => {
    const side = document.getElementById('side');
    const tabs = side.querySelector('.tabs').getBoundingClientRect();
    side.scrollTop += document.getElementById('chart-monthly').getBoundingClientRect().top - tabs.bottom - 8;
  });
  await phone.page.waitForTimeout(300);
  await phone.page.screenshot({ path: `${SCREENSHOTS}analysis-phone.png` });
  assert.deepEqual([...problems, ...phone.problems], []);
  await phone.page.close();
});

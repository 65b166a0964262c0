// Officials: the totals of the district and of a township equal GET /api/v1/stats/summary, shown in
// 万 m² and 万元; the monthly chart, the table by township and its CSV export.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { SCREENSHOTS, getJson, launch, logIn, mapIdle, openMap } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const wan = (v) => (Number(v) / 10000).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

async function figures(page, prefix) {
  return page.evaluate((p) => Object.fromEntries(['certified', 'area', 'amount'].map((k) => {
    const e = document.getElementById(`${p}-${k}`);
    return [k, { value: Number(e.dataset.value), text: e.textContent }];
  })), prefix);
}

test('an official sees the totals of the summary, by township and by month, and exports the table', async () => {
  const { page, problems } = await openMap(browser.context);
  await logIn(page, 'official');
  assert.equal(await page.getAttribute('#tab-button-stats', 'aria-selected'), 'true');
  assert.equal(await page.isVisible('#tab-button-queue'), false);
  await page.waitForSelector('#total-certified');
  const summary = await getJson(page, '/api/v1/stats/summary');

  const shown = await figures(page, 'total');
  assert.equal(shown.certified.value, summary.certified_houses);
  assert.equal(shown.area.value, summary.certified_floor_area_m2);
  assert.equal(shown.amount.value, summary.transaction_amount_yuan);
  assert.equal(shown.certified.text, summary.certified_houses.toLocaleString('zh-CN'));
  assert.equal(shown.area.text, wan(summary.certified_floor_area_m2));
  assert.equal(shown.amount.text, wan(summary.transaction_amount_yuan));

  // The table: one row per township, the same figures.
  const rows = await page.locator('#township-table tbody tr').evaluateAll((trs) => trs.map((tr) =>
    [tr.dataset.code, ...[...tr.children].map((c) => c.textContent)]));
  assert.equal(rows.length, summary.by_township.length);
  for (const [i, t] of summary.by_township.entries()) {
    assert.deepEqual(rows[i], [t.code, t.name, t.houses.toLocaleString('zh-CN'), t.certified_houses.toLocaleString('zh-CN'),
      wan(t.certified_floor_area_m2), wan(t.transaction_amount_yuan)]);
  }
  // The chart: a bar per month of the summary.
  assert.equal(await page.locator('#monthly-chart rect.bar').count(), summary.by_month.length);

  // A township chosen from the table: its totals are the summary's for it, and it is outlined on the map.
  const busiest = [...summary.by_township].sort((a, b) => b.certified_houses - a.certified_houses)[0];
  await page.locator(`#township-table tr[data-code="${busiest.code}"] button`).click();
  await page.waitForSelector('#totals-township:not([hidden]) #township-certified');
  const one = await getJson(page, `/api/v1/stats/summary?township=${busiest.code}`);
  const shownOne = await figures(page, 'township');
  assert.equal(shownOne.certified.value, one.certified_houses);
  assert.equal(shownOne.area.value, one.certified_floor_area_m2);
  assert.equal(shownOne.amount.value, one.transaction_amount_yuan);
  assert.equal(await page.locator('#monthly-chart rect.bar').count(), one.by_month.length);
  assert.equal(await page.evaluate(() => window.farmhouse.app.map.selectedTownship), Number(busiest.code));
  await mapIdle(page);
  await page.evaluate(() => { document.getElementById('side').scrollTop = 0; });
  await page.screenshot({ path: `${SCREENSHOTS}official.png` });

  // The CSV: a header, the townships and the district total, as shown.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  assert.match(download.suggestedFilename(), /\.csv$/);
  const csv = readFileSync(await download.path(), 'utf8').replace(/^\ufeff/, '').trim().split('\r\n');
  assert.equal(csv.length, 1 + summary.by_township.length + 1);
  assert.equal(csv[0], 'code,乡镇街道,登记房屋,鉴证房屋,鉴证面积（万 m²）,成交金额（万元）');
  const b = summary.by_township[0];
  assert.equal(csv[1], [b.code, b.name, b.houses, b.certified_houses, (b.certified_floor_area_m2 / 1e4).toFixed(2),
    (b.transaction_amount_yuan / 1e4).toFixed(2)].join(','));
  assert.equal(csv.at(-1).split(',')[3], String(summary.certified_houses));

  // The houses of the chosen township, from the registry's export: a CSV row per house, no owner data.
  const houses = await page.request.get(await page.locator('#export-houses').evaluate((a) => a.href));
  assert.equal(houses.status(), 200);
  const lines = (await houses.text()).trim().split(/\r?\n/);
  assert.equal(lines.length - 1, busiest.houses, 'one row per house of the township');
  assert.ok(!/owner|id_number|phone/i.test(lines[0]), lines[0]);

  // In English the figures keep their values.
  await page.click('#lang');
  assert.match(await page.textContent('#tab-stats'), /Certified floor area \(10k m²\)/);
  assert.equal((await figures(page, 'total')).certified.value, summary.certified_houses);
  await page.click('#lang');
  assert.deepEqual(problems, []);
  await page.close();
});

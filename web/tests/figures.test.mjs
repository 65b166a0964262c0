// The public figures over the map: an anonymous visitor sees the district's certified houses, floor area,
// amount and activation rate on the first screen (desktop and phone), in Chinese and in English, a
// township's under the pointer or chosen by keyboard, and an officer's certification in another browser
// without a reload (the page polls the summary with its ETag).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SCREENSHOTS, apiAs, centre, getJson, launch, logIn, mapIdle, openMap } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The figures' cells of row `id` as shown: { certified, area, amount, rate } texts. */
const shown = (page, id) => page.evaluate((row) => {
  const cells = [...document.querySelectorAll(`#${row} td`)].map((c) => c.textContent);
  return { certified: cells[0], area: cells[1], amount: cells[2], rate: cells[3] };
}, id);

/** Whether `selector` is drawn wholly inside the viewport (the first screen, nothing scrolled). */
async function onFirstScreen(page, selector) {
  const box = await page.locator(selector).boundingBox();
  const { width, height } = page.viewportSize();
  return Boolean(box) && box.x >= 0 && box.y >= 0 && box.x + box.width <= width && box.y + box.height <= height;
}

const en = (v, digits = 0) => new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);

test('an anonymous visitor sees the district’s figures on the first screen, in Chinese and in English', async () => {
  const { page, problems } = await openMap(browser.context);
  const summary = await getJson(page, '/api/v1/stats/summary');
  assert.equal(await page.textContent('#who'), '访客');
  await page.waitForFunction(() => document.querySelector('#figures-district td')?.textContent.trim());
  const zh = await shown(page, 'figures-district');
  assert.equal(zh.certified, '3,535');
  assert.equal(zh.area, '115.49');
  assert.equal(zh.certified, summary.certified_houses.toLocaleString('zh-CN'));
  assert.equal(zh.amount, (Number(summary.transaction_amount_yuan) / 10000).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
  assert.equal(zh.rate, `${(100 * summary.certified_houses / summary.houses.total).toFixed(1)}%`);
  assert.match(await page.textContent('#figures thead'), /鉴证面积（万 m²）.*成交金额（万元）.*激活率/);
  assert.ok(await onFirstScreen(page, '#figures-district'), 'the district’s figures are on the first screen');

  await page.click('#lang');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  const english = await shown(page, 'figures-district');
  assert.equal(english.certified, '3,535');
  assert.equal(english.area, en(summary.certified_floor_area_m2));
  assert.equal(english.amount, en(Number(summary.transaction_amount_yuan)));
  assert.match(await page.textContent('#figures thead'), /Certified floor area \(m²\).*Transaction amount \(yuan\).*Activation rate/);
  assert.equal(await page.textContent('#figures-district th'), 'District');
  assert.ok(await onFirstScreen(page, '#figures-district'));
  await page.click('#lang');
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  assert.equal((await shown(page, 'figures-district')).area, '115.49');
  assert.deepEqual(problems, []);
  await page.close();
});

test('a township’s figures show under the pointer and when chosen by keyboard', async () => {
  const { page, problems } = await openMap(browser.context);
  const summary = await getJson(page, '/api/v1/stats/summary');
  const { features } = await getJson(page, '/collections/townships/items?limit=200');
  // A township whose middle is on the map itself (not under the figures or the legend).
  const target = await page.evaluate((points) => {
    const map = window.farmhouse.map;
    const rect = map.getCanvas().getBoundingClientRect();
    for (const [code, c] of points) {
      const p = map.project(c);
      const x = rect.left + p.x;
      const y = rect.top + p.y;
      const [hit] = map.queryRenderedFeatures(p, { layers: ['townships-fill'] });
      if (document.elementFromPoint(x, y) === map.getCanvas() && String(hit?.properties.code) === code) return { code, x, y };
    }
    return null;
  }, features.map((f) => [String(f.properties.code), centre(f.geometry)]));
  assert.ok(target, 'a township is under the pointer somewhere');
  const row = summary.by_township.find((r) => r.code === target.code);
  await page.mouse.move(target.x, target.y);
  await page.waitForFunction((code) => document.getElementById('figures-township-row').dataset.code === code, target.code);
  assert.equal(await page.textContent('#figures-hovered'), row.name);
  const hovered = await shown(page, 'figures-township-row');
  assert.equal(hovered.certified, row.certified_houses.toLocaleString('zh-CN'));
  assert.equal(hovered.area, (row.certified_floor_area_m2 / 10000).toFixed(2));
  assert.equal(hovered.rate, `${(100 * row.certified_houses / row.houses).toFixed(1)}%`);
  // Off the map, the row goes back to the choice (none yet).
  await page.mouse.move(5, 5);
  await page.waitForFunction(() => document.getElementById('figures-township-row').dataset.code === '');
  assert.equal((await shown(page, 'figures-township-row')).certified, '—');

  // By keyboard: the list beside the district's figures chooses one; the map outlines it.
  const other = summary.by_township.find((r) => r.code !== target.code);
  await page.focus('#figures-township');
  await page.selectOption('#figures-township', other.code);
  await page.waitForFunction((code) => document.getElementById('figures-township-row').dataset.code === code, other.code);
  assert.equal((await shown(page, 'figures-township-row')).certified, other.certified_houses.toLocaleString('zh-CN'));
  assert.equal(await page.evaluate(() => window.farmhouse.app.map.selectedTownship), Number(other.code));
  await mapIdle(page);
  await page.screenshot({ path: `${SCREENSHOTS}public-figures.png` });
  assert.deepEqual(problems, []);
  await page.close();
});

test('on a phone-sized screen the figures are above the map, not over its controls', async () => {
  const { page, problems } = await openMap(browser.context, { viewport: { width: 375, height: 667 } });
  await page.waitForFunction(() => document.querySelector('#figures-district td')?.textContent.trim());
  assert.equal((await shown(page, 'figures-district')).area, '115.49');
  assert.ok(await onFirstScreen(page, '#figures'), 'the figures fit the first screen');
  const figures = await page.locator('#figures').boundingBox();
  const map = await page.locator('#map').boundingBox();
  const zoom = await page.locator('.maplibregl-ctrl-zoom-in').boundingBox();
  assert.ok(map.y >= figures.y + figures.height - 1 && zoom.y >= figures.y + figures.height, JSON.stringify({ figures, map, zoom }));
  assert.deepEqual(problems, []);
  await page.close();
});

test('an officer’s certification in another browser shows in the visitor’s figures without a reload', async () => {
  const { page, problems } = await openMap(browser.context);
  let reloads = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) reloads += 1; });
  await page.waitForFunction(() => document.querySelector('#figures-district td')?.textContent.trim());
  const before = (await shown(page, 'figures-district')).certified;
  assert.equal(before, '3,535');
  // The window getting the focus asks again: unchanged, the service answers 304 and the figures stay.
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/v1/stats/summary') && r.status() === 304),
    page.evaluate(() => window.dispatchEvent(new Event('focus'))),
  ]);
  assert.equal((await shown(page, 'figures-district')).certified, '3,535');

  // The officer works in a browser of their own.
  const other = await launch();
  const officer = await apiAs('officer');
  let cert = null;
  try {
    const { page: desk } = await openMap(other.context);
    await logIn(desk, 'officer');
    await desk.waitForSelector('#queue li');
    const houseId = Number(await desk.locator('#queue li').first().getAttribute('data-house'));
    await desk.locator('#queue li').first().locator('button').click();
    await desk.waitForSelector('#house:not([hidden]) #certify');
    await desk.click('#certify');
    await desk.click('#confirm-ok');
    await desk.waitForSelector('#house #revoke');
    cert = (await officer.get(`/api/v1/certifications?farmhouse=${houseId}`)).items.find((c) => c.in_force);

    // The visitor's page asks again within 10 s (more for a slow first tile load): bounded at 30 s.
    await page.waitForFunction(() => document.querySelector('#figures-district td').textContent === '3,536', null, { timeout: 30_000 });
  } finally {
    // Leave the demo as it was: the certificate revoked (asked by one officer, confirmed by a second).
    if (cert) {
      await officer.post(`/api/v1/certifications/${cert.id}/revoke`, { reason: '浏览器测试：撤销' });
      const second = await apiAs('officer2');
      await second.post(`/api/v1/certifications/${cert.id}/revoke`, { reason: '浏览器测试：撤销' });
      await second.dispose();
    }
    await officer.dispose();
    await other.close();
  }
  await page.waitForFunction(() => document.querySelector('#figures-district td').textContent === '3,535', null, { timeout: 30_000 });
  assert.equal(reloads, 0, 'the page was never reloaded');
  assert.deepEqual(problems, []);
  await page.close();
});

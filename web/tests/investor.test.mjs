// Investors: filter the available houses (the list follows the filter and the map's extent), open one
// and register interest — and never see a private field: every response the page received and the page
// itself are searched for the private values the registry holds.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SCREENSHOTS, apiAs, getJson, launch, logIn, mapIdle, openMap } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** Staff-only routes the investor's page must never ask for. */
const STAFF_ONLY = [/\/api\/v1\/transactions/, /\/api\/v1\/certifications/, /\/api\/v1\/parties/, /\/history$/,
  /\/api\/v1\/appraisals/, /\/listings\/\d+\/interests$/, /\/api\/v1\/export\//, /\/api\/v1\/users/];
/** Field names that only staff may receive. */
const PRIVATE_FIELDS = ['owner', 'owner_party_id', 'id_number', 'lessee', 'lessee_party_id', 'contract_no',
  'transaction_id', 'credit_code'];

/** The ids the list shows. */
const listed = (page) => page.locator('#listing li').evaluateAll((items) => items.map((li) => Number(li.dataset.id)));

/** The ids the API gives for `params` (status listed), the first 50 like the page. */
async function expected(page, params) {
  const q = new URLSearchParams({ status: 'listed', limit: '50', ...params });
  return (await getJson(page, `/api/v1/farmhouses?${q}`)).features.map((f) => f.id);
}

async function settle(page) {
  await page.waitForTimeout(400);
  await page.waitForFunction(() => !document.querySelector('#listing[aria-busy]') && !document.body.hasAttribute('aria-busy'));
}

test('an investor filters houses, follows the map, registers interest, and sees nothing private', async () => {
  const { page, problems } = await openMap(browser.context);
  const responses = [];
  page.on('response', async (res) => {
    const type = res.headers()['content-type'] ?? '';
    if (!/json|html|text/.test(type)) return;
    responses.push({ url: res.url(), body: await res.text().catch(() => '') });
  });
  await logIn(page, 'investor');
  assert.equal(await page.isVisible('#tab-button-stats'), false);
  assert.equal(await page.isVisible('#tab-button-queue'), false);

  // The whole district, no filter: the list is the API's listed houses.
  await page.uncheck('#filter input[name=extent]');
  await settle(page);
  const all = await listed(page);
  assert.ok(all.length > 1, 'houses are listed');
  assert.deepEqual(all, await expected(page, {}));

  // A minimum floor area: fewer houses, each large enough.
  const areas = (await getJson(page, '/api/v1/farmhouses?status=listed&limit=1000')).features
    .map((f) => f.properties.floor_area_m2).sort((a, b) => a - b);
  const min = Math.ceil(areas[Math.floor(areas.length / 2)]);
  await page.fill('#filter input[name=min_floor_area]', String(min));
  await settle(page);
  const large = await listed(page);
  assert.deepEqual(large, await expected(page, { min_floor_area: String(min) }));
  assert.ok(large.length < all.length || all.length === 50, `min ${min}: ${large.length} of ${all.length}`);

  // A township and an allowed use narrow it further; clearing brings the whole list back.
  const township = await page.locator('#filter select[name=township] option').nth(1).getAttribute('value');
  await page.selectOption('#filter select[name=township]', township);
  await page.selectOption('#filter select[name=allowed_use]', '民宿');
  await settle(page);
  assert.deepEqual(await listed(page), await expected(page, { min_floor_area: String(min), township, allowed_use: '民宿' }));
  await page.click('#filter button[type=reset]');
  await page.uncheck('#filter input[name=extent]');
  await settle(page);
  assert.deepEqual(await listed(page), all);

  // Following the map: zoomed in on one house (a showcase listing, if there is one), the list holds the
  // houses in view.
  await page.check('#filter input[name=extent]');
  const available = (await getJson(page, '/api/v1/farmhouses?status=listed&limit=1000')).features;
  const house = available.find((f) => f.properties.listing?.title) ?? available[0];
  await page.evaluate((g) => window.farmhouse.map.jumpTo({ center: g.coordinates[0][0], zoom: 16 }), house.geometry);
  await mapIdle(page);
  await settle(page);
  const inView = await listed(page);
  const bbox = await page.evaluate(() => window.farmhouse.app.map.extent());
  assert.ok(inView.includes(house.id), 'the house in view is listed');
  assert.deepEqual(inView, await expected(page, { bbox }));
  assert.ok(inView.length < all.length || all.length === 50);

  // Open it and register interest.
  await page.locator(`#listing li[data-id="${house.id}"] button`).click();
  await page.waitForSelector('#house:not([hidden]) #interest');
  await mapIdle(page);
  await page.screenshot({ path: `${SCREENSHOTS}investor.png` });
  await page.click('#interest');
  await page.waitForSelector('#alert.notice');
  assert.match(await page.textContent('#alert'), /已登记意向/);

  // Nothing private reached the page: no staff route was asked, no private field or value received.
  const officer = await apiAs('officer');
  const parties = (await officer.get('/api/v1/parties?limit=1000')).items;
  await officer.dispose();
  const secrets = parties.flatMap((p) => [p.name, p.id_number, p.phone, p.address, p.credit_code])
    .filter((v) => typeof v === 'string' && v.length >= 2);
  assert.ok(secrets.length > 0, 'the registry holds private values to look for');
  assert.ok(responses.length > 10, `${responses.length} responses`);
  for (const { url, body } of responses) {
    const path = new URL(url).pathname;
    assert.ok(!STAFF_ONLY.some((r) => r.test(path)), `the investor's page asked a staff route: ${url}`);
    for (const field of PRIVATE_FIELDS) assert.ok(!body.includes(`"${field}"`), `${url} carries ${field}`);
    for (const s of secrets) assert.ok(!body.includes(s), `${url} carries the private value ${s}`);
  }
  const dom = await page.content();
  for (const s of secrets) assert.ok(!dom.includes(s), `the page shows the private value ${s}`);
  assert.deepEqual(problems, []);
  await page.close();
});

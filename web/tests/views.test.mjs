// The officers', officials' and admins' views and the phone layout, in Chinese and English, on a desktop
// (1280×800) and a phone (390×844): the queue's count, pages, order and township filter as the API gives
// them; the deal checked before certifying; history as sentences; notices that go away by themselves and
// cover nothing; a township chosen zooms the map to it with its figures in view; accounts added and
// disabled by an admin; a one-row header and nothing over anything on a phone.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from 'playwright-core';
import { BASE, SCREENSHOTS, account, apiAs, getJson, launch, logIn, mapIdle, openMap, switchUser } from './browser.mjs';
import { bbox } from '../app/geometry.js';

const PHONE = { width: 390, height: 844 };
const QUEUE = '/api/v1/transactions?awaiting_certification=true';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The bounding box of the first element matching `selector` (null when none is shown). */
const box = (page, selector) => page.locator(selector).first().boundingBox();

/** Whether two boxes overlap (touching edges do not). */
function overlap(a, b) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** Asserts that none of `selectors` (each shown) overlaps another. */
async function apart(page, selectors) {
  const boxes = [];
  for (const s of selectors) {
    const b = await box(page, s);
    assert.ok(b, `${s} is shown`);
    boxes.push([s, b]);
  }
  for (const [i, [s, a]] of boxes.entries()) {
    for (const [t, b] of boxes.slice(i + 1)) assert.ok(!overlap(a, b), `${s} ${JSON.stringify(a)} overlaps ${t} ${JSON.stringify(b)}`);
  }
}

/** The deals of the queue shown now: [transaction id, township, signed on]. */
const shownDeals = (page) => page.locator('#queue li').evaluateAll((lis) => lis.map((li) =>
  [Number(li.dataset.transaction), li.dataset.township, li.dataset.signed]));

async function queueSettled(page, firstId) {
  await page.waitForFunction((id) => Number(document.querySelector('#queue li')?.dataset.transaction) === id
    && !document.getElementById('queue').hasAttribute('aria-busy'), firstId);
}

test('the queue shows its count, pages to its last deal, and sorts and filters as the API does', async () => {
  const { page, problems } = await openMap(browser.context);
  await logIn(page, 'officer');
  const all = await getJson(page, `${QUEUE}&limit=1000&sort=signed_on`);
  const n = all.number_matched;
  assert.ok(n > 20, `more deals than a page (${n})`);
  await queueSettled(page, all.items[0].id);
  assert.equal(await page.textContent('#queue-count'), `共 ${n} 笔待鉴证，本页第 1–20 笔`);
  assert.equal(await page.textContent('#queue-page'), `第 1/${Math.ceil(n / 20)} 页`);

  // Next, to the last page: every deal once, in the API's order, the last one last.
  const seen = [];
  for (;;) {
    seen.push(...(await shownDeals(page)).map(([id]) => id));
    if (await page.isDisabled('#queue-next')) break;
    const next = all.items[seen.length].id;
    await page.click('#queue-next');
    await queueSettled(page, next);
  }
  assert.deepEqual(seen, all.items.map((x) => x.id));
  assert.match(await page.textContent('#queue-count'), new RegExp(`第 ${Math.floor((n - 1) / 20) * 20 + 1}–${n} 笔`));
  assert.equal(await page.isDisabled('#queue-prev'), false);

  // Latest signed first: the API's first deal of that order leads, from the first page.
  const latest = await getJson(page, `${QUEUE}&limit=20&sort=-signed_on`);
  await page.selectOption('#queue-sort', '-signed_on');
  await queueSettled(page, latest.items[0].id);
  assert.deepEqual((await shownDeals(page)).map(([id]) => id), latest.items.map((x) => x.id));

  // One township: its deals only, counted by the API.
  const code = all.items[0].township_code;
  const theirs = await getJson(page, `${QUEUE}&limit=20&sort=-signed_on&township=${code}`);
  assert.ok(theirs.number_matched < n);
  await page.selectOption('#queue-township', code);
  await queueSettled(page, theirs.items[0].id);
  const shown = await shownDeals(page);
  assert.deepEqual(shown.map(([id]) => id), theirs.items.map((x) => x.id));
  assert.ok(shown.every(([, t]) => t === code));
  assert.match(await page.textContent('#queue-count'), new RegExp(`^共 ${theirs.number_matched} 笔待鉴证`));
  await page.evaluate(() => { document.getElementById('side').scrollTop = 0; });
  await page.screenshot({ path: `${SCREENSHOTS}queue.png` });

  await page.click('#lang');
  assert.match(await page.textContent('#queue-count'), new RegExp(`^${theirs.number_matched} deals awaiting certification`));
  assert.equal(await page.textContent('#queue-sort option:checked'), 'Latest signed');
  await page.click('#lang');
  assert.deepEqual(problems, []);
  await page.close();
});

/** PATCHes house `id`'s floor area from the page (its session, its origin), with the ETag read first. */
async function correctFloorArea(page, id, area) {
  return page.evaluate(async ([house, value]) => {
    const read = await fetch(`/api/v1/farmhouses/${house}`);
    const res = await fetch(`/api/v1/farmhouses/${house}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/geo+json', 'if-match': read.headers.get('etag') },
      body: JSON.stringify({ properties: { floor_area_m2: value } }),
    });
    return res.status;
  }, [id, area]);
}

test('before certifying, the deal shows its lessee, use and listing; history reads as sentences in zh and en', async () => {
  // The officer's name, as an admin gives it.
  const admin = await apiAs('admin');
  const officer = account('officer');
  const users = await admin.get('/api/v1/users');
  const me = users.find((u) => u.username === officer.username);
  await admin.patch(`/api/v1/users/${me.id}`, { display_name: '王芳' });
  await admin.dispose();

  const { page, problems } = await openMap(browser.context);
  await switchUser(page, 'officer');
  const [deal] = (await getJson(page, `${QUEUE}&limit=1&sort=-signed_on`)).items;
  const listing = await getJson(page, `/api/v1/listings/${deal.listing_id}`);
  assert.equal(await correctFloorArea(page, deal.farmhouse_id, 9999), 200);
  assert.equal(await correctFloorArea(page, deal.farmhouse_id, 334.29), 200);

  await page.evaluate((id) => window.farmhouse.app.openHouse(id, { fly: true }), deal.farmhouse_id);
  await page.waitForSelector('#house:not([hidden]) #deal-summary dd[data-fact="deal.listing"]');
  const fact = (k) => page.textContent(`#deal-summary dd[data-fact="${k}"]`);
  assert.match(await fact('deal.lessee'), new RegExp(deal.lessee.name));
  assert.equal(await fact('deal.use'), deal.intended_use);
  // To the fen unless whole yuan: 5839.4 → 5,839.40.
  const fen = Number.isInteger(listing.asking_rent_yuan) ? 0 : 2;
  const rent = listing.asking_rent_yuan.toLocaleString('zh-CN', { minimumFractionDigits: fen, maximumFractionDigits: fen });
  assert.match(await fact('deal.listing'), new RegExp(`挂牌年租金 ${rent} 元，公示 ${listing.notice_start} 至 ${listing.notice_end}`));
  // The summary comes before the button that certifies.
  assert.ok((await box(page, '#deal-summary')).y < (await box(page, '#certify')).y);
  // With the panel open the map is narrow: a notice still covers no control and nothing of the panel.
  await page.evaluate(() => import('/assets/app/api.js').then((m) => m.showNotice('已出具鉴证书 SY-JZ-2026-000001。')));
  await apart(page, ['#alert', '#legend', '.maplibregl-ctrl-scale', '.maplibregl-ctrl-attrib', '.maplibregl-ctrl-zoom-in', '#figures', '#house']);
  await page.waitForSelector('#alert', { state: 'hidden', timeout: 9000 });

  const history = () => page.locator('#history li').allTextContents();
  const zh = await history();
  assert.ok(zh.some((s) => /^王芳于 .+ 将建筑面积由 9,999 m² 更正为 334\.29 m²。$/.test(s)), zh.join('\n'));
  assert.ok(!zh.some((s) => s.includes('officer:') || s.includes('→')), 'no raw field dumps');
  await page.locator('#history').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SCREENSHOTS}officer-history.png` });
  await page.click('#lang');
  await page.waitForSelector('#history li');
  const en = await history();
  assert.ok(en.some((s) => /^Floor area corrected from 9,999 m² to 334\.29 m² by 王芳 on .+\.$/.test(s)), en.join('\n'));
  assert.equal(await fact('deal.use'), (await page.evaluate((u) => import('/assets/app/i18n.js').then((m) => m.t(`use.${u}`)), deal.intended_use)));
  await page.click('#lang');
  assert.deepEqual(problems, []);
  await page.close();
});

/** Waits until the map has stopped moving and drawn. */
async function settled(page) {
  await page.waitForFunction(() => !window.farmhouse.map.isMoving());
  await mapIdle(page);
}

/** Asserts that the map shows township `code` whole and close: its box inside the view, the view not far larger. */
async function zoomedTo(page, code) {
  await settled(page);
  const township = await getJson(page, `/collections/townships/items/${code}`);
  const [w, s, e, n] = bbox(township.geometry);
  const view = await page.evaluate(() => window.farmhouse.map.getBounds().toArray().flat());
  const slack = 1e-4;
  assert.ok(view[0] <= w + slack && view[1] <= s + slack && view[2] >= e - slack && view[3] >= n - slack,
    `the township ${[w, s, e, n]} lies inside the view ${view}`);
  const ratio = Math.max((view[2] - view[0]) / (e - w), (view[3] - view[1]) / (n - s));
  assert.ok(ratio < 4, `the view is close to the township (${ratio.toFixed(2)} times its size)`);
}

test('a township chosen zooms the map to it and brings its figures into view; the table keeps names on one line', async () => {
  const { page, problems } = await openMap(browser.context);
  await switchUser(page, 'official');
  await page.waitForSelector('#township-table tbody tr');
  const summary = await getJson(page, '/api/v1/stats/summary');
  const far = summary.by_township[summary.by_township.length - 1].code;
  await page.selectOption('#stats-township', far);
  await page.waitForSelector('#totals-township:not([hidden]) #township-certified');
  await zoomedTo(page, far);
  // Its figures are in the tab's view.
  const inView = () => page.evaluate(() => {
    const r = document.getElementById('totals-township').getBoundingClientRect();
    const side = document.getElementById('side').getBoundingClientRect();
    return r.top >= side.top && r.bottom <= Math.min(side.bottom, innerHeight) && r.height > 0;
  });
  assert.ok(await inView(), 'the township figures are in view');
  await page.screenshot({ path: `${SCREENSHOTS}official-township.png` });

  for (const lang of ['zh', 'en']) {
    // Every township's name on one line.
    const lines = await page.locator('#township-table tbody th button').evaluateAll((buttons) => buttons.map((b) => {
      const range = document.createRange();
      range.selectNodeContents(b);
      return [b.textContent, new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size];
    }));
    assert.ok(lines.length > 0);
    for (const [name, n] of lines) assert.equal(n, 1, `${lang}: ${name} on one line`);
    if (lang === 'zh') await page.click('#lang');
  }
  // From the figures over the map, in English too.
  const near = summary.by_township[0].code;
  await page.selectOption('#figures-township', near);
  await zoomedTo(page, near);
  assert.equal(await page.getAttribute('#figures-township-row', 'data-code'), near);
  await page.click('#lang');
  assert.deepEqual(problems, []);
  await page.close();

  // On a phone: the figures' list above the map zooms it too, and the row of figures stays in view.
  const phone = await openMap(browser.context, { viewport: PHONE });
  await phone.page.selectOption('#figures-township', far);
  await zoomedTo(phone.page, far);
  const row = await box(phone.page, '#figures-township-row');
  assert.ok(row && row.y >= 0 && row.y + row.height <= PHONE.height, 'the township row is on the screen');
  assert.deepEqual(phone.problems, []);
  await phone.page.close();
});

/** Signs in as `username` outside the page: the status of POST /api/v1/session. */
async function signInStatus(username, password) {
  const client = await request.newContext({ baseURL: BASE });
  const res = await client.post('/api/v1/session', { data: { username, password } });
  await client.dispose();
  return res.status();
}

test('an admin adds an account and disables it in the page; its notice goes away by itself, covering nothing', async () => {
  const { page, problems } = await openMap(browser.context);
  await switchUser(page, 'admin');
  assert.equal(await page.getAttribute('#tab-button-accounts', 'aria-selected'), 'true', 'accounts come first for admins');
  await page.waitForSelector('#accounts-table tbody tr');
  const name = `browser.added${Date.now() % 100000}`;
  const password = 'a long enough password 7';

  // A refusal names its field and adds nothing.
  const before = await page.locator('#accounts-table tbody tr').count();
  await page.fill('#account-add input[name=username]', 'X');
  await page.fill('#account-add input[name=password]', password);
  await page.click('#account-add-submit');
  await page.locator('#account-add [data-field="username"] .field-error').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#accounts-table tbody tr').count(), before);

  const summary = await getJson(page, '/api/v1/stats/summary');
  const code = summary.by_township[0].code;
  await page.fill('#account-add input[name=username]', name);
  await page.fill('#account-add input[name=display_name]', '李新');
  await page.selectOption('#account-add select[name=role]', 'officer');
  await page.selectOption('#account-add select[name=townships]', [code]);
  await page.click('#account-add-submit');
  const row = page.locator(`#accounts-table tr[data-username="${name}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), new RegExp(summary.by_township[0].name));
  assert.equal(await signInStatus(name, password), 200, 'the new account signs in');
  // Its role and townships changed under its row: an official of the whole district.
  await row.locator('button[data-action=scope]').click();
  const change = page.locator(`tr.scope-row form`);
  await change.locator('select[name=role]').selectOption('official');
  await change.locator('select[name=townships]').selectOption([]);
  await change.locator('button[type=submit]').click();
  await page.waitForFunction((n) => document.querySelector(`#accounts-table tr[data-username="${n}"] td.role`)?.textContent === '管理人员', name);
  assert.equal(await row.locator('td.scope').textContent(), '全区');
  await page.evaluate(() => { document.getElementById('side').scrollTop = 0; });
  await page.screenshot({ path: `${SCREENSHOTS}accounts.png` });

  // Disabled: it no longer signs in; the notice says so, covers neither the legend nor the scale, and
  // goes away by itself — not while the pointer is on it.
  await row.locator('button[data-action=disable]').click();
  await page.waitForSelector('#alert.notice:not([hidden])');
  assert.equal(await page.getAttribute('#alert', 'role'), 'status');
  assert.match(await page.textContent('#alert'), new RegExp(`已停用账号 ${name}`));
  await apart(page, ['#alert', '#legend', '.maplibregl-ctrl-scale', '.maplibregl-ctrl-attrib', '.maplibregl-ctrl-zoom-in', '#figures']);
  await page.waitForSelector(`#accounts-table tr[data-username="${name}"].disabled`);
  assert.equal(await signInStatus(name, password), 401, 'the disabled account cannot sign in');
  await page.hover('#alert');
  await page.waitForTimeout(7000);
  assert.equal(await page.isVisible('#alert'), true, 'held while the pointer is on it');
  await page.mouse.move(5, 400);
  await page.waitForSelector('#alert', { state: 'hidden', timeout: 9000 });

  // In English, enabling it again.
  await page.click('#lang');
  await row.locator('button[data-action=enable]').click();
  await page.waitForSelector('#alert.notice:not([hidden])');
  assert.match(await page.textContent('#alert'), new RegExp(`Account ${name} enabled`));
  await page.waitForSelector('#alert', { state: 'hidden', timeout: 9000 });
  assert.equal(await signInStatus(name, password), 200);
  await page.click('#lang');
  // The one refusal was the bad user name's.
  assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), []);
  await page.close();
});

test('on a phone: one header row in zh and en, the legend closed, nothing over anything', async () => {
  const { page, problems } = await openMap(browser.context, { viewport: PHONE });
  await switchUser(page, 'admin');
  assert.equal(await page.evaluate(() => document.getElementById('legend').open), false, 'the legend starts closed');
  for (const lang of ['zh', 'en']) {
    const header = await box(page, 'header.bar');
    const button = await box(page, '#login-button');
    assert.ok(header.height < button.height * 1.8, `${lang}: the header is one row (${header.height} px)`);
    await apart(page, ['.brand', '#projects-link', '#search-q', '#login-button', '#lang']);
    for (const s of ['.brand', '#projects-link', '#search-q', '#login-button', '#lang']) {
      const b = await box(page, s);
      assert.ok(b.x >= 0 && b.x + b.width <= PHONE.width, `${lang}: ${s} within the screen`);
    }
    await apart(page, ['#side-toggle', '.maplibregl-ctrl-scale', '#legend', '.maplibregl-ctrl-attrib', '.maplibregl-ctrl-zoom-in', '#figures']);
    await page.screenshot({ path: `${SCREENSHOTS}phone-${lang}.png` });
    if (lang === 'zh') await page.click('#lang');
  }
  // A notice on a phone covers none of them either.
  await page.click('#side-toggle');
  await page.waitForSelector('#accounts-table tbody tr');
  const row = page.locator('#accounts-table tbody tr', { has: page.locator('button[data-action=revoke]') }).first();
  if (await row.count()) {
    await row.locator('button[data-action=revoke]').click();
  } else {
    await page.evaluate(() => import('/assets/app/api.js').then((m) => m.showNotice('Every token revoked.')));
  }
  await page.click('#side-close');
  await page.waitForSelector('#alert.notice:not([hidden])');
  await apart(page, ['#alert', '#side-toggle', '.maplibregl-ctrl-scale', '#legend', '.maplibregl-ctrl-zoom-in', '#figures']);
  await page.screenshot({ path: `${SCREENSHOTS}phone-notice.png` });
  await page.waitForSelector('#alert', { state: 'hidden', timeout: 9000 });
  await page.click('#side-toggle');
  await page.waitForTimeout(400); // the drawer's slide
  await page.screenshot({ path: `${SCREENSHOTS}accounts-phone.png` });
  await page.click('#lang');
  assert.deepEqual(problems, []);
  await page.close();
});

test('on a phone the officer pages the queue and reads the deal before certifying', async () => {
  const { page, problems } = await openMap(browser.context, { viewport: PHONE });
  await switchUser(page, 'officer');
  const all = await getJson(page, `${QUEUE}&limit=40&sort=signed_on`);
  await page.click('#side-toggle');
  await queueSettled(page, all.items[0].id);
  await page.click('#queue-next');
  await queueSettled(page, all.items[20].id);
  await page.waitForTimeout(400); // the drawer's slide
  await page.screenshot({ path: `${SCREENSHOTS}queue-phone.png` });
  await page.locator('#queue li button').first().click();
  await page.waitForSelector('#house:not([hidden]) #deal-summary');
  await page.locator('#deal-summary').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SCREENSHOTS}deal-phone.png` });
  assert.deepEqual(problems, []);
  await page.close();
});

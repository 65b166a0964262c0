// What everyone sees: the map draws the townships and the houses coloured by status (read from the
// rendered map) and the activation projects' outlines with links to their pages, search, the house
// panel, the certificate's verification page, the English switch, and a phone-sized screen worked with
// the keyboard.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE, apiAs, centre, drawnHouseAt, getJson, launch, mapIdle, nearestStatus, openMap, png } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the district view draws every township with its activation figures', async () => {
  const { page, problems } = await openMap(browser.context);
  const drawn = await page.evaluate(() => {
    const features = window.farmhouse.map.queryRenderedFeatures({ layers: ['townships-fill'] });
    return [...new Map(features.map((f) => [f.properties.code, f.properties])).values()];
  });
  const townships = await getJson(page, '/collections/townships/items?limit=200');
  assert.equal(drawn.length, townships.features.length, 'every township is drawn');
  assert.ok(drawn.every((p) => typeof p.certified_houses === 'number' && typeof p.houses_total === 'number'));
  const labels = await page.locator('.township-label').allTextContents();
  assert.deepEqual(labels.sort(), townships.features.map((f) => f.properties.name).sort());
  assert.deepEqual(problems, []);
  await page.close();
});

test('houses are drawn in the colour of their status', async () => {
  const { page, problems } = await openMap(browser.context);
  // Every status is drawn in the activation view (the public starts on the houses to lease).
  await page.selectOption('#map-mode-select', 'activation');
  for (const status of ['registered', 'listed', 'contracted', 'certified']) {
    const { features: [house] } = await getJson(page, `/api/v1/farmhouses?status=${status}&limit=1`);
    assert.ok(house, `a ${status} house exists`);
    const drawn = await drawnHouseAt(page, centre(house.geometry));
    assert.equal(drawn.id, house.id, `house ${house.id} is drawn`);
    assert.equal(drawn.status, status);
    assert.equal(await nearestStatus(page, drawn.pixel), status, `pixel ${drawn.pixel} of a ${status} house`);
  }
  const clusters = await page.evaluate(async () => {
    const map = window.farmhouse.map;
    map.jumpTo({ zoom: 12 });
    await new Promise((r) => map.once('idle', r));
    return map.queryRenderedFeatures({ layers: ['houses-cluster'] }).map((f) => f.properties.houses);
  });
  assert.ok(clusters.length > 0 && clusters.every((n) => n >= 1), 'clusters at zoom 12');
  assert.deepEqual(problems, []);
  await page.close();
});

test('search by unit number opens the house; its certificate is verified on a public page', async () => {
  const { page } = await openMap(browser.context);
  const { features: [house] } = await getJson(page, '/api/v1/farmhouses?status=certified&limit=1');
  const unit = house.properties.unit_number;
  await page.fill('#search-q', unit.slice(0, 24));
  await page.keyboard.press('Enter');
  await page.locator('#search-results button', { hasText: unit }).first().click();
  await page.waitForSelector('#house:not([hidden]) .verify-link');
  assert.match(await page.locator('#house .facts').first().textContent(), new RegExp(unit));
  await mapIdle(page);
  assert.equal(await page.evaluate(() => window.farmhouse.app.map.selected), house.id, 'the house is selected on the map');
  await page.click('#house .verify-link');
  await page.waitForURL(/\/verify\//);
  // The page asks for the code printed on the certificate and tells nothing before it is given.
  const asked = await page.textContent('main');
  assert.match(asked, /核验码/);
  assert.doesNotMatch(asked, new RegExp(unit));
  const officer = await apiAs('officer');
  const { items: [cert] } = await officer.get(`/api/v1/certifications?farmhouse=${house.id}`);
  await officer.dispose();
  await page.fill('#code', cert.verification_code);
  await Promise.all([page.waitForURL(/code=/), page.click('.code-form button')]);
  const text = await page.textContent('main');
  assert.match(text, /有效 · Valid|已到期 · Expired/);
  assert.match(text, new RegExp(house.properties.certificate_no));
  assert.match(text, new RegExp(unit));
  await page.close();
});

test('a house panel shows the house\'s photos', async () => {
  const { page, problems } = await openMap(browser.context);
  const { features: [house] } = await getJson(page, '/api/v1/farmhouses?status=listed&limit=1');
  const officer = await apiAs('officer');
  await officer.post(`/api/v1/farmhouses/${house.id}/photos`, png(64, 48, [200, 120, 40]), { 'Content-Type': 'image/png' });
  await officer.dispose();
  await page.evaluate((id) => window.farmhouse.app.openHouse(id, { fly: true }), house.id);
  const photo = page.locator('#house .photo-strip img').first();
  await photo.waitFor();
  await page.waitForFunction(() => document.querySelector('#house .photo-strip img')?.complete);
  assert.ok(await photo.evaluate((img) => img.naturalWidth > 0), 'the photo loaded');
  assert.match(await photo.getAttribute('alt'), /房屋照片 1/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a project\'s page links each of its houses to the map, which opens it', async () => {
  const page = await browser.context.newPage();
  await page.goto(`${BASE}/projects/1`);
  const link = page.locator('a[href^="/?house="]').first();
  const unit = (await link.textContent()).match(/[0-9]{12}[A-Z]{2}[0-9]{5}F[0-9]{8}/)[0];
  await link.click();
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });
  await page.waitForSelector('#house:not([hidden]) .facts');
  assert.match(await page.locator('#house .facts').first().textContent(), new RegExp(unit));
  await page.close();
});

test('the activation projects are outlined on the map, named by links to their pages, and the header links to the showcase', async () => {
  const { page, problems } = await openMap(browser.context);
  const { items } = await getJson(page, '/api/v1/projects');
  assert.deepEqual(items.map((p) => p.name).sort(), ['墨隐居', '沐格山居', '芋艿湾'].sort());
  assert.equal(await page.locator('.project-label').count(), items.length);
  assert.equal(await page.locator('.project-label').first().isHidden(), true, 'no project names over the district view');
  for (const project of items) {
    await page.evaluate((c) => window.farmhouse.map.jumpTo({ center: c, zoom: 14 }), centre(project.outline));
    await mapIdle(page);
    const drawn = await page.evaluate(() => window.farmhouse.map.queryRenderedFeatures({ layers: ['projects-line', 'projects-fill'] })
      .map((f) => `${f.layer.id}:${f.properties.id}`));
    assert.ok(drawn.includes(`projects-line:${project.id}`) && drawn.includes(`projects-fill:${project.id}`), `${project.name}: ${drawn}`);
    const label = page.locator('.project-label', { hasText: project.name });
    assert.equal(await label.isVisible(), true, `${project.name} is named on the map`);
    assert.equal(await label.getAttribute('href'), `/projects/${project.id}`);
  }
  // The name of 芋艿湾 is a link: reached by keyboard, Enter opens its page.
  const yunaiwan = items.find((p) => p.name === '芋艿湾');
  await page.evaluate((c) => window.farmhouse.map.jumpTo({ center: c, zoom: 14 }), centre(yunaiwan.outline));
  await mapIdle(page);
  await page.locator('.project-label', { hasText: '芋艿湾' }).focus();
  await Promise.all([page.waitForURL(`${BASE}/projects/${yunaiwan.id}`), page.keyboard.press('Enter')]);
  assert.match(await page.textContent('main'), /芋艿湾/);
  assert.deepEqual(problems, []);
  await page.goto(`${BASE}/`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });
  assert.equal(await page.textContent('#projects-link'), '激活项目');
  await Promise.all([page.waitForURL(`${BASE}/projects`), page.click('#projects-link')]);
  const showcase = await page.textContent('main');
  assert.ok(items.every((p) => showcase.includes(p.name)), showcase);
  await page.close();
});

test('a village name finds its houses', async () => {
  const { page } = await openMap(browser.context);
  const { features: [house] } = await getJson(page, '/api/v1/farmhouses?limit=1');
  await page.fill('#search-q', house.properties.village);
  await page.click('#search button[type=submit]');
  await page.waitForSelector('#search-results:not([hidden]) li');
  const results = await page.locator('#search-results li').allTextContents();
  assert.ok(results.length > 0 && results.every((r) => r.includes(house.properties.village)), results.join('\n'));
  await page.keyboard.press('Escape');
  assert.equal(await page.isHidden('#search-results'), true, 'Escape closes the results');
  await page.close();
});

test('the English switch relabels the page and back', async () => {
  const { page } = await openMap(browser.context);
  assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
  assert.equal(await page.textContent('h1'), '上虞区闲置农房激活地图');
  await page.click('#lang');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await page.textContent('h1'), 'Shangyu idle-farmhouse activation map');
  assert.match(await page.textContent('#legend'), /Certified \(activated\)/);
  assert.equal(await page.textContent('#projects-link'), 'Projects');
  assert.match(await page.textContent('#listing'), /houses available/);
  assert.equal(await page.textContent('#lang'), '中文');
  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  assert.equal(await page.textContent('h1'), 'Shangyu idle-farmhouse activation map', 'the choice is kept');
  await page.click('#lang');
  assert.equal(await page.textContent('h1'), '上虞区闲置农房激活地图');
  await page.close();
});

test('on a phone-sized screen the lists are a drawer and everything is reachable by keyboard', async () => {
  const { page, problems } = await openMap(browser.context, { viewport: { width: 375, height: 667 } });
  await page.emulateMedia({ reducedMotion: 'reduce' });
  assert.equal(await page.isVisible('#side-toggle'), true);
  assert.equal(await page.isVisible('#filter'), false, 'the list starts closed');
  await page.focus('#side-toggle');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#filter', { state: 'visible' });
  await page.waitForSelector('#listing .house-item');
  const box = await page.locator('#side').boundingBox();
  assert.ok(box.width <= 375 && box.y + box.height <= 667 + 1, JSON.stringify(box));
  // Tab from the toggle's drawer reaches a house; Enter opens it; Escape closes it and the drawer.
  await page.locator('#listing .house-item').first().focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('#house:not([hidden]) h2');
  const panel = await page.locator('#house').boundingBox();
  assert.ok(panel.width <= 375, 'the house panel fits the screen');
  await page.keyboard.press('Escape');
  assert.equal(await page.isHidden('#house'), true);
  const focusable = await page.evaluate(() => [...document.querySelectorAll('button, input, select, a[href]')]
    .filter((e) => e.offsetParent !== null)
    .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || e.textContent.trim())).map((e) => e.outerHTML));
  assert.deepEqual(focusable, [], 'every visible control has a name');
  assert.deepEqual(problems, []);
  await page.close();
});

test('an unknown certificate gets a page that says so', async () => {
  const page = await browser.context.newPage();
  const res = await page.goto(`${BASE}/verify/SY-JZ-1999-999999?code=ABCDEFGH`);
  assert.equal(res.status(), 404);
  assert.match(await page.textContent('main'), /查无此证书/);
  await page.close();
});

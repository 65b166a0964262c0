// The officers' whole workflow in the page, for one house: officer 1 registers it on a free spot of a demo
// parcel (the parcel found in a list and picked on the map, the outline drawn by clicking its corners,
// a new owner household registered on the way), appraises it, lists it, records the deal, attaches the
// papers, records the consents and sees the checklist complete; certifying is refused to the officer who
// recorded the deal (maker–checker), and a second officer certifies. Every form first meets a 422 whose
// errors must show next to the field they name. And a survey file with one bad feature is uploaded with
// its progress shown, and the bad feature named in the error table; a zipped shapefile is imported.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SCREENSHOTS, apiAs, day, fieldError, fillDeal, mapIdle, openHouse, openMap, png, save, step, switchUser, withOfficer,
} from './browser.mjs';
import { housesShapefileZip } from './shapefile.mjs';

const run = withOfficer();

/** A valid ID-card number (GB 11643 check character) for a person born on `birth` (YYYYMMDD). */
function idNumber(area, birth, seq) {
  const first = `${area}${birth}${seq}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first].reduce((s, c, i) => s + Number(c) * weights[i], 0);
  return first + '10X98765432'[sum % 11];
}

/** The smallest PDF a reader accepts: what the service checks papers by is their bytes. */
function pdf(text) {
  const body = `%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n% ${text}\ntrailer <</Root 1 0 R>>\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

const lerp = (a, b, t) => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
const metres = (a, b) => {
  const k = 111320;
  return Math.hypot((a[0] - b[0]) * k * Math.cos((a[1] * Math.PI) / 180), (a[1] - b[1]) * k);
};

/**
 * A demo parcel with a free strip of yard beside its house, and four corners inside that strip: the
 * parcel and footprint are rectangles about one centre, so points between a parcel edge and the
 * footprint's parallel edge lie in the parcel and outside the house.
 */
async function freeSpot() {
  const township = (await run.officer.get('/api/v1/townships'))[0].code;
  const parcels = (await run.officer.get(`/api/v1/parcels?township=${township}&limit=300`)).features;
  const houses = (await run.officer.get(`/api/v1/farmhouses?township=${township}&limit=1000`)).features;
  const byParcel = new Map(houses.map((h) => [h.properties.parcel_code, h]));
  let best = null;
  for (const p of parcels) {
    const house = byParcel.get(p.properties.parcel_code);
    if (!house || p.properties.houses !== 1) continue;
    const P = p.geometry.coordinates[0].slice(0, 4);
    const F = house.geometry.coordinates[0].slice(0, 4);
    const nearest = P.map((c) => F.reduce((a, b) => (metres(c, a) < metres(c, b) ? a : b)));
    for (let i = 0; i < 4; i++) {
      const j = (i + 1) % 4;
      // The yard's width across this side: how far the footprint's side lies from the parcel's.
      const width = Math.min(metres(P[i], nearest[i]), metres(P[j], nearest[j])) / Math.SQRT2;
      if (!best || width > best.width) best = { width, parcel: p, house, corners: [P[i], P[j], nearest[j], nearest[i]] };
    }
  }
  const [p0, p1, f1, f0] = best.corners;
  best.strip = [lerp(p0, f0, 0.25), lerp(p1, f1, 0.25), lerp(p1, f1, 0.75), lerp(p0, f0, 0.75)];
  return best;
}

/** Clicks the map at lon/lat. */
async function clickMap(page, lngLat) {
  const box = await page.locator('#map canvas').boundingBox();
  const point = await page.evaluate((c) => window.farmhouse.map.project(c), lngLat);
  await page.mouse.click(box.x + point.x, box.y + point.y);
}

test('one house from registration to certificate, entirely in the page, by two officers', async () => {
  const spot = await freeSpot();
  assert.ok(spot.width > 1.4, `a yard wide enough to draw in (${spot.width.toFixed(2)} m)`);
  const code = spot.parcel.properties.parcel_code;
  const { page, problems } = await openMap(run.browser.context);
  await switchUser(page, 'officer');
  assert.equal(await page.isVisible('#tab-button-work'), true, 'officers have a workbench');
  await page.click('#tab-button-work');

  // The parcel: found in the list by its code, then picked again on the map.
  await page.fill('#parcel-search', code.slice(0, 16));
  await page.press('#parcel-search', 'Enter');
  await page.waitForSelector(`#parcel-choice option[value="${code}"]`, { state: 'attached' });
  await page.selectOption('#parcel-choice', code);
  await page.waitForFunction((c) => document.getElementById('chosen-parcel')?.textContent === c, code);
  const unit = await page.inputValue('#register-form [name="properties.unit_number"]');
  assert.equal(unit, `${code}F${String(Number(spot.house.properties.unit_number.slice(20)) + 1).padStart(8, '0')}`,
    'the next free unit number of the parcel is offered');
  await mapIdle(page);
  await page.click('#pick-parcel');
  await clickMap(page, lerp(spot.strip[0], spot.strip[2], 0.5));
  await page.waitForFunction(() => document.getElementById('pick-parcel').getAttribute('aria-pressed') === 'false');
  assert.equal(await page.textContent('#chosen-parcel'), code, 'the parcel clicked on the map is chosen');

  // The outline: four corners clicked in the free strip of the yard, then finished.
  await mapIdle(page);
  await page.click('#draw-footprint');
  for (const corner of spot.strip) await clickMap(page, corner);
  await page.click('#finish-footprint');
  const drawn = (await page.inputValue('#footprint-text')).trim().split('\n');
  assert.equal(drawn.length, 4, `four corners drawn: ${drawn}`);

  // The facts, with one wrong (11 floors): the 422 names the field and the page shows it there.
  const f = '#register-form';
  await page.fill(`${f} [name="properties.floor_area_m2"]`, '36.5');
  await page.fill(`${f} [name="properties.floors"]`, '11');
  await page.fill(`${f} [name="properties.year_built"]`, '2006');
  await page.selectOption(`${f} [name="properties.structure"]`, '砖木');
  // The owner: a household registered on the spot.
  await page.click('#owner-new summary');
  await page.selectOption('#owner-new-kind', 'household');
  await page.fill('#owner-new-name', '浏览器测试户');
  const ownerId = idNumber('330682', '19800101', '123');
  await page.fill('#owner-new-id_number', `${ownerId.slice(0, 17)}${ownerId[17] === '0' ? '1' : '0'}`);
  await page.click('#owner-create');
  const idError = page.locator('#owner-new [data-field="party.id_number"] .field-error');
  await idError.waitFor({ state: 'visible' });
  assert.match(await idError.textContent(), /不符合要求/, 'a wrong ID number is named next to its field, in the page\'s language');
  await page.fill('#owner-new-id_number', ownerId);
  await page.click('#owner-create');
  await page.waitForFunction(() => document.getElementById('owner-choice').selectedOptions[0]?.textContent.includes('浏览器测试户'));
  await page.selectOption(`${f} [name="properties.homestead_title"]`, 'issued');
  await page.fill(`${f} [name="properties.homestead_cert_no"]`, '浙(2021)绍兴市上虞区不动产权第0012345号');
  await page.selectOption(`${f} [name="properties.ownership_title"]`, 'issued');
  await page.fill(`${f} [name="properties.ownership_cert_no"]`, '浙(2021)绍兴市上虞区不动产权第0012346号');
  await page.click('#register-form-submit');
  assert.match(await fieldError(page, 'register-form', 'properties.floors'), /不符合要求/);
  assert.equal(await page.getAttribute(`${f} [name="properties.floors"]`, 'aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.name), 'properties.floors', 'the bad field has the focus');
  await mapIdle(page);
  await page.screenshot({ path: `${SCREENSHOTS}workflow-register.png` });
  await page.fill(`${f} [name="properties.floors"]`, '1');
  await page.click('#register-form-submit');
  await page.waitForSelector('#house .status-chip[data-status="registered"]');
  assert.ok((await page.textContent('#house .facts')).includes(unit));
  const found = (await run.officer.get(`/api/v1/farmhouses?q=${unit}`)).features[0];
  const house = await run.officer.get(`/api/v1/farmhouses/${found.id}`);
  assert.equal(house.properties.owner.name, '浏览器测试户');
  assert.equal(house.properties.title.homestead_title, 'issued');
  assert.match(await page.textContent('#house #title-basis'), /已发证/);
  assert.equal(house.geometry.coordinates[0].length, 5, 'the outline as drawn, closed');

  // Appraisal.
  await step(page, '#work-appraise', 'appraisal-form');
  await page.fill('#appraisal-form [name=report_no]', 'SYPG-2026-0999');
  await page.fill('#appraisal-form [name=firm]', '绍兴市某房地产估价有限公司');
  await page.fill('#appraisal-form [name=appraiser]', '陈估价');
  await page.fill('#appraisal-form [name=value_yuan]', '180000');
  await page.fill('#appraisal-form [name=annual_rent_yuan]', '9000');
  await page.fill('#appraisal-form [name=valid_until]', day(-1));
  await page.fill('#appraisal-form [name=valuation_date]', day(0));
  await page.click('#appraisal-form-submit');
  assert.match(await fieldError(page, 'appraisal-form', 'valid_until'), /不符合要求/);
  await page.fill('#appraisal-form [name=valid_until]', day(365));
  await save(page, 'appraisal-form');
  const appraisals = await run.officer.get(`/api/v1/appraisals?farmhouse=${house.id}`);
  assert.equal(appraisals.items[0].report_no, 'SYPG-2026-0999');

  // The house's safety appraisal (graded B, so it may be listed for 民宿), a paper of the house itself.
  await step(page, '#work-house-paper', 'paper-form');
  await page.selectOption('#paper-form [name=kind]', 'safety_appraisal');
  await page.selectOption('#paper-form [name=grade]', 'B');
  await page.setInputFiles('#paper-form [name=file]', { name: 'safety.pdf', mimeType: 'application/pdf', buffer: pdf('safety B') });
  await save(page, 'paper-form');
  await page.waitForSelector('#papers li[data-kind="safety_appraisal"]');

  // Listing with a notice from today: a notice of 3 days is refused next to its end.
  await step(page, '#work-list', 'listing-form');
  const l = '#listing-form';
  await page.fill(`${l} [name=asking_rent_yuan]`, '9000');
  await page.fill(`${l} [name=min_term_months]`, '12');
  await page.fill(`${l} [name=max_term_months]`, '120');
  await page.check(`${l} input[name=allowed_uses][value="民宿"]`);
  await page.check(`${l} input[name=allowed_uses][value="文创"]`);
  await page.fill(`${l} [name=notice_end]`, day(3));
  await page.click('#listing-form-submit');
  assert.match(await fieldError(page, 'listing-form', 'notice_end'), /不符合要求/);
  await page.fill(`${l} [name=notice_end]`, day(7));
  await save(page, 'listing-form', 'listed');
  assert.match(await page.textContent('#house .listing'), new RegExp(`${day(0)} – ${day(7)}`));

  // A deal may be signed only after the notice, which has just begun: this listing is withdrawn, and an
  // administrator records the one the deal follows, whose notice lies in the past (from the register).
  await page.click('#house #work-withdraw');
  await page.click('#confirm-ok');
  await page.waitForSelector('#house .status-chip[data-status="registered"]');
  await switchUser(page, 'admin');
  await openHouse(page, unit);
  await step(page, '#work-historical', 'historical-form');
  const h = '#historical-form';
  await page.fill(`${h} [name=asking_rent_yuan]`, '9000');
  await page.fill(`${h} [name=min_term_months]`, '12');
  await page.fill(`${h} [name=max_term_months]`, '120');
  await page.check(`${h} input[name=allowed_uses][value="民宿"]`);
  await page.fill(`${h} [name=notice_start]`, day(-30));
  await page.fill(`${h} [name=notice_end]`, day(-20));
  await page.click('#historical-form-submit');
  assert.match(await fieldError(page, 'historical-form', 'reason'), /\S/, 'the reason is required');
  await page.fill(`${h} [name=reason]`, '据产权交易所纸质登记簿补录（浏览器测试）');
  await save(page, 'historical-form', 'listed');

  // Officer 1 records the deal: lessee an investor of the demo, lessor the owner, contract in Chinese.
  await switchUser(page, 'officer');
  await openHouse(page, unit);
  await step(page, '#work-deal', 'deal-form');
  const d = '#deal-form';
  assert.match(await page.textContent('#deal-lessor'), /浏览器测试户/, 'the lessor is the house’s owner');
  const end = await fillDeal(page, { contract: '上虞农房〔2026〕第98号' });
  // The village's collective is found and chosen by itself (the demo has one in every village).
  await page.waitForFunction(() => document.getElementById('collective-choice').value !== '');
  assert.match(await page.textContent('#collective-choice option:checked'), /村集体经济组织/);
  assert.equal(await page.inputValue(`${d} [name=total_amount_yuan]`), '45000', 'the total follows rent × term');
  // A lease that ends before it starts: refused next to its end.
  await page.fill(`${d} [name=lease_end]`, day(-30));
  await page.click('#deal-form-submit');
  assert.match(await fieldError(page, 'deal-form', 'lease_end'), /不符合要求/);
  await page.fill(`${d} [name=lease_end]`, end);
  await save(page, 'deal-form', 'contracted');
  const dealId = (await run.officer.get(`/api/v1/farmhouses/${house.id}`)).properties.transaction_id;
  const deal = await run.officer.get(`/api/v1/transactions/${dealId}`);
  assert.equal(deal.lessor_party_id, house.properties.owner.id);
  assert.ok(deal.collective_party_id, 'the village collective is a party to the deal');
  assert.equal(deal.contract_no, '上虞农房〔2026〕第98号');

  // Papers of the deal: each kind the checklist asks for; a file that is no PDF is refused.
  const papers = [
    ['lease_contract', { name: 'contract.pdf', mimeType: 'application/pdf', buffer: pdf('lease contract') }],
    ['listing_entrustment', { name: 'entrustment.pdf', mimeType: 'application/pdf', buffer: pdf('entrustment') }],
    ['id_copy', { name: 'id.png', mimeType: 'image/png', buffer: png(40, 25, [200, 200, 220]) }],
    ['appraisal_report', { name: 'appraisal.pdf', mimeType: 'application/pdf', buffer: pdf('appraisal') }],
  ];
  await step(page, '#work-paper', 'paper-form');
  await page.setInputFiles('#paper-form [name=file]', { name: 'notes.pdf', mimeType: 'application/pdf', buffer: Buffer.from('not a pdf at all') });
  await page.click('#paper-form-submit');
  await page.waitForSelector('#paper-form .form-errors:not([hidden])');
  const refused = await page.textContent('#paper-form');
  assert.match(refused, /不支持的文件类型|不符合要求/, 'the refusal says the paper is not accepted');
  for (const [kind, file] of papers) {
    if (!(await page.isVisible('#paper-form'))) await step(page, '#work-paper', 'paper-form');
    await page.selectOption('#paper-form [name=kind]', kind);
    await page.setInputFiles('#paper-form [name=file]', file);
    await save(page, 'paper-form');
    await page.waitForSelector(`#papers li[data-kind="${kind}"]`);
  }

  // Consents: the household's member agrees, the village committee agrees.
  await page.waitForSelector('#checklist li[data-item="consent.household"][data-satisfied="false"]');
  await step(page, '#work-consent', 'consent-form');
  await page.check('#consent-form input[name=kind][value=member]');
  await page.click('#consent-form-submit');
  assert.match(await fieldError(page, 'consent-form', 'member_name'), /\S/, 'a member’s name is needed');
  await page.fill('#consent-form [name=member_name]', '浏览器测试户');
  await save(page, 'consent-form');
  await step(page, '#work-consent', 'consent-form');
  await page.check('#consent-form input[name=kind][value=committee]');
  await page.fill('#consent-form [name=opinion]', '同意出租，用于民宿经营。');
  await save(page, 'consent-form');

  // The checklist: every item but the second officer is satisfied, each with its mark and detail.
  await page.waitForSelector('#checklist li[data-item="consent.committee"][data-satisfied="true"]');
  const items = await page.$$eval('#checklist li', (lis) => lis.map((li) => ({
    item: li.dataset.item, satisfied: li.dataset.satisfied === 'true', mark: li.querySelector('.mark').textContent, text: li.textContent,
  })));
  for (const i of items) assert.equal(i.mark, i.satisfied ? '✓' : '✗', JSON.stringify(i));
  const unmet = items.filter((i) => !i.satisfied && i.item !== 'officers' && i.item !== 'consent.meeting');
  assert.deepEqual(unmet, [], 'everything an officer can bring is there');
  const checklist = await run.officer.get(`/api/v1/transactions/${dealId}/checklist`);
  assert.equal(await page.getAttribute('#checklist-section', 'data-complete'), String(checklist.complete));
  const details = await page.$$eval('#checklist li', (lis) => lis.map((li) => [li.dataset.item, li.querySelector('.detail')?.textContent ?? '']));
  assert.deepEqual(details, checklist.items.map((i) => [i.item, i.detail]), 'each item with the detail the service gives');

  // Officer 1 recorded the deal: certifying is refused, and the page says why.
  await page.click('#house #certify');
  await page.click('#confirm-ok');
  await page.waitForSelector('#alert.error:not([hidden])');
  const refusal = await page.textContent('#alert');
  assert.match(refusal, /不允许/, refusal);
  assert.match(await page.textContent('#checklist-state'), /另一位鉴证员/);
  assert.equal((await run.officer.get(`/api/v1/transactions/${dealId}`)).certificate_no, null);

  // Officer 2 certifies: the certificate number appears in the panel.
  await switchUser(page, 'officer2');
  await openHouse(page, unit);
  await page.waitForSelector('#checklist-section[data-complete="true"]');
  await page.click('#house #certify');
  await page.click('#confirm-ok');
  await page.waitForSelector('#house .status-chip[data-status="certified"]');
  const certified = await run.officer.get(`/api/v1/transactions/${dealId}`);
  assert.match(certified.certificate_no, /^SY-JZ-\d{4}-\d{6}$/);
  assert.ok((await page.textContent('#house .certificate')).includes(certified.certificate_no));
  assert.ok((await page.textContent('#alert')).includes(certified.certificate_no));
  await mapIdle(page);
  await page.screenshot({ path: `${SCREENSHOTS}workflow-certified.png` });
  // The refusals the test provoked are logged by the browser as failed loads; nothing else may be.
  assert.deepEqual(problems.filter((p) => !/the server responded with a status of (409|415|422)/.test(p)), []);
  await page.close();
});

test('a survey file with one bad feature: progress, and the feature named in the error table', async () => {
  const spot = await freeSpot();
  const code = spot.parcel.properties.parcel_code;
  const ring = [...spot.strip, spot.strip[0]];
  const file = {
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] },
        properties: { unit_number: `${code}F00020077`, floor_area_m2: 30, floors: 1, year_built: 2001, structure: '砖木' } },
      // Characters 13–14 are the land right: a farmhouse stands on JC, not JA.
      { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] },
        properties: { unit_number: `${code.slice(0, 12)}JA${code.slice(14)}F00020078`, floor_area_m2: 30, floors: 1, year_built: 2001, structure: '砖木' } },
    ],
  };
  const { page, problems } = await openMap(run.browser.context);
  await switchUser(page, 'officer');
  await page.click('#tab-button-work');
  await page.selectOption('#import-form [name=kind]', 'farmhouses');
  await page.selectOption('#import-form [name=crs]', 'EPSG:4326');
  await page.setInputFiles('#import-form [name=file]', { name: 'survey.geojson', mimeType: 'application/geo+json', buffer: Buffer.from(JSON.stringify(file)) });
  await page.click('#import-form-submit');
  await page.waitForSelector('#import-errors');
  assert.equal(await page.getAttribute('#import-progress', 'value'), '100');
  assert.ok(Number(await page.getAttribute('#import-progress', 'data-events')) >= 1, 'the upload reported its progress');
  const rows = await page.$$eval('#import-errors tbody tr', (trs) => trs.map((tr) => ({ feature: tr.dataset.feature, cells: [...tr.cells].map((c) => c.textContent) })));
  assert.ok(rows.length >= 1);
  assert.ok(rows.every((r) => r.feature === '1'), `only the second feature is bad: ${JSON.stringify(rows)}`);
  assert.match(rows[0].cells[0], /^第 2 个要素/, 'features are counted from 1, as people count');
  assert.ok(rows[0].cells[0].includes(file.features[1].properties.unit_number), 'the row names the feature by its unit number');
  assert.match(rows.map((r) => r.cells[1]).join(' '), /unit_number/);
  assert.match(await page.textContent('#import-form .form-errors'), /1/);
  const none = await run.officer.get(`/api/v1/farmhouses?q=${code}F00020077`);
  assert.equal(none.features.length, 0, 'nothing was imported');

  // Every control of the workbench has a label (a screen reader names it), in either language.
  const unlabelled = () => page.$$eval('#tab-work input, #tab-work select, #tab-work textarea', (controls) => controls
    .filter((c) => !c.labels?.length && !c.getAttribute('aria-label') && !c.getAttribute('aria-labelledby'))
    .map((c) => c.name || c.id || c.outerHTML));
  assert.deepEqual(await unlabelled(), []);
  await page.click('#lang');
  assert.equal(await page.textContent('#register-form-title'), 'Register a house');
  assert.equal(await page.textContent('#register-form [data-field="properties.floors"] label'), 'Floors');
  assert.equal(await page.textContent('#import-form-submit'), 'Upload and import');
  assert.deepEqual(await unlabelled(), []);
  await page.click('#lang');
  assert.equal(await page.textContent('#register-form-title'), '登记房屋');
  assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), []);
  await page.close();
});

test('a zipped shapefile of a house is unzipped in the page, uploaded with its progress and imported', async () => {
  const spot = await freeSpot();
  const code = spot.parcel.properties.parcel_code;
  const unit = `${code}F00020001`;
  const archive = housesShapefileZip([
    { ring: [...spot.strip, spot.strip[0]], unit_number: unit, floor_area_m2: 28.5, floors: 1, year_built: 1998, structure: '砖木' },
  ]);
  const { page, problems } = await openMap(run.browser.context);
  await switchUser(page, 'officer');
  await page.click('#tab-button-work');
  await page.selectOption('#import-form [name=kind]', 'farmhouses');
  await page.setInputFiles('#import-form [name=file]', { name: 'survey.zip', mimeType: 'application/zip', buffer: archive });
  await page.click('#import-form-submit');
  await page.waitForSelector('#import-done');
  assert.match(await page.textContent('#import-done'), /已导入 1 个要素（houses\.shp，EPSG:4326）/);
  assert.equal(await page.getAttribute('#import-progress', 'value'), '100');
  assert.ok(Number(await page.getAttribute('#import-progress', 'data-events')) >= 1, 'the upload reported its progress');
  const imported = (await run.officer.get(`/api/v1/farmhouses?q=${unit}`)).features;
  assert.equal(imported.length, 1, 'the house is in the registry');
  assert.equal(imported[0].properties.structure, '砖木', 'the .dbf was read as UTF-8');
  assert.equal(imported[0].properties.floor_area_m2, 28.5);
  assert.deepEqual(problems, []);
  await page.close();
});

test('by keyboard alone an officer registers a house from pasted coordinates', async () => {
  const spot = await freeSpot();
  const code = spot.parcel.properties.parcel_code;
  const { page, problems } = await openMap(run.browser.context);
  await switchUser(page, 'officer');
  await page.focus('#tab-button-queue');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.getAttribute('#tab-button-work', 'aria-selected'), 'true');
  await page.focus('#parcel-search');
  await page.keyboard.type(code);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`#parcel-choice option[value="${code}"]`, { state: 'attached' });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'parcel-choice', 'the list of parcels found takes the focus');
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction((c) => document.getElementById('chosen-parcel')?.textContent === c, code);
  const unit = await page.inputValue('#register-form [name="properties.unit_number"]');
  // The outline pasted as GeoJSON, as a surveyor's file gives it: it is drawn on the map at once.
  await page.focus('#footprint-text');
  await page.keyboard.insertText(JSON.stringify({ type: 'Polygon', coordinates: [[...spot.strip, spot.strip[0]]] }));
  assert.equal(await page.evaluate(() => window.farmhouse.app.workbench.vertices.length), 4);
  await page.focus('#register-form [name="properties.floor_area_m2"]');
  await page.keyboard.type('22');
  await page.keyboard.press('Tab');
  await page.keyboard.type('1');
  await page.keyboard.press('Tab');
  await page.keyboard.type('1995');
  await page.keyboard.press('Tab');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.inputValue('#register-form [name="properties.structure"]'), '砖混');
  await page.focus('#register-form [name="properties.year_built"]');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#house .status-chip[data-status="registered"]');
  const found = (await run.officer.get(`/api/v1/farmhouses?q=${unit}`)).features;
  assert.equal(found.length, 1);
  assert.deepEqual(found[0].geometry.coordinates[0].slice(0, 4).map((p) => p.map((v) => v.toFixed(6))),
    spot.strip.map((p) => p.map((v) => v.toFixed(6))), 'the outline as pasted');
  assert.deepEqual(problems, []);
  await page.close();
});

test('an officer limited to one township sees it named, and a house elsewhere is refused in the form', async () => {
  const townships = await run.officer.get('/api/v1/townships');
  const [elsewhere, own] = [townships[0], townships[1]];
  const admin = await apiAs('admin');
  try {
    await admin.post('/api/v1/users', { username: 'browser.officer3', role: 'officer', password: 'browser.officer3-password', townships: [own.code] });
  } finally {
    await admin.dispose();
  }
  process.env.FARMHOUSE_OFFICER3 = 'browser.officer3:browser.officer3-password';
  const spot = await freeSpot();
  assert.equal(spot.parcel.properties.township_code, elsewhere.code);
  const code = spot.parcel.properties.parcel_code;
  const { page } = await openMap(run.browser.context);
  await switchUser(page, 'officer3');
  assert.match(await page.textContent('#who'), new RegExp(`browser\\.officer3 · 鉴证员 · ${own.name}`));
  await page.click('#tab-button-work');
  await page.fill('#parcel-search', code);
  await page.press('#parcel-search', 'Enter');
  await page.waitForSelector(`#parcel-choice option[value="${code}"]`, { state: 'attached' });
  await page.selectOption('#parcel-choice', code);
  await page.waitForFunction((c) => document.getElementById('chosen-parcel')?.textContent === c, code);
  await page.fill('#footprint-text', spot.strip.map(([x, y]) => `${x}, ${y}`).join('\n'));
  const f = '#register-form';
  await page.fill(`${f} [name="properties.floor_area_m2"]`, '20');
  await page.fill(`${f} [name="properties.floors"]`, '1');
  await page.fill(`${f} [name="properties.year_built"]`, '2000');
  await page.selectOption(`${f} [name="properties.structure"]`, '木');
  await page.click('#register-form-submit');
  await page.waitForSelector(`${f} > .form-errors:not([hidden])`);
  assert.equal(await page.textContent(`${f} > .form-errors`), '不在您账号所辖的乡镇街道内。');
  assert.equal((await run.officer.get(`/api/v1/farmhouses?q=${code}`)).features.length, 1, 'no house was added');

  // A house elsewhere opens with its public facts only: no steps offered, nothing asked that is refused.
  const refused = [];
  page.on('response', (r) => { if (r.status() === 403) refused.push(r.url()); });
  await openHouse(page, spot.house.properties.unit_number);
  assert.equal(await page.locator('#house #work-actions').count(), 0, 'no steps offered outside the account’s townships');
  // A certified house elsewhere: its certificate is shown, its deal's money (refused outside) not asked for.
  const [leased] = (await run.officer.get(`/api/v1/farmhouses?township=${elsewhere.code}&status=certified&limit=1`)).features;
  await openHouse(page, leased.properties.unit_number);
  await page.waitForSelector('#house section.certificate');
  assert.equal(await page.locator('#house #schedule-section').count(), 0);
  assert.deepEqual(refused, []);
  await page.close();
});

// Officers: log in, take a deal from the queue, certify it from the house panel after confirming — the
// house changes colour on the map and the totals change, without a reload — read the record's history,
// then ask for the certificate's revocation with a reason (it stays in force) and, as a second officer,
// confirm it and see both go back.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE, SCREENSHOTS, centre, drawnHouseAt, getJson, launch, logIn, mapIdle, nearestStatus, openMap } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The district's totals as the page shows them (raw values). */
const shownTotals = (page) => page.evaluate(() => Object.fromEntries(['certified', 'area', 'amount']
  .map((k) => [k, Number(document.getElementById(`total-${k}`).dataset.value)])));

async function totalsSettled(page, certified) {
  await page.waitForFunction((n) => Number(document.getElementById('total-certified')?.dataset.value) === n, certified);
  return shownTotals(page);
}

test('an officer certifies a deal from the queue; revoking it takes a second officer; map and totals follow', async () => {
  const { page, problems } = await openMap(browser.context);
  let reloads = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) reloads += 1; });
  await logIn(page, 'officer');
  assert.equal(await page.getAttribute('#tab-button-queue', 'aria-selected'), 'true', 'the queue comes first');
  await page.waitForSelector('#queue li');
  const before = await getJson(page, '/api/v1/stats/summary');
  await page.click('#tab-button-stats');
  const shownBefore = await totalsSettled(page, before.certified_houses);

  // The first deal of the queue: its house is contracted, drawn orange.
  await page.click('#tab-button-queue');
  const first = page.locator('#queue li').first();
  const dealId = Number(await first.getAttribute('data-transaction'));
  const houseId = Number(await first.getAttribute('data-house'));
  const deal = await getJson(page, `/api/v1/transactions/${dealId}`);
  await first.locator('button').click();
  await page.waitForSelector('#house:not([hidden]) #certify');
  const house = await getJson(page, `/api/v1/farmhouses/${houseId}`);
  const at = centre(house.geometry);
  let drawn = await drawnHouseAt(page, at);
  assert.equal(drawn.id, houseId);
  assert.equal(drawn.status, 'contracted');
  assert.equal(await nearestStatus(page, drawn.pixel), 'contracted');

  // Certify, after a confirmation that names the contract; cancelling first changes nothing.
  await page.click('#certify');
  assert.match(await page.textContent('#confirm-message'), new RegExp(deal.contract_no));
  await page.click('#confirm-cancel');
  assert.equal(await page.isVisible('#certify'), true);
  await page.click('#certify');
  await page.click('#confirm-ok');
  await page.waitForSelector('#house #revoke');
  assert.match(await page.textContent('#alert'), /已出具鉴证书 SY-JZ-/);
  assert.match(await page.textContent('#house .status-chip'), /已鉴证/);

  drawn = await drawnHouseAt(page, at);
  assert.equal(drawn.status, 'certified', 'the map draws the house as certified');
  assert.equal(await nearestStatus(page, drawn.pixel), 'certified', `pixel ${drawn.pixel}`);
  const after = await getJson(page, '/api/v1/stats/summary');
  assert.equal(after.certified_houses, before.certified_houses + 1);
  const shownAfter = await totalsSettled(page, after.certified_houses);
  assert.equal(shownAfter.certified, shownBefore.certified + 1);
  assert.ok(Math.abs(shownAfter.area - (shownBefore.area + house.properties.floor_area_m2)) < 0.01, JSON.stringify(shownAfter));
  assert.ok(Math.abs(shownAfter.amount - (shownBefore.amount + deal.total_amount_yuan)) < 0.01, JSON.stringify(shownAfter));
  assert.equal(await page.locator(`#queue li[data-transaction="${dealId}"]`).count(), 0, 'the deal left the queue');

  // The officer's copy of the certificate is one click away: a PDF that names the parties in full.
  const documentHref = await page.getAttribute('#certificate-document', 'href');
  assert.match(documentHref, /\/document\?code=[0-9A-Z]{8}&copy=officer$/);
  const pdf = await page.request.get(new URL(documentHref, BASE).href);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');

  // The record's history says the change as a sentence.
  assert.match(await page.textContent('#house .history'), /将状态由“已成交”改为“已鉴证/);
  await mapIdle(page);
  await page.screenshot({ path: `${SCREENSHOTS}officer.png` });

  // Revoking takes two officers. This one asks, with a reason: the certificate stays in force.
  await page.click('#revoke');
  await page.fill('#confirm-reason', '浏览器测试：撤销');
  await page.click('#confirm-ok');
  await page.waitForSelector('#house #revocation');
  assert.match(await page.textContent('#alert'), /待另一位鉴证员确认/);
  assert.match(await page.textContent('#house .status-chip'), /已鉴证/);
  assert.equal(await page.locator('#house #revoke, #house #revoke-confirm').count(), 0, 'who asked does not confirm');
  drawn = await drawnHouseAt(page, at);
  assert.equal(drawn.status, 'certified', 'in force until a second officer confirms');
  assert.equal((await totalsSettled(page, after.certified_houses)).certified, shownAfter.certified);

  // A second officer sees the request and confirms it: the house is contracted again, the totals are back.
  await page.click('#login-button');
  await page.waitForFunction(() => document.body.dataset.role === 'public');
  await logIn(page, 'officer2');
  await page.waitForSelector('#house #revoke-confirm');
  assert.match(await page.textContent('#house #revocation'), /browser\.officer 申请撤销.*浏览器测试：撤销/);
  await page.click('#revoke-confirm');
  assert.equal(await page.inputValue('#confirm-reason'), '浏览器测试：撤销', 'the request’s reason is offered');
  await page.click('#confirm-ok');
  await page.waitForSelector('#house #certify');
  assert.match(await page.textContent('#alert'), /已撤销鉴证书/);
  drawn = await drawnHouseAt(page, at);
  assert.equal(drawn.status, 'contracted');
  assert.equal(await nearestStatus(page, drawn.pixel), 'contracted');
  await page.click('#tab-button-stats');
  const back = await totalsSettled(page, before.certified_houses);
  assert.deepEqual(back, shownBefore);
  assert.equal(reloads, 0, 'the page was never reloaded');
  assert.deepEqual(problems, []);
  await page.close();
});

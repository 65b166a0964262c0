// Money and credit in the page. A bank looks up a demo certificate by its number and code, registers a
// pledge on it (a loan that ends before it starts first meets its 422 beside the field), the public
// verification page then lists the encumbrance, and the bank releases it in the page after a confirmation;
// the verification page lists it no more. An official sees the rent received by the households and by the
// village collectives, the rent overdue and the pledges in force, of the district and of a township, equal to
// GET /api/v1/stats/summary, and the service's three reports for them. An officer records a deal with a
// yearly schedule that rises every three years, sees its instalments split between household and
// collective, and records a payment against the first (more than is due is refused beside the amount).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BASE, SCREENSHOTS, day, fieldError, fillDeal, getJson, mapIdle, openHouse, openMap, save, step, switchUser, withOfficer,
} from './browser.mjs';

const BANK = '浙江上虞农村商业银行股份有限公司';

const run = withOfficer();

const wan = (v) => (Number(v) / 10000).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
/** Yuan as the page writes them: grouped, with the fen. */
const yuan = (v) => Number(v).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** A certificate of the demo in force today with no pledge in force, with its code (officers see it). */
async function unpledgedCertificate() {
  const page = await run.officer.get('/api/v1/certifications?in_force=true&limit=200');
  const pledged = new Set((await run.officer.get('/api/v1/pledges?active=true')).items.map((p) => p.certificate_no));
  const cert = page.items.find((c) => c.state === 'in_force' && !pledged.has(c.certificate_no));
  assert.ok(cert, 'the demo has a certificate in force without a pledge');
  return cert;
}

/** The verification page's encumbrances section: each pledge in force, or the line saying there is none. */
async function encumbrances(page, no, code) {
  await page.goto(`${BASE}/verify/${encodeURIComponent(no)}?code=${encodeURIComponent(code)}`);
  await page.waitForSelector('section#encumbrances');
  return {
    items: await page.locator('#encumbrances li.encumbrance').allTextContents(),
    none: await page.locator('#encumbrances p.none').count(),
  };
}

test('a bank registers a pledge on a certificate, the verification page lists it, and the bank releases it', async () => {
  const cert = await unpledgedCertificate();
  const no = cert.certificate_no;
  const code = cert.verification_code;
  const verifyPage = await run.browser.context.newPage();
  const before = await encumbrances(verifyPage, no, code);
  assert.deepEqual(before, { items: [], none: 1 }, 'no encumbrance before');

  const { page, problems } = await openMap(run.browser.context);
  await switchUser(page, 'bank');
  assert.equal(await page.getAttribute('#tab-button-pledges', 'aria-selected'), 'true', 'a bank starts on its pledges');
  assert.equal(await page.isVisible('#tab-button-stats'), false);

  // The certificate looked up with its number and code: in force, its facts, nothing pledged on it.
  await page.fill('#pledge-lookup [name=certificate_no]', no);
  await page.fill('#pledge-lookup [name=code]', code);
  await page.click('#pledge-lookup-submit');
  await page.waitForSelector('#pledge-certificate[data-state="in_force"]');
  assert.ok((await page.textContent('#pledge-certificate .facts')).includes(cert.unit_number));
  assert.equal(await page.textContent('#pledge-certificate #certificate-encumbrances'), '无');

  // A loan that ends before it starts: refused beside its end.
  const f = '#pledge-form';
  const contract = `上虞农商抵借字〔2026〕第${String(Date.now() % 100000).padStart(5, '0')}号`;
  await page.fill(`${f} [name=loan_contract_no]`, contract);
  await page.fill(`${f} [name=amount_yuan]`, '300000');
  await page.fill(`${f} [name=loan_start]`, day(0));
  await page.fill(`${f} [name=loan_end]`, day(-10));
  await page.click('#pledge-form-submit');
  assert.match(await fieldError(page, 'pledge-form', 'loan_end'), /\S/, 'the bad end is named beside its field');
  await page.fill(`${f} [name=loan_end]`, day(3 * 365));
  await page.click('#pledge-form-submit');
  await page.waitForSelector('#pledge-certificate li.encumbrance');
  const shown = await page.textContent('#pledge-certificate li.encumbrance');
  assert.ok(shown.includes(BANK) && shown.includes(yuan(300000)), shown);
  const item = page.locator(`#pledge-list li[data-certificate="${no}"][data-status="in_force"]`);
  await item.waitFor();
  assert.match(await item.textContent(), new RegExp(contract.replace(/[〔〕]/g, '.')));

  // As the service keeps it, and as everyone checking the certificate now reads it.
  const [pledge] = (await run.officer.get(`/api/v1/pledges?active=true&certificate_no=${encodeURIComponent(no)}`)).items;
  assert.equal(pledge.bank, BANK);
  assert.equal(Number(pledge.amount_yuan), 300000);
  assert.equal(pledge.loan_contract_no, contract);
  assert.equal(pledge.status, 'in_force');
  const listed = await encumbrances(verifyPage, no, code);
  assert.equal(listed.items.length, 1, JSON.stringify(listed));
  assert.ok(listed.items[0].includes(BANK), listed.items[0]);
  assert.match(listed.items[0].replace(/[,\s]/g, ''), /300000/, listed.items[0]);
  assert.equal(listed.none, 0);
  await mapIdle(page);
  await page.evaluate(() => {
    // The certificate with its encumbrance at the top of the list pane, below the tabs.
    const side = document.getElementById('side');
    const top = document.getElementById('pledge-certificate').getBoundingClientRect().top - side.getBoundingClientRect().top;
    side.scrollTop += top - side.querySelector('.tabs').offsetHeight - 8;
  });
  await page.screenshot({ path: `${SCREENSHOTS}bank-pledge.png` });

  // Released in the page, after a confirmation (cancelling first changes nothing), with a note.
  await item.locator('button.release').click();
  assert.match(await page.textContent('#confirm-message'), new RegExp(no));
  await page.click('#confirm-cancel');
  assert.equal(await item.count(), 1);
  await item.locator('button.release').click();
  await page.fill('#confirm-reason', '贷款已结清（浏览器测试）');
  await page.click('#confirm-ok');
  await page.waitForSelector('#pledge-certificate #certificate-encumbrances.none');
  await item.waitFor({ state: 'detached' });
  assert.match(await page.textContent('#alert'), new RegExp(`已解押 ${no}`));
  const released = (await run.officer.get(`/api/v1/pledges?certificate_no=${encodeURIComponent(no)}`)).items.find((p) => p.id === pledge.id);
  assert.equal(released.status, 'released');
  assert.equal(released.release_note, '贷款已结清（浏览器测试）');
  assert.deepEqual(await encumbrances(verifyPage, no, code), { items: [], none: 1 }, 'no encumbrance after the release');
  await verifyPage.close();

  // The released pledge stays in the bank's list when it asks for those too.
  await page.check('#pledges-released');
  await page.waitForSelector(`#pledge-list li[data-pledge="${pledge.id}"][data-status="released"]`);
  assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), []);
  await page.close();
});

/** The money and credit figures the page shows under `prefix` (total, township): raw value and text. */
async function moneyFigures(page, prefix) {
  return page.evaluate((p) => Object.fromEntries(['household', 'collective', 'overdue', 'pledges', 'pledged'].map((k) => {
    const e = document.getElementById(`${p}-${k}`);
    return [k, e ? { value: Number(e.dataset.value), text: e.textContent } : null];
  })), prefix);
}

function assertMoney(shown, s, where) {
  assert.equal(shown.household.value, Number(s.household_income_yuan), `${where}: household income`);
  assert.equal(shown.household.text, wan(s.household_income_yuan), `${where}: household income in 万元`);
  assert.equal(shown.collective.value, Number(s.collective_income_yuan), `${where}: collective income`);
  assert.equal(shown.collective.text, wan(s.collective_income_yuan), `${where}: collective income in 万元`);
  assert.equal(shown.overdue.value, Number(s.overdue_yuan), `${where}: overdue`);
  assert.equal(shown.overdue.text, wan(s.overdue_yuan));
  assert.equal(shown.pledges.value, s.pledges_in_force, `${where}: pledges in force`);
  assert.equal(shown.pledged.value, Number(s.pledged_amount_yuan), `${where}: pledged amount`);
  assert.equal(shown.pledged.text, wan(s.pledged_amount_yuan));
}

/** A CSV of the service as rows of cells (a header first), its BOM dropped. */
async function csv(page, href) {
  const res = await page.request.get(href);
  assert.equal(res.status(), 200, href);
  assert.match(res.headers()['content-type'], /text\/csv/);
  return (await res.text()).replace(/^\ufeff/, '').trim().split(/\r?\n/).map((line) => line.split(','));
}

test('an official sees the rent of households and collectives, overdue rent and pledges, as the summary gives them', async () => {
  const { page, problems } = await openMap(run.browser.context);
  await switchUser(page, 'official');
  await page.waitForSelector('#total-household');
  const summary = await getJson(page, '/api/v1/stats/summary');
  assertMoney(await moneyFigures(page, 'total'), summary, 'district');

  // The township with the most rent to households, chosen from the list.
  const busiest = [...summary.by_township].sort((a, b) => Number(b.household_income_yuan) - Number(a.household_income_yuan))[0];
  assert.ok(Number(busiest.household_income_yuan) > 0, 'the demo has rent received');
  await page.selectOption('#stats-township', busiest.code);
  await page.waitForSelector('#totals-township:not([hidden]) #township-household');
  const one = await getJson(page, `/api/v1/stats/summary?township=${busiest.code}`);
  assertMoney(await moneyFigures(page, 'township'), one, busiest.name);
  for (const k of ['household_income_yuan', 'collective_income_yuan', 'overdue_yuan', 'pledged_amount_yuan']) {
    assert.equal(Number(busiest[k]), Number(one[k]), `the district's row of ${busiest.name} and its own summary agree on ${k}`);
  }
  // A township's row names its count of pledges in force `pledges` (the summary itself: `pledges_in_force`).
  assert.equal(busiest.pledges_in_force ?? busiest.pledges, one.pledges_in_force, 'the row and the summary agree on pledges');
  await mapIdle(page);
  await page.locator('#totals-township').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SCREENSHOTS}official-income.png` });

  // The three reports of the chosen township: income by month adds up to its figures.
  const href = (id) => page.locator(`#${id}`).evaluate((a) => a.href);
  for (const id of ['export-income', 'export-overdue', 'export-pledges']) {
    assert.ok((await href(id)).endsWith(`?township=${busiest.code}`), `${id} is of the chosen township`);
  }
  const [head, ...rows] = await csv(page, await href('export-income'));
  assert.deepEqual(head, ['township_code', 'township_name', 'month', 'payments', 'household_income_yuan', 'collective_income_yuan']);
  const sum = (i) => Math.round(rows.reduce((s, r) => s + Number(r[i]) * 100, 0));
  assert.equal(sum(4), Math.round(Number(one.household_income_yuan) * 100), 'household income by month adds up');
  assert.equal(sum(5), Math.round(Number(one.collective_income_yuan) * 100), 'collective income by month adds up');
  assert.ok((await csv(page, await href('export-overdue'))).length >= 1);
  assert.ok((await csv(page, await href('export-pledges'))).length >= 1);

  // In English the figures keep their values.
  await page.click('#lang');
  assert.match(await page.textContent('#tab-stats'), /Collective income \(10k yuan\)/);
  assertMoney(await moneyFigures(page, 'township'), one, `${busiest.name} in English`);
  await page.click('#lang');
  assert.deepEqual(problems, []);
  await page.close();
});

/** A listed house of the demo whose notice is over, so a deal may be signed today. */
async function houseToLease() {
  const page = await run.officer.get('/api/v1/farmhouses?status=listed&limit=1000');
  const house = page.features.find((f) => f.properties.listing?.notice_end < day(0));
  assert.ok(house, 'the demo has a listed house whose notice is over');
  return (await run.officer.get(`/api/v1/farmhouses/${house.id}`));
}

test('an officer records a deal with a yearly schedule that rises, and a payment against its first instalment', async () => {
  const house = await houseToLease();
  const unit = house.properties.unit_number;
  const { page, problems } = await openMap(run.browser.context);
  await switchUser(page, 'officer');
  await openHouse(page, unit);
  await step(page, '#work-deal', 'deal-form');
  const d = '#deal-form';
  await fillDeal(page, { contract: `上虞农房〔2026〕第${String(Date.now() % 100000).padStart(5, '0')}号`, rent: 9000 });
  assert.equal(await page.inputValue(`${d} [name=total_amount_yuan]`), '45000', 'the total follows rent × term');

  // Yearly, rising 5% every 3 years: the rise's size without how often is refused beside the missing part.
  await page.selectOption('#schedule-plan', 'yearly');
  await page.fill(`${d} [name="schedule.escalation_percent"]`, '5');
  await page.click('#deal-form-submit');
  assert.match(await fieldError(page, 'deal-form', 'schedule.escalation_every_years'), /不符合要求/);
  await page.fill(`${d} [name="schedule.escalation_every_years"]`, '3');
  // Three years at 9,000 and two at 9,450 are more than rent × term: refused beside the schedule.
  await page.click('#deal-form-submit');
  assert.match(await fieldError(page, 'deal-form', 'schedule'), /不符合要求/);
  await page.fill(`${d} [name=total_amount_yuan]`, '45900');
  await save(page, 'deal-form', 'contracted');

  const dealId = (await run.officer.get(`/api/v1/farmhouses/${house.id}`)).properties.transaction_id;
  const schedule = await run.officer.get(`/api/v1/transactions/${dealId}/schedule`);
  assert.equal(schedule.plan, 'yearly');
  assert.equal(Number(schedule.escalation_percent), 5);
  assert.equal(schedule.escalation_every_years, 3);
  assert.deepEqual(schedule.instalments.map((i) => Number(i.amount_yuan)), [9000, 9000, 9000, 9450, 9450]);
  // The table: a row per instalment as the service made it, each split between household and collective.
  await page.waitForSelector('#schedule-section #instalments');
  const rows = await page.$$eval('#instalments tr.instalment', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent.replace(/\s+/g, ''))));
  assert.deepEqual(rows.map((r) => r.slice(0, 4)), schedule.instalments.map((i) => [String(i.seq), i.due_on, yuan(i.amount_yuan),
    `${yuan(i.household_yuan)}/${yuan(i.collective_yuan)}`]));
  for (const i of schedule.instalments) assert.equal(Number(i.household_yuan) + Number(i.collective_yuan), Number(i.amount_yuan));

  // A payment against the first: more than is due, without saying why, is refused beside the amount.
  const first = schedule.instalments[0];
  await page.click('#house #pay-1');
  await page.waitForSelector('#work-dialog[open] #payment-form');
  assert.equal(await page.inputValue('#payment-form [name=amount_yuan]'), '9000', 'what is due is offered');
  const receipt = `SK-${Date.now()}`;
  await page.fill('#payment-form [name=amount_yuan]', '9500');
  await page.selectOption('#payment-form [name=method]', 'bank_transfer');
  await page.fill('#payment-form [name=receipt_no]', receipt);
  await page.click('#payment-form-submit');
  assert.match(await fieldError(page, 'payment-form', 'amount_yuan'), /\S/);
  await page.fill('#payment-form [name=amount_yuan]', '9000');
  await save(page, 'payment-form');
  await page.waitForSelector('#instalments tr.instalment[data-seq="1"][data-state="paid"]');
  assert.equal(await page.locator('#house #pay-1').count(), 0, 'a paid instalment takes no more payments');
  assert.ok((await page.textContent('#instalments tr.payment')).includes(receipt));
  const paid = await run.officer.get(`/api/v1/transactions/${dealId}/schedule`);
  const [payment] = paid.instalments[0].payments;
  assert.equal(Number(payment.amount_yuan), 9000);
  assert.equal(payment.receipt_no, receipt);
  assert.equal(payment.method, 'bank_transfer');
  assert.equal(Number(payment.household_yuan), Number(first.household_yuan), 'the payment is split as its instalment');
  assert.equal(Number(paid.paid_yuan), 9000);
  assert.equal(await page.textContent('#schedule-paid'), `${yuan(9000)} 元`);

  // The overdue rent of the district, as the service lists it.
  await page.click('#tab-button-overdue');
  const overdue = await run.officer.get('/api/v1/instalments/overdue');
  if (overdue.items.length) {
    await page.waitForSelector('#overdue-total');
    assert.equal(Number(await page.getAttribute('#overdue-total', 'data-value')), Number(overdue.outstanding_yuan));
    assert.equal(await page.locator('#overdue li').count(), overdue.items.length);
  } else await page.waitForSelector('#overdue p.hint');
  assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), []);
  await page.close();
});

// Every refusal in the page's language, interests done properly, names in both languages: a duplicate
// interest is said in Chinese in Chinese and in English in English, and the button then stays "registered"
// whenever the house is opened again; the investor's "my interests" lists it; an officer sees it on the
// listing; a wrong login is refused in Chinese; English shows townships and villages as "Baiguan Jiedao
// 百官街道", the Chinese marked lang="zh" — on a desktop and on a phone.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SCREENSHOTS, account, getJson, launch, logIn, openMap, switchUser } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** `n` houses with an open listing the logged-in investor has not registered interest in. */
async function freshListings(page, n) {
  const mine = new Set((await getJson(page, '/api/v1/interests')).map((i) => i.listing_id));
  const houses = (await getJson(page, '/api/v1/farmhouses?status=listed&limit=200')).features
    .filter((f) => f.properties.listing && !mine.has(f.properties.listing.id));
  assert.ok(houses.length >= n, `${n} listed houses`);
  // The last ones: the investor's other test registers in a house at the start of the list.
  return houses.slice(-n);
}

/** Registers interest the way another window of the same investor would: behind the open panel's back. */
async function registerBehind(page, listing, message) {
  const status = await page.evaluate(async ([id, m]) => (await fetch(`/api/v1/listings/${id}/interest`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ message: m }),
  })).status, [listing, message]);
  assert.equal(status, 201);
}

async function open(page, id) {
  await page.evaluate((h) => window.farmhouse.app.openHouse(h), id);
  await page.waitForSelector('#house:not([hidden]) #interest');
}

async function closeHouse(page) {
  await page.click('#house > .close');
  await page.waitForSelector('#house', { state: 'hidden' });
}

/** The language the page shows; switched with its button. */
async function useLang(page, want) {
  const now = await page.evaluate(() => document.documentElement.lang);
  if ((want === 'en') !== (now === 'en')) await page.click('#lang');
  await page.waitForFunction((w) => document.documentElement.lang.startsWith(w), want);
}

const state = {};

/** The page's problems less the refusals these tests provoke on purpose (the browser logs each). */
const unexpected = (problems) => problems.filter((p) => !/the server responded with a status of (401|409)/.test(p));

test('a duplicate interest is said in the page\'s language and the button stays "registered"', async () => {
  const { page, problems } = await openMap(browser.context);
  await useLang(page, 'zh');
  await logIn(page, 'investor');
  const [a, b, c] = await freshListings(page, 3);
  state.house = a;

  // Chinese: the house is opened, another window registers, then the button is pressed.
  await open(page, a.id);
  assert.equal(await page.textContent('#interest'), '登记意向');
  assert.equal(await page.isEnabled('#interest'), true);
  await registerBehind(page, a.properties.listing.id, '想改造成民宿，请联系我');
  await page.fill('#interest-message', '第二次登记');
  await page.click('#interest');
  await page.waitForSelector('#alert.error:not([hidden])');
  assert.equal(await page.textContent('#alert'), '出错了：您已登记过对该房源的意向。');
  await page.waitForSelector('#interest[data-registered]');
  assert.equal(await page.textContent('#interest'), '已登记意向');
  assert.equal(await page.isDisabled('#interest'), true);
  await closeHouse(page);
  await open(page, a.id);
  assert.equal(await page.textContent('#interest'), '已登记意向', 'registered after reopening');
  assert.equal(await page.isDisabled('#interest'), true);

  // A registration with a message from the panel.
  await closeHouse(page);
  await open(page, b.id);
  await page.fill('#interest-message', '计划做乡村民宿');
  await page.click('#interest');
  await page.waitForSelector('#alert.notice:not([hidden])');
  assert.equal(await page.textContent('#interest'), '已登记意向');
  const mine = await getJson(page, '/api/v1/interests');
  assert.equal(mine.find((i) => i.listing_id === b.properties.listing.id)?.message, '计划做乡村民宿');
  await closeHouse(page);

  // English: the same refusal in English, and the place names in pinyin with the Chinese beside them.
  await useLang(page, 'en');
  await open(page, c.id);
  assert.equal(await page.textContent('#interest'), 'Register interest');
  await registerBehind(page, c.properties.listing.id, '');
  await page.click('#interest');
  await page.waitForSelector('#alert.error:not([hidden])');
  assert.equal(await page.textContent('#alert'), 'Something went wrong: You have already registered interest in this listing.');
  await page.waitForSelector('#interest[data-registered]');
  assert.equal(await page.textContent('#interest'), 'Interest registered');
  const p = c.properties;
  const facts = await page.$$eval('#house .facts dd', (dds) => dds.map((d) => [d.textContent, d.querySelector('[lang=zh]')?.textContent ?? null]));
  const township = facts.find(([, zh]) => zh === p.township_name);
  assert.ok(township, `the township ${p.township_name} marked lang="zh": ${JSON.stringify(facts)}`);
  assert.equal(township[0], `${p.township_name_pinyin} ${p.township_name}`);
  assert.match(p.township_name_pinyin, /^[A-Z][a-z']+ (Jiedao|Zhen|Xiang)$/);
  assert.ok(facts.some(([text, zh]) => zh === p.village && text === `${p.village_pinyin} ${p.village}`), 'the village in both');
  assert.ok(facts.some(([, zh]) => zh === p.structure), 'the structure stays Chinese, marked so');
  if (p.description) assert.equal(await page.getAttribute('#house .description', 'lang'), 'zh');
  await page.screenshot({ path: `${SCREENSHOTS}interest-registered-en.png` });
  await closeHouse(page);

  // My interests: every one, with its place in both languages.
  await page.click('#tab-button-interests');
  await page.waitForSelector('#my-interests li');
  const listed = await page.$$eval('#my-interests li', (lis) => lis.map((li) => Number(li.dataset.listing)));
  for (const h of [a, b, c]) assert.ok(listed.includes(h.properties.listing.id), `listing ${h.properties.listing.id} in my interests`);
  const first = page.locator(`#my-interests li[data-listing="${a.properties.listing.id}"]`);
  assert.equal(await first.locator('.interest-place [lang=zh]').first().textContent(), a.properties.township_name);
  assert.match(await first.textContent(), /想改造成民宿，请联系我/);
  await page.screenshot({ path: `${SCREENSHOTS}my-interests-en.png` });
  await useLang(page, 'zh');
  await page.waitForSelector('#tab-interests h2:text("我登记的意向")');
  assert.equal(await page.textContent('#alert'), '出错了：您已登记过对该房源的意向。', 'the refusal shown is said again in Chinese');
  assert.equal(await page.locator('#my-interests [lang=zh]').count(), 0, 'no marks in the Chinese page');
  await page.screenshot({ path: `${SCREENSHOTS}my-interests.png` });
  // Opening the house from the list: still registered.
  await first.locator('button').click();
  await page.waitForSelector('#house:not([hidden]) #interest[data-registered]');
  assert.deepEqual(unexpected(problems), []);
  await page.close();
});

test('an officer sees the interests registered in a listing', async () => {
  assert.ok(state.house, 'the first test registered an interest');
  const { page, problems } = await openMap(browser.context);
  await switchUser(page, 'officer');
  await page.evaluate((h) => window.farmhouse.app.openHouse(h), state.house.id);
  const investor = account('investor').username;
  const entry = page.locator(`#listing-interests li[data-user="${investor}"]`);
  await entry.waitFor();
  assert.match(await entry.textContent(), /想改造成民宿，请联系我/);
  await page.locator('#listing-interests').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SCREENSHOTS}listing-interests.png` });
  assert.deepEqual(unexpected(problems), []);
  await page.close();
});

test('a wrong login is refused in the page\'s language', async () => {
  const { page, problems } = await openMap(browser.context);
  if (await page.evaluate(() => document.body.dataset.role !== 'public')) {
    await page.click('#login-button');
    await page.waitForFunction(() => document.body.dataset.role === 'public');
  }
  for (const [lang, said] of [['zh', '登录失败：用户名或密码错误。'], ['en', 'Login failed: Wrong user name or password.']]) {
    await useLang(page, lang);
    await page.click('#login-button');
    await page.fill('#login-form input[name=username]', account('investor').username);
    await page.fill('#login-form input[name=password]', 'not-the-password');
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction((s) => document.getElementById('login-error').textContent === s, said);
    await page.click('#login-cancel');
  }
  await useLang(page, 'zh');
  assert.deepEqual(unexpected(problems), []);
  await page.close();
});

test('on a phone, English names carry their Chinese and a registered interest stays registered', async () => {
  assert.ok(state.house, 'the first test registered an interest');
  const { page, problems } = await openMap(browser.context, { viewport: { width: 390, height: 844 } });
  await switchUser(page, 'investor');
  await useLang(page, 'en');
  await open(page, state.house.id);
  assert.equal(await page.textContent('#interest'), 'Interest registered');
  assert.equal(await page.isDisabled('#interest'), true);
  const p = state.house.properties;
  assert.equal(await page.locator('#house .facts dd', { hasText: p.township_name_pinyin }).locator('[lang=zh]').textContent(), p.township_name);
  const panel = await page.locator('#house').boundingBox();
  assert.ok(panel.width <= 390, 'the panel fits the phone');
  await page.locator('#interest').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${SCREENSHOTS}interest-phone-en.png` });
  await closeHouse(page);
  await page.click('#side-toggle');
  await page.click('#tab-button-interests');
  await page.waitForSelector('#my-interests li');
  await page.screenshot({ path: `${SCREENSHOTS}my-interests-phone-en.png` });
  await useLang(page, 'zh');
  assert.deepEqual(unexpected(problems), []);
  await page.close();
});

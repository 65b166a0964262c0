// Accessibility: axe-core (web/package.json pins it) finds no serious or critical violation in the views
// of a visitor, an investor, an officer, an official and a bank; every control is reached with Tab and
// shows its focus; the status colours have 3:1 contrast against the map and a name beside them; the
// page's language follows the switch.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { axeViolations as violations, launch, openMap, switchUser } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });


for (const [view, role, tab] of [
  ['visitor', null, null],
  ['investor', 'investor', null],
  ['officer', 'officer', 'queue'],
  ['official', 'official', 'stats'],
  ['bank', 'bank', 'pledges'],
  ['admin', 'admin', 'accounts'],
]) {
  test(`the ${view}’s view has no serious or critical axe-core violation, in Chinese and in English`, async () => {
    const { page, problems } = await openMap(browser.context);
    if (role) await switchUser(page, role);
    if (tab) await page.click(`#tab-button-${tab}`);
    await page.waitForFunction(() => document.querySelector('#figures-district td')?.textContent.trim());
    assert.deepEqual(await violations(page), [], `${view} (zh)`);
    await page.click('#lang');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.deepEqual(await violations(page), [], `${view} (en)`);
    await page.click('#lang');
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');
    if (role) {
      await page.click('#login-button');
      await page.waitForFunction(() => document.body.dataset.role === 'public');
    }
    assert.deepEqual(problems, []);
    await page.close();
  });
}

test('Tab reaches every control of the first screen, each with a visible focus', async () => {
  const { page } = await openMap(browser.context);
  const reached = new Set();
  const unmarked = [];
  // Round the page once (past the fifty houses listed): until the first control has the focus again.
  let first = null;
  for (let i = 0; i < 200; i++) {
    await page.keyboard.press('Tab');
    const focus = await page.evaluate(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      const s = getComputedStyle(e);
      const outlined = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
      const key = e.id || `${e.tagName}.${e.className}:${e.textContent.trim().slice(0, 20)}`;
      e.dataset.tabbed = 'true';
      return { key, marked: outlined || s.boxShadow !== 'none' };
    });
    if (!focus) continue;
    if (focus.key === first) break;
    first ??= focus.key;
    reached.add(focus.key);
    if (!focus.marked) unmarked.push(focus.key);
  }
  const missed = await page.evaluate(() => [...document.querySelectorAll('button, input, select, a[href], summary, textarea, [tabindex="0"]')]
    .filter((e) => e.offsetParent !== null && !e.disabled && e.tabIndex >= 0 && !e.closest('dialog') && !e.closest('#listing'))
    .filter((e) => e.dataset.tabbed !== 'true').map((e) => e.outerHTML.slice(0, 120)));
  assert.deepEqual(missed, [], 'every visible control outside the list of houses is reached by Tab');
  assert.deepEqual([...new Set(unmarked)], [], 'every control shows its focus');
  assert.ok(reached.has('figures-township') && reached.has('lang') && reached.has('search-q'), [...reached].join(' '));
  await page.close();
});

test('the status colours have 3:1 contrast against the map and are named in the legend and beside the pointer', async () => {
  const { page } = await openMap(browser.context);
  const { colours, background } = await page.evaluate(async () => {
    const m = await import('/assets/app/map.js');
    return { colours: m.STATUS_COLOURS, background: m.MAP_BACKGROUND };
  });
  const luminance = (hex) => {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  for (const [status, hex] of Object.entries(colours)) {
    const ratio = (luminance(background) + 0.05) / (luminance(hex) + 0.05);
    assert.ok(ratio >= 3, `${status} ${hex}: ${ratio.toFixed(2)}:1 against ${background}`);
  }
  assert.deepEqual(await page.locator('#legend .legend-status li').allTextContents(),
    ['闲置（已登记）', '挂牌中', '已成交', '已鉴证（激活）']);
  // Over a house the pointer gets its status in words (the activation view draws every status).
  await page.selectOption('#map-mode-select', 'activation');
  const { features: [house] } = await page.evaluate(() => fetch('/api/v1/farmhouses?status=certified&limit=1').then((r) => r.json()));
  const point = await page.evaluate(async (geometry) => {
    const { centre } = await import('/assets/app/geometry.js');
    const map = window.farmhouse.map;
    map.jumpTo({ center: centre(geometry), zoom: 18 });
    await new Promise((r) => map.once('idle', r));
    const rect = map.getCanvas().getBoundingClientRect();
    const p = map.project(centre(geometry));
    return { x: rect.left + p.x, y: rect.top + p.y };
  }, house.geometry);
  await page.mouse.move(point.x, point.y);
  await page.waitForSelector('.map-tip');
  assert.equal(await page.textContent('.map-tip .maplibregl-popup-content'), '已鉴证（激活）');
  await page.close();
});

// The investor's map and lists, on a desktop (1280×800, Chinese) and a phone (390×844, English): the map
// is built from the service's style document, which the MapLibre style spec validates; at zoom 11 over
// the district it draws one cluster for every cluster the tiles hold with listed houses, none overlapping
// another; villages are named from zoom 12 and a click on one lists its houses; the list counts every
// open listing and its pages, in the order chosen, reach the last; search finds short codes and
// townships with counts that match; the arrow keys go through the results and Escape returns the focus.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { VectorTile } from '@mapbox/vector-tile';
import { PbfReader } from 'pbf';
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';
import { BASE, SCREENSHOTS, getJson, launch, mapIdle, openMap } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const VIEWS = [
  { name: 'desktop', viewport: { width: 1280, height: 800 }, lang: 'zh' },
  { name: 'phone', viewport: { width: 390, height: 844 }, lang: 'en' },
];

async function open(view) {
  const opened = await openMap(browser.context, { viewport: view.viewport });
  const { page } = opened;
  // The language is kept in the browser: switch only when it is not the view's.
  const want = view.lang === 'en' ? 'en' : 'zh-CN';
  if (await page.getAttribute('html', 'lang') !== want) {
    await page.click('#lang');
    await page.waitForFunction((l) => document.documentElement.lang === l, want);
  }
  return opened;
}

/** The open listings as OGC API – Features counts them (another path than the JSON API's list). */
async function openListings(page) {
  return (await getJson(page, '/collections/farmhouses/items?status=listed&limit=1')).numberMatched;
}

/** The features of layer farmhouses in tile z/x/y, decoded, as { id, lon, lat, props }. */
async function tileFeatures(z, x, y) {
  const res = await fetch(`${BASE}/tiles/farmhouses/${z}/${x}/${y}`);
  if (res.status === 204) return [];
  assert.equal(res.status, 200);
  const tile = new VectorTile(new PbfReader(new Uint8Array(await res.arrayBuffer())));
  const layer = tile.layers.farmhouses;
  const out = [];
  for (let i = 0; i < (layer?.length ?? 0); i += 1) {
    const f = layer.feature(i);
    const [lon, lat] = f.toGeoJSON(x, y, z).geometry.coordinates;
    out.push({ id: f.id, lon, lat, props: f.properties });
  }
  return out;
}

const tileOf = (z, lon, lat) => {
  const n = 2 ** z;
  const x = Math.floor(((lon + 180) / 360) * n);
  const r = (lat * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n);
  return [x, y];
};

test('the style document is valid MapLibre and names only the service\'s own sources', async () => {
  const style = await (await fetch(`${BASE}/styles/default.json`)).json();
  assert.deepEqual(validateStyleMin(style), []);
  for (const source of Object.values(style.sources)) assert.ok(source.url.startsWith(`${BASE}/tiles/`), source.url);
  // The check fails a broken style: it can tell.
  const broken = structuredClone(style);
  broken.layers.find((l) => l.id === 'houses-cluster').paint['circle-radius'] = 'big';
  assert.ok(validateStyleMin(broken).length > 0);
  // The colours the legend names are the style's.
  const { page } = await openMap(browser.context);
  const colours = await page.evaluate(async () => (await import('/assets/app/map.js')).STATUS_COLOURS);
  const fill = style.layers.find((l) => l.id === 'houses-fill').paint['fill-color'];
  for (const [status, colour] of Object.entries(colours)) assert.equal(fill[fill.indexOf(status) + 1], colour, status);
  await page.close();
});

for (const view of VIEWS) {
  test(`${view.name}: at zoom 11 the map draws every cluster the tiles hold with listed houses, none overlapping`, async () => {
    const { page, problems } = await open(view);
    const { bounds } = await getJson(page, '/api/v1/site');
    const middle = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2];
    await page.evaluate((c) => window.farmhouse.map.jumpTo({ center: c, zoom: 11 }), middle);
    await mapIdle(page);
    const drawn = await page.evaluate(() => {
      const map = window.farmhouse.map;
      const b = map.getBounds();
      const byId = new Map();
      for (const f of map.queryRenderedFeatures({ layers: ['houses-cluster'] })) {
        const [lon, lat] = f.geometry.coordinates;
        if (b.contains([lon, lat])) byId.set(f.id, { id: f.id, listed: f.properties.listed, px: map.project([lon, lat]) });
      }
      return { clusters: [...byId.values()], bounds: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()] };
    });
    // The tiles of the view at zoom 11 (MapLibre asks for 512 px tiles at the map's zoom), decoded here.
    const [w, s, e, n] = drawn.bounds;
    const [x0, y0] = tileOf(11, w, n);
    const [x1, y1] = tileOf(11, e, s);
    const inTiles = [];
    for (let x = x0; x <= x1; x += 1) {
      for (let y = y0; y <= y1; y += 1) inTiles.push(...await tileFeatures(11, x, y));
    }
    const listed = inTiles.filter((f) => f.props.listed > 0 && f.lon >= w && f.lon <= e && f.lat >= s && f.lat <= n);
    assert.ok(listed.length > 10, `the view holds clusters of listed houses: ${listed.length}`);
    assert.equal(drawn.clusters.length, listed.length, 'one cluster drawn for each the tiles hold with listed houses');
    assert.deepEqual(drawn.clusters.map((c) => c.id).sort(), listed.map((f) => f.id).sort());
    assert.equal(drawn.clusters.reduce((a, c) => a + c.listed, 0), listed.reduce((a, f) => a + f.props.listed, 0));
    // Sized by count, at most 15 px: no two circles overlap.
    const radius = (k) => {
      const r = Math.sqrt(k);
      return r <= 1 ? 7 : r <= 5 ? 7 + (r - 1) : Math.min(15, 11 + ((r - 5) * 4) / 10);
    };
    for (let i = 0; i < drawn.clusters.length; i += 1) {
      for (let j = i + 1; j < drawn.clusters.length; j += 1) {
        const [a, b] = [drawn.clusters[i], drawn.clusters[j]];
        const d = Math.hypot(a.px.x - b.px.x, a.px.y - b.px.y);
        assert.ok(d >= radius(a.listed) + radius(b.listed), `clusters ${a.id} and ${b.id} are ${d.toFixed(1)} px apart`);
      }
    }
    // Zoomed out to the whole district the listed houses are still there.
    await page.evaluate(() => window.farmhouse.map.jumpTo({ zoom: 9 }));
    await mapIdle(page);
    const far = await page.evaluate(() => window.farmhouse.map.queryRenderedFeatures({ layers: ['houses-cluster'] })
      .reduce((a, f) => a + f.properties.listed, 0));
    assert.ok(far > 0, 'clusters of listed houses at zoom 9');
    await page.evaluate((c) => window.farmhouse.map.jumpTo({ center: c, zoom: 11 }), middle);
    await mapIdle(page);
    await page.screenshot({ path: `${SCREENSHOTS}investor-map-${view.name}.png` });
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`${view.name}: villages are named from zoom 12 and a click on one lists its houses to lease`, async () => {
    const { page, problems } = await open(view);
    assert.match(await page.textContent('#map-mode'), view.lang === 'zh' ? /村庄/ : /Village/);
    const { features: [house] } = await getJson(page, '/api/v1/farmhouses?status=listed&limit=1');
    const { features: villages } = await getJson(page, `/collections/villages/items?township=${house.properties.township_code}&limit=1000`);
    const village = villages.find((v) => v.properties.name === house.properties.village);
    await page.evaluate((c) => window.farmhouse.map.jumpTo({ center: c, zoom: 13 }), village.geometry.coordinates);
    await mapIdle(page);
    const labels = await page.evaluate(() => window.farmhouse.map.queryRenderedFeatures({ layers: ['villages-label'] })
      .map((f) => f.properties.name));
    assert.ok(labels.includes(village.properties.name), labels.join(' '));
    const at = await page.evaluate((c) => {
      const p = window.farmhouse.map.project(c);
      const r = window.farmhouse.map.getCanvas().getBoundingClientRect();
      return [r.left + p.x, r.top + p.y];
    }, village.geometry.coordinates);
    await page.mouse.click(at[0], at[1]);
    await page.waitForSelector('.list-village');
    await page.waitForSelector('.maplibregl-popup:not(.map-tip)');
    const expected = (await getJson(page, `/api/v1/farmhouses?status=listed&village=${encodeURIComponent(village.properties.name)}&township=${house.properties.township_code}&limit=1`)).numberMatched;
    assert.match(await page.textContent('#list-count'), new RegExp(`\\b${expected}\\b`));
    const popup = await page.textContent('.maplibregl-popup:not(.map-tip)');
    assert.ok(popup.includes(village.properties.name), popup);
    assert.doesNotMatch(popup, /鉴证|certified/i, 'not the township popup');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`${view.name}: the list counts every open listing, sorted pages reach the last, opening one keeps the list and Escape returns`, async () => {
    const { page, problems } = await open(view);
    const listed = await openListings(page);
    if (view.name === 'phone') await page.click('#side-toggle');
    await page.uncheck('#filter [name=extent]');
    await page.selectOption('#list-sort', '-rent');
    const { features: [dearest] } = await getJson(page, '/api/v1/farmhouses?status=listed&sort=-rent&limit=1');
    await page.waitForFunction(([n, first]) => document.querySelector('#list-count')?.textContent.replace(/[,\s]/g, '').includes(String(n))
      && document.querySelector('#listing li[data-id]')?.dataset.id === String(first), [listed, dearest.id]);
    while (await page.locator('#list-more').count()) {
      const before = await page.locator('#listing .house-item').count();
      await page.click('#list-more');
      await page.waitForFunction((b) => document.querySelectorAll('#listing .house-item').length > b, before);
    }
    const ids = await page.$$eval('#listing li[data-id]', (lis) => lis.map((li) => Number(li.dataset.id)));
    assert.equal(ids.length, listed, 'every open listing reached');
    assert.equal(new Set(ids).size, listed);
    const { features: [cheapest] } = await getJson(page, '/api/v1/farmhouses?status=listed&sort=rent&limit=1');
    assert.equal(ids.at(-1), cheapest.id, 'the last of the highest rents first is the cheapest');
    // Opening a house from the list keeps the list (the map view filter back on) and Escape returns to it.
    await page.check('#filter [name=extent]');
    await page.waitForFunction(() => !document.querySelector('#listing[aria-busy]') && document.querySelectorAll('#listing .house-item').length > 1);
    await page.waitForTimeout(400);
    await mapIdle(page);
    const count = await page.textContent('#list-count');
    const item = page.locator('#listing .house-item').nth(1);
    const id = Number(await item.evaluate((b) => b.closest('li').dataset.id));
    await item.click();
    await page.waitForSelector('#house:not([hidden]) .facts');
    await mapIdle(page);
    await page.waitForTimeout(400);
    assert.equal(await page.textContent('#list-count'), count, 'the list is as it was');
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate(() => document.activeElement?.closest('li')?.dataset.id), String(id), 'focus is back on the house');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test(`${view.name}: search finds a short code and a township with counts that match, arrows go through all, Escape returns`, async () => {
    const { page, problems } = await open(view);
    const { features: [house] } = await getJson(page, '/api/v1/farmhouses?status=listed&limit=1');
    const short = house.properties.unit_number.slice(12, 19);
    const { features: townships } = await getJson(page, '/collections/townships/items?limit=200');
    const township = townships.find((tw) => tw.properties.code === house.properties.township_code).properties;
    for (const [q, expected] of [[short, null], [township.name, township.houses_total]]) {
      await page.fill('#search-q', q);
      await page.press('#search-q', 'Enter');
      await page.waitForSelector('#search-results:not([hidden]) li');
      const total = Number((await page.textContent('#search-results .count')).match(/[\d,]+/)[0].replace(/,/g, ''));
      if (expected !== null) assert.equal(total, expected, `${q}: every house of the township`);
      while (await page.locator('#search-more').count()) {
        const before = await page.locator('#search-results li').count();
        await page.click('#search-more');
        await page.waitForFunction((b) => document.querySelectorAll('#search-results li').length > b, before);
      }
      const results = await page.locator('#search-results li').allTextContents();
      assert.equal(results.length, total, `${q}: as many results as counted`);
      if (q === short) {
        assert.ok(results.every((r) => r.includes(short)), results.join('\n'));
        const mine = results.find((r) => r.includes(house.properties.unit_number));
        assert.ok(mine, 'the house is found by its short code');
        assert.match(mine, /m²/);
        assert.match(mine, view.lang === 'zh' ? /年租金/ : /yuan a year/);
      }
      // The arrow keys go from the box through every result to the last; up from the first: the box.
      await page.focus('#search-q');
      await page.keyboard.press('ArrowDown');
      for (let i = 1; i < Math.min(results.length, 40); i += 1) await page.keyboard.press('ArrowDown');
      const at = await page.evaluate(() => [...document.querySelectorAll('#search-results button')].indexOf(document.activeElement));
      assert.equal(at, Math.min(results.length, 40) - 1);
      await page.keyboard.press('End');
      assert.equal(await page.evaluate(() => document.activeElement.textContent), results.at(-1));
      await page.keyboard.press('Escape');
      assert.equal(await page.isHidden('#search-results'), true);
      assert.equal(await page.evaluate(() => document.activeElement.id), 'search-q', 'Escape returns to the box');
    }
    if (view.name === 'desktop') {
      await page.fill('#search-q', short);
      await page.press('#search-q', 'Enter');
      await page.waitForSelector('#search-results:not([hidden]) li');
      await page.screenshot({ path: `${SCREENSHOTS}investor-search-${view.name}.png` });
    }
    assert.deepEqual(problems, []);
    await page.close();
  });
}

test('the list\'s filter draws on the map exactly the listed houses it finds (CQL2-filtered tiles)', async () => {
  const { page, problems } = await open(VIEWS[0]);
  const { bounds } = await getJson(page, '/api/v1/site');
  const rent = 9000;
  const want = (await getJson(page, `/api/v1/farmhouses?status=listed&max_rent_yuan=${rent}&allowed_use=${encodeURIComponent('民宿')}&limit=1`)).numberMatched;
  const all = await openListings(page);
  assert.ok(want > 0 && want < all, `the filter narrows the ${all} open listings to ${want}`);
  const listedOnMap = async () => {
    await page.evaluate((b) => window.farmhouse.map.fitBounds(b, { animate: false, padding: 10 }), bounds);
    await mapIdle(page);
    return page.evaluate(() => {
      const byId = new Map();
      for (const f of window.farmhouse.map.querySourceFeatures('farmhouses', { sourceLayer: 'farmhouses' })) {
        byId.set(f.id, f.properties.listed ?? 0);
      }
      return [...byId.values()].reduce((a, n) => a + n, 0);
    });
  };
  assert.equal(await listedOnMap(), all, 'unfiltered, the clusters hold every open listing');
  await page.evaluate(({ rent }) => {
    const form = document.getElementById('filter');
    form.elements.extent.checked = false;
    form.elements.max_rent_yuan.value = String(rent);
    form.elements.allowed_use.value = '民宿';
    form.dispatchEvent(new Event('change'));
  }, { rent });
  await page.waitForFunction(() => window.farmhouse.map.getSource('farmhouses').tiles[0].includes('filter='));
  assert.equal(await listedOnMap(), want, 'filtered, the clusters hold exactly the listings the list finds');
  assert.deepEqual(problems, []);
  await page.close();
});

test('in English, townships and villages are named in pinyin with the Chinese beside it, marked lang="zh"', async () => {
  const { page, problems } = await open(VIEWS[1]);
  await page.waitForFunction(() => document.querySelectorAll('.township-label').length >= 20);
  const seen = await page.evaluate(() => ({
    label: document.querySelector('.township-label').textContent,
    labelZh: document.querySelector('.township-label span[lang="zh"]')?.textContent,
    option: [...document.querySelectorAll('#filter select[name=township] option')].find((o) => o.value)?.textContent,
    cardZh: document.querySelector('#listings .house-item span[lang="zh"], .house-item span[lang="zh"]')?.textContent,
  }));
  // "Baiguan Jiedao 百官街道": romanised, then the Chinese.
  assert.match(seen.label, /^[A-Z][a-z']+( [A-Z][a-z']+)* \p{Script=Han}+$/u, seen.label);
  assert.ok(seen.labelZh && seen.label.endsWith(seen.labelZh), 'the Chinese is marked lang="zh"');
  assert.match(seen.option, /^[A-Z][a-z']+( [A-Z][a-z']+)* \p{Script=Han}+$/u, seen.option);
  assert.match(seen.cardZh ?? '', /\p{Script=Han}/u, 'the list names places with the Chinese marked');
  // The villages' labels, from zoom 12, carry the pinyin the tiles hold.
  const { bounds } = await getJson(page, '/api/v1/site');
  await page.evaluate((b) => window.farmhouse.map.jumpTo({ center: [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2], zoom: 13 }), bounds);
  await mapIdle(page);
  const village = await page.evaluate(() => {
    const map = window.farmhouse.map;
    const f = map.queryRenderedFeatures({ layers: ['villages-label'] })[0];
    return { pinyin: f?.properties.name_pinyin, field: JSON.stringify(map.getLayoutProperty('villages-label', 'text-field')) };
  });
  assert.ok(village.pinyin, 'a village label with its pinyin in view');
  assert.ok(village.field.includes('name_pinyin'), village.field);
  // Back in Chinese, the Chinese alone.
  await page.click('#lang');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  assert.match(await page.evaluate(() => document.querySelector('.township-label').textContent), /^\p{Script=Han}+$/u);
  assert.deepEqual(problems, []);
  await page.close();
});

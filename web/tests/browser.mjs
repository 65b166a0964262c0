// Shared by the browser tests: Debian's Chromium driven by playwright-core (no browser download),
// rendering WebGL2 with SwiftShader, and helpers that log in and wait for the map to be drawn.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { after, before } from 'node:test';
import { chromium, request } from 'playwright-core';
export { centre } from '../app/geometry.js';

export const BASE = process.env.FARMHOUSE_URL ?? 'http://127.0.0.1:8080';
export const PASSWORD_SUFFIX = '-password';

/** Chromium, as root in a container, offline: no sandbox, no background network, software WebGL. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'farmhouse-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    args: [
      '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--enable-unsafe-swiftshader', '--use-angle=swiftshader',
    ],
  });
  const close = async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context: browser, close };
}

/**
 * Chromium and an API client logged in as an officer, for a test file's tests: opened before them and
 * closed after, read as `run.browser` and `run.officer` while the tests run.
 */
export function withOfficer() {
  const run = {};
  before(async () => {
    run.browser = await launch();
    run.officer = await apiAs('officer');
  });
  after(async () => {
    await run.officer?.dispose();
    await run.browser?.close();
  });
  return run;
}

/** Opens the map in a new page and waits until the app is ready and the map has drawn. */
export async function openMap(context, { viewport } = {}) {
  const page = await context.newPage();
  if (viewport) await page.setViewportSize(viewport);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  await page.goto(`${BASE}/`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });
  await mapIdle(page);
  return { page, problems };
}

/** Resolves when the map has loaded and drawn everything (MapLibre's idle event). */
export async function mapIdle(page) {
  await page.evaluate(() => new Promise((resolve) => {
    const map = window.farmhouse.map;
    if (map.loaded() && map.areTilesLoaded() && !map.isMoving()) {
      map.once('idle', resolve);
      map.triggerRepaint();
    } else map.once('idle', resolve);
  }));
}

/** The account of `role` the runner made: FARMHOUSE_<ROLE>=name:password. */
export function account(role) {
  const value = process.env[`FARMHOUSE_${role.toUpperCase()}`];
  if (!value) throw new Error(`FARMHOUSE_${role.toUpperCase()} (name:password) is not set: run scripts/browser-tests.sh`);
  const [username, ...rest] = value.split(':');
  return { username, password: rest.join(':') };
}

/**
 * Logs in through the page's own dialog and waits until the page is laid out for the role. A second
 * account of a role is named with a number (officer2 is an officer).
 */
export async function logIn(page, name) {
  const { username, password } = account(name);
  const role = name.replace(/\d+$/, '');
  await page.click('#login-button');
  await page.fill('#login-form input[name=username]', username);
  await page.fill('#login-form input[name=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction((r) => document.body.dataset.role === r, role, { timeout: 30_000 });
  await mapIdle(page);
}

/** Logs out whoever is logged in (the browser keeps one session for all its pages), then in as `role`. */
export async function switchUser(page, role) {
  if (await page.evaluate(() => document.body.dataset.role !== 'public')) {
    await page.click('#login-button');
    await page.waitForFunction(() => document.body.dataset.role === 'public');
  }
  await logIn(page, role);
}

/** Opens house `unit` from the search box. */
export async function openHouse(page, unit) {
  await page.fill('#search-q', unit);
  await page.press('#search-q', 'Enter');
  await page.click('#search-results li button');
  await page.waitForFunction((u) => document.querySelector('#house:not([hidden]) .facts')?.textContent.includes(u), unit);
}

/** The error line of the field named `name` in form `form`, once it shows. */
export async function fieldError(page, form, name) {
  const line = page.locator(`#${form} [data-field~="${name}"] .field-error`).first();
  await line.waitFor({ state: 'visible' });
  return line.textContent();
}

/** Opens the dialog of a workflow step from the house panel. */
export async function step(page, button, form) {
  await page.click(`#house ${button}`);
  await page.waitForSelector(`#work-dialog[open] #${form}`);
}

/** Submits `form` in the dialog and waits until the dialog closed and the house shows `status`. */
export async function save(page, form, status) {
  await page.click(`#${form}-submit`);
  await page.waitForSelector('#work-dialog', { state: 'hidden' });
  if (status) await page.waitForSelector(`#house .status-chip[data-status="${status}"]`);
}

/**
 * Fills the deal form open in the dialog: the second lessee offered, contract `contract`, signed today, a
 * lease of five years from tomorrow (at `rent` a year, when given; else the listing's asking rent), the
 * total left to follow. Answers the lease's end (the day after its last).
 */
export async function fillDeal(page, { contract, rent }) {
  const d = '#deal-form';
  await page.waitForSelector('#lessee-choice option:nth-child(2)', { state: 'attached' });
  await page.selectOption('#lessee-choice', await page.getAttribute('#lessee-choice option:nth-child(2)', 'value'));
  await page.fill(`${d} [name=contract_no]`, contract);
  await page.fill(`${d} [name=signed_on]`, day(0));
  await page.fill(`${d} [name=lease_start]`, day(1));
  if (rent !== undefined) await page.fill(`${d} [name=annual_rent_yuan]`, String(rent));
  const end = new Date(`${day(1)}T00:00:00Z`);
  end.setUTCFullYear(end.getUTCFullYear() + 5);
  await page.fill(`${d} [name=lease_end]`, end.toISOString().slice(0, 10));
  await page.dispatchEvent(`${d} [name=lease_end]`, 'change');
  return end.toISOString().slice(0, 10);
}

/** YYYY-MM-DD in Asia/Shanghai, `days` from today. */
export function day(days = 0) {
  const d = new Date(Date.now() + days * 86400000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

/** Where the screenshots of the three views are kept (committed under docs/). */
export const SCREENSHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname;

/** JSON from the service with the page's cookies (so as the logged-in role). */
export async function getJson(page, path) {
  const res = await page.request.get(`${BASE}${path}`, { headers: { Accept: 'application/json' } });
  if (!res.ok()) throw new Error(`${path}: ${res.status()} ${await res.text()}`);
  return res.json();
}

/**
 * What the map drew at lon/lat: the house feature MapLibre rendered there (id, status, the fill colour
 * it evaluated) and the colour of the canvas pixel, after moving there at `zoom` and waiting for idle.
 */
export async function drawnHouseAt(page, lngLat, zoom = 18) {
  await page.evaluate(([c, z]) => window.farmhouse.map.jumpTo({ center: c, zoom: z }), [lngLat, zoom]);
  await mapIdle(page);
  return page.evaluate((c) => {
    const map = window.farmhouse.map;
    const p = map.project(c);
    const [f] = map.queryRenderedFeatures(p, { layers: ['houses-fill'] });
    const canvas = map.getCanvas();
    const copy = document.createElement('canvas');
    copy.width = canvas.width;
    copy.height = canvas.height;
    const ctx = copy.getContext('2d');
    ctx.drawImage(canvas, 0, 0);
    const scale = canvas.width / canvas.clientWidth;
    const [r, g, b] = ctx.getImageData(Math.round(p.x * scale), Math.round(p.y * scale), 1, 1).data;
    const fill = f?.layer?.paint?.['fill-color'];
    const hex = (v) => Math.round(v * 255).toString(16).padStart(2, '0');
    return {
      id: f?.id ?? null,
      status: f?.properties?.status ?? null,
      fill: fill ? `#${hex(fill.r)}${hex(fill.g)}${hex(fill.b)}` : null,
      pixel: [r, g, b],
    };
  }, lngLat);
}

/** The status whose legend colour is nearest to an RGB pixel. */
export async function nearestStatus(page, pixel) {
  const colours = await page.evaluate(async () => (await import('/assets/app/map.js')).STATUS_COLOURS);
  let best = null;
  let bestDistance = Infinity;
  for (const [status, hex] of Object.entries(colours)) {
    const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    const d = rgb.reduce((sum, v, i) => sum + (v - pixel[i]) ** 2, 0);
    if (d < bestDistance) {
      bestDistance = d;
      best = status;
    }
  }
  return best;
}

/** An API client logged in as `role` (outside any page), for facts a test checks the page against. */
export async function apiAs(role) {
  const client = await request.newContext({ baseURL: BASE });
  const res = await client.post('/api/v1/session', { data: account(role) });
  if (!res.ok()) throw new Error(`login as ${role}: ${res.status()} ${await res.text()}`);
  return {
    async get(path) {
      const r = await client.get(path);
      if (!r.ok()) throw new Error(`${path}: ${r.status()} ${await r.text()}`);
      return r.json();
    },
    /** The body as bytes (a PDF, a picture). */
    async bytes(path) {
      const r = await client.get(path);
      if (!r.ok()) throw new Error(`${path}: ${r.status()} ${await r.text()}`);
      return r.body();
    },
    async post(path, data, headers = {}) {
      // A write with the session cookie must name the service's own origin, as the page's fetch does.
      const r = await client.post(path, { data, headers: { Origin: new URL(BASE).origin, ...headers } });
      if (!r.ok()) throw new Error(`${path}: ${r.status()} ${await r.text()}`);
      return r.json();
    },
    async patch(path, data) {
      const r = await client.patch(path, { data, headers: { Origin: new URL(BASE).origin } });
      if (!r.ok()) throw new Error(`${path}: ${r.status()} ${await r.text()}`);
      return r.json();
    },
    dispose: () => client.dispose(),
  };
}

/** A small PNG of one colour (`width`×`height`, RGB), made here so no image file is needed. */
export function png(width, height, [r, g, b]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'ascii');
    data.copy(out, 8);
    out.writeUInt32BE(crc(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => [r, g, b]).flat())]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header),
    chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

// Evaluated in the page rather than added as a script: the page's Content-Security-Policy allows no
// inline script, and the tests do not loosen it.
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page, one line each (rule: selectors). */
export async function axeViolations(page) {
  if (!await page.evaluate(() => Boolean(window.axe))) await page.evaluate(AXE);
  return page.evaluate(async () => {
    const result = await window.axe.run(document, {
      // The map canvas is drawn by MapLibre (WebGL): axe cannot read colours or text inside it, and its
      // township labels sit on a tint that changes with the zoom; the page names the map and its legend.
      exclude: [['.maplibregl-canvas'], ['.township-label']],
      resultTypes: ['violations'],
    });
    if (!result.passes.length) return ['axe-core checked nothing'];
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}

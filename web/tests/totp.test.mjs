// Two-step sign-in in the page: an officer without a second factor enrols at sign-in (the QR code, and the
// key in the otpauth URI shown under it), confirms with a code computed by pyotp (an implementation apart
// from the service's), keeps the recovery codes, and signs in again with the code of the next time step.
// Runs against the second service of scripts/browser-tests.sh, which requires a second factor of officers.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { account, launch } from './browser.mjs';

const URL_2FA = process.env.FARMHOUSE_2FA_URL;
const skip = !URL_2FA || !process.env.FARMHOUSE_TOTP ? 'needs FARMHOUSE_2FA_URL and FARMHOUSE_TOTP (scripts/browser-tests.sh)' : false;

let browser;
before(async () => { if (!skip) browser = await launch(); });
after(async () => { await browser?.close(); });

/** The code of the base32 `secret` `ahead` seconds from now, as pyotp computes it. */
function pyotp(secret, ahead = 0) {
  const script = 'import pyotp, sys, time; print(pyotp.TOTP(sys.argv[1]).at(time.time() + int(sys.argv[2])))';
  return execFileSync('python3', ['-c', script, secret, String(ahead)], { encoding: 'utf8' }).trim();
}

async function signIn(page) {
  const { username, password } = account('totp');
  await page.click('#login-button');
  await page.fill('#login-form input[name=username]', username);
  await page.fill('#login-form input[name=password]', password);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#totp-dialog[open]');
}

test('an officer enrols a second factor at sign-in and signs in with its code', { skip }, async () => {
  const page = await browser.context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(`${URL_2FA}/`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 60_000 });

  // No second factor yet: the sign-in asks to enrol one, with a QR code and the otpauth URI under it.
  await signIn(page);
  await page.waitForFunction(() => document.getElementById('totp-uri')?.textContent.startsWith('otpauth://totp/'));
  assert.match(await page.getAttribute('#totp-qr', 'src'), /^data:image\/svg\+xml;base64,/);
  assert.equal(await page.evaluate(() => document.body.dataset.role), 'public');
  await page.click('#totp-dialog summary');
  const uri = new URL(await page.textContent('#totp-uri'));
  const secret = uri.searchParams.get('secret');
  assert.equal(uri.searchParams.get('digits'), '6');
  assert.equal((await page.textContent('#totp-secret')).replaceAll(' ', ''), secret);

  // A wrong code is refused in the dialog, naming the code.
  await page.fill('#totp-form input[name=code]', '000000');
  await page.click('#totp-form button[type=submit]');
  await page.waitForFunction(() => /验证码/.test(document.getElementById('totp-error')?.textContent ?? ''));

  await page.fill('#totp-form input[name=code]', pyotp(secret));
  await page.click('#totp-form button[type=submit]');
  await page.waitForSelector('#totp-recovery li');
  const codes = await page.locator('#totp-recovery li').allTextContents();
  assert.equal(codes.length, 10);
  assert.ok(codes.every((c) => /^[a-z2-9]{5}-[a-z2-9]{5}$/.test(c)), codes.join(' '));
  await page.click('#totp-kept');
  await page.waitForFunction(() => document.body.dataset.role === 'officer');

  // Log out, and in again: now the code is asked for; the next time step's code signs in.
  await page.click('#login-button');
  await page.waitForFunction(() => document.body.dataset.role === 'public');
  await signIn(page);
  await page.waitForSelector('#totp-form input[name=code]');
  await page.fill('#totp-form input[name=code]', pyotp(secret, 30));
  await page.click('#totp-form button[type=submit]');
  await page.waitForFunction(() => document.body.dataset.role === 'officer');
  assert.deepEqual(problems, []);
});

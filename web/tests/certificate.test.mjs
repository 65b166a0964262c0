// A certificate as its holder gets it: an officer issues one, its PDF is printed (rendered to a picture),
// a scanner reads the QR code off the page, and that URL opens the verification page, which shows the
// certificate in force with the facts it states and links back to the document.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BASE, SCREENSHOTS, apiAs, launch } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the QR code on a freshly issued certificate opens its verification page', async () => {
  const officer = await apiAs('officer');
  const dir = mkdtempSync(join(tmpdir(), 'farmhouse-certificate-'));
  try {
    const queue = await officer.get('/api/v1/transactions?awaiting_certification=true&limit=1');
    assert.ok(queue.items.length, 'the demo has deals awaiting certification');
    const cert = await officer.post(`/api/v1/transactions/${queue.items[0].id}/certify`, {});
    const no = cert.certificate_no;
    const code = cert.verification_code;

    const pdf = await officer.bytes(`/api/v1/certifications/${encodeURIComponent(no)}/document?code=${code}`);
    assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
    const file = join(dir, 'certificate.pdf');
    writeFileSync(file, pdf);
    execFileSync('pdftoppm', ['-r', '150', '-png', '-singlefile', file, join(dir, 'page')]);
    const url = execFileSync('zbarimg', ['--raw', '-q', join(dir, 'page.png')]).toString().trim();
    assert.equal(url, `${BASE}/verify/${no}?code=${code}`);
    // The page as people see it, kept with the other screenshots.
    execFileSync('pdftoppm', ['-r', '80', '-png', '-singlefile', file, join(dir, 'small')]);
    copyFileSync(join(dir, 'small.png'), `${SCREENSHOTS}certificate.png`);

    const page = await browser.context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(url);
    assert.match(await page.textContent('.verdict'), /有效/);
    const facts = await page.textContent('table.facts');
    for (const fact of [no, cert.facts.unit_number, cert.facts.village]) assert.ok(facts.includes(fact), `${fact} in ${facts}`);
    const documentLink = await page.getAttribute('#document', 'href');
    const again = await page.request.get(new URL(documentLink, BASE).href);
    assert.equal(again.headers()['content-type'], 'application/pdf');
    await page.screenshot({ path: `${SCREENSHOTS}verify.png`, fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();

    // Leave the demo as it was: the certificate revoked (asked by one officer, confirmed by a second),
    // its deal back in the queue.
    await officer.post(`/api/v1/certifications/${cert.id}/revoke`, { reason: '浏览器测试：撤销' });
    const second = await apiAs('officer2');
    try {
      const revoked = await second.post(`/api/v1/certifications/${cert.id}/revoke`, { reason: '浏览器测试：撤销' });
      assert.equal(revoked.in_force, false);
    } finally {
      await second.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await officer.dispose();
  }
});

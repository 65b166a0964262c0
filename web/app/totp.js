// The second step of signing in (two-factor, TOTP): after the password, the code of an authenticator app
// or a recovery code; an account that has no second factor yet enrols one here — a QR code to scan (or
// the key to type), a first code to confirm it, then the recovery codes, shown this once.

import { api, el } from './api.js';
import { t } from './i18n.js';

/** The dialog, made on first use (one for the page). */
function dialog() {
  let d = document.getElementById('totp-dialog');
  if (!d) {
    d = el('dialog', { id: 'totp-dialog', 'aria-labelledby': 'totp-title' });
    document.body.append(d);
  }
  d.replaceChildren();
  return d;
}

/** A code field: digits, filled in by the phone's keyboard and password managers. */
function codeField(name, label, { numeric = true } = {}) {
  return el('label', {}, el('span', {}, label),
    el('input', {
      name, required: true, autocomplete: numeric ? 'one-time-code' : 'off', inputmode: numeric ? 'numeric' : 'text',
      maxlength: numeric ? 7 : 12, spellcheck: 'false',
    }));
}

/**
 * Asks for the second factor the session `me` still needs (`me.second_factor`: `required` or `enrol`).
 * Resolves to the session once signed in, or null when the user cancels (the page stays public).
 */
export function secondStep(me) {
  return me.second_factor === 'enrol' ? enrol() : askCode();
}

function askCode() {
  return new Promise((resolve) => {
    const d = dialog();
    const error = el('p', { class: 'error', role: 'alert', id: 'totp-error' });
    const code = codeField('code', t('totp.code'));
    const recovery = codeField('recovery_code', t('totp.recovery'), { numeric: false });
    recovery.hidden = true;
    recovery.querySelector('input').required = false;
    const useRecovery = el('button', { type: 'button', class: 'link', id: 'totp-use-recovery' }, t('totp.use.recovery'));
    const cancel = el('button', { type: 'button' }, t('login.cancel'));
    const form = el('form', { id: 'totp-form', method: 'dialog' },
      el('h2', { id: 'totp-title' }, t('totp.title')),
      el('p', {}, t('totp.intro')),
      code, recovery, useRecovery, error,
      el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, t('totp.submit')), cancel));
    d.append(form);
    useRecovery.addEventListener('click', () => {
      code.hidden = true;
      code.querySelector('input').required = false;
      recovery.hidden = false;
      recovery.querySelector('input').required = true;
      useRecovery.hidden = true;
      recovery.querySelector('input').focus();
    });
    cancel.addEventListener('click', () => { d.close(); resolve(null); });
    d.addEventListener('cancel', () => resolve(null), { once: true });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = t('loading');
      const body = recovery.hidden
        ? { code: form.elements.code.value.trim() }
        : { recovery_code: form.elements.recovery_code.value.trim() };
      try {
        const session = await api('/api/v1/auth/totp', { method: 'POST', body });
        d.close();
        resolve(session);
      } catch (err) {
        error.textContent = t('totp.failed', { msg: err.message });
      }
    });
    d.showModal();
    code.querySelector('input').focus();
  });
}

function enrol() {
  return new Promise((resolve) => {
    const d = dialog();
    const error = el('p', { class: 'error', role: 'alert', id: 'totp-error' });
    const cancel = el('button', { type: 'button' }, t('login.cancel'));
    const qr = el('img', { id: 'totp-qr', alt: t('totp.qr'), width: 200, height: 200 });
    const key = el('code', { id: 'totp-secret' });
    const uri = el('code', { id: 'totp-uri', style: 'word-break: break-all' });
    const form = el('form', { id: 'totp-form', method: 'dialog' },
      el('h2', { id: 'totp-title' }, t('totp.enrol.title')),
      el('p', {}, t('totp.enrol.intro')),
      qr,
      el('details', {}, el('summary', {}, t('totp.enrol.manual')), el('p', {}, t('totp.enrol.key'), ' ', key), el('p', {}, uri)),
      codeField('code', t('totp.enrol.code')),
      error,
      el('div', { class: 'actions' }, el('button', { type: 'submit', class: 'primary' }, t('totp.enrol.submit')), cancel));
    d.append(form);
    let confirmed = false;
    cancel.addEventListener('click', () => { d.close(); resolve(null); });
    d.addEventListener('cancel', (e) => {
      // Once confirmed, the session is signed in: the recovery codes are put away with their button.
      if (confirmed) e.preventDefault();
      else resolve(null);
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = t('loading');
      try {
        const done = await api('/api/v1/auth/totp/confirm', { method: 'POST', body: { code: form.elements.code.value.trim() } });
        confirmed = true;
        showRecoveryCodes(d, done.recovery_codes, () => resolve(done.session));
      } catch (err) {
        error.textContent = t('totp.failed', { msg: err.message });
      }
    });
    d.showModal();
    error.textContent = t('loading');
    api('/api/v1/auth/totp/enrol', { method: 'POST' }).then((e) => {
      qr.src = e.qr_code;
      key.textContent = e.secret.replace(/(.{4})/g, '$1 ').trim();
      uri.textContent = e.otpauth_uri;
      error.textContent = '';
      form.elements.code.focus();
    }, (err) => { error.textContent = t('totp.failed', { msg: err.message }); });
  });
}

/** The recovery codes, shown once after enrolling; the sign-in finishes when they are put away. */
function showRecoveryCodes(d, codes, done) {
  const kept = el('button', { type: 'button', class: 'primary', id: 'totp-kept' }, t('totp.recovery.kept'));
  d.replaceChildren(el('div', {},
    el('h2', { id: 'totp-title' }, t('totp.recovery.title')),
    el('p', {}, t('totp.recovery.intro')),
    el('ol', { id: 'totp-recovery', class: 'recovery-codes' }, codes.map((c) => el('li', {}, el('code', {}, c)))),
    el('div', { class: 'actions' }, kept)));
  kept.addEventListener('click', () => { d.close(); done(); });
  kept.focus();
}

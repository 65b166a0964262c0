// The bank's tab (抵押): a certificate looked up by its number and the code printed on it (GET
// /api/v1/verify/{no}?code=: where it stands, the public facts it states, the pledges in force on it), a
// pledge registered on it (POST /api/v1/certifications/{no}/pledges), and the bank's own pledges (GET
// /api/v1/pledges), each in force with a 解押 button (POST /api/v1/pledges/{id}/release, confirmed first).

import { api, clearAlert, el, loading, query, showNotice } from './api.js';
import { field, input, num, showProblem, today, value, workForm } from './forms.js';
import { number, onLangChange, t } from './i18n.js';
import { yuan } from './money.js';

export class Pledges {
  /**
   * @param {HTMLElement} root  the pledges tab
   * @param {object} app        { confirm(message, options) }
   */
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.reset();
    onLangChange(() => this.items && this.render());
  }

  /** Forgets the certificate looked up and the list (after logging out). */
  reset() {
    this.lookup = { no: '', code: '' };
    this.certificate = null;
    this.items = null;
    this.released = false;
    this.root.replaceChildren();
  }

  /** Loads the bank's pledges (in force, or all with the released ones) and lays the tab out. */
  async refresh() {
    const page = await loading(() => api(`/api/v1/pledges${query({ active: this.released ? undefined : 'true' })}`));
    if (page) this.items = page.items;
    this.render();
  }

  render() {
    const found = el('div', { id: 'pledge-found' });
    const c = this.certificate;
    if (c) {
      found.append(certificateBox(c));
      // A further pledge on a certificate pledged already is the exception (the first bank consents).
      if (c.state === 'in_force' && c.encumbrances?.length) {
        found.append(el('details', { class: 'further-pledge', id: 'pledge-further' }, el('summary', {}, t('pledge.further')), this.registerForm(c)));
      } else if (c.state === 'in_force') found.append(this.registerForm(c));
    }
    this.root.replaceChildren(el('h2', {}, t('pledge.title')), this.lookupForm(), found, this.listSection());
  }

  lookupForm() {
    return workForm({
      id: 'pledge-lookup',
      title: t('pledge.lookup'),
      intro: t('pledge.lookup.intro'),
      submit: t('pledge.lookup.submit'),
      fields: [el('div', { class: 'pair' },
        field('certificate_no', t('pledge.certificate_no'), input('certificate_no', { maxlength: 40, class: 'mono', value: this.lookup.no, autocomplete: 'off' })),
        field('code', t('pledge.code'), input('code', { maxlength: 32, class: 'mono', value: this.lookup.code, autocomplete: 'off' })))],
      onSubmit: async (f) => {
        const no = value(f, 'certificate_no');
        if (!no) {
          showProblem(f, { errors: [{ field: 'certificate_no', message: t('pledge.certificate_no.none') }] });
          return;
        }
        this.lookup = { no, code: value(f, 'code') ?? '' };
        // What was shown of another certificate goes at once; a refusal is told in this form.
        this.root.querySelector('#pledge-found').replaceChildren();
        await this.verify();
        this.root.querySelector('#pledge-certificate h3')?.focus();
      },
    });
  }

  /** The certificate looked up, as anyone checking it sees it (its pledges in force among its facts). */
  async verify() {
    const { no, code } = this.lookup;
    this.certificate = await api(`/api/v1/verify/${encodeURIComponent(no)}${query({ code })}`);
    this.render();
  }

  registerForm(c) {
    const pledged = c.encumbrances?.length > 0;
    return workForm({
      id: 'pledge-form',
      title: t('pledge.register', { no: c.certificate_no }),
      intro: t('pledge.register.intro'),
      submit: t('pledge.register.submit'),
      fields: [
        field('loan_contract_no', t('pledge.loan_contract_no'), input('loan_contract_no', { maxlength: 60, autocomplete: 'off' })),
        field('amount_yuan', t('pledge.amount'), input('amount_yuan', { type: 'number', min: 0, step: '0.01', inputmode: 'decimal' })),
        field('loan_start', t('pledge.loan_start'), input('loan_start', { type: 'date', value: today() })),
        field('loan_end', t('pledge.loan_end'), input('loan_end', { type: 'date' })),
        field('registered_on', t('pledge.registered_on'), input('registered_on', { type: 'date', value: today() })),
        // A further pledge needs the consent of the bank whose pledge is in force.
        pledged ? field('prior_consent', t('pledge.prior_consent'), el('textarea', { name: 'prior_consent', rows: 2, maxlength: 500 }),
          { hint: t('pledge.prior_consent.hint') }) : null,
      ],
      onSubmit: async (f) => {
        const body = {
          code: this.lookup.code,
          loan_contract_no: value(f, 'loan_contract_no') ?? '',
          amount_yuan: num(f, 'amount_yuan'),
          loan_start: value(f, 'loan_start') ?? null,
          loan_end: value(f, 'loan_end') ?? null,
          registered_on: value(f, 'registered_on'),
          prior_consent: value(f, 'prior_consent'),
        };
        const p = await api(`/api/v1/certifications/${encodeURIComponent(c.certificate_no)}/pledges`, { method: 'POST', body });
        showNotice(t('pledge.done', { no: p.certificate_no, amount: number(p.amount_yuan, 2) }));
        await Promise.all([this.verify(), this.refresh()]);
      },
    });
  }

  listSection() {
    const released = el('input', { type: 'checkbox', id: 'pledges-released', checked: this.released, onchange: (e) => {
      this.released = e.target.checked;
      this.refresh();
    } });
    const items = this.items ?? [];
    return el('section', { class: 'pledges', id: 'pledges-section' },
      el('h3', {}, t('pledge.list')),
      el('label', { class: 'check' }, released, ' ', t('pledge.list.released')),
      items.length
        ? el('ul', { class: 'pledge-list', id: 'pledge-list' }, items.map((p) => pledgeItem(p, () => this.release(p))))
        : el('p', { class: 'hint' }, t(this.items ? 'pledge.list.empty' : 'loading')));
  }

  /** Releases pledge `p` after a confirmation (with an optional note), then redraws what it changed. */
  async release(p) {
    const note = await this.app.confirm(t('pledge.release.confirm', { no: p.certificate_no, contract: p.loan_contract_no }),
      { reason: true, optional: true, label: t('pledge.release.note') });
    if (note === null) return;
    clearAlert();
    const done = await loading(() => api(`/api/v1/pledges/${p.id}/release`, { method: 'POST', body: note ? { note } : {} }));
    if (!done) return;
    showNotice(t('pledge.release.done', { no: p.certificate_no, on: done.released_on }));
    const again = this.certificate?.certificate_no === p.certificate_no;
    await Promise.all([again ? loading(() => this.verify()) : null, this.refresh()]);
  }
}

/** Where the certificate stands, what it states, and the pledges in force on it (或“无”). */
function certificateBox(c) {
  const encumbrances = c.encumbrances ?? [];
  return el('section', { class: 'certificate-check', id: 'pledge-certificate', dataset: { state: c.state } },
    el('h3', { tabindex: '-1' }, t('pledge.certificate', { no: c.certificate_no })),
    el('p', { class: `verdict ${c.state === 'in_force' ? 'valid' : 'revoked'}`, id: 'pledge-verdict' }, t(`certificate.state.${c.state}`)),
    el('dl', { class: 'facts' },
      el('dt', {}, t('house.unit')), el('dd', {}, c.unit_number),
      el('dt', {}, t('house.township')), el('dd', {}, c.township_name),
      el('dt', {}, t('house.village')), el('dd', {}, c.village),
      el('dt', {}, t('house.area')), el('dd', {}, t('m2', { v: number(c.floor_area_m2, 2) })),
      el('dt', {}, t('house.term')), el('dd', {}, `${c.lease_start} – ${lastDay(c.lease_end)}`),
      el('dt', {}, t('deal.use')), el('dd', {}, c.intended_use)),
    el('h4', {}, t('pledge.encumbrances')),
    encumbrances.length
      ? el('ul', { id: 'certificate-encumbrances' }, encumbrances.map((e) => el('li', { class: 'encumbrance' },
        t('pledge.encumbrance', { bank: e.bank, amount: yuan(e.amount_yuan), start: e.loan_start, end: e.loan_end, on: e.registered_on }))))
      : el('p', { class: 'none hint', id: 'certificate-encumbrances' }, t('pledge.encumbrances.none')));
}

/** One pledge of the list: the certificate, the loan, where it stands; a 解押 button while in force. */
function pledgeItem(p, release) {
  return el('li', { dataset: { pledge: p.id, status: p.status, certificate: p.certificate_no } },
    el('strong', {}, p.certificate_no), ' ', el('span', { class: `pledge-status ${p.status}` }, t(`pledge.status.${p.status}`)),
    el('span', {}, `${p.township_name} ${p.village} · ${p.unit_number}`),
    el('span', {}, t('pledge.loan', { contract: p.loan_contract_no, amount: yuan(p.amount_yuan), bank: p.bank })),
    el('span', {}, t('pledge.term', { start: p.loan_start, end: p.loan_end, on: p.registered_on })),
    p.released_on ? el('span', {}, t('pledge.released', { on: p.released_on, note: p.release_note ?? '' })) : null,
    p.override_reason ? el('span', {}, t('pledge.overridden', { reason: p.override_reason })) : null,
    p.status === 'in_force'
      ? el('button', { type: 'button', class: 'danger release', id: `release-${p.id}`, onclick: release }, t('pledge.release'))
      : null);
}

/** The last day of a lease that ends on `end` (the day after it, as the service keeps it), as printed. */
function lastDay(end) {
  const d = new Date(`${end}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

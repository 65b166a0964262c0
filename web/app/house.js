// The house panel: public facts and photos for everyone, the certificate's verification link,
// interest registration for investors, and for staff the deal, its rent schedule with what is paid and
// overdue (money.js), the record's history, (officers) payments, certify / revoke with confirmation and the
// workflow's next steps (workbench.js). Staff-only routes are asked only when the role may call them.

import { api, chinese, clearAlert, el, loading, placeName, showError, showNotice } from './api.js';
import { lang, number, onLangChange, t } from './i18n.js';
import { STATUS_COLOURS } from './map.js';
import { listingInterests } from './interests.js';
import { paymentForm, scheduleSection } from './money.js';

const STAFF = ['officer', 'official', 'admin'];

export class HousePanel {
  /**
   * @param {HTMLElement} root the panel
   * @param {object} app  { session(): role info, map: FarmMap, confirm(message, withReason), changed() }
   */
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.body = root.querySelector('.panel-body');
    this.house = null;
    this.returnFocus = null;
    root.querySelector('.close').addEventListener('click', () => this.close());
    onLangChange(() => this.house && this.render());
  }

  get open() {
    return !this.root.hidden;
  }

  /** Opens the panel on house `id`, from the map, a list or the queue. */
  async show(id, { fly = false } = {}) {
    this.returnFocus = document.activeElement;
    this.root.hidden = false;
    this.root.setAttribute('aria-busy', 'true');
    this.body.replaceChildren(el('p', { class: 'loading' }, t('loading')));
    const feature = await loading(() => api(`/api/v1/farmhouses/${id}`));
    this.root.removeAttribute('aria-busy');
    if (!feature) {
      this.body.replaceChildren(el('p', { class: 'error' }, t('error', { msg: document.getElementById('alert').textContent })));
      return;
    }
    this.house = feature;
    this.extra = {};
    this.app.map.select(feature.id);
    if (fly) this.app.map.show(feature.geometry);
    await Promise.all([this.loadStaffFacts(), this.loadInterests()]);
    this.render();
    this.root.querySelector('h2').focus();
  }

  /** The deal, certificate record and history, for staff only. */
  async loadStaffFacts() {
    const role = this.app.session().role;
    if (!STAFF.includes(role)) return;
    const p = this.house.properties;
    const tasks = [api(`/api/v1/farmhouses/${this.house.id}/history`).then((h) => { this.extra.history = h; })];
    if (p.transaction_id) {
      tasks.push(api(`/api/v1/transactions/${p.transaction_id}`).then((x) => { this.extra.deal = x; }));
      // A deal's money is read only in the townships of an account limited to some (elsewhere: 403).
      if (this.app.workbench.inScope(this.house)) {
        tasks.push(api(`/api/v1/transactions/${p.transaction_id}/schedule`).then((x) => { this.extra.schedule = x; }));
      }
    }
    if (p.certificate_no) {
      tasks.push(api(`/api/v1/certifications?farmhouse=${this.house.id}&in_force=true`).then((c) => {
        this.extra.certification = c?.items?.[0] ?? null;
      }));
    }
    tasks.push(this.app.workbench.loadHouse(this.house, this.extra));
    await loading(() => Promise.all(tasks));
  }

  /** An investor's own interest in the open listing (so a registered one shows as such); for an officer
   * the listing's interests. */
  async loadInterests() {
    const role = this.app.session().role;
    const listing = this.house.properties.listing;
    if (!listing) return;
    if (role === 'investor') {
      const mine = await loading(() => api(`/api/v1/interests?listing=${listing.id}`));
      this.extra.interest = mine?.[0] ?? null;
    } else if (role === 'officer') {
      this.extra.interests = await loading(() => api(`/api/v1/listings/${listing.id}/interests`)) ?? [];
    }
  }

  close() {
    this.root.hidden = true;
    this.house = null;
    this.app.map.select(null);
    if (this.returnFocus && document.contains(this.returnFocus)) this.returnFocus.focus();
  }

  render() {
    const f = this.house;
    const p = f.properties;
    const role = this.app.session().role;
    const rows = [
      ['house.unit', p.unit_number],
      ['house.township', placeName(p.township_name, p.township_name_pinyin)],
      ['house.village', placeName(p.village, p.village_pinyin)],
      ['house.area', t('m2', { v: number(p.floor_area_m2, 2) })],
      ['house.floors', p.floors],
      ['house.year', p.year_built],
      ['house.structure', chinese(p.structure)],
      ['house.condition', chinese(p.condition)],
    ];
    const status = el('span', { class: 'status-chip', dataset: { status: p.status } },
      el('span', { class: 'swatch', style: `background:${STATUS_COLOURS[p.status]}`, 'aria-hidden': 'true' }),
      t(`status.${p.status}`));
    const parts = [
      el('h2', { id: 'house-title', tabindex: '-1' },
        p.listing?.title ? chinese(p.listing.title) : (p.village ? placeName(p.village, p.village_pinyin) : t('house.title'))),
      el('p', { class: 'house-status' }, status),
      el('dl', { class: 'facts' }, rows.flatMap(([k, v]) => [el('dt', {}, t(k)), el('dd', {}, v ?? '—')])),
    ];
    if (p.description) parts.push(el('p', { class: 'description', lang: lang() === 'en' ? 'zh' : null }, p.description));
    if (p.listing) parts.push(this.listingSection(p.listing, role));
    if (p.listing && role === 'officer' && this.extra.interests) parts.push(listingInterests(this.extra.interests));
    if (p.certificate_no) {
      parts.push(el('section', { class: 'certificate' },
        el('h3', {}, t('house.certificate')),
        el('a', { href: `/verify/${encodeURIComponent(p.certificate_no)}`, class: 'verify-link' },
          t('house.verify', { no: p.certificate_no }))));
    }
    parts.push(this.photosSection(p.photos ?? []));
    if (STAFF.includes(role)) parts.push(...this.staffSections(role));
    this.body.replaceChildren(...parts);
  }

  listingSection(l, role) {
    const uses = l.allowed_uses.map((u) => t(`use.${u}`)).join(lang() === 'zh' ? '、' : ', ');
    const section = el('section', { class: 'listing' },
      el('h3', {}, t('house.listing')),
      el('dl', { class: 'facts' },
        el('dt', {}, t('house.rent')), el('dd', { class: 'rent' }, t('yuan', { v: number(l.asking_rent_yuan) })),
        el('dt', {}, t('house.term')), el('dd', {}, t('house.term.value', { min: l.min_term_months, max: l.max_term_months })),
        el('dt', {}, t('house.uses')), el('dd', {}, uses),
        el('dt', {}, t('house.notice')), el('dd', {}, `${l.notice_start} – ${l.notice_end}`)));
    if (role === 'investor' && this.extra.interest) {
      // Registered already: said on the button, which stays disabled whenever the house is opened again.
      section.append(el('button', { type: 'button', class: 'primary', id: 'interest', disabled: true, dataset: { registered: 'true' } },
        t('house.interest.registered')));
    } else if (role === 'investor') {
      const message = el('textarea', { id: 'interest-message', name: 'message', rows: 3, maxlength: 1000 });
      section.append(
        el('label', { class: 'stacked', for: 'interest-message' }, t('house.interest.message')), message,
        el('button', { type: 'button', class: 'primary', id: 'interest', onclick: () => this.registerInterest(l.id, message.value) },
          t('house.interest')));
    } else if (role === 'public') {
      section.append(el('p', { class: 'hint' }, t('house.interest.login')));
    }
    return section;
  }

  photosSection(photos) {
    const section = el('section', { class: 'photos' }, el('h3', {}, t('house.photos')));
    if (!photos.length) section.append(el('p', { class: 'hint' }, t('house.no_photos')));
    else {
      section.append(el('ul', { class: 'photo-strip' }, photos.map((src, i) =>
        el('li', {}, el('a', { href: src, target: '_blank', rel: 'noopener' },
          el('img', { src, alt: t('house.photo_alt', { n: i + 1 }), loading: 'lazy', width: 160, height: 120 }))))));
    }
    return section;
  }

  staffSections(role) {
    const out = [];
    const p = this.house.properties;
    const deal = this.extra.deal;
    if (deal) {
      out.push(el('section', { class: 'deal' }, el('h3', {}, t('house.deal')),
        el('p', {}, t('house.deal.value', {
          contract: deal.contract_no, start: deal.lease_start, end: deal.lease_end, amount: number(deal.total_amount_yuan),
        })),
        el('p', { class: 'hint', id: 'deal-parties' }, t('house.deal.parties', {
          lessor: deal.lessor?.name ?? deal.lessor_name ?? '—',
          lessee: deal.lessee?.name ?? '—',
          by: deal.recorded_by ?? '—',
        }))), ...this.app.workbench.dealSections(deal, this.extra));
    }
    if (deal && this.extra.schedule) {
      // Officers record what the lessee paid against each instalment (the schedule is read in their townships only).
      const onPay = (i) => this.app.workbench.openForm(paymentForm(i, { contract: deal.contract_no, payer: deal.lessee?.name }),
        () => this.afterWrite());
      out.push(scheduleSection(this.extra.schedule, { onPay: role === 'officer' ? onPay : null }));
    }
    if (role === 'officer') {
      const actions = el('div', { class: 'actions' });
      if (p.status === 'contracted' && deal && !deal.certificate_no) {
        actions.append(el('button', { type: 'button', class: 'primary', id: 'certify', onclick: () => this.certify(deal) }, t('house.certify')));
      }
      const cert = this.extra.certification;
      if (p.status === 'certified' && cert) {
        const no = encodeURIComponent(cert.certificate_no);
        const code = encodeURIComponent(cert.verification_code);
        actions.append(el('a', { href: `/api/v1/certifications/${no}/document?code=${code}&copy=officer`, id: 'certificate-document',
          class: 'button', target: '_blank', rel: 'noopener' }, t('house.document')));
        // Revoking takes two officers: one asks, another confirms (the certificate stays in force between).
        const by = cert.revocation_requested_by;
        if (!by) {
          actions.append(el('button', { type: 'button', class: 'danger', id: 'revoke', onclick: () => this.revoke(cert) }, t('house.revoke')));
        } else if (by === this.app.session().username) {
          out.push(el('p', { class: 'revocation', id: 'revocation' }, t('house.revoke.pending', { by, reason: cert.revocation_reason ?? '' })));
        } else {
          out.push(el('p', { class: 'revocation', id: 'revocation' }, t('house.revoke.requested', { by, reason: cert.revocation_reason ?? '' })));
          actions.append(el('button', { type: 'button', class: 'danger', id: 'revoke-confirm', onclick: () => this.revoke(cert) }, t('house.revoke.confirm')));
        }
      }
      if (actions.childElementCount) out.push(actions);
    }
    // The workflow's next steps (appraise, list, deal, papers, consent, the checklist): the workbench's.
    out.push(...this.app.workbench.houseSections(this.house, this.extra, () => this.afterWrite()));
    out.push(this.app.workbench.historySection(this.extra.history ?? []));
    return out;
  }

  async registerInterest(listingId, message = '') {
    clearAlert();
    this.root.querySelector('#interest')?.setAttribute('disabled', '');
    try {
      this.extra.interest = await api(`/api/v1/listings/${listingId}/interest`, { method: 'POST', body: { message: message.trim() } });
      this.render();
      showNotice(t('house.interest.done'));
    } catch (e) {
      // Registered before (in another window, say): the panel shows it as registered.
      if (e.problem?.code === 'interests_once') {
        this.extra.interest = { listing_id: listingId };
        this.render();
      } else {
        this.root.querySelector('#interest')?.removeAttribute('disabled');
      }
      showError(e);
    }
    this.app.interests?.refresh();
  }

  async certify(deal) {
    const ok = await this.app.confirm(t('confirm.certify', { contract: deal.contract_no, unit: deal.unit_number }));
    if (!ok) return;
    clearAlert();
    const cert = await loading(() => api(`/api/v1/transactions/${deal.id}/certify`, { method: 'POST' }));
    if (!cert) return;
    showNotice(t('done.certify', { no: cert.certificate_no }));
    await this.afterWrite();
  }

  /** Asks for the revocation, or confirms another officer's request (its reason offered again). */
  async revoke(cert) {
    const confirming = Boolean(cert.revocation_requested_by);
    const reason = await this.app.confirm(t(confirming ? 'confirm.revoke.second' : 'confirm.revoke', { no: cert.certificate_no }),
      { reason: true, value: cert.revocation_reason ?? '' });
    if (!reason) return;
    clearAlert();
    const done = await loading(() => api(`/api/v1/certifications/${cert.id}/revoke`, { method: 'POST', body: { reason } }));
    if (!done) return;
    // 202: only asked, the certificate still in force until a second officer confirms; 200: revoked.
    showNotice(t(done.in_force ? 'done.revoke.requested' : 'done.revoke', { no: cert.certificate_no }));
    await this.afterWrite();
  }

  /** Redraws the map, the figures and this panel after a write. */
  async afterWrite() {
    const id = this.house.id;
    this.app.changed();
    const feature = await loading(() => api(`/api/v1/farmhouses/${id}`));
    if (!feature) return;
    this.house = feature;
    this.extra = {};
    await Promise.all([this.loadStaffFacts(), this.loadInterests()]);
    this.render();
  }
}

// Accounts, for admins: every account with its role, the townships it is limited to, whether it is
// disabled and how many API tokens it holds; a form to add one; and per account: disable or enable it,
// change its role and townships, revoke its tokens. All through the account API (GET/POST /api/v1/users, PATCH
// /api/v1/users/{id}); a refusal is shown next to the field it names.

import { api, clearAlert, el, loading, showNotice } from './api.js';
import { field, input, select, value, workForm } from './forms.js';
import { lang, number, onLangChange, t } from './i18n.js';

const ROLES = ['officer', 'official', 'admin', 'investor', 'bank'];
/** The roles whose accounts may be limited to townships. */
const SCOPED = ['officer', 'official'];

export class Accounts {
  /**
   * @param {HTMLElement} root  the accounts tab
   * @param {object} app        { townshipNames: Map, confirm(message) }
   */
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.users = null;
    onLangChange(() => this.render());
  }

  reset() {
    this.users = null;
    this.root.replaceChildren();
  }

  async refresh() {
    this.root.setAttribute('aria-busy', 'true');
    const users = await loading(() => api('/api/v1/users'));
    this.root.removeAttribute('aria-busy');
    if (!users) return;
    this.users = users;
    this.render();
  }

  townships() {
    return [...(this.app.townshipNames ?? new Map())].sort(([a], [b]) => a.localeCompare(b));
  }

  scopeText(codes) {
    if (!codes.length) return t('accounts.scope.all');
    return codes.map((c) => this.app.townshipNames?.get(c) ?? c).join(lang() === 'zh' ? '、' : ', ');
  }

  render() {
    if (!this.users) return;
    const table = el('table', { id: 'accounts-table' },
      el('caption', { class: 'visually-hidden' }, t('accounts.title')),
      el('thead', {}, el('tr', {}, ['accounts.col.name', 'accounts.col.role', 'accounts.col.scope', 'accounts.col.state', 'accounts.col.actions']
        .map((k) => el('th', { scope: 'col' }, t(k))))),
      el('tbody', {}, this.users.map((u) => this.row(u))));
    this.root.replaceChildren(
      el('h2', {}, t('accounts.title')),
      el('p', { class: 'count', id: 'accounts-count' }, t('accounts.count', { n: number(this.users.length) })),
      el('div', { class: 'table-wrap' }, table),
      this.addForm());
  }

  row(u) {
    const me = u.username === this.app.session().username;
    const actions = el('div', { class: 'actions' });
    if (!me) {
      actions.append(el('button', { type: 'button', class: u.disabled ? '' : 'danger', dataset: { action: u.disabled ? 'enable' : 'disable' },
        onclick: () => this.change(u, { disabled: !u.disabled }, t(u.disabled ? 'accounts.enabled' : 'accounts.disabled', { name: u.username })) },
      t(u.disabled ? 'accounts.enable' : 'accounts.disable')));
    }
    if (u.active_tokens > 0) {
      actions.append(el('button', { type: 'button', dataset: { action: 'revoke' },
        onclick: () => this.change(u, { revoke_tokens: true }, t('accounts.revoked', { name: u.username })) }, t('accounts.revoke')));
    }
    if (!me) {
      actions.append(el('button', { type: 'button', dataset: { action: 'scope' }, 'aria-expanded': 'false',
        onclick: (e) => this.scopeForm(u, e.currentTarget) }, t('accounts.scope.change')));
    }
    const state = [t(u.disabled ? 'accounts.state.disabled' : 'accounts.state.active'),
      t('accounts.tokens', { n: u.active_tokens }), u.second_factor ? t('accounts.2fa') : null].filter(Boolean).join(' · ');
    return el('tr', { dataset: { user: u.id, username: u.username }, class: u.disabled ? 'disabled' : '' },
      el('td', { class: 'name' }, el('strong', {}, u.username), u.display_name ? el('div', { class: 'hint' }, u.display_name) : null),
      el('td', { class: 'role' }, t(`role.${u.role}`)),
      el('td', { class: 'scope' }, this.scopeText(u.townships)),
      el('td', { class: 'state' }, state),
      el('td', {}, actions));
  }

  /** PATCHes account `u` with `body`; the notice says what was done. */
  async change(u, body, notice) {
    clearAlert();
    const done = await loading(() => api(`/api/v1/users/${u.id}`, { method: 'PATCH', body }));
    if (!done) return;
    showNotice(notice);
    await this.refresh();
  }

  /** The role and townships of account `u`, chosen under its row. */
  scopeForm(u, button) {
    const row = button.closest('tr');
    const open = row.nextElementSibling?.classList.contains('scope-row');
    if (open) {
      row.nextElementSibling.remove();
      button.setAttribute('aria-expanded', 'false');
      return;
    }
    button.setAttribute('aria-expanded', 'true');
    const role = select('role', ROLES.map((r) => [r, t(`role.${r}`)]));
    role.value = u.role;
    const form = workForm({
      id: `scope-${u.id}`,
      title: t('accounts.scope.title', { name: u.username }),
      fields: [field('role', t('accounts.field.role'), role), this.townshipField(u.townships)],
      submit: t('accounts.scope.save'),
      onSubmit: async (f) => {
        // A role without townships takes none; a change of role or townships ends the account's sessions.
        const townships = SCOPED.includes(role.value) ? [...f.elements.townships.selectedOptions].map((o) => o.value) : [];
        const body = { townships };
        if (role.value !== u.role) body.role = role.value;
        await api(`/api/v1/users/${u.id}`, { method: 'PATCH', body });
        showNotice(t('accounts.scope.done', { name: u.username, role: t(`role.${role.value}`), scope: this.scopeText(townships) }));
        await this.refresh();
      },
    });
    const sync = () => { form.querySelector('[data-field=townships]').hidden = !SCOPED.includes(role.value); };
    role.addEventListener('change', sync);
    sync();
    row.after(el('tr', { class: 'scope-row' }, el('td', { colspan: 5 }, form)));
    role.focus();
  }

  townshipField(chosen = []) {
    const list = select('townships', this.townships(), { multiple: true, size: 6 });
    for (const o of list.options) o.selected = chosen.includes(o.value);
    return field('townships', t('accounts.field.townships'), list, { hint: t('accounts.field.townships.hint') });
  }

  addForm() {
    const role = select('role', ROLES.map((r) => [r, t(`role.${r}`)]));
    const form = workForm({
      id: 'account-add',
      title: t('accounts.add'),
      fields: [
        el('div', { class: 'pair' },
          field('username', t('accounts.field.username'), input('username', { autocomplete: 'off', maxlength: 40, required: true })),
          field('display_name', t('accounts.field.display_name'), input('display_name', { maxlength: 100 }))),
        el('div', { class: 'pair' },
          field('role', t('accounts.field.role'), role),
          field('password', t('accounts.field.password'), input('password', { type: 'password', autocomplete: 'new-password', required: true }))),
        this.townshipField(),
        field('party_id', t('accounts.field.party'), input('party_id', { type: 'number', min: 1, step: 1, inputmode: 'numeric' }),
          { hint: t('accounts.field.party.hint') }),
      ],
      submit: t('accounts.add.submit'),
      onSubmit: async (f) => {
        const body = {
          username: value(f, 'username') ?? '',
          display_name: value(f, 'display_name') ?? '',
          role: f.elements.role.value,
          password: f.elements.password.value,
          townships: [...f.elements.townships.selectedOptions].map((o) => o.value),
        };
        const party = value(f, 'party_id');
        if (party !== undefined) body.party_id = Number(party);
        const made = await api('/api/v1/users', { method: 'POST', body });
        showNotice(t('accounts.added', { name: made.username }));
        await this.refresh();
        this.root.querySelector(`tr[data-user="${made.id}"]`)?.scrollIntoView({ block: 'nearest' });
      },
    });
    // Townships only for officers and officials, a party only for investors and banks.
    const sync = () => {
      const townships = form.querySelector('[data-field=townships]');
      townships.hidden = !SCOPED.includes(role.value);
      if (townships.hidden) for (const o of form.elements.townships.options) o.selected = false;
      form.querySelector('[data-field=party_id]').hidden = !['investor', 'bank'].includes(role.value);
    };
    role.addEventListener('change', sync);
    sync();
    return form;
  }
}

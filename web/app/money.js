// The money of a deal: its rent schedule (收款计划) — one lump sum, yearly with a rise every so many years
// and rent-free months, or instalments of the officer's own — as fields of the deal form and of the
// schedule's own form (PUT /api/v1/transactions/{id}/schedule); the schedule as a table in the house panel,
// each instalment split between the household (农户) and the village collective (集体), paid or overdue;
// and a payment (收款) recorded against an instalment (POST /api/v1/instalments/{id}/payments).

import { api, el } from './api.js';
import { done, field, input, num, select, today, value, workForm } from './forms.js';
import { lang, number, t } from './i18n.js';

export const PLANS = ['lump_sum', 'yearly', 'custom'];
export const PAYMENT_METHODS = ['bank_transfer', 'cash', 'mobile', 'cheque'];

/** An amount in yuan with its fen: "1,234.50 元". */
export const yuan = (v) => t('yuan', { v: number(Number(v), 2) });

/** Yuan to two decimals, as the service keeps fen (0.1 + 0.2 is 0.3 here). */
const fen = (v) => Math.round(Number(v) * 100);

/**
 * The schedule's fields, named as the deal's body names them (`schedule.plan`,
 * `schedule.instalments[2].amount_yuan` …) so that a 422 lands beside them. `total()` and `start()` read
 * the deal's total amount and first day (the running sum of a custom plan, its first instalment);
 * `initial` is a recorded schedule to start from. Answers { node, value(), update() }: value() is the
 * schedule to send, update() redraws the running sum after the total changed.
 */
export function scheduleFields({ total, start, initial = null }) {
  const plan = select('schedule.plan', PLANS.map((p) => [p, t(`plan.${p}`)]), { id: 'schedule-plan' });
  plan.value = initial?.plan ?? 'lump_sum';
  const yearly = el('div', { class: 'schedule-part', dataset: { plan: 'yearly' } },
    el('div', { class: 'triple' },
      field('schedule.escalation_percent', t('schedule.escalation_percent'), input('schedule.escalation_percent',
        { type: 'number', min: 0, max: 100, step: '0.01', inputmode: 'decimal', value: initial?.escalation_percent ?? '' })),
      field('schedule.escalation_every_years', t('schedule.escalation_every_years'), input('schedule.escalation_every_years',
        { type: 'number', min: 1, max: 20, step: 1, value: initial?.escalation_every_years ?? '' })),
      field('schedule.rent_free_months', t('schedule.rent_free_months'), input('schedule.rent_free_months',
        { type: 'number', min: 0, max: 60, step: 1, value: initial?.rent_free_months ?? 0 }))),
    el('p', { class: 'hint' }, t('schedule.yearly.hint')));

  let rows = initial?.plan === 'custom' ? initial.instalments.map((i) => ({ due_on: i.due_on, amount_yuan: String(i.amount_yuan) })) : [];
  const rowsBox = el('div', { class: 'instalment-rows' });
  const sum = el('p', { class: 'hint', id: 'instalments-sum', 'aria-live': 'polite' });
  const read = () => [...rowsBox.querySelectorAll('.instalment-row')].map((r) => ({
    due_on: r.querySelector('input[type=date]').value,
    amount_yuan: r.querySelector('input[type=number]').value,
  }));
  const update = () => {
    const scheduled = read().reduce((s, r) => s + fen(r.amount_yuan || 0), 0);
    const whole = fen(total() ?? 0);
    sum.textContent = t('schedule.sum', { sum: number(scheduled / 100, 2), total: number(whole / 100, 2) });
    sum.className = scheduled === whole ? 'ok-line' : 'hint';
  };
  /** Redraws the rows (numbered from 1, named from 0 as the API counts them), focusing row `focus`. */
  const draw = (focus) => {
    rowsBox.replaceChildren(...rows.map((r, i) => {
      const n = `schedule.instalments[${i}]`;
      return el('div', { class: 'instalment-row', dataset: { index: i } },
        field(`${n}.due_on`, t('schedule.instalment.due', { n: i + 1 }), input(`${n}.due_on`, { type: 'date', value: r.due_on ?? '' })),
        field(`${n}.amount_yuan`, t('schedule.instalment.amount', { n: i + 1 }),
          input(`${n}.amount_yuan`, { type: 'number', min: 0, step: '0.01', inputmode: 'decimal', value: r.amount_yuan ?? '' })),
        el('button', { type: 'button', class: 'remove', 'aria-label': t('schedule.instalment.remove', { n: i + 1 }), onclick: () => {
          rows = read();
          rows.splice(i, 1);
          draw(Math.min(i, rows.length - 1));
        } }, '×'));
    }));
    update();
    if (focus !== undefined && focus >= 0) rowsBox.querySelectorAll('.instalment-row')[focus]?.querySelector('input')?.focus();
    else if (focus !== undefined) add.focus();
  };
  const add = el('button', { type: 'button', id: 'instalment-add', onclick: () => {
    rows = [...read(), { due_on: '', amount_yuan: '' }];
    draw(rows.length - 1);
  } }, t('schedule.instalment.add'));
  const custom = el('div', { class: 'schedule-part', dataset: { plan: 'custom' } },
    // An error about the instalments as a whole (or a row not shown) is told here.
    el('div', { class: 'field', dataset: { field: 'schedule.instalments' } },
      el('p', { class: 'label' }, t('schedule.instalments')), el('p', { class: 'field-error', hidden: true })),
    rowsBox, sum, el('div', { class: 'actions compact' }, add));

  const node = el('fieldset', { class: 'group field schedule', dataset: { field: 'schedule' } },
    el('legend', {}, t('schedule.title')),
    el('p', { class: 'field-error', hidden: true }),
    field('schedule.plan', t('schedule.plan'), plan),
    yearly, custom);
  const show = () => {
    for (const part of node.querySelectorAll('.schedule-part')) part.hidden = part.dataset.plan !== plan.value;
    if (plan.value === 'custom' && !rows.length) {
      // A custom plan starts from one instalment of the whole amount on the lease's first day.
      rows = [{ due_on: start() ?? '', amount_yuan: total() ? String(total()) : '' }];
      draw();
    }
  };
  plan.addEventListener('change', show);
  rowsBox.addEventListener('input', update);
  draw();
  show();

  const valueOf = () => {
    const body = { plan: plan.value };
    if (plan.value === 'yearly') {
      const percent = num(node, 'schedule.escalation_percent');
      const every = num(node, 'schedule.escalation_every_years');
      // A rise is its size and how often: both or neither (the service names the one missing).
      if (percent !== null || every !== null) Object.assign(body, { escalation_percent: percent, escalation_every_years: every });
      body.rent_free_months = num(node, 'schedule.rent_free_months') ?? 0;
    }
    if (plan.value === 'custom') {
      body.instalments = read().map((r) => ({ due_on: r.due_on || null, amount_yuan: r.amount_yuan === '' ? null : Number(r.amount_yuan) }));
    }
    return body;
  };
  return { node, value: valueOf, update };
}

/** The plan in words: "按年支付，每 3 年递增 5%，免租 2 个月". */
function planLine(s) {
  const parts = [t(`plan.${s.plan}`)];
  if (s.plan === 'yearly' && s.escalation_percent) {
    parts.push(t('schedule.escalation', { percent: String(Number(s.escalation_percent)), every: s.escalation_every_years }));
  }
  if (s.plan === 'yearly' && s.rent_free_months) parts.push(t('schedule.rent_free', { n: s.rent_free_months }));
  return parts.join(lang() === 'zh' ? '，' : ', ');
}

/**
 * A deal's schedule in the house panel: the plan and the collective's rule, the totals (to the household,
 * to the collective, paid, overdue) and a row per instalment with its payments under it. `onPay(instalment)`
 * (officers who may record payments) puts a 收款 button on each instalment not paid in full.
 */
export function scheduleSection(s, { onPay } = {}) {
  const head = el('h3', {}, t('schedule.title'));
  if (!s.plan || !s.instalments?.length) {
    return el('section', { class: 'schedule', id: 'schedule-section' }, head, el('p', { class: 'hint' }, t('schedule.none')));
  }
  const state = (i) => {
    if (fen(i.paid_yuan) >= fen(i.amount_yuan)) return 'paid';
    return i.overdue ? 'overdue' : 'open';
  };
  const rows = s.instalments.flatMap((i) => {
    const st = state(i);
    const pay = onPay && st !== 'paid'
      ? el('button', { type: 'button', class: 'pay', id: `pay-${i.seq}`, onclick: () => onPay(i) }, t('payment.record'))
      : null;
    return [
      el('tr', { class: `instalment ${st}`, dataset: { instalment: i.id, seq: i.seq, state: st } },
        el('th', { scope: 'row' }, i.seq),
        el('td', { class: 'due' }, i.due_on),
        el('td', { class: 'amount' }, number(i.amount_yuan, 2)),
        // The household's part above the collective's.
        el('td', { class: 'split' }, el('span', {}, number(i.household_yuan, 2)), el('span', { class: 'collective' }, `/ ${number(i.collective_yuan, 2)}`)),
        // What is paid of an instalment not paid in full is said under its state.
        el('td', { class: 'state' }, el('span', { class: 'state-text' }, t(`instalment.${st}`)),
          st !== 'paid' && fen(i.paid_yuan) > 0 ? el('span', { class: 'part-paid' }, t('instalment.part_paid', { v: number(i.paid_yuan, 2) })) : null,
          pay)),
      ...(i.payments ?? []).map((p) => el('tr', { class: 'payment', dataset: { payment: p.id } },
        el('td', { colspan: 5 }, t('payment.line', {
          on: p.paid_on, amount: number(p.amount_yuan, 2), method: t(`method.${p.method}`), receipt: p.receipt_no, payer: p.payer,
        }), p.excess_reason ? ` · ${t('payment.excess', { reason: p.excess_reason })}` : ''))),
    ];
  });
  return el('section', { class: 'schedule', id: 'schedule-section' }, head,
    el('dl', { class: 'facts', id: 'schedule-totals' },
      el('dt', {}, t('schedule.plan')), el('dd', { id: 'schedule-plan-line' }, planLine(s)),
      el('dt', {}, t('schedule.rule')), el('dd', {}, t('schedule.rule.value', {
        fee: number(s.collective_fee_yuan_per_m2_year ?? 0, 2), area: number(s.land_area_m2 ?? 0, 2),
      })),
      el('dt', {}, t('schedule.total')), el('dd', {}, yuan(s.total_amount_yuan)),
      el('dt', {}, t('schedule.split')), el('dd', {}, `${yuan(s.household_yuan)} / ${yuan(s.collective_yuan)}`),
      el('dt', {}, t('schedule.paid')), el('dd', { id: 'schedule-paid' }, yuan(s.paid_yuan)),
      el('dt', {}, t('schedule.overdue')), el('dd', { id: 'schedule-overdue', class: fen(s.overdue_yuan) > 0 ? 'overdue' : '' }, yuan(s.overdue_yuan))),
    el('div', { class: 'table-wrap' }, el('table', { class: 'numbers instalments', id: 'instalments' },
      el('caption', { class: 'visually-hidden' }, t('schedule.title')),
      el('thead', {}, el('tr', {}, ['col.seq', 'col.due', 'col.amount', 'col.split', 'col.state']
        .map((k) => el('th', { scope: 'col' }, t(`schedule.${k}`))))),
      el('tbody', {}, rows))));
}

/** The form of a payment against instalment `i` of the deal numbered `contract` (the lessee pays, usually). */
export function paymentForm(i, { contract, payer }) {
  const outstanding = Math.max(0, fen(i.amount_yuan) - fen(i.paid_yuan)) / 100;
  return workForm({
    id: 'payment-form',
    title: t('payment.title', { contract, seq: i.seq }),
    intro: t('payment.intro', { due: i.due_on, amount: number(i.amount_yuan, 2), paid: number(i.paid_yuan, 2) }),
    submit: t('work.save'),
    fields: [
      el('div', { class: 'pair' },
        field('paid_on', t('payment.paid_on'), input('paid_on', { type: 'date', value: today() })),
        field('amount_yuan', t('payment.amount'), input('amount_yuan', { type: 'number', min: 0, step: '0.01', inputmode: 'decimal', value: outstanding }))),
      field('payer', t('payment.payer'), input('payer', { maxlength: 200, value: payer ?? '' })),
      el('div', { class: 'pair' },
        field('method', t('payment.method'), select('method', PAYMENT_METHODS.map((m) => [m, t(`method.${m}`)]))),
        field('receipt_no', t('payment.receipt_no'), input('receipt_no', { maxlength: 60, autocomplete: 'off' }))),
      field('excess_reason', t('payment.excess_reason'), el('textarea', { name: 'excess_reason', rows: 2, maxlength: 500 }),
        { hint: t('payment.excess_reason.hint') }),
    ],
    onSubmit: async (f) => {
      const body = {
        paid_on: value(f, 'paid_on') ?? null,
        amount_yuan: num(f, 'amount_yuan'),
        payer: value(f, 'payer') ?? '',
        method: value(f, 'method') ?? '',
        receipt_no: value(f, 'receipt_no') ?? '',
      };
      const reason = value(f, 'excess_reason');
      if (reason) body.excess_reason = reason;
      const p = await api(`/api/v1/instalments/${i.id}/payments`, { method: 'POST', body });
      done(f, t('payment.done', { amount: number(p.amount_yuan, 2), seq: i.seq, receipt: p.receipt_no }));
    },
  });
}

/** The schedule of a deal recorded anew (before its certificate states it and before any payment). */
export function scheduleForm(deal, current) {
  const schedule = scheduleFields({ total: () => Number(deal.total_amount_yuan), start: () => deal.lease_start, initial: current });
  return workForm({
    id: 'schedule-form',
    title: t('schedule.form.title', { contract: deal.contract_no }),
    intro: t('schedule.form.intro', { total: number(deal.total_amount_yuan, 2), start: deal.lease_start }),
    submit: t('work.save'),
    fields: [schedule.node],
    onSubmit: async (f) => {
      try {
        await api(`/api/v1/transactions/${deal.id}/schedule`, { method: 'PUT', body: schedule.value() });
      } catch (err) {
        // The body is the schedule itself: an error may name `plan` or `instalments[1].amount_yuan` as well
        // as `schedule.…`; the fields are named as in the deal's body.
        const named = (n) => (!n || n === 'schedule' || n.startsWith('schedule.') ? n : `schedule.${n}`);
        if (err.problem) {
          err.problem = { ...err.problem, field: named(err.problem.field), errors: err.problem.errors?.map((e) => ({ ...e, field: named(e.field) })) };
        }
        throw err;
      }
      done(f, t('schedule.form.done', { contract: deal.contract_no }));
    },
  });
}

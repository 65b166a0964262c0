// Forms of the officers' workbench: labelled fields, each with a line for its error, and the service's
// 422 answer (problem+json `errors: [{field, message}]`) shown next to the field it names. A field is
// found by its `data-field` (the API's name of the value, e.g. `properties.floor_area_m2`): an error
// naming `properties.unit_number.land_right` goes to the field `properties.unit_number`.

import { ApiError, el, fieldLabel, problemMessage, showError } from './api.js';
import { t } from './i18n.js';

let seq = 0;
const nextId = (prefix = 'f') => `${prefix}-${++seq}`;

/**
 * A labelled control with its error line. `name` is the API's name of the value (also the control's
 * name); `control` an <input>, <select> or <textarea> (made by `input()` when it is attributes).
 */
export function field(name, label, control, { hint, class: cls } = {}) {
  const node = control instanceof Node ? control : input(name, control);
  if (!node.name) node.name = name;
  if (!node.id) node.id = nextId('f');
  const error = el('p', { class: 'field-error', id: `${node.id}-error`, hidden: true });
  const hintNode = hint ? el('p', { class: 'hint', id: `${node.id}-hint` }, hint) : null;
  node.setAttribute('aria-describedby', [hintNode?.id, error.id].filter(Boolean).join(' '));
  return el('div', { class: `field${cls ? ` ${cls}` : ''}`, dataset: { field: name } },
    el('label', { for: node.id }, label), node, hintNode, error);
}

/** An <input> named `name` with `attrs` (type, min, step, value …). */
export function input(name, attrs = {}) {
  return el('input', { name, ...attrs });
}

/** A <select> of `options`: [value, text] pairs (a leading ['', text] is the "choose" line). */
export function select(name, options, attrs = {}) {
  return el('select', { name, ...attrs }, options.map(([v, text]) => el('option', { value: v }, text)));
}

/** A group of check boxes (or radio buttons) in a fieldset whose legend labels them. */
export function choices(name, legend, options, { type = 'checkbox', checked = [] } = {}) {
  const id = nextId('g');
  const error = el('p', { class: 'field-error', id: `${id}-error`, hidden: true });
  return el('fieldset', { class: 'field choices', dataset: { field: name }, 'aria-describedby': error.id },
    el('legend', {}, legend),
    el('div', { class: 'choice-row' }, options.map(([v, text]) => el('label', { class: 'check' },
      el('input', { type, name, value: v, checked: checked.includes(v) }), ' ', text))),
    error);
}

/** The checked values of a check-box group. */
export function checked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
}

/** A form's value of `name`, trimmed; undefined when empty. */
export function value(form, name) {
  const v = form.elements[name]?.value?.trim();
  return v === '' || v === undefined ? undefined : v;
}

/** A number, or null when the field is empty (the service then names the field). */
export function num(form, name) {
  const v = value(form, name);
  return v === undefined ? null : Number(v);
}

/** Today in Shangyu's calendar (Asia/Shanghai), YYYY-MM-DD. */
export function today(offsetDays = 0) {
  const d = new Date(Date.now() + offsetDays * 86400000);
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

/** Removes every error shown in `root`. */
export function clearErrors(root) {
  for (const p of root.querySelectorAll('.field-error')) {
    p.textContent = '';
    p.hidden = true;
  }
  for (const c of root.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  for (const f of root.querySelectorAll('.field.invalid')) f.classList.remove('invalid');
  for (const box of root.querySelectorAll('.form-errors')) {
    box.replaceChildren();
    box.hidden = true;
  }
}

/** The field of `root` that an error naming `name` belongs to: the longest `data-field` it starts with. */
function fieldOf(root, name) {
  let best = null;
  let bestLength = -1;
  for (const node of root.querySelectorAll('[data-field]')) {
    for (const f of node.dataset.field.split(' ')) {
      const hit = name === f || name.startsWith(`${f}.`) || name.startsWith(`${f}[`);
      if (hit && f.length > bestLength) {
        best = node;
        bestLength = f.length;
      }
    }
  }
  return best;
}

/**
 * Shows a problem's errors in `root`: each next to its field, the rest (and a problem without field
 * errors) in the form's error box; focuses the first bad field. `prefix` is put before the errors'
 * field names (a part of a form whose fields are named `party.name` posts `name` to its own route).
 */
export function showProblem(root, problem, { prefix = '', fallback, withDetail = false } = {}) {
  const errors = problem?.errors?.length
    ? problem.errors
    : [{ field: problem?.field ?? '', message: problem?.detail ?? fallback ?? '' }];
  const box = root.querySelector(':scope > .form-errors');
  // What the page says of each error: the service's own words are never shown (api.js problemMessage).
  const said = (e) => (problem?.code ? problemMessage({ ...problem, field: null, detail: null }) : e.message);
  const loose = [];
  let first = null;
  for (const e of errors) {
    const name = e.field ? `${prefix}${e.field}` : '';
    const node = name ? fieldOf(root, name) : null;
    if (!node) {
      loose.push(e);
      continue;
    }
    const line = node.querySelector('.field-error');
    line.hidden = false;
    // The part of a value that is wrong (unit_number.land_right, allowed_uses[1]) is named with it.
    const exact = node.dataset.field.split(' ').includes(name);
    line.append(el('span', {}, exact ? '' : `${fieldLabel(e.field)}: `, said(e)), ' ');
    node.classList.add('invalid');
    const control = node.querySelector('input, select, textarea');
    control?.setAttribute('aria-invalid', 'true');
    first ??= control;
  }
  if (box && (loose.length || first)) {
    box.hidden = false;
    const named = loose.filter((e) => e.field);
    // A refusal other than a 422 (403, 409) says what it is about, before its fields.
    const detail = withDetail && problem?.code ? problemMessage(problem) : null;
    box.replaceChildren(...[
      detail ? el('p', { class: 'detail' }, detail) : null,
      first ? el('p', {}, t('form.invalid', { n: errors.length - loose.length })) : null,
      ...loose.filter((e) => !e.field && e.message && !detail).map((e) => el('p', {}, said(e))),
      named.length && !detail ? el('ul', {}, named.map((e) => el('li', {}, `${fieldLabel(e.field)}: ${said(e)}`))) : null,
    ].filter(Boolean));
  }
  if (first) first.focus();
  else box?.focus();
}

/**
 * A form of the workbench: a heading, the fields, a box for its errors and a submit button. On submit
 * `onSubmit(form)` runs (its errors are shown in the form: a 422 next to the fields); it answers the
 * notice to show, or nothing.
 */
export function workForm({ id, title, intro, fields, submit, onSubmit, extra }) {
  const button = el('button', { type: 'submit', class: 'primary', id: `${id}-submit` }, submit);
  const errors = el('div', { class: 'form-errors', role: 'alert', tabindex: '-1', hidden: true });
  const form = el('form', { id, class: 'work-form', novalidate: true, 'aria-labelledby': `${id}-title` },
    title ? el('h3', { id: `${id}-title` }, title) : null,
    intro ? el('p', { class: 'hint' }, intro) : null,
    fields,
    errors,
    el('div', { class: 'actions' }, button, extra));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await onSubmit(form);
    } catch (err) {
      report(form, err);
    } finally {
      button.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
  return form;
}

/** Tells the dialog a form's write succeeded, with the notice to show (the workbench's dialog listens). */
export function done(form, notice) {
  form.dispatchEvent(new CustomEvent('work-done', { detail: notice }));
}

/** Shows a failed write in `root` (a 422 by field, anything else as its detail), and on the alert line. */
export function report(root, err, options) {
  if (err?.name === 'AbortError') return;
  if (err instanceof ApiError) {
    showProblem(root, err.problem ?? { detail: err.message }, { fallback: err.message, withDetail: err.status !== 422, ...options });
    if (err.status !== 422) showError(err);
  } else {
    showProblem(root, { detail: err?.message ?? String(err) });
    showError(err);
  }
}

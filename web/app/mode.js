// How the map draws the houses, chosen in the legend: what an investor may lease (listed houses at every
// zoom, other statuses when ticked) or every house by status (the activation); and the legend's entry for
// villages. Staff start on the activation, everyone else on the houses to lease.

import { el } from './api.js';
import { onLangChange, t } from './i18n.js';
import { MODES, STATUS_COLOURS, STATUSES, VILLAGE_COLOUR } from './map.js';
import './texts.js';

const STAFF = ['officer', 'official', 'admin'];

export class MapMode {
  /**
   * @param {HTMLElement} legend  the legend (a details element): the control goes after its body
   * @param {FarmMap} map
   */
  constructor(legend, map) {
    this.map = map;
    this.legend = legend;
    this.mode = 'investor';
    this.statuses = new Set(['listed']);
    this.root = el('div', { id: 'map-mode', class: 'map-mode' });
    legend.append(this.root);
    this.render();
    onLangChange(() => this.render());
  }

  /** The mode a role starts with. */
  reset(role) {
    this.set(STAFF.includes(role) ? 'activation' : 'investor');
  }

  set(mode, statuses = this.statuses) {
    this.mode = mode;
    this.statuses = new Set(statuses);
    this.map.setMode(mode, [...this.statuses]);
    // The legend's note on clusters coloured by their main status is the activation's (style.css).
    this.legend.dataset.mode = mode;
    this.render();
  }

  render() {
    const focused = this.root.contains(document.activeElement) ? document.activeElement.id : null;
    const choice = el('label', { class: 'map-modes' }, el('span', {}, t('map.mode')), ' ',
      el('select', { id: 'map-mode-select', onchange: (e) => this.set(e.target.value) },
        ...MODES.map((m) => el('option', { value: m, selected: this.mode === m }, t(`map.mode.${m}`)))));
    const statuses = this.mode === 'investor'
      ? el('fieldset', { class: 'map-statuses' }, el('legend', {}, t('map.mode.statuses')),
        ...STATUSES.map((s) => el('label', { class: 'check' },
          el('input', {
            type: 'checkbox', id: `map-status-${s}`, value: s, checked: this.statuses.has(s),
            onchange: (e) => {
              const next = new Set(this.statuses);
              if (e.target.checked) next.add(s);
              else next.delete(s);
              this.set('investor', next);
            },
          }),
          ' ', el('span', { class: 'swatch', style: `background:${STATUS_COLOURS[s]}`, 'aria-hidden': 'true' }),
          t(`status.${s}`))))
      : '';
    this.root.replaceChildren(
      choice,
      statuses,
      el('p', { class: 'hint' }, t(`map.mode.hint.${this.mode}`)),
      el('ul', { class: 'legend-village' }, el('li', {},
        el('span', { class: 'swatch village', style: `background:#fff;border:2px solid ${VILLAGE_COLOUR};border-radius:50%`, 'aria-hidden': 'true' }),
        t('legend.village'))),
    );
    if (focused) document.getElementById(focused)?.focus();
  }
}

// The officers' workbench: registering a house on its parcel (the parcel picked on the map or from a
// list, the footprint drawn on the map or pasted), and uploading a survey file with its progress and
// the bad features in a table. What follows a house's registration — appraisal, listing, deal, papers,
// consent, the checklist — is offered in the house panel (houseSections) and done in a dialog.

import { api, clearAlert, el, loading, query, showNotice, upload } from './api.js';
import { checked, choices, clearErrors, done, field, input, num, report, select, showProblem, today, value, workForm } from './forms.js';
import { amount, lang, number, onLangChange, t } from './i18n.js';
import { bbox } from './geometry.js';
import { USES } from './listings.js';
import { scheduleFields, scheduleForm } from './money.js';
import { readZip } from './zip.js';

const STRUCTURES = ['砖混', '砖木', '钢混', '木'];
const CONDITIONS = ['完好', '基本完好', '一般', '破损'];
const METHODS = ['市场比较法', '收益法', '成本法'];
const MODES = ['协议', '竞价', '招标'];
const TITLES = ['unconfirmed', 'confirmed', 'issued'];
const PAPER_KINDS = ['lease_contract', 'listing_entrustment', 'id_copy', 'appraisal_report', 'safety_appraisal'];
/** A house's own papers (before it has a deal): not the contract nor the parties' ID cards. */
const HOUSE_PAPER_KINDS = ['safety_appraisal', 'appraisal_report', 'listing_entrustment'];
const GRADES = ['A', 'B', 'C', 'D'];
const CRS = ['EPSG:4549', 'EPSG:4528', 'EPSG:4490', 'EPSG:4326'];

export class Workbench {
  /**
   * @param {HTMLElement} root  the workbench tab
   * @param {object} app        { map: FarmMap, session(), openHouse(id, options), changed() }
   */
  constructor(root, app) {
    this.root = root;
    this.app = app;
    this.mode = null;
    this.parcel = null;
    this.vertices = [];
    this.ready = false;
    this.dialog = document.getElementById('work-dialog');
    this.dialogBody = this.dialog.querySelector('.work-dialog-body');
    this.dialog.querySelector('.close').addEventListener('click', () => this.dialog.close());
    onLangChange(() => {
      if (this.ready && this.app.session().role === 'officer') this.render();
    });
  }

  /** Forgets the parcel and the drawing (after logging out). */
  reset() {
    this.stop();
    this.parcel = null;
    this.vertices = [];
    if (this.app.map.map.getSource('work')) this.drawLayers();
    this.root.replaceChildren();
  }

  /** Lays the tab out for the caller (officers register and import; others see nothing here). */
  async refresh() {
    this.ready = true;
    this.render();
  }

  render() {
    this.stop();
    this.root.replaceChildren(
      el('h2', {}, t('work.title')),
      this.registerForm(),
      this.importForm(),
    );
    if (this.parcel) this.showParcel(this.parcel, { fly: false });
    this.syncText();
  }

  // -------------------------------------------------------------------------------------------------
  // The map: the chosen parcel, the footprint being drawn, clicks that pick or draw.

  layers() {
    const map = this.app.map.map;
    if (map.getSource('work')) return map.getSource('work');
    map.addSource('work', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    map.addLayer({ id: 'work-parcel', type: 'line', source: 'work', filter: ['==', ['get', 'role'], 'parcel'],
      paint: { 'line-color': '#b3261e', 'line-width': 3 } });
    map.addLayer({ id: 'work-draft-fill', type: 'fill', source: 'work',
      filter: ['all', ['==', ['get', 'role'], 'draft'], ['==', ['geometry-type'], 'Polygon']],
      paint: { 'fill-color': '#ffbf47', 'fill-opacity': 0.45 } });
    map.addLayer({ id: 'work-draft-line', type: 'line', source: 'work', filter: ['==', ['get', 'role'], 'draft'],
      paint: { 'line-color': '#7a4f00', 'line-width': 2 } });
    map.addLayer({ id: 'work-vertex', type: 'circle', source: 'work', filter: ['==', ['get', 'role'], 'vertex'],
      paint: { 'circle-radius': 4, 'circle-color': '#7a4f00', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1.5 } });
    return map.getSource('work');
  }

  drawLayers() {
    const features = [];
    if (this.parcel) features.push({ type: 'Feature', properties: { role: 'parcel' }, geometry: this.parcel.geometry });
    const ring = this.vertices;
    if (ring.length >= 3) {
      features.push({ type: 'Feature', properties: { role: 'draft' }, geometry: { type: 'Polygon', coordinates: [[...ring, ring[0]]] } });
    } else if (ring.length === 2) {
      features.push({ type: 'Feature', properties: { role: 'draft' }, geometry: { type: 'LineString', coordinates: ring } });
    }
    for (const p of ring) features.push({ type: 'Feature', properties: { role: 'vertex' }, geometry: { type: 'Point', coordinates: p } });
    this.layers().setData({ type: 'FeatureCollection', features });
  }

  /** A click on the map while picking a parcel or drawing: handled here (answers true) or not. */
  mapClick(e) {
    if (!this.mode) return false;
    if (this.mode === 'pick') {
      const [hit] = this.app.map.map.queryRenderedFeatures(e.point, { layers: ['parcels-fill'] });
      if (!hit) {
        this.say(t('work.pick.none'));
        return true;
      }
      this.stop();
      this.chooseParcel({ code: hit.properties.parcel_code });
      return true;
    }
    const { lng, lat } = e.lngLat;
    this.vertices.push([Number(lng.toFixed(7)), Number(lat.toFixed(7))]);
    this.syncText();
    this.drawLayers();
    this.say(t('work.draw.count', { n: this.vertices.length }));
    return true;
  }

  setMode(mode) {
    this.mode = mode;
    // Corners clicked in quick succession are corners, not a double click that zooms.
    const zoom = this.app.map.map.doubleClickZoom;
    if (mode === 'draw') zoom.disable();
    else zoom.enable();
    document.getElementById('map').classList.toggle('drawing', Boolean(mode));
    const draw = this.root.querySelector('#draw-footprint');
    if (draw) draw.setAttribute('aria-pressed', String(mode === 'draw'));
    const pick = this.root.querySelector('#pick-parcel');
    if (pick) pick.setAttribute('aria-pressed', String(mode === 'pick'));
  }

  stop() {
    if (this.mode) this.setMode(null);
  }

  /** A line for screen readers and eyes under the footprint's buttons. */
  say(text) {
    const line = this.root.querySelector('#work-map-hint');
    if (line) line.textContent = text;
  }

  // -------------------------------------------------------------------------------------------------
  // Registering a house

  registerForm() {
    const search = el('input', { type: 'search', id: 'parcel-search', name: 'parcel_search', maxlength: 40, autocomplete: 'off' });
    const found = el('select', { name: 'parcel', id: 'parcel-choice' }, el('option', { value: '' }, t('work.parcel.choose')));
    const find = async () => {
      const q = search.value.trim();
      if (!q) return;
      const params = /^\d/.test(q) ? { code: q, limit: 20 } : { village: q, limit: 20 };
      const page = await loading(() => api(`/api/v1/parcels${query(params)}`));
      if (!page) return;
      found.replaceChildren(el('option', { value: '' }, t('work.parcel.found', { n: page.features.length })),
        ...page.features.map((f) => el('option', { value: f.properties.parcel_code },
          `${f.properties.parcel_code} · ${f.properties.village} · ${t('m2', { v: number(f.properties.area_m2, 0) })}`)));
      found.focus();
    };
    search.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        find();
      }
    });
    found.addEventListener('change', () => found.value && this.chooseParcel({ code: found.value }));

    const coords = el('textarea', { name: 'geometry', id: 'footprint-text', rows: 5, spellcheck: 'false', class: 'mono' });
    coords.addEventListener('input', () => {
      const ring = parseRing(coords.value);
      if (ring) {
        this.vertices = ring;
        this.drawLayers();
      }
    });
    const drawButton = el('button', { type: 'button', id: 'draw-footprint', 'aria-pressed': 'false', onclick: () => {
      if (this.mode === 'draw') {
        this.stop();
        return;
      }
      this.setMode('draw');
      this.say(t('work.draw.start'));
    } }, t('work.draw'));
    const footprintButtons = el('div', { class: 'actions compact' },
      drawButton,
      el('button', { type: 'button', id: 'finish-footprint', onclick: () => {
        this.stop();
        this.say(this.vertices.length >= 3 ? t('work.draw.done', { n: this.vertices.length }) : t('work.draw.few'));
      } }, t('work.draw.finish')),
      el('button', { type: 'button', id: 'undo-vertex', onclick: () => {
        this.vertices.pop();
        this.syncText();
        this.drawLayers();
      } }, t('work.draw.undo')),
      el('button', { type: 'button', id: 'clear-footprint', onclick: () => {
        this.vertices = [];
        this.syncText();
        this.drawLayers();
      } }, t('work.draw.clear')));

    const owner = partyPicker({ name: 'properties.owner_party_id', label: t('work.owner'), kinds: ['household'], id: 'owner' });
    const titleFields = [
      el('fieldset', { class: 'group' }, el('legend', {}, t('work.title_basis')),
        el('div', { class: 'pair' },
          field('properties.homestead_title', t('work.homestead_title'), select('properties.homestead_title', TITLES.map((v) => [v, t(`title.${v}`)]))),
          field('properties.homestead_cert_no', t('work.cert_no'), input('properties.homestead_cert_no', { maxlength: 60 }))),
        el('div', { class: 'pair' },
          field('properties.ownership_title', t('work.ownership_title'), select('properties.ownership_title', TITLES.map((v) => [v, t(`title.${v}`)]))),
          field('properties.ownership_cert_no', t('work.cert_no'), input('properties.ownership_cert_no', { maxlength: 60 }))),
        el('div', { class: 'field', dataset: { field: 'properties.qualification_retained' } },
          el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'properties.qualification_retained', checked: true }), ' ', t('work.qualification_retained')),
          el('p', { class: 'field-error', hidden: true })),
        el('div', { class: 'field', dataset: { field: 'properties.collective_property' } },
          el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'properties.collective_property' }), ' ', t('work.collective_property')),
          el('p', { class: 'field-error', hidden: true }))),
    ];

    const form = workForm({
      id: 'register-form',
      title: t('work.register'),
      intro: t('work.register.intro'),
      submit: t('work.register.submit'),
      fields: [
        el('fieldset', { class: 'group', dataset: { field: 'parcel' } }, el('legend', {}, t('work.parcel')),
          el('label', { for: 'parcel-search' }, el('span', {}, t('work.parcel.search'))),
          el('div', { class: 'inline' }, search, el('button', { type: 'button', onclick: find }, t('search.go'))),
          el('label', { for: 'parcel-choice' }, el('span', {}, t('work.parcel.list'))), found,
          el('div', { class: 'actions compact' },
            el('button', { type: 'button', id: 'pick-parcel', 'aria-pressed': 'false', onclick: () => {
              this.setMode(this.mode === 'pick' ? null : 'pick');
              if (this.mode) this.say(t('work.pick.start'));
            } }, t('work.pick'))),
          el('div', { id: 'parcel-facts', class: 'parcel-facts', 'aria-live': 'polite' }),
          el('p', { class: 'field-error', hidden: true })),
        field('properties.unit_number', t('house.unit'), input('properties.unit_number', { maxlength: 28, autocomplete: 'off', class: 'mono' }),
          { hint: t('work.unit.hint') }),
        el('fieldset', { class: 'group field', dataset: { field: 'geometry' } }, el('legend', {}, t('work.footprint')),
          footprintButtons,
          el('p', { id: 'work-map-hint', class: 'hint', role: 'status' }, t('work.draw.hint')),
          el('label', { for: 'footprint-text' }, el('span', {}, t('work.footprint.text'))), coords,
          el('p', { class: 'field-error', hidden: true })),
        el('div', { class: 'pair' },
          field('properties.floor_area_m2', t('house.area'), input('properties.floor_area_m2', { type: 'number', min: 0, step: '0.01', inputmode: 'decimal' })),
          field('properties.floors', t('house.floors'), input('properties.floors', { type: 'number', min: 1, max: 10, step: 1 }))),
        el('div', { class: 'pair' },
          field('properties.year_built', t('house.year'), input('properties.year_built', { type: 'number', min: 1900, step: 1 })),
          field('properties.structure', t('house.structure'), select('properties.structure', [['', t('work.choose')], ...STRUCTURES.map((s) => [s, s])]))),
        field('properties.condition', t('house.condition'), select('properties.condition', CONDITIONS.map((c) => [c, c]))),
        owner.node,
        ...titleFields,
      ],
      onSubmit: (f) => this.register(f, owner),
    });
    form.elements['properties.condition'].value = '基本完好';
    return form;
  }

  /** Writes the drawn ring into the coordinates box, one "lon, lat" a line. */
  syncText() {
    const text = this.root.querySelector('#footprint-text');
    if (text) text.value = this.vertices.map(([x, y]) => `${x}, ${y}`).join('\n');
  }

  /** Chooses parcel `code`: its facts, its outline on the map, and the next free unit number on it. */
  async chooseParcel({ code }) {
    const [page, houses] = await loading(() => Promise.all([
      api(`/api/v1/parcels${query({ code, limit: 1 })}`),
      api(`/api/v1/farmhouses${query({ q: code, limit: 100 })}`),
    ])) ?? [];
    const parcel = page?.features?.find((f) => f.properties.parcel_code === code);
    if (!parcel) return;
    this.parcel = parcel;
    const taken = (houses?.features ?? []).map((f) => f.properties.unit_number).filter((u) => u.startsWith(code));
    // Characters 21–24 are the building (幢号), 25–28 the unit in it (户号), each from 0001: the next unit
    // of the last building, or the first of the next one.
    const last = taken.map((u) => u.slice(20)).sort().at(-1) ?? '00010000';
    let [building, flat] = [Number(last.slice(0, 4)) || 1, Number(last.slice(4)) + 1];
    if (flat > 9999) [building, flat] = [building + 1, 1];
    const unit = this.root.querySelector('[name="properties.unit_number"]');
    if (unit) unit.value = `${code}F${String(building).padStart(4, '0')}${String(flat).padStart(4, '0')}`;
    this.showParcel(parcel, { fly: true, houses: taken.length });
  }

  showParcel(parcel, { fly, houses } = {}) {
    const p = parcel.properties;
    const facts = this.root.querySelector('#parcel-facts');
    if (facts) {
      facts.replaceChildren(el('dl', { class: 'facts' },
        el('dt', {}, t('work.parcel.code')), el('dd', { id: 'chosen-parcel' }, p.parcel_code),
        el('dt', {}, t('house.village')), el('dd', {}, p.village),
        el('dt', {}, t('work.parcel.area')), el('dd', {}, t('m2', { v: number(p.area_m2, 1) })),
        el('dt', {}, t('work.parcel.houses')), el('dd', {}, houses ?? p.houses)));
    }
    this.drawLayers();
    if (fly) {
      const [w, s, e, n] = bbox(parcel.geometry);
      this.app.map.map.fitBounds([[w, s], [e, n]], { padding: 60, maxZoom: 19, duration: 0 });
    }
  }

  async register(form, owner) {
    const ring = parseRing(form.elements.geometry.value);
    if (!ring || ring.length < 3) {
      showProblem(form, { errors: [{ field: 'geometry', message: t('work.footprint.bad') }] });
      return;
    }
    const properties = {
      unit_number: value(form, 'properties.unit_number') ?? '',
      floor_area_m2: num(form, 'properties.floor_area_m2'),
      floors: num(form, 'properties.floors'),
      year_built: num(form, 'properties.year_built'),
      structure: value(form, 'properties.structure') ?? '',
      condition: value(form, 'properties.condition'),
      owner_party_id: owner.value(),
      homestead_title: value(form, 'properties.homestead_title'),
      homestead_cert_no: value(form, 'properties.homestead_cert_no'),
      ownership_title: value(form, 'properties.ownership_title'),
      ownership_cert_no: value(form, 'properties.ownership_cert_no'),
      qualification_retained: form.elements['properties.qualification_retained'].checked,
      collective_property: form.elements['properties.collective_property'].checked,
    };
    const feature = {
      type: 'Feature',
      geometry: { type: 'Polygon', coordinates: [[...ring, ring[0]]] },
      properties,
    };
    const house = await api('/api/v1/farmhouses', { method: 'POST', body: feature, type: 'application/geo+json' });
    showNotice(t('work.register.done', { unit: house.properties.unit_number }));
    this.vertices = [];
    this.parcel = null;
    this.drawLayers();
    form.reset();
    this.render();
    this.app.changed();
    await this.app.openHouse(house.id, { fly: true });
  }

  // -------------------------------------------------------------------------------------------------
  // Survey files

  importForm() {
    const progress = el('progress', { id: 'import-progress', max: 100, value: 0, 'aria-labelledby': 'import-progress-label' });
    const percent = el('span', { id: 'import-percent' }, '');
    const result = el('div', { id: 'import-result', 'aria-live': 'polite' });
    const form = workForm({
      id: 'import-form',
      title: t('import.title'),
      intro: t('import.intro'),
      submit: t('import.submit'),
      fields: [
        el('div', { class: 'pair' },
          field('kind', t('import.kind'), select('kind', [['farmhouses', t('import.kind.farmhouses')], ['parcels', t('import.kind.parcels')]])),
          field('crs', t('import.crs'), select('crs', [['', t('import.crs.file')], ...CRS.map((c) => [c, c])]))),
        field('file', t('import.file'), input('file', { type: 'file', multiple: true, accept: '.geojson,.json,.csv,.shp,.dbf,.prj,.cpg,.zip' }),
          { hint: t('import.file.hint') }),
        el('div', { class: 'progress-line', hidden: true },
          el('span', { id: 'import-progress-label' }, t('import.progress')), progress, percent),
        result,
      ],
      onSubmit: (f) => this.importFile(f, { progress, percent, result }),
    });
    form.querySelector('[data-field="file"]').dataset.field = 'file body';
    return form;
  }

  async importFile(form, { progress, percent, result }) {
    result.replaceChildren();
    const files = [...form.elements.file.files];
    if (!files.length) {
      showProblem(form, { errors: [{ field: 'file', message: t('import.file.none') }] });
      return;
    }
    const parts = [];
    for (const f of files) {
      if (/\.zip$/i.test(f.name)) parts.push(...await readZip(f));
      else parts.push({ name: f.name, blob: f });
    }
    const body = new FormData();
    const crs = value(form, 'crs');
    if (crs) body.append('crs', crs);
    for (const p of parts) body.append('file', p.blob, p.name);
    const kind = form.elements.kind.value;
    const line = progress.parentElement;
    line.hidden = false;
    progress.value = 0;
    progress.dataset.events = '0';
    const onProgress = (sent, total) => {
      progress.value = total ? Math.round((sent / total) * 100) : 0;
      progress.dataset.events = String(Number(progress.dataset.events) + 1);
      percent.textContent = `${progress.value}%`;
    };
    try {
      const done = await upload(`/api/v1/import/${kind}`, body, onProgress);
      progress.value = 100;
      percent.textContent = '100%';
      result.replaceChildren(el('p', { class: 'ok-line', id: 'import-done' },
        t('import.done', { n: done.imported, file: done.file, crs: done.crs })));
      showNotice(t('import.done', { n: done.imported, file: done.file, crs: done.crs }));
      this.app.changed();
    } catch (err) {
      const errors = err.problem?.errors ?? [];
      const byFeature = errors.filter((e) => /^features\[\d+\]/.test(e.field));
      if (err.status === 422 && byFeature.length) {
        progress.value = 100;
        percent.textContent = '100%';
        const names = await featureNames(parts);
        result.replaceChildren(errorTable(errors, names));
        showProblem(form, { detail: t('import.bad', { n: new Set(byFeature.map((e) => e.field.match(/^features\[(\d+)\]/)[1])).size }) });
        form.querySelector('.form-errors').hidden = false;
        return;
      }
      throw err;
    }
  }

  // -------------------------------------------------------------------------------------------------
  // A house's workflow, in the house panel

  /** Whether the caller may act on `house`: an account limited to townships acts only in those. */
  inScope(house) {
    const scope = this.app.session().townships ?? [];
    return !scope.length || scope.includes(house.properties.township_code);
  }

  /** Facts the house panel shows for this house's workflow: the deal's checklist, papers and consents. */
  async loadHouse(house, extra) {
    const role = this.app.session().role;
    if ((role !== 'officer' && role !== 'admin') || !this.inScope(house)) return;
    const id = house.properties.transaction_id;
    const tasks = [api(`/api/v1/farmhouses/${house.id}/papers`).then((p) => { extra.housePapers = p; })];
    if (id) {
      // The listing the deal closed: shown beside the deal before it is certified.
      tasks.push(api(`/api/v1/transactions/${id}`)
        .then((d) => d && api(`/api/v1/listings/${d.listing_id}`))
        .then((l) => { extra.dealListing = l; }));
      tasks.push(api(`/api/v1/transactions/${id}/checklist`).then((c) => { extra.checklist = c; }));
      tasks.push(api(`/api/v1/transactions/${id}/papers`).then((p) => { extra.papers = p; }));
      tasks.push(api(`/api/v1/transactions/${id}/consents`).then((c) => { extra.consents = c; }));
    }
    await Promise.all(tasks);
  }

  /** The workflow's next steps for `house`, as sections of the house panel. */
  houseSections(house, extra, afterWrite) {
    const role = this.app.session().role;
    const p = house.properties;
    const out = [];
    if (!this.inScope(house)) return out;
    const buttons = [];
    const open = (id, label, make, cls) => buttons.push(el('button', { type: 'button', id, class: cls, onclick: () => this.openForm(make(), afterWrite) }, label));
    if (role === 'officer') {
      if (p.status === 'registered') {
        open('work-appraise', t('work.appraise'), () => this.appraisalForm(house));
        open('work-list', t('work.list'), () => this.listingForm(house));
      }
      // A safety appraisal graded C or D keeps a house from being listed for 民宿 or 康养: it comes first.
      if (p.status === 'registered' || p.status === 'listed') {
        open('work-house-paper', t('work.paper'), () => this.paperForm({ house }));
      }
      if (p.status === 'listed' && p.listing) {
        open('work-deal', t('work.deal'), () => this.dealForm(house), 'primary');
        buttons.push(el('button', { type: 'button', id: 'work-withdraw', onclick: () => this.withdraw(house, afterWrite) }, t('work.withdraw')));
      }
      if (p.status === 'contracted' && extra.deal) {
        // Deals recorded before lessors were kept name theirs now.
        if (!extra.deal.lessor_party_id) open('work-parties', t('work.parties'), () => this.partiesForm(house, extra.deal));
        open('work-paper', t('work.paper'), () => this.paperForm({ deal: extra.deal }));
        open('work-consent', t('work.consent'), () => this.consentForm(extra.deal));
        // The schedule is recorded anew until a payment is made against it or a certificate states it.
        if (extra.schedule && !(Number(extra.schedule.paid_yuan) > 0)) {
          open('work-schedule', t('work.schedule'), () => scheduleForm(extra.deal, extra.schedule));
        }
      }
    }
    if (role === 'admin' && p.status === 'registered') {
      open('work-historical', t('work.historical'), () => this.listingForm(house, { historical: true }));
    }
    if (p.title) out.push(titleSection(p.title));
    if (buttons.length) out.push(el('section', { class: 'workflow' }, el('h3', {}, t('work.next')), el('div', { class: 'actions', id: 'work-actions' }, buttons)));
    const papers = [...(extra.housePapers ?? []), ...(extra.papers ?? [])]
      .filter((x, i, all) => all.findIndex((y) => y.id === x.id) === i);
    if (extra.housePapers || extra.papers) out.push(papersSection(papers));
    if (p.status === 'contracted' || p.status === 'certified') {
      if (extra.consents) out.push(consentsSection(extra.consents));
      if (extra.checklist && p.status === 'contracted') out.push(checklistSection(extra.checklist));
    }
    return out;
  }

  /**
   * What an officer checks before certifying `deal`: its lessee, the use it leases the house for and the
   * listing it closed (title, asking rent, term and notice), beside the contract the panel shows.
   */
  dealSections(deal, extra) {
    if (!deal || deal.certificate_no) return [];
    const l = extra.dealListing;
    const lessee = deal.lessee?.name
      ? `${deal.lessee.name}${deal.lessee.kind ? ` (${t(`party.kind.${deal.lessee.kind}`)})` : ''}` : '—';
    const rows = [
      ['deal.lessee', lessee],
      ['deal.use', t(`use.${deal.intended_use}`)],
      ['deal.before.rent', t('yuan', { v: amount(deal.annual_rent_yuan) })],
      ['deal.listing', l ? `${l.title ? `“${l.title}” ` : ''}${t('deal.listing.value', {
        rent: amount(l.asking_rent_yuan), start: l.notice_start, end: l.notice_end,
      })}` : '—'],
    ];
    return [el('section', { class: 'deal-summary', id: 'deal-summary' },
      el('h3', {}, t('deal.before')),
      el('dl', { class: 'facts' }, rows.flatMap(([k, v]) => [el('dt', {}, t(k)), el('dd', { dataset: { fact: k } }, v)])))];
  }

  /** A record's history as sentences, newest first: who changed what from what to what, and when. */
  historySection(history) {
    const fmt = new Intl.DateTimeFormat(lang() === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
    return el('section', { class: 'history' }, el('h3', {}, t('house.history')),
      history.length
        ? el('ol', { id: 'history' }, history.slice().reverse().flatMap((h) => historySentences(h, fmt)
          .map((text) => el('li', { dataset: { action: h.action } }, text))))
        : el('p', { class: 'hint' }, t('house.history.empty')));
  }

  /** Opens `form` in the workbench dialog; a successful write closes it and redraws the panel. */
  openForm(form, afterWrite) {
    clearAlert();
    this.dialogBody.replaceChildren(form);
    form.addEventListener('work-done', async (e) => {
      this.dialog.close();
      showNotice(e.detail);
      await afterWrite();
    });
    this.dialog.showModal();
    form.querySelector('input:not([type=hidden]), select, textarea')?.focus();
  }

  appraisalForm(house) {
    return workForm({
      id: 'appraisal-form',
      title: t('work.appraise.title', { unit: house.properties.unit_number }),
      submit: t('work.save'),
      fields: [
        el('div', { class: 'pair' },
          field('report_no', t('appraisal.report_no'), input('report_no', { maxlength: 40 })),
          field('method', t('appraisal.method'), select('method', METHODS.map((m) => [m, m])))),
        field('firm', t('appraisal.firm'), input('firm', { maxlength: 200 })),
        field('appraiser', t('appraisal.appraiser'), input('appraiser', { maxlength: 100 })),
        el('div', { class: 'pair' },
          field('valuation_date', t('appraisal.valuation_date'), input('valuation_date', { type: 'date', value: today() })),
          field('valid_until', t('appraisal.valid_until'), input('valid_until', { type: 'date', value: today(365) }))),
        el('div', { class: 'pair' },
          field('value_yuan', t('appraisal.value'), input('value_yuan', { type: 'number', min: 0, step: '0.01', inputmode: 'decimal' })),
          field('annual_rent_yuan', t('appraisal.rent'), input('annual_rent_yuan', { type: 'number', min: 0, step: '0.01', inputmode: 'decimal' }))),
      ],
      onSubmit: async (f) => {
        const body = {
          report_no: value(f, 'report_no') ?? '',
          firm: value(f, 'firm') ?? '',
          appraiser: value(f, 'appraiser') ?? '',
          method: value(f, 'method') ?? '',
          valuation_date: value(f, 'valuation_date') ?? null,
          value_yuan: num(f, 'value_yuan'),
          annual_rent_yuan: num(f, 'annual_rent_yuan'),
          valid_until: value(f, 'valid_until') ?? null,
        };
        const a = await api(`/api/v1/farmhouses/${house.id}/appraisals`, { method: 'POST', body });
        done(f, t('work.appraise.done', { no: a.report_no }));
      },
    });
  }

  listingForm(house, { historical = false } = {}) {
    const fields = [
      field('title', t('listing.title'), input('title', { maxlength: 100 })),
      field('asking_rent_yuan', t('listing.rent'), input('asking_rent_yuan', { type: 'number', min: 0, step: '0.01', inputmode: 'decimal' })),
      el('div', { class: 'pair' },
        field('min_term_months', t('listing.min_term'), input('min_term_months', { type: 'number', min: 1, max: 240, step: 1 })),
        field('max_term_months', t('listing.max_term'), input('max_term_months', { type: 'number', min: 1, max: 240, step: 1 }))),
      choices('allowed_uses', t('house.uses'), USES.map((u) => [u, t(`use.${u}`)])),
      el('div', { class: 'pair' },
        field('notice_start', t('listing.notice_start'), input('notice_start', { type: 'date', value: historical ? '' : today() })),
        field('notice_end', t('listing.notice_end'), input('notice_end', { type: 'date', value: historical ? '' : today(7) }))),
    ];
    if (historical) fields.unshift(field('reason', t('listing.reason'), el('textarea', { name: 'reason', rows: 2, maxlength: 500 }), { hint: t('listing.reason.hint') }));
    return workForm({
      id: historical ? 'historical-form' : 'listing-form',
      title: t(historical ? 'work.historical.title' : 'work.list.title', { unit: house.properties.unit_number }),
      intro: t(historical ? 'work.historical.intro' : 'work.list.intro'),
      submit: t('work.save'),
      fields,
      onSubmit: async (f) => {
        const body = {
          title: value(f, 'title'),
          asking_rent_yuan: num(f, 'asking_rent_yuan'),
          min_term_months: num(f, 'min_term_months'),
          max_term_months: num(f, 'max_term_months'),
          allowed_uses: checked(f, 'allowed_uses'),
          notice_start: value(f, 'notice_start') ?? null,
          notice_end: value(f, 'notice_end') ?? null,
        };
        if (historical) body.reason = value(f, 'reason') ?? '';
        const path = `/api/v1/farmhouses/${house.id}/listings${historical ? '/historical' : ''}`;
        const l = await api(path, { method: 'POST', body });
        done(f, t('work.list.done', { start: l.notice_start, end: l.notice_end }));
      },
    });
  }

  async withdraw(house, afterWrite) {
    const ok = await this.app.confirm(t('work.withdraw.confirm', { unit: house.properties.unit_number }));
    if (!ok) return;
    clearAlert();
    const l = await loading(() => api(`/api/v1/listings/${house.properties.listing.id}/withdraw`, { method: 'POST' }));
    if (!l) return;
    showNotice(t('work.withdraw.done'));
    await afterWrite();
  }

  dealForm(house) {
    const p = house.properties;
    const l = p.listing;
    const lessee = partyPicker({ name: 'lessee_party_id', label: t('deal.lessee'), kinds: ['person', 'organisation'], id: 'lessee' });
    const collective = partyPicker({ name: 'collective_party_id', label: t('deal.collective'), kinds: ['collective'], id: 'collective',
      optional: true, township: p.township_code, village: p.village });
    const owner = p.owner;
    const lessor = el('div', { class: 'field', dataset: { field: 'lessor_party_id' } },
      el('p', { class: 'label' }, t('deal.lessor')),
      el('p', { id: 'deal-lessor', class: 'value' }, owner ? `${owner.name}${owner.id_number ? ` · ${owner.id_number}` : ''}` : t('deal.lessor.none')),
      el('p', { class: 'field-error', hidden: true }));
    const total = input('total_amount_yuan', { type: 'number', min: 0, step: '0.01', inputmode: 'decimal' });
    let totalEdited = false;
    total.addEventListener('input', () => { totalEdited = true; });
    const leaseStart = input('lease_start', { type: 'date' });
    const schedule = scheduleFields({ total: () => (total.value === '' ? null : Number(total.value)), start: () => leaseStart.value || null });
    const form = workForm({
      id: 'deal-form',
      title: t('work.deal.title', { unit: p.unit_number }),
      intro: t('work.deal.intro', { end: l.notice_end }),
      submit: t('work.save'),
      fields: [
        lessor,
        lessee.node,
        collective.node,
        el('div', { class: 'pair' },
          field('contract_no', t('deal.contract_no'), input('contract_no', { maxlength: 40 })),
          field('mode', t('deal.mode'), select('mode', MODES.map((m) => [m, m])))),
        el('div', { class: 'pair' },
          field('signed_on', t('deal.signed_on'), input('signed_on', { type: 'date', value: today() })),
          field('intended_use', t('deal.use'), select('intended_use', l.allowed_uses.map((u) => [u, t(`use.${u}`)])))),
        el('div', { class: 'pair' },
          field('lease_start', t('deal.lease_start'), leaseStart),
          field('lease_end', t('deal.lease_end'), input('lease_end', { type: 'date' }), { hint: t('deal.lease_end.hint') })),
        el('div', { class: 'pair' },
          field('annual_rent_yuan', t('deal.rent'), input('annual_rent_yuan', { type: 'number', min: 0, step: '0.01', inputmode: 'decimal', value: l.asking_rent_yuan })),
          field('total_amount_yuan', t('deal.total'), total)),
        schedule.node,
      ],
      onSubmit: async (f) => {
        const body = {
          lessee_party_id: lessee.value(),
          mode: value(f, 'mode') ?? '',
          contract_no: value(f, 'contract_no') ?? '',
          signed_on: value(f, 'signed_on') ?? null,
          lease_start: value(f, 'lease_start') ?? null,
          lease_end: value(f, 'lease_end') ?? null,
          annual_rent_yuan: num(f, 'annual_rent_yuan'),
          total_amount_yuan: num(f, 'total_amount_yuan'),
          intended_use: value(f, 'intended_use') ?? '',
          schedule: schedule.value(),
        };
        body.lessor_party_id = owner?.id ?? null;
        if (collective.value()) body.collective_party_id = collective.value();
        const d = await api(`/api/v1/listings/${l.id}/transactions`, { method: 'POST', body });
        done(f, t('work.deal.done', { contract: d.contract_no }));
      },
    });
    // The total follows rent × term until it is typed in.
    const fill = () => {
      if (totalEdited) return;
      const rent = num(form, 'annual_rent_yuan');
      const [s, e] = [value(form, 'lease_start'), value(form, 'lease_end')];
      if (!rent || !s || !e) return;
      const months = monthsBetween(s, e);
      if (months > 0) total.value = String(Math.round(rent * months / 12 * 100) / 100);
      schedule.update();
    };
    for (const n of ['annual_rent_yuan', 'lease_start', 'lease_end']) form.elements[n].addEventListener('change', fill);
    total.addEventListener('input', schedule.update);
    return form;
  }

  /** The lessor (the house's owner) and the village collective of a deal recorded without them. */
  partiesForm(house, deal) {
    const owner = house.properties.owner;
    const collective = partyPicker({ name: 'collective_party_id', label: t('deal.collective'), kinds: ['collective'],
      id: 'parties-collective', optional: true, township: house.properties.township_code, village: house.properties.village });
    return workForm({
      id: 'parties-form',
      title: t('work.parties.title', { contract: deal.contract_no }),
      submit: t('work.save'),
      fields: [
        el('div', { class: 'field', dataset: { field: 'lessor_party_id' } },
          el('p', { class: 'label' }, t('deal.lessor')),
          el('p', { class: 'value' }, owner ? `${owner.name}${owner.id_number ? ` · ${owner.id_number}` : ''}` : t('deal.lessor.none')),
          el('p', { class: 'field-error', hidden: true })),
        collective.node,
      ],
      onSubmit: async (f) => {
        const body = { lessor_party_id: owner?.id ?? null };
        if (collective.value()) body.collective_party_id = collective.value();
        await api(`/api/v1/transactions/${deal.id}/parties`, { method: 'PUT', body });
        done(f, t('work.parties.done'));
      },
    });
  }

  /** A paper of a deal, or of a house (`{ deal }` or `{ house }`), uploaded as its bytes. */
  paperForm({ deal, house }) {
    const kind = select('kind', (deal ? PAPER_KINDS : HOUSE_PAPER_KINDS).map((k) => [k, t(`paper.${k}`)]));
    const grade = field('grade', t('paper.grade'), select('grade', GRADES.map((g) => [g, t(`grade.${g}`)])), { class: 'grade-field' });
    const showGrade = () => { grade.hidden = kind.value !== 'safety_appraisal'; };
    kind.addEventListener('change', showGrade);
    showGrade();
    const file = input('file', { type: 'file', accept: 'application/pdf,image/jpeg,image/png' });
    const form = workForm({
      id: 'paper-form',
      title: deal ? t('work.paper.title', { contract: deal.contract_no }) : t('work.paper.house', { unit: house.properties.unit_number }),
      intro: t('work.paper.intro'),
      submit: t('work.paper.submit'),
      fields: [field('kind', t('paper.kind'), kind), grade, field('file', t('paper.file'), file)],
      onSubmit: async (f) => {
        const chosen = f.elements.file.files[0];
        if (!chosen) {
          showProblem(f, { errors: [{ field: 'file', message: t('paper.file.none') }] });
          return;
        }
        const params = { kind: kind.value, grade: kind.value === 'safety_appraisal' ? f.elements.grade.value : undefined };
        const path = deal ? `/api/v1/transactions/${deal.id}/papers` : `/api/v1/farmhouses/${house.id}/papers`;
        await api(`${path}${query(params)}`, { method: 'POST', body: chosen });
        done(f, t('work.paper.done', { kind: t(`paper.${kind.value}`) }));
      },
    });
    form.querySelector('[data-field="file"]').dataset.field = 'file body';
    return form;
  }

  consentForm(deal) {
    const kinds = choices('kind', t('consent.kind'), ['member', 'committee', 'meeting'].map((k) => [k, t(`consent.${k}`)]), { type: 'radio', checked: ['member'] });
    const groups = {
      member: [field('member_name', t('consent.member_name'), input('member_name', { maxlength: 100 }))],
      committee: [field('opinion', t('consent.opinion'), el('textarea', { name: 'opinion', rows: 3, maxlength: 2000 }))],
      meeting: [el('div', { class: 'triple' },
        field('votes_for', t('consent.votes_for'), input('votes_for', { type: 'number', min: 0, step: 1 })),
        field('votes_against', t('consent.votes_against'), input('votes_against', { type: 'number', min: 0, step: 1 })),
        field('votes_total', t('consent.votes_total'), input('votes_total', { type: 'number', min: 1, step: 1 })))],
    };
    const agrees = field('agrees', t('consent.agrees'), select('agrees', [['true', t('consent.yes')], ['false', t('consent.no')]]));
    const sections = Object.fromEntries(Object.entries(groups).map(([k, nodes]) => [k, el('div', { class: 'consent-part', dataset: { kind: k } }, nodes)]));
    const form = workForm({
      id: 'consent-form',
      title: t('work.consent.title', { contract: deal.contract_no }),
      submit: t('work.save'),
      fields: [kinds, ...Object.values(sections), agrees,
        field('given_on', t('consent.given_on'), input('given_on', { type: 'date', value: today() }))],
      onSubmit: async (f) => {
        const kind = checked(f, 'kind')[0];
        const body = { kind, given_on: value(f, 'given_on') ?? null };
        if (kind === 'member') Object.assign(body, { member_name: value(f, 'member_name') ?? '', agrees: f.elements.agrees.value === 'true' });
        if (kind === 'committee') Object.assign(body, { opinion: value(f, 'opinion') ?? '', agrees: f.elements.agrees.value === 'true' });
        if (kind === 'meeting') Object.assign(body, { votes_for: num(f, 'votes_for'), votes_against: num(f, 'votes_against'), votes_total: num(f, 'votes_total') });
        await api(`/api/v1/transactions/${deal.id}/consents`, { method: 'POST', body });
        done(f, t('work.consent.done', { kind: t(`consent.${kind}`) }));
      },
    });
    const show = () => {
      const kind = checked(form, 'kind')[0];
      for (const [k, node] of Object.entries(sections)) node.hidden = k !== kind;
      agrees.hidden = kind === 'meeting';
    };
    form.addEventListener('change', (e) => { if (e.target.name === 'kind') show(); });
    show();
    return form;
  }
}

/** Whole months from `start` to `end` (YYYY-MM-DD), rounded up as the service counts a lease's term. */
function monthsBetween(start, end) {
  const [a, b] = [new Date(`${start}T00:00:00Z`), new Date(`${end}T00:00:00Z`)];
  let months = (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + b.getUTCMonth() - a.getUTCMonth();
  if (b.getUTCDate() < a.getUTCDate()) months -= 1;
  const whole = new Date(a);
  whole.setUTCMonth(whole.getUTCMonth() + months);
  return whole < b ? months + 1 : months;
}

/**
 * A ring of [lon, lat] from what an officer typed or pasted: "lon, lat" a line (or pairs separated by
 * semicolons), a GeoJSON Polygon or Feature, or its coordinates; the closing position is dropped.
 */
export function parseRing(text) {
  const s = text.trim();
  if (!s) return [];
  let ring = null;
  if (s.startsWith('{') || s.startsWith('[')) {
    try {
      let g = JSON.parse(s);
      if (g.type === 'Feature') g = g.geometry;
      let c = g.coordinates ?? g;
      while (Array.isArray(c) && Array.isArray(c[0]) && Array.isArray(c[0][0])) c = c[0];
      ring = c;
    } catch {
      return null;
    }
  } else {
    ring = s.split(/[\n;]+/).map((line) => line.trim()).filter(Boolean).map((line) => line.split(/[\s,，]+/).filter(Boolean).map(Number));
  }
  if (!Array.isArray(ring) || !ring.every((p) => Array.isArray(p) && p.length === 2 && p.every(Number.isFinite))) return null;
  if (ring.length > 1 && ring[0][0] === ring.at(-1)[0] && ring[0][1] === ring.at(-1)[1]) ring = ring.slice(0, -1);
  return ring;
}

/**
 * Choosing a party: a search of those registered (by name, ID number or credit code) and a list to pick
 * from, or a new party registered on the spot (POST /api/v1/parties) and chosen.
 */
function partyPicker({ name, label, kinds, id, optional = false, township, village }) {
  // A village collective is looked for in the house's village first, and chosen when it is the one there.
  const search = el('input', { type: 'search', id: `${id}-search`, maxlength: 40, autocomplete: 'off', value: village ?? '' });
  const choice = el('select', { name, id: `${id}-choice` }, el('option', { value: '' }, optional ? t('party.none') : t('party.choose')));
  const error = el('p', { class: 'field-error', id: `${id}-choice-error`, hidden: true });
  choice.setAttribute('aria-describedby', error.id);
  let timer = null;
  const label0 = (p) => `${p.name}（${t(`party.kind.${p.kind}`)}${p.id_number ? ` · ${p.id_number}` : ''}${p.credit_code ? ` · ${p.credit_code}` : ''}）`;
  const find = async () => {
    const q = search.value.trim();
    const pages = await loading(() => Promise.all(kinds.map((k) => api(`/api/v1/parties${query({ kind: k, q, limit: 20 })}`)))) ?? [];
    const parties = pages.flatMap((p) => p.items);
    const keep = choice.value;
    choice.replaceChildren(el('option', { value: '' }, optional ? t('party.none') : t('party.found', { n: parties.length })),
      ...parties.map((p) => el('option', { value: p.id }, label0(p))));
    if (parties.some((p) => String(p.id) === keep)) choice.value = keep;
    const local = parties.filter((p) => p.kind === 'collective' && p.township_code === township && p.village === village);
    if (!keep && local.length === 1) choice.value = String(local[0].id);
  };
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(find, 300);
  });
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      clearTimeout(timer);
      find();
    }
  });

  // Registering a new party: its fields are named party.* so its errors land here, not in the form.
  const createKinds = kinds;
  const kind = select('party.kind', createKinds.map((k) => [k, t(`party.kind.${k}`)]), { id: `${id}-new-kind` });
  const part = (n, text, attrs, cls) => field(`party.${n}`, text, input(`party.${n}`, { id: `${id}-new-${n}`, ...attrs }), { class: cls });
  const fields = {
    name: part('name', t('party.name'), { maxlength: 200 }),
    id_number: part('id_number', t('party.id_number'), { maxlength: 18, class: 'mono' }),
    credit_code: part('credit_code', t('party.credit_code'), { maxlength: 18, class: 'mono' }),
    phone: part('phone', t('party.phone'), { maxlength: 20, type: 'tel' }),
    address: part('address', t('party.address'), { maxlength: 300 }),
    members: part('members', t('party.members'), { type: 'number', min: 1, max: 20, step: 1, value: 1 }),
    township_code: part('township_code', t('party.township_code'), { maxlength: 9, value: township ?? '' }),
    village: part('village', t('party.village'), { maxlength: 100, value: village ?? '' }),
  };
  const errors = el('div', { class: 'form-errors', role: 'alert', tabindex: '-1', hidden: true });
  const showKind = () => {
    const k = kind.value;
    fields.id_number.hidden = k === 'organisation' || k === 'collective';
    fields.credit_code.hidden = !(k === 'organisation' || k === 'collective');
    fields.members.hidden = k !== 'household';
    fields.township_code.hidden = k !== 'collective';
    fields.village.hidden = k !== 'collective';
  };
  kind.addEventListener('change', showKind);
  const create = el('button', { type: 'button', id: `${id}-create` }, t('party.create'));
  const box = el('div', { class: 'new-party' },
    field('party.kind', t('party.kind'), kind), ...Object.values(fields), errors, el('div', { class: 'actions compact' }, create));
  create.addEventListener('click', async () => {
    clearErrors(box);
    const v = (n) => box.querySelector(`[name="party.${n}"]`).value.trim() || undefined;
    const k = kind.value;
    const body = { kind: k, name: v('name') ?? '', phone: v('phone'), address: v('address') };
    if (k === 'organisation' || k === 'collective') body.credit_code = v('credit_code');
    else body.id_number = v('id_number');
    if (k === 'household' && v('members')) body.members = Number(v('members'));
    if (k === 'collective') Object.assign(body, { township_code: v('township_code'), village: v('village') });
    create.disabled = true;
    try {
      const party = await api('/api/v1/parties', { method: 'POST', body });
      choice.append(el('option', { value: party.id }, label0(party)));
      choice.value = String(party.id);
      details.open = false;
      showNotice(t('party.created', { name: party.name }));
      choice.focus();
    } catch (err) {
      report(box, err, { prefix: 'party.' });
    } finally {
      create.disabled = false;
    }
  });
  const details = el('details', { class: 'new-party-box', id: `${id}-new` }, el('summary', {}, t('party.new')), box);
  showKind();
  const node = el('fieldset', { class: 'group field', dataset: { field: name } }, el('legend', {}, label),
    el('label', { for: search.id }, el('span', {}, t('party.search'))), search,
    el('label', { for: choice.id }, el('span', {}, t('party.list'))), choice, error, details);
  find();
  return { node, value: () => (choice.value ? Number(choice.value) : (optional ? undefined : null)) };
}

/** The import's errors as a table: the feature (its number and, from the file, its code), field, message. */
function errorTable(errors, names) {
  const rows = errors.map((e) => {
    const m = e.field.match(/^features\[(\d+)\]\.?(.*)$/);
    const index = m ? Number(m[1]) : null;
    // Numbered from 1 as people count; the file's own code of the feature under it.
    const feature = index === null ? '—' : [t('import.feature', { n: index + 1 }), names[index] ? el('span', { class: 'mono code' }, names[index]) : null];
    // A break may fall after each dot of a long path (unit_number.land_right).
    const path = (m ? (m[2] || '—').replace(/^properties\./, '') : e.field).replaceAll('.', '.\u200b');
    return el('tr', { dataset: { feature: index ?? '' } },
      el('td', {}, feature), el('td', { class: 'mono' }, path), el('td', {}, e.message));
  });
  return el('div', { class: 'table-wrap' }, el('table', { class: 'errors', id: 'import-errors' },
    el('caption', {}, t('import.errors', { n: errors.length })),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('import.col.feature')), el('th', { scope: 'col' }, t('import.col.field')),
      el('th', { scope: 'col' }, t('import.col.message')))),
    el('tbody', {}, rows)));
}

/** The code of each feature of an uploaded GeoJSON file (unit number or parcel code), by its index. */
async function featureNames(parts) {
  const main = parts.find((p) => /\.(geo)?json$/i.test(p.name));
  if (!main) return {};
  try {
    const doc = JSON.parse(await main.blob.text());
    return Object.fromEntries((doc.features ?? []).map((f, i) => [i, f?.properties?.unit_number ?? f?.properties?.parcel_code ?? '']));
  } catch {
    return {};
  }
}

/** The rights a lease rests on, as the staff see them. */
function titleSection(b) {
  const right = (title, no) => `${t(`title.${title}`)}${no ? ` · ${no}` : ''}`;
  const yes = (v) => (v ? t('consent.yes.plain') : t('consent.no.plain'));
  return el('section', { class: 'title-basis', id: 'title-basis' }, el('h3', {}, t('work.title_basis')),
    el('dl', { class: 'facts' },
      el('dt', {}, t('work.homestead_title')), el('dd', {}, right(b.homestead_title, b.homestead_cert_no)),
      el('dt', {}, t('work.ownership_title')), el('dd', {}, right(b.ownership_title, b.ownership_cert_no)),
      el('dt', {}, t('title.qualification')), el('dd', {}, yes(b.qualification_retained)),
      el('dt', {}, t('title.collective')), el('dd', {}, yes(b.collective_property)),
      b.safety_grade ? [el('dt', {}, t('paper.grade')), el('dd', {}, t(`grade.${b.safety_grade}`))] : null));
}

function checklistSection(c) {
  const open = c.items.filter((i) => !i.satisfied);
  const missing = open.length;
  // Everything is there but a second officer: the one who recorded the deal sees who certifies.
  const second = missing === 1 && open[0].item === 'officers';
  return el('section', { class: 'checklist', id: 'checklist-section', dataset: { complete: String(c.complete) } },
    el('h3', {}, t('checklist.heading')),
    el('p', { class: c.complete ? 'ok-line' : 'hint', id: 'checklist-state' },
      c.complete ? t('check.complete') : second ? t('check.second') : t('check.missing', { n: missing })),
    el('ul', { id: 'checklist' }, c.items.map((i) => el('li', { dataset: { item: i.item, satisfied: String(i.satisfied) }, class: i.satisfied ? 'ok' : 'missing' },
      el('span', { class: 'mark', 'aria-hidden': 'true' }, i.satisfied ? '✓' : '✗'),
      el('span', { class: 'visually-hidden' }, i.satisfied ? t('check.yes') : t('check.no')),
      el('strong', {}, t(`check.${i.item}`)), i.detail ? el('span', { class: 'detail' }, i.detail) : null))));
}

function papersSection(papers) {
  return el('section', { class: 'papers', id: 'papers-section' }, el('h3', {}, t('paper.title')),
    papers.length
      ? el('ul', { id: 'papers' }, papers.map((p) => el('li', { dataset: { kind: p.kind } },
        el('a', { href: p.url, target: '_blank', rel: 'noopener' }, t(`paper.${p.kind}`)),
        ` · ${[p.grade ? t(`grade.${p.grade}`) : null, `${number(Math.max(1, p.bytes / 1024), 0)} KB`, p.recorded_by].filter(Boolean).join(' · ')}`)))
      : el('p', { class: 'hint' }, t('paper.none')));
}

function consentsSection(consents) {
  const line = (c) => {
    if (c.kind === 'meeting') return t('consent.line.meeting', { for: c.votes_for, against: c.votes_against, total: c.votes_total, on: c.given_on });
    const verdict = c.agrees ? t('consent.yes') : t('consent.no');
    if (c.kind === 'member') return t('consent.line.member', { name: c.member_name, verdict, on: c.given_on });
    return t('consent.line.committee', { verdict, opinion: c.opinion ?? '', on: c.given_on });
  };
  return el('section', { class: 'consents', id: 'consents-section' }, el('h3', {}, t('consent.title')),
    consents.length
      ? el('ul', { id: 'consents' }, consents.map((c) => el('li', { dataset: { kind: c.kind } }, line(c))))
      : el('p', { class: 'hint' }, t('consent.none')));
}

/** Fields history leaves out of its sentences: bookkeeping, and geometry (a shape changed is said once). */
const HISTORY_SKIP = new Set(['version', 'updated_at', 'created_at', 'id', 'search']);

/** The sentences of one history entry: one for each field an update changed, one for a record added or removed. */
function historySentences(h, fmt) {
  const who = h.actor_name || h.actor.split(':')[1] || t(`history.actor.${h.actor}`);
  const at = fmt.format(new Date(h.at));
  if (h.action === 'insert') return [t('history.insert', { who, at })];
  if (h.action === 'delete') return [t('history.delete', { who, at })];
  const before = h.before ?? {};
  const after = h.after ?? {};
  const changed = Object.keys(after)
    .filter((k) => !HISTORY_SKIP.has(k) && JSON.stringify(before[k]) !== JSON.stringify(after[k]));
  if (!changed.length) return [t('history.update', { who, at })];
  return changed.map((k) => {
    const field = historyField(k);
    const from = historyValue(k, before[k]);
    const to = historyValue(k, after[k]);
    if (k === 'geometry' || k === 'footprint' || k === 'boundary') return t('history.shape', { field, who, at });
    if (before[k] === null || before[k] === undefined) return t('history.set', { field, to, who, at });
    return t(k === 'status' ? 'history.status' : 'history.change', { field, from, to, who, at });
  });
}

/** A field's name as the page calls it, else as the record does. */
function historyField(k) {
  const key = `history.field.${k}`;
  const text = t(key);
  return text === key ? k : text;
}

/** A value as a sentence says it: areas in m², amounts in yuan, statuses and uses in words. */
function historyValue(k, v) {
  if (v === null || v === undefined || v === '') return '—';
  if (k === 'status') return t(`status.${v}`);
  if (k === 'intended_use') return t(`use.${v}`);
  if (typeof v === 'number' && /_m2$/.test(k)) return t('m2', { v: new Intl.NumberFormat(lang() === 'zh' ? 'zh-CN' : 'en-US', { maximumFractionDigits: 2 }).format(v) });
  if (typeof v === 'number' && /_fen$/.test(k)) return t('yuan', { v: number(v / 100, 2) });
  if (typeof v === 'number') return number(v, Number.isInteger(v) ? 0 : 2);
  if (typeof v === 'object') return JSON.stringify(v).slice(0, 60);
  return String(v).slice(0, 60);
}

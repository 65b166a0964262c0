// The page: one map for everyone, with what each role needs beside it — the activation figures over the
// map and houses to lease (everyone; interest for investors), activation figures (officials and officers), the certification queue, the
// workbench and overdue rent (officers), pledges (banks). Logging in or out changes the page in place.

import { Accounts } from './accounts.js';
import { Analysis } from './analysis.js';
import { api, clearAlert, el, loading, showError } from './api.js';
import { Figures } from './figures.js';
import { apply, lang, number, onLangChange, setLang, t } from './i18n.js';
import { CHOROPLETH, FarmMap, PROJECT_COLOURS, STATUS_COLOURS, STATUSES } from './map.js';
import { HousePanel } from './house.js';
import { Interests } from './interests.js';
import { Listings } from './listings.js';
import { MapMode } from './mode.js';
import { Overdue } from './overdue.js';
import { Pledges } from './pledges.js';
import { Queue } from './queue.js';
import { Search } from './search.js';
import { Stats } from './stats.js';
import { secondStep } from './totp.js';
import { Workbench } from './workbench.js';

const $ = (id) => document.getElementById(id);

/** Which tabs each role sees. */
const TABS = {
  public: ['houses'],
  investor: ['houses', 'interests'],
  officer: ['queue', 'work', 'overdue', 'stats', 'analysis', 'houses'],
  official: ['stats', 'analysis', 'houses'],
  admin: ['accounts', 'stats', 'analysis', 'houses'],
  bank: ['pledges', 'houses'],
};

class App {
  constructor() {
    this.me = { role: 'public' };
  }

  session() {
    return this.me;
  }

  async start() {
    apply();
    $('lang').addEventListener('click', () => setLang(lang() === 'zh' ? 'en' : 'zh'));
    onLangChange(() => this.renderWho());
    const [site, me] = await Promise.all([
      api('/api/v1/site').catch((e) => { showError(e); return { bounds: null, basemap_url: null }; }),
      api('/api/v1/session').catch(() => ({ role: 'public' })),
    ]);
    this.me = me ?? { role: 'public' };
    this.site = site;

    const mapStatus = $('map-status');
    mapStatus.textContent = t('loading.map');
    this.map = new FarmMap($('map'), site);
    this.map.map.on('error', (e) => {
      // A tile that failed is retried by the map; say so instead of leaving a blank area unexplained.
      const msg = e?.error?.message ?? String(e?.error ?? e);
      if (!/aborted/i.test(msg)) showError(new Error(msg));
    });
    this.figures = new Figures($('figures'), this);
    this.figures.refresh({ quiet: true });
    this.houses = new HousePanel($('house'), this);
    this.listings = new Listings($('filter'), $('listing'), this);
    this.stats = new Stats($('tab-stats'), this);
    this.analysis = new Analysis($('tab-analysis'), this);
    this.queue = new Queue($('queue'), this);
    this.search = new Search($('search'), $('search-results'), this);
    this.mapMode = new MapMode($('legend'), this.map);
    this.workbench = new Workbench($('tab-work'), this);
    this.overdue = new Overdue($('tab-overdue'), this);
    this.pledges = new Pledges($('tab-pledges'), this);
    this.interests = new Interests($('tab-interests'), this);
    this.accounts = new Accounts($('tab-accounts'), this);
    // On a phone the legend starts closed: open, it would cover a quarter of the map.
    if (window.matchMedia('(max-width: 720px)').matches) $('legend').open = false;

    this.legend();
    onLangChange(() => this.legend());
    this.bindKeys();
    this.bindLogin();
    this.bindMapClicks();
    this.bindMapHover();
    $('side-toggle').addEventListener('click', () => this.toggleSide());
    $('side-close').addEventListener('click', () => {
      this.toggleSide(false);
      $('side-toggle').focus();
    });
    $('verify-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const no = $('verify-no').value.trim();
      const code = $('verify-code').value.trim();
      if (no) location.assign(`/verify/${encodeURIComponent(no)}${code ? `?code=${encodeURIComponent(code)}` : ''}`);
    });

    await this.map.loaded();
    mapStatus.textContent = '';
    mapStatus.hidden = true;
    const projects = loading(() => api('/api/v1/projects?limit=1000'));
    const townships = await loading(() => api('/collections/townships/items?limit=200'));
    if (townships) {
      const list = townships.features.map((f) => ({ ...f.properties, geometry: f.geometry }));
      this.map.labelTownships(list);
      this.shareRange = this.map.spreadChoropleth(list);
      this.legend();
      this.listings.setTownships(list);
      this.townshipNames = new Map(list.map((tw) => [tw.code, tw.name]));
    }
    const shown = await projects;
    if (shown) this.map.showProjects(shown.items);
    await this.roleChanged();
    // A link to one house (`/?house=ID`, as a project's page gives for each of its houses) opens its panel.
    const linked = Number(new URLSearchParams(window.location.search).get('house'));
    if (Number.isInteger(linked) && linked > 0) await this.openHouse(linked, { fly: true });
  }

  /** Lays the page out for the caller's role: tabs, who is logged in, what the panels offer. */
  async roleChanged() {
    this.renderWho();
    const tabs = TABS[this.me.role] ?? TABS.public;
    for (const b of document.querySelectorAll('[role=tab]')) b.hidden = !tabs.includes(b.dataset.tab);
    this.showTab(tabs[0]);
    this.mapMode.reset(this.me.role);
    // Staff see more of the summary: its ETag is another one.
    this.figures.etag = null;
    const work = [this.listings.refresh(), this.figures.refresh({ quiet: true })];
    if (tabs.includes('stats')) work.push(this.stats.refresh());
    // The analysis loads when its tab is first opened.
    this.analysis.reset();
    if (tabs.includes('queue')) work.push(this.queue.refresh());
    if (tabs.includes('work')) work.push(this.workbench.refresh());
    else this.workbench.reset();
    if (tabs.includes('overdue')) work.push(this.overdue.refresh());
    if (tabs.includes('pledges')) work.push(this.pledges.refresh());
    else this.pledges.reset();
    if (tabs.includes('interests')) work.push(this.interests.refresh());
    else this.interests.reset();
    if (tabs.includes('accounts')) work.push(this.accounts.refresh());
    else this.accounts.reset();
    if (this.houses.open && this.houses.house) work.push(this.houses.show(this.houses.house.id));
    await Promise.all(work);
    document.body.dataset.role = this.me.role;
    document.body.dataset.ready = 'true';
  }

  renderWho() {
    const role = this.me.role;
    // An account limited to some townships says which (writes elsewhere are refused).
    const scope = (this.me.townships ?? []).map((c) => this.townshipNames?.get(c) ?? c).join(lang() === 'zh' ? '、' : ', ');
    $('who').textContent = role === 'public' ? t('who.public') : `${this.me.username} · ${t(`role.${role}`)}${scope ? ` · ${scope}` : ''}`;
    $('login-button').textContent = role === 'public' ? t('login') : t('logout');
  }

  showTab(name) {
    for (const b of document.querySelectorAll('[role=tab]')) {
      const on = b.dataset.tab === name;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
      $(b.getAttribute('aria-controls')).hidden = !on;
    }
    // The analysis takes a wider panel (style.css).
    document.body.dataset.tab = name;
    if (name === 'analysis') this.analysis.show();
  }

  /** After a write: fresh tiles (the house's new colour), figures, queue and list, without a reload. */
  changed() {
    this.map.refresh();
    const tabs = TABS[this.me.role] ?? [];
    if (tabs.includes('stats')) this.stats.refresh();
    if (tabs.includes('analysis')) this.analysis.changed();
    if (tabs.includes('queue')) this.queue.refresh();
    if (tabs.includes('overdue')) this.overdue.refresh();
    this.listings.refresh();
    this.figures.refresh({ quiet: true });
  }

  /** The summary changed elsewhere (another officer's certification): the map and the staff's lists follow. */
  summaryChanged() {
    this.map.refresh();
    const tabs = TABS[this.me.role] ?? [];
    if (tabs.includes('stats')) this.stats.refresh();
    if (tabs.includes('queue')) this.queue.refresh();
  }

  openHouse(id, options) {
    if (window.matchMedia('(max-width: 720px)').matches) this.toggleSide(false);
    return this.houses.show(id, options);
  }

  toggleSide(open) {
    const side = $('side');
    const next = open ?? !side.classList.contains('open');
    side.classList.toggle('open', next);
    $('side-toggle').setAttribute('aria-expanded', String(next));
    if (next) $('side-close').focus();
  }

  /**
   * Asks for confirmation in a modal dialog; resolves true/false, or with { reason: true } the reason
   * typed (empty: cancelled), starting from `value` and labelled `label`. With { optional: true } the
   * text may be left empty: cancelling resolves null.
   */
  confirm(message, { reason = false, value = '', label = t('confirm.reason'), optional = false } = {}) {
    const dialog = $('confirm-dialog');
    $('confirm-message').textContent = message;
    const field = $('confirm-reason-field');
    const input = $('confirm-reason');
    $('confirm-reason-label').textContent = label;
    field.hidden = !reason;
    input.required = reason && !optional;
    input.value = value;
    dialog.returnValue = '';
    dialog.showModal();
    (reason ? input : $('confirm-cancel')).focus();
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => {
        const ok = dialog.returnValue === 'ok';
        if (optional) resolve(ok ? input.value.trim() : null);
        else resolve(reason ? (ok ? input.value.trim() : '') : ok);
      }, { once: true });
    });
  }

  bindKeys() {
    document.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || document.querySelector('dialog[open]')) return;
      if (this.workbench.mode) {
        this.workbench.stop();
        return;
      }
      if (!$('search-results').hidden) this.search.close();
      else if (this.houses.open) {
        // Back to what opened the house: a list closed on a phone opens again.
        const back = this.houses.returnFocus;
        if (back && $('side').contains(back) && !$('side').classList.contains('open')) this.toggleSide(true);
        this.houses.close();
      }
      else if ($('side').classList.contains('open')) this.toggleSide(false);
    });
    for (const b of document.querySelectorAll('[role=tab]')) {
      b.addEventListener('click', () => this.showTab(b.dataset.tab));
      b.addEventListener('keydown', (e) => {
        if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
        const visible = [...document.querySelectorAll('[role=tab]')].filter((x) => !x.hidden);
        const next = visible[(visible.indexOf(b) + (e.key === 'ArrowRight' ? 1 : -1) + visible.length) % visible.length];
        this.showTab(next.dataset.tab);
        next.focus();
      });
    }
  }

  bindLogin() {
    const dialog = $('login-dialog');
    const form = $('login-form');
    const error = $('login-error');
    $('login-button').addEventListener('click', async () => {
      clearAlert();
      if (this.me.role !== 'public') {
        await loading(() => api('/api/v1/session', { method: 'DELETE' }));
        this.me = { role: 'public' };
        await this.roleChanged();
        return;
      }
      error.textContent = '';
      form.reset();
      dialog.showModal();
      form.elements.username.focus();
    });
    $('login-cancel').addEventListener('click', () => dialog.close());
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      error.textContent = t('loading');
      try {
        this.me = await api('/api/v1/session', {
          method: 'POST',
          body: { username: form.elements.username.value.trim(), password: form.elements.password.value },
        });
      } catch (err) {
        error.textContent = t('login.failed', { msg: err.message });
        return;
      }
      dialog.close();
      if (this.me.second_factor) this.me = (await secondStep(this.me)) ?? { role: 'public' };
      await this.roleChanged();
      $('login-button').focus();
    });
  }

  bindMapClicks() {
    const map = this.map.map;
    map.on('click', (e) => {
      // Picking a parcel or drawing a footprint takes the clicks.
      if (this.workbench.mapClick(e)) return;
      const hits = map.queryRenderedFeatures(e.point, { layers: ['houses-fill', 'houses-cluster', 'villages', 'villages-label', 'projects-fill', 'townships-fill'] });
      // A village's dot or name is small: a click on it is the village, whatever is under it.
      const hit = hits.find((f) => f.layer.id.startsWith('villages')) ?? hits[0];
      if (!hit) return;
      if (hit.layer.id === 'houses-fill') this.openHouse(hit.id);
      else if (hit.layer.id.startsWith('villages')) this.openVillage(hit.properties, e.lngLat);
      else if (hit.layer.id === 'houses-cluster') map.easeTo({ center: e.lngLat, zoom: Math.min(map.getZoom() + 2, 16) });
      // Inside a project's outline (beside its houses) is that project: its page.
      else if (hit.layer.id === 'projects-fill') location.assign(hit.properties.page_url);
      // Close in, the townships are only a tint under the houses: a click beside a house is no choice.
      else if (hit.layer.id === 'townships-fill' && map.getZoom() < 12) this.townshipClicked(hit, e.lngLat);
    });
  }

  /**
   * The pointer over the map: the township under it shows its figures; a house or a cluster says its
   * status in words beside the pointer (its colour is not the only cue).
   */
  bindMapHover() {
    const map = this.map.map;
    map.on('mousemove', (e) => {
      const hits = map.queryRenderedFeatures(e.point, { layers: ['houses-fill', 'houses-cluster', 'villages', 'townships-fill'] });
      const township = hits.find((f) => f.layer.id === 'townships-fill');
      this.figures.hover(township ? String(township.properties.code) : null);
      const house = hits.find((f) => f.layer.id !== 'townships-fill');
      if (!house) this.map.tip(null);
      else if (house.layer.id === 'villages') this.map.tip(e.lngLat, t('map.tip.village', { name: house.properties.name }));
      else if (house.layer.id === 'houses-fill') this.map.tip(e.lngLat, t(`status.${house.properties.status}`));
      else {
        const p = house.properties;
        const parts = STATUSES.filter((s) => p[s]).map((s) => `${t(`status.${s}`)} ${number(p[s])}`).join(' · ');
        this.map.tip(e.lngLat, t('map.tip.cluster', { n: number(p.houses), parts }));
      }
    });
    map.getCanvas().addEventListener('mouseleave', () => {
      this.figures.hover(null);
      this.map.tip(null);
    });
  }

  /** A village clicked on the map: its houses to lease in the list, the map closer, its name and count. */
  async openVillage(village, lngLat) {
    const v = { name: village.name, township_code: String(village.township_code ?? '') };
    this.showTab('houses');
    if (window.matchMedia('(max-width: 720px)').matches) this.toggleSide(true);
    this.map.map.easeTo({ center: lngLat, zoom: Math.max(this.map.map.getZoom(), 14) });
    await this.listings.showVillage(v);
    this.map.popup(lngLat, t('village.popup', { name: v.name, n: number(this.listings.total) }));
  }

  townshipClicked(feature, lngLat) {
    const p = feature.properties;
    this.figures.choose(String(p.code));
    // On the analysis tab a township clicked is analysed; elsewhere staff see its statistics.
    if (document.body.dataset.tab === 'analysis') this.analysis.choose(String(p.code));
    else if ((TABS[this.me.role] ?? []).includes('stats')) {
      this.showTab('stats');
      this.stats.choose(p.code);
    }
    this.map.popup(lngLat, t('township.popup', { name: p.name, houses: p.houses_total ?? 0, certified: p.certified_houses ?? 0 }));
  }

  legend() {
    const box = $('legend-body');
    box.replaceChildren(
      el('h3', {}, t('legend.status')),
      el('ul', { class: 'legend-status' }, STATUSES.map((s) => el('li', {},
        el('span', { class: 'swatch', style: `background:${STATUS_COLOURS[s]}`, 'aria-hidden': 'true' }), t(`status.${s}`)))),
      el('p', { class: 'hint' }, t('legend.cluster')),
      el('h3', {}, t('legend.choropleth')),
      el('div', { class: 'ramp', 'aria-hidden': 'true', style: `background:linear-gradient(to right, ${CHOROPLETH.join(', ')})` }),
      el('div', { class: 'ramp-scale' }, ...(this.shareRange ?? [0, 1]).map((v) => el('span', {}, `${number(v * 100, 0)}%`))),
      el('h3', {}, t('legend.projects')),
      el('ul', {}, el('li', {},
        el('span', { class: 'swatch', style: `background:${PROJECT_COLOURS.fill};border:2px dashed ${PROJECT_COLOURS.line}`, 'aria-hidden': 'true' }),
        t('legend.project'))),
    );
  }
}

const app = new App();
// The map and the app, for the browser tests (they read what the map drew).
window.farmhouse = { app, ready: app.start().then(() => app).catch((e) => { showError(e); throw e; }) };
window.farmhouse.ready.then(() => { window.farmhouse.map = app.map.map; });

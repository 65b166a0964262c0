// The map: MapLibre GL JS built from the service's own style document (GET /styles/default.json: the
// township choropleth of activation, house clusters from zoom 8 to 14, footprints coloured by status and
// parcels from 15, villages from 10 and named from 12), to which the page adds only what is interactive:
// the activation projects' outlines (from 12), the selected house and township, and the two ways of
// drawing the houses — what an investor may lease (listed houses, the other statuses when asked) or
// every house by status, for the activation. Township and project names are HTML markers.

import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';
import { bbox, centre } from './geometry.js';
import { lang, onLangChange } from './i18n.js';

/**
 * Status colours: distinguishable, also for red–green colour blindness (blue, orange, dark green, grey),
 * and each at least 3:1 against the map's background (WCAG AA for graphics); the legend and the tip
 * beside the pointer name them too. The style document (src/http/styles.rs) draws the same.
 */
export const MAP_BACKGROUND = '#eef1e8';
export const STATUS_COLOURS = {
  registered: '#767676',
  listed: '#1565c0',
  contracted: '#c25400',
  certified: '#1b7f3b',
};
export const STATUSES = Object.keys(STATUS_COLOURS);

/** The township choropleth's ramp, light to dark, spread over the townships' range of activation. */
export const CHOROPLETH = ['#f3eef8', '#cfc2e3', '#a08cc8', '#6e50a8', '#3f1f80'];

/** Activation projects: a dashed dark outline over a light tint, apart from the status colours. */
export const PROJECT_COLOURS = { line: '#3b2a14', fill: '#ffe9a8' };

/** Villages: a dark ring (the style's `villages` layer), named from zoom 12. */
export const VILLAGE_COLOUR = '#3d3d3d';

/** From this zoom the projects' outlines and names are drawn (the townships' names give way). */
const PROJECT_ZOOM = 12;

/** The ways of drawing the houses: what may be leased, or every house by status. */
export const MODES = ['investor', 'activation'];

const count = (s) => ['coalesce', ['get', s], 0];
const isPoint = ['==', ['geometry-type'], 'Point'];
const isPolygon = ['==', ['geometry-type'], 'Polygon'];

/** The houses of a cluster counted in `statuses`. */
function clusterCount(statuses) {
  return statuses.length === 1 ? count(statuses[0]) : ['+', ...statuses.map(count)];
}

/** The colour of a cluster: the status of `statuses` with most houses (ties go to the later stage; listed first for investors). */
function clusterColour(statuses, preferred = []) {
  const order = [...preferred, ...['certified', 'contracted', 'listed', 'registered'].filter((s) => !preferred.includes(s))]
    .filter((s) => statuses.includes(s));
  if (order.length === 1) return STATUS_COLOURS[order[0]];
  const top = ['max', ...order.map(count)];
  const cases = order.slice(0, -1).flatMap((s) => [['==', count(s), top], STATUS_COLOURS[s]]);
  return ['case', ...cases, STATUS_COLOURS[order[order.length - 1]]];
}

const activationShare = [
  '/',
  ['coalesce', ['get', 'certified_houses'], 0],
  ['max', ['coalesce', ['get', 'houses_total'], 0], 1],
];

/** The choropleth's colour expression over activation shares from `low` to `high`. */
function choropleth([low, high]) {
  const span = Math.max(high - low, 0.01);
  const stops = CHOROPLETH.flatMap((c, i) => [low + (span * i) / (CHOROPLETH.length - 1), c]);
  return ['interpolate', ['linear'], activationShare, ...stops];
}

/** The layers of the houses drawn as clusters (circle, count) and as footprints. */
const CLUSTER_LAYERS = ['houses-cluster', 'houses-cluster-count'];
const FOOTPRINT_LAYERS = ['houses-fill', 'houses-line'];

/** The map, its tile version (bumped after writes) and the house shown as selected. */
export class FarmMap {
  constructor(container, site) {
    this.version = Date.now();
    this.selected = null;
    this.selectedTownship = null;
    this.townshipMarkers = [];
    this.projectMarkers = [];
    this.mode = { mode: 'investor', statuses: ['listed'] };
    const bounds = site.bounds ?? [120.6, 29.75, 121.1, 30.3];
    this.map = new maplibregl.Map({
      container,
      style: '/styles/default.json',
      bounds: [[bounds[0], bounds[1]], [bounds[2], bounds[3]]],
      fitBoundsOptions: { padding: 20 },
      // The houses are drawn from zoom 8 (the district is a few dozen pixels wide there).
      minZoom: 8,
      maxZoom: 19,
      attributionControl: false,
      // Kept so the page (and its tests) can read what was drawn.
      canvasContextAttributes: { preserveDrawingBuffer: true, antialias: true },
    });
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
    this.map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');
    this.map.addControl(new maplibregl.AttributionControl({ compact: true, customAttribution: '上虞区 · farmhouse' }));
    this.map.getCanvas().setAttribute('aria-label', container.getAttribute('aria-label') ?? 'map');
    this.map.once('style.load', () => this.addProjectLayers());
    // A filter chosen before the house tiles' TileJSON arrived applies once it has.
    this.map.once('load', () => { if (this.houseFilter) this.setTiles('farmhouses'); });
    for (const layer of ['houses-fill', 'houses-cluster', 'projects-fill', 'townships-fill', 'villages', 'villages-label']) {
      this.map.on('mouseenter', layer, () => { this.map.getCanvas().style.cursor = 'pointer'; });
      this.map.on('mouseleave', layer, () => { this.map.getCanvas().style.cursor = ''; });
    }
  }

  /** Resolves once the style is loaded. */
  loaded() {
    return this.map.loaded() ? Promise.resolve() : new Promise((r) => this.map.once('load', r));
  }

  /** Resolves when the map has drawn everything it is loading. */
  idle() {
    return new Promise((resolve) => {
      if (this.map.loaded() && this.map.areTilesLoaded() && !this.map.isMoving()) {
        this.map.once('idle', resolve);
        this.map.triggerRepaint();
      } else {
        this.map.once('idle', resolve);
      }
    });
  }

  /** The projects' outlines: data of the page, drawn under the houses. */
  addProjectLayers() {
    this.map.addSource('projects', { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, promoteId: 'id' });
    this.map.addLayer({
      id: 'projects-fill',
      type: 'fill',
      source: 'projects',
      minzoom: PROJECT_ZOOM,
      paint: { 'fill-color': PROJECT_COLOURS.fill, 'fill-opacity': 0.35 },
    }, 'houses-cluster');
    this.map.addLayer({
      id: 'projects-line',
      type: 'line',
      source: 'projects',
      minzoom: PROJECT_ZOOM,
      paint: { 'line-color': PROJECT_COLOURS.line, 'line-width': 2, 'line-dasharray': [3, 2] },
    }, 'houses-cluster');
    this.setMode(this.mode.mode, this.mode.statuses);
  }

  /**
   * Draws the houses for `mode`: `investor`, the houses of `statuses` (listed by default) at every zoom,
   * clusters sized and labelled by their count; `activation`, every house by its status, clusters from
   * zoom 11 in the colour of their main status.
   */
  setMode(mode, statuses = ['listed']) {
    const shown = mode === 'activation' ? STATUSES : STATUSES.filter((s) => statuses.includes(s));
    this.mode = { mode, statuses: shown };
    if (!this.map.getLayer('houses-cluster')) return;
    const n = clusterCount(shown.length ? shown : ['listed']);
    const some = shown.length ? ['>', n, 0] : false;
    for (const id of CLUSTER_LAYERS) {
      this.map.setFilter(id, ['all', isPoint, some]);
      this.map.setLayerZoomRange(id, mode === 'activation' ? 11 : 8, 15);
    }
    this.map.setPaintProperty('houses-cluster', 'circle-color', clusterColour(shown, mode === 'investor' ? ['listed'] : []));
    this.map.setPaintProperty('houses-cluster', 'circle-radius', ['interpolate', ['linear'], ['sqrt', n], 1, 7, 5, 11, 15, 15]);
    this.map.setLayoutProperty('houses-cluster-count', 'text-field', ['to-string', n]);
    for (const id of FOOTPRINT_LAYERS) {
      this.map.setFilter(id, ['all', isPolygon, ['in', ['get', 'status'], ['literal', shown]]]);
    }
  }

  /** Asks for fresh house and township tiles (after a write), without reloading the page. */
  refresh() {
    this.version += 1;
    for (const layer of ['farmhouses', 'townships']) this.setTiles(layer);
  }

  /**
   * Draws only the houses matching `cql` (a CQL2 text filter, or null for all): the service filters the
   * tiles and recounts the clusters (docs/DESIGN.md §7.3), so the map shows what the list finds.
   */
  filterHouses(cql) {
    if ((cql ?? null) === (this.houseFilter ?? null)) return;
    this.houseFilter = cql ?? null;
    this.setTiles('farmhouses');
  }

  setTiles(layer) {
    const source = this.map.getSource(layer);
    const url = source?.tiles?.[0];
    if (!url) return;
    const params = new URLSearchParams({ v: String(this.version) });
    if (layer === 'farmhouses' && this.houseFilter) params.set('filter', this.houseFilter);
    source.setTiles([`${url.split('?')[0]}?${params}`]);
  }

  /** Marks house `id` as selected (outline), unmarking the previous one. */
  select(id) {
    if (this.selected !== null) this.map.setFeatureState({ source: 'farmhouses', sourceLayer: 'farmhouses', id: this.selected }, { selected: false });
    this.selected = id;
    if (id !== null) this.map.setFeatureState({ source: 'farmhouses', sourceLayer: 'farmhouses', id }, { selected: true });
  }

  /** Outlines township `code` (a number id in the tiles), or none. */
  selectTownship(code) {
    if (this.selectedTownship !== null) this.map.setFeatureState({ source: 'townships', sourceLayer: 'townships', id: this.selectedTownship }, { selected: false });
    this.selectedTownship = code === null ? null : Number(code);
    if (code !== null) this.map.setFeatureState({ source: 'townships', sourceLayer: 'townships', id: Number(code) }, { selected: true });
  }

  /** Flies to a GeoJSON geometry. */
  show(geometry, zoom = 17) {
    this.map.flyTo({ center: centre(geometry), zoom, essential: true, duration: 600 });
  }

  /** The map extent as `min lon,min lat,max lon,max lat`. */
  extent() {
    const b = this.map.getBounds();
    // Zoomed far out, the view can reach past ±180° (world copies): the API takes longitudes and latitudes.
    const clamp = (v, limit) => Math.min(limit, Math.max(-limit, v));
    return [clamp(b.getWest(), 180), clamp(b.getSouth(), 90), clamp(b.getEast(), 180), clamp(b.getNorth(), 90)]
      .map((v) => v.toFixed(6)).join(',');
  }

  /**
   * Spreads the choropleth over the townships' range of activation (share of houses certified), so
   * townships that differ look different; answers the range for the legend.
   */
  spreadChoropleth(townships) {
    const shares = townships.filter((t) => t.houses_total > 0).map((t) => t.certified_houses / t.houses_total);
    const range = shares.length ? [Math.min(...shares), Math.max(...shares)] : [0, 1];
    this.map.setPaintProperty('townships-fill', 'fill-color', choropleth(range));
    return range;
  }

  /** A small popup with `text` at `lngLat` (the one before it closes). */
  popup(lngLat, text) {
    this.currentPopup?.remove();
    const content = document.createElement('p');
    content.textContent = text;
    this.currentPopup = new maplibregl.Popup({ closeButton: true, maxWidth: '260px' }).setLngLat(lngLat).setDOMContent(content).addTo(this.map);
  }

  /** A short text beside the pointer at `lngLat` (null: none), as a popup that takes no clicks. */
  tip(lngLat, text) {
    if (!lngLat) {
      this.currentTip?.remove();
      this.currentTip = null;
      return;
    }
    if (!this.currentTip) {
      this.currentTip = new maplibregl.Popup({ closeButton: false, closeOnClick: false, className: 'map-tip', offset: 12, maxWidth: '260px' });
    }
    if (this.currentTip.tipText !== text) {
      this.currentTip.setText(text);
      this.currentTip.tipText = text;
    }
    this.currentTip.setLngLat(lngLat);
    if (!this.currentTip.isOpen()) this.currentTip.addTo(this.map);
  }

  /** The villages' names: in English the pinyin above the Chinese (when the tiles carry it). */
  labelVillages() {
    if (!this.map.getLayer('villages-label')) return;
    const name = lang() === 'en'
      ? ['case', ['has', 'name_pinyin'], ['concat', ['get', 'name_pinyin'], '\n', ['get', 'name']], ['get', 'name']]
      : ['get', 'name'];
    if (JSON.stringify(this.map.getLayoutProperty('villages-label', 'text-field')) !== JSON.stringify(name)) {
      this.map.setLayoutProperty('villages-label', 'text-field', name);
    }
  }

  /** Township names as HTML markers at the middle of each township (no glyph server needed). */
  labelTownships(townships) {
    for (const m of this.townshipMarkers) m.remove();
    this.townshipMarkers = [];
    if (!this.townships) {
      // In English a place is named in pinyin with the Chinese beside it: townships and villages.
      onLangChange(() => this.labelTownships(this.townships));
      this.map.on('styledata', () => this.labelVillages());
      this.map.on('zoomend', () => this.toggleTownshipLabels());
    }
    this.townships = townships;
    this.labelVillages();
    for (const f of townships) {
      const label = document.createElement('div');
      label.className = 'township-label';
      if (lang() === 'en' && f.name_pinyin) {
        const zh = document.createElement('span');
        zh.lang = 'zh';
        zh.textContent = f.name;
        label.append(`${f.name_pinyin} `, zh);
      } else {
        label.textContent = f.name;
      }
      label.setAttribute('aria-hidden', 'true');
      const marker = new maplibregl.Marker({ element: label }).setLngLat(centre(f.geometry)).addTo(this.map);
      this.townshipMarkers.push(marker);
    }
    this.toggleTownshipLabels();
  }

  /** Township labels give way to the villages' from zoom 12. */
  toggleTownshipLabels() {
    const hidden = this.map.getZoom() >= 12;
    for (const m of this.townshipMarkers) m.getElement().classList.toggle('hidden', hidden);
  }

  /**
   * Activation projects: each outline drawn as one area, its name above it as a link to its page (so
   * reached by Tab and opened with Enter), from zoom 12.
   */
  showProjects(projects) {
    const withOutline = projects.filter((p) => p.outline);
    this.map.getSource('projects').setData({
      type: 'FeatureCollection',
      features: withOutline.map((p) => ({
        type: 'Feature',
        geometry: p.outline,
        properties: { id: p.id, name: p.name, page_url: p.page_url ?? `/projects/${p.id}` },
      })),
    });
    for (const m of this.projectMarkers) m.remove();
    this.projectMarkers = withOutline.map((p) => {
      const label = document.createElement('a');
      label.className = 'project-label';
      label.href = p.page_url ?? `/projects/${p.id}`;
      label.textContent = p.name;
      const [minX, , maxX, maxY] = bbox(p.outline);
      // Above the outline, not over the houses in it.
      return new maplibregl.Marker({ element: label, anchor: 'bottom', offset: [0, -2] })
        .setLngLat([(minX + maxX) / 2, maxY]).addTo(this.map);
    });
    if (!this.projectZoomBound) {
      this.projectZoomBound = true;
      this.map.on('zoomend', () => this.toggleProjectLabels());
    }
    this.toggleProjectLabels();
  }

  toggleProjectLabels() {
    const hidden = this.map.getZoom() < PROJECT_ZOOM;
    for (const m of this.projectMarkers) m.getElement().classList.toggle('hidden', hidden);
  }
}

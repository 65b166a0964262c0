// A surveyor's shapefile made in the test (no GIS package needed): polygons in a .shp, their attributes
// in a dBase III .dbf (UTF-8, said by the .cpg), the CRS in a .prj, all in one .zip with a folder inside,
// as survey offices send them.

import { crc32, deflateRawSync } from 'node:zlib';

const WGS84_PRJ = 'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],'
  + 'PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]';

/** Twice the signed area of a ring (positive: counter-clockwise). */
const area2 = (ring) => ring.slice(0, -1).reduce((s, [x, y], i) => s + x * ring[i + 1][1] - ring[i + 1][0] * y, 0);

function box(rings) {
  const xs = rings.flat().map((p) => p[0]);
  const ys = rings.flat().map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

/** The .shp of polygons, one ring each (closed), outer rings clockwise as the format wants. */
function shp(rings) {
  const rows = rings.map((r) => (area2(r) > 0 ? [...r].reverse() : r));
  const records = rows.map((ring, i) => {
    const content = Buffer.alloc(4 + 32 + 8 + 4 + 16 * ring.length);
    content.writeInt32LE(5, 0);
    box([ring]).forEach((v, k) => content.writeDoubleLE(v, 4 + 8 * k));
    content.writeInt32LE(1, 36);
    content.writeInt32LE(ring.length, 40);
    content.writeInt32LE(0, 44);
    ring.forEach(([x, y], k) => {
      content.writeDoubleLE(x, 48 + 16 * k);
      content.writeDoubleLE(y, 56 + 16 * k);
    });
    const header = Buffer.alloc(8);
    header.writeInt32BE(i + 1, 0);
    header.writeInt32BE(content.length / 2, 4);
    return Buffer.concat([header, content]);
  });
  const head = Buffer.alloc(100);
  const length = 100 + records.reduce((s, r) => s + r.length, 0);
  head.writeInt32BE(9994, 0);
  head.writeInt32BE(length / 2, 24);
  head.writeInt32LE(1000, 28);
  head.writeInt32LE(5, 32);
  box(rows).forEach((v, k) => head.writeDoubleLE(v, 36 + 8 * k));
  return Buffer.concat([head, ...records]);
}

/** A dBase III table: `fields` are [name (≤ 10), 'C' | 'N', length, decimals]; `rows` their values. */
function dbf(fields, rows) {
  const recordLength = 1 + fields.reduce((s, f) => s + f[2], 0);
  const head = Buffer.alloc(32);
  head[0] = 0x03;
  head.set([126, 1, 1], 1);
  head.writeUInt32LE(rows.length, 4);
  head.writeUInt16LE(32 + 32 * fields.length + 1, 8);
  head.writeUInt16LE(recordLength, 10);
  const descriptors = fields.map(([name, type, length, decimals]) => {
    const d = Buffer.alloc(32);
    d.write(name, 0, 'ascii');
    d.write(type, 11, 'ascii');
    d[16] = length;
    d[17] = decimals;
    return d;
  });
  const records = rows.map((row) => {
    const r = Buffer.alloc(recordLength, 0x20);
    let at = 1;
    fields.forEach(([name, type, length, decimals]) => {
      const v = row[name];
      const bytes = Buffer.from(type === 'N' ? Number(v).toFixed(decimals).padStart(length) : String(v ?? ''), 'utf8');
      if (bytes.length > length) throw new Error(`${name}: ${v} is longer than ${length} bytes`);
      bytes.copy(r, at);
      at += length;
    });
    return r;
  });
  return Buffer.concat([head, ...descriptors, Buffer.from([0x0d]), ...records, Buffer.from([0x1a])]);
}

/** A zip of `files` ([name, bytes]), deflated. */
export function zip(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, data] of files) {
    const packed = deflateRawSync(data);
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, packed);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/**
 * A zipped shapefile of houses: `houses` are { ring: closed [lon, lat] ring, unit_number, floor_area_m2,
 * floors, year_built, structure }, in WGS 84 as its .prj says.
 */
export function housesShapefileZip(houses, folder = 'survey') {
  const fields = [['unit_numbe', 'C', 28, 0], ['floor_area', 'N', 12, 2], ['floors', 'N', 2, 0], ['year_built', 'N', 4, 0],
    ['structure', 'C', 10, 0]];
  const rows = houses.map((h) => ({ unit_numbe: h.unit_number, floor_area: h.floor_area_m2, floors: h.floors,
    year_built: h.year_built, structure: h.structure }));
  return zip([
    [`${folder}/houses.shp`, shp(houses.map((h) => h.ring))],
    [`${folder}/houses.dbf`, dbf(fields, rows)],
    [`${folder}/houses.prj`, Buffer.from(WGS84_PRJ)],
    [`${folder}/houses.cpg`, Buffer.from('UTF-8')],
  ]);
}

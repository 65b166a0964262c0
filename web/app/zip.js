// Reading a .zip in the page (a zipped shapefile: its .shp, .dbf, .prj and .cpg are sent as the parts
// the import route takes). Stored and deflated entries; deflate is undone by the browser's
// DecompressionStream. Folders and files of other kinds are left out.

const WANTED = /\.(shp|dbf|prj|cpg|geojson|json|csv)$/i;

/** The files of zip `file` (a Blob) the import reads: [{ name, blob }], names without their folders. */
export async function readZip(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end of central directory record: its signature, searched from the end (a comment may follow it).
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error(`${file.name}: not a zip file`);
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const out = [];
  const decoder = new TextDecoder();
  for (let n = 0; n < count; n++) {
    if (view.getUint32(at, true) !== 0x02014b50) throw new Error(`${file.name}: damaged zip directory`);
    const method = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const path = decoder.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + extraLength + commentLength;
    const name = path.split('/').pop();
    if (!name || !WANTED.test(name) || name.startsWith('._')) continue;
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const data = bytes.subarray(start, start + size);
    let blob;
    if (method === 0) blob = new Blob([data]);
    else if (method === 8) blob = await new Response(new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate-raw'))).blob();
    else throw new Error(`${file.name}: ${name} is compressed in a way the page cannot read (method ${method})`);
    out.push({ name, blob });
  }
  if (!out.length) throw new Error(`${file.name}: holds no .shp, .geojson or .csv file`);
  return out;
}

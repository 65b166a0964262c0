// Plain GeoJSON arithmetic, shared by the page and its browser tests (no imports, so Node loads it too).

/** [min x, min y, max x, max y] of a GeoJSON geometry. */
export function bbox(geometry) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      minX = Math.min(minX, c[0]); maxX = Math.max(maxX, c[0]);
      minY = Math.min(minY, c[1]); maxY = Math.max(maxY, c[1]);
    } else c.forEach(walk);
  };
  walk(geometry.coordinates);
  return [minX, minY, maxX, maxY];
}

/** The middle of a geometry's box: [lon, lat]. */
export function centre(geometry) {
  const [minX, minY, maxX, maxY] = bbox(geometry);
  return [(minX + maxX) / 2, (minY + maxY) / 2];
}

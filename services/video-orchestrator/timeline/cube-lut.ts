/**
 * Adobe/Resolve `.cube` 3D LUTs, read into numbers and written back out by us: ffmpeg's lut3d
 * only ever reads a file we produced from validated values, never the uploaded text.
 */
export interface CubeLut {
  size: number;
  /** size³ RGB triples, red fastest (the .cube order), each 0–1. */
  table: number[];
}

export class CubeLutError extends Error {}

/** 33³ is the common grading size; larger only costs memory. */
export const MAX_LUT_SIZE = 33;

export function parseCubeLut(text: string): CubeLut {
  let size = 0;
  const table: number[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [keyword, ...rest] = line.split(/\s+/);
    if (keyword === 'TITLE') continue;
    if (keyword === 'LUT_3D_SIZE') {
      size = Number(rest[0]);
      if (!Number.isInteger(size) || size < 2 || size > MAX_LUT_SIZE) {
        throw new CubeLutError(`line ${i + 1}: LUT_3D_SIZE must be 2–${MAX_LUT_SIZE}`);
      }
      continue;
    }
    if (keyword === 'LUT_1D_SIZE') throw new CubeLutError('1D LUTs are not supported; send a 3D .cube');
    if (keyword === 'DOMAIN_MIN' || keyword === 'DOMAIN_MAX') {
      const expected = keyword === 'DOMAIN_MIN' ? 0 : 1;
      if (rest.length !== 3 || rest.some((v) => Number(v) !== expected)) {
        throw new CubeLutError(`line ${i + 1}: only the 0–1 domain is supported`);
      }
      continue;
    }
    const values = line.split(/\s+/).map(Number);
    if (values.length !== 3 || values.some((v) => !Number.isFinite(v))) {
      throw new CubeLutError(`line ${i + 1}: expected three numbers`);
    }
    if (size === 0) throw new CubeLutError(`line ${i + 1}: table before LUT_3D_SIZE`);
    table.push(...values.map((v) => Math.min(1, Math.max(0, v))));
  }
  if (size === 0) throw new CubeLutError('no LUT_3D_SIZE');
  if (table.length !== size ** 3 * 3) {
    throw new CubeLutError(`expected ${size ** 3} entries for LUT_3D_SIZE ${size}, got ${table.length / 3}`);
  }
  return { size, table };
}

export function toCube(lut: CubeLut): string {
  const rows: string[] = [`LUT_3D_SIZE ${lut.size}`];
  for (let i = 0; i < lut.table.length; i += 3) {
    rows.push(`${lut.table[i].toFixed(6)} ${lut.table[i + 1].toFixed(6)} ${lut.table[i + 2].toFixed(6)}`);
  }
  return `${rows.join('\n')}\n`;
}

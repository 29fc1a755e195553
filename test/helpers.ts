/** Shared test helpers: the optional ../shared samples, seeded randomness, reading and writing in memory. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadLayout, readAll, writeToBuffer, type ReadOptions, type WriteOptions } from '../core/codec';

export const ROOT = path.join(__dirname, '..', '..');

/** The real-format samples from ../shared, present here and in CI but not in a user's clone. */
export const SAMPLES_DIR = path.join(ROOT, '..', 'shared', 'fixtures', 'esr-go-samples');
export const HAVE_SAMPLES = fs.existsSync(SAMPLES_DIR);
export const SAMPLES_SKIP = HAVE_SAMPLES ? false : `skipped: ${SAMPLES_DIR} is not present (interop samples live beside the project in CI)`;

export function sample(name: string): string {
  return path.join(SAMPLES_DIR, name);
}

/** Seeded random numbers for property and fuzz tests (the synthetic trust's generator). */
export { random as rng } from '../core/synthetic/random';

export async function read(layoutId: string, input: string | Buffer, options: ReadOptions = {}) {
  return readAll(loadLayout(layoutId), typeof input === 'string' && !fs.existsSync(input) ? Buffer.from(input, 'latin1') : input, options);
}

export async function write(layoutId: string, records: unknown[], options: WriteOptions = {}): Promise<Buffer> {
  return writeToBuffer(loadLayout(layoutId), records, options);
}

/** A GO line with `count` fields: the record type then the given values, padded with empty fields. */
export function goLine(code: string, count: number, values: Record<number, string> = {}): string {
  const fields = [code];
  for (let pos = 2; pos <= count; pos++) fields.push(values[pos] ?? '');
  return fields.join('~');
}

/** A complete GO file (HDR, lines, TRL with the right count) as latin1 text. */
export function goFile(lines: string[], eol = '\n', name = 'GO_123_GDW_GOC_20261120_00000007.DAT'): string {
  const all = [`HDR~${name}~20261120 010203~123~20261119 000000~20261120 000000~01`, ...lines];
  all.push(`TRL~${all.length + 1}`);
  return all.join(eol) + eol;
}

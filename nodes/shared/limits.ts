/**
 * Bounds on what a node holds in memory for one file, so that no file can take the runtime down: past its bound a
 * node fails that one file (code TOO_MANY_RECORDS, TOO_MANY_PEOPLE or FILE_TOO_LARGE; esr-read's last message then
 * carries msg.reset) and goes on with the next. Each bound comes from the node's own option where it has one, else
 * `esrLimits` in Node-RED's settings.js, else the default below:
 *
 * ```js
 * // settings.js
 * esrLimits: { heldRecords: 500000, writeRecords: 500000, changesPeople: 500000, lookupBytes: 67108864 }
 * ```
 */
import type { NodeAPI } from './node-red';

export interface Limits {
  /** Records esr-read holds for one file: the whole-file mode's array, the person mode's `collect` grouping. */
  heldRecords: number;
  /** Records esr-write holds for one file it builds. */
  writeRecords: number;
  /** People esr-changes holds for one file (the snapshot of a feed has as many). */
  changesPeople: number;
  /** Bytes of one CSV file esr-map loads as a lookup table. */
  lookupBytes: number;
}

/**
 * The defaults. A record read from a GO file takes about 2 KB of heap as objects (a 100 MB GDW file, 573,192 lines,
 * peaked at 1.07 GB of heap in person mode), so 500,000 records is about 1 GB: well under Node's default heap limit
 * (about 4 GB on 64-bit), with room for the rest of the runtime.
 */
export const DEFAULT_LIMITS: Limits = { heldRecords: 500_000, writeRecords: 500_000, changesPeople: 500_000, lookupBytes: 64 * 1024 * 1024 };

/** A positive whole number, else undefined (an empty node option means "the settings' or the default bound"). */
function positive(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : undefined;
}

/** The bound `key`: the node's option (`own`) when set, else settings.js `esrLimits[key]`, else DEFAULT_LIMITS. */
export function limitFor(RED: NodeAPI, key: keyof Limits, own?: unknown): number {
  const set = RED.settings.esrLimits as Partial<Record<keyof Limits, unknown>> | undefined;
  return positive(own) ?? positive(set?.[key]) ?? DEFAULT_LIMITS[key];
}

/** An Error with a code and the bound it passed (the message names the file; never a value from it). */
export function limitError(message: string, code: 'TOO_MANY_RECORDS' | 'TOO_MANY_PEOPLE' | 'FILE_TOO_LARGE', limit: number): Error {
  return Object.assign(new Error(message), { code, limit });
}

/** Seeded pseudo-random numbers: the same seed always gives the same synthetic trust, on any machine. */

export type Random = () => number;

/** mulberry32: small, fast and good enough for test data (not for anything secret). */
export function random(seed: number): Random {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** An independent stream per (seed, name, index): person 12 is the same whatever the staff count. */
export function streamFor(seed: number, name: string, index: number): Random {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const c of `${name}:${index}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return random(h);
}

export const pick = <T>(r: Random, list: readonly T[]): T => list[Math.floor(r() * list.length)];
export const between = (r: Random, low: number, high: number): number => low + Math.floor(r() * (high - low + 1));

/** A date (YYYY-MM-DD) `days` after `iso`. */
export function addDays(iso: string, days: number): string {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export const compact = (iso: string): string => iso.replace(/-/g, '');

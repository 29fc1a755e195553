/**
 * Template helpers for what ESR data needs, used as mustache sections: {{#upper}}{{lastName}}{{/upper}}.
 * Each throws a MappingValueError (without the value: it may be personal data) when its input does not fit.
 */
export class MappingValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MappingValueError';
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function isoParts(s: string, helper: string): [string, string, string] {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T.*)?$/.exec(s);
  if (!m || !realDate(+m[1], +m[2], +m[3])) throw new MappingValueError(`${helper}: the value is not an ISO date (YYYY-MM-DD)`);
  return [m[1], m[2], m[3]];
}

function realDate(y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function fromParts(y: string, m: string, d: string, helper: string): string {
  if (!realDate(+y, +m, +d)) throw new MappingValueError(`${helper}: the value is not a real date`);
  return `${y}-${m}-${d}`;
}

/** Text transformations; an empty input gives an empty output. */
export const TEXT_HELPERS: Record<string, (s: string) => string> = {
  trim: (s) => s.trim(),
  upper: (s) => s.toUpperCase(),
  lower: (s) => s.toLowerCase(),
  /** ISO date (or date-time) -> YYYYMMDD */
  isoToYmd: (s) => isoParts(s, 'isoToYmd').join(''),
  /** YYYYMMDD -> ISO date */
  ymdToIso: (s) => {
    const m = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
    if (!m) throw new MappingValueError('ymdToIso: the value is not YYYYMMDD');
    return fromParts(m[1], m[2], m[3], 'ymdToIso');
  },
  /** ISO date -> dd-MMM-yyyy (08-Jul-2009), as TA files carry dates inside values */
  isoToDdMmmYyyy: (s) => {
    const [y, m, d] = isoParts(s, 'isoToDdMmmYyyy');
    return `${d}-${MONTHS[+m - 1]}-${y}`;
  },
  /** dd-MMM-yyyy -> ISO date */
  ddMmmYyyyToIso: (s) => {
    const m = /^(\d{2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
    const month = m ? MONTHS.findIndex((x) => x.toLowerCase() === m[2].toLowerCase()) + 1 : 0;
    if (!m || !month) throw new MappingValueError('ddMmmYyyyToIso: the value is not dd-MMM-yyyy');
    return fromParts(m[3], String(month).padStart(2, '0'), m[1], 'ddMmmYyyyToIso');
  },
  /** ISO date -> DD/MM/YYYY */
  isoToDmy: (s) => {
    const [y, m, d] = isoParts(s, 'isoToDmy');
    return `${d}/${m}/${y}`;
  },
  /** DD/MM/YYYY -> ISO date */
  dmyToIso: (s) => {
    const m = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(s);
    if (!m) throw new MappingValueError('dmyToIso: the value is not DD/MM/YYYY');
    return fromParts(m[3], m[2], m[1], 'dmyToIso');
  },
};

/** Helpers with a number: {{#zeroPad.8}}..{{/zeroPad.8}}, {{#padLeft.10}}, {{#padRight.10}}, {{#truncate.35}}. */
export const SIZED_HELPERS: Record<string, (s: string, n: number) => string> = {
  zeroPad: (s, n) => s.padStart(n, '0'),
  padLeft: (s, n) => s.padStart(n, ' '),
  padRight: (s, n) => s.padEnd(n, ' '),
  truncate: (s, n) => s.slice(0, n),
};

/** A value that starts like a spreadsheet formula, and is not a plain number, gets a leading apostrophe. */
export function spreadsheetSafe(value: string): string {
  if (!/^[=+\-@\t\r]/.test(value)) return value;
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(value)) return value; // numbers stay exact
  return `'${value}`;
}

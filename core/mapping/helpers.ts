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

/** The widest a padding helper may pad to (characters): a width is a field's length, never megabytes. */
export const MAX_PAD = 1000;

/** Helpers with a number: {{#zeroPad.8}}..{{/zeroPad.8}}, {{#padLeft.10}}, {{#padRight.10}}, {{#truncate.35}}. */
export const SIZED_HELPERS: Record<string, (s: string, n: number) => string> = {
  zeroPad: (s, n) => s.padStart(n, '0'),
  padLeft: (s, n) => s.padStart(n, ' '),
  padRight: (s, n) => s.padEnd(n, ' '),
  truncate: (s, n) => s.slice(0, n),
};

/** The helpers whose number is a width they pad to (bounded by MAX_PAD). */
export const PADDING_HELPERS = new Set(['zeroPad', 'padLeft', 'padRight']);

/**
 * What a spreadsheet skips before it looks for a formula: controls (NUL, LF …), format characters (BOM, zero-width
 * space, soft hyphen …), every kind of space and line or paragraph separator, combining marks and other characters
 * that draw nothing (Default_Ignorable_Code_Point, e.g. U+3164 Hangul filler).
 */
const INVISIBLE_RUN = /^[\p{Cc}\p{Cf}\p{Zs}\p{Zl}\p{Zp}\p{M}\p{Default_Ignorable_Code_Point}]+/u;
/** Characters that start a formula, also as their full-width and small forms (U+FF1D ＝, U+FE62 ﹢ …) via NFKC. */
const FORMULA_START = /^[=+\-@]/;

/**
 * A value that a spreadsheet could run as a formula gets a leading apostrophe; plain numbers stay exact.
 * A formula is `= + - @` (or any form of them that NFKC folds to one, e.g. full-width `＝`), or a tab or CR (OWASP),
 * at the start or after any run of invisible characters (see INVISIBLE_RUN).
 */
export function spreadsheetSafe(value: string): string {
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(value)) return value; // numbers stay exact
  if (/^[\t\r]/.test(value)) return `'${value}`;
  const rest = value.replace(INVISIBLE_RUN, '');
  const first = rest.codePointAt(0);
  if (first === undefined) return value;
  return FORMULA_START.test(String.fromCodePoint(first).normalize('NFKC')) ? `'${value}` : value;
}

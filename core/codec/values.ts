/**
 * Field values between their file form and their record form.
 * Dates become ISO strings; an all-zero date ("00000000 000000", ESR's "no previous run") becomes null.
 * Numbers stay text (validated) so that values such as "07.50" survive a round trip unchanged.
 */
import type { CompiledField } from './layout';

/** Returned by decodeValue when the text is not valid for the field's kind. */
export const INVALID = Symbol('invalid');

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digitsAt(s: string, start: number, count: number): boolean {
  for (let i = start; i < start + count; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Two digits at `i` as a number (caller has checked they are digits). */
function two(s: string, i: number): number {
  return (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48;
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1 || d > DAYS_IN_MONTH[m - 1]) return false;
  return m !== 2 || d < 29 || (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0));
}

/** "20240101" -> "2024-01-01"; "00000000" -> null. Hot path: char codes, no regular expressions. */
function decodeDate(s: string): string | null | typeof INVALID {
  if (s.length !== 8 || !digitsAt(s, 0, 8)) return INVALID;
  const y = two(s, 0) * 100 + two(s, 2);
  const m = two(s, 4);
  const d = two(s, 6);
  if (y === 0 && m === 0 && d === 0) return null;
  if (!validDate(y, m, d)) return INVALID;
  return s.slice(0, 4) + '-' + s.slice(4, 6) + '-' + s.slice(6, 8);
}

function validTime(h: number, m: number, sec: number): boolean {
  return h < 24 && m < 60 && sec < 60;
}

/** "20261120 101010" (or "20261120101010") -> "2026-11-20T10:10:10". */
function decodeTimestamp(s: string, separated: boolean, allowDateOnly: boolean): string | null | typeof INVALID {
  if (allowDateOnly && s.length === 8) return decodeDate(s);
  const t = separated ? 9 : 8;
  if (s.length !== t + 6 || !digitsAt(s, t, 6)) return INVALID;
  if (separated && s.charCodeAt(8) !== 32) return INVALID;
  const date = decodeDate(s.slice(0, 8));
  const hh = two(s, t);
  const mm = two(s, t + 2);
  const ss = two(s, t + 4);
  // All zeros: null, except where a bare date is also allowed, whose zero (00000000) already takes null.
  if (date === null) return hh === 0 && mm === 0 && ss === 0 ? (allowDateOnly ? ZERO_TIMESTAMP : null) : INVALID;
  if (date === INVALID || !validTime(hh, mm, ss)) return INVALID;
  return date + 'T' + s.slice(t, t + 2) + ':' + s.slice(t + 2, t + 4) + ':' + s.slice(t + 4, t + 6);
}

/** The all-zero timestamp of a field that also allows a bare date (where null stands for 00000000). */
export const ZERO_TIMESTAMP = '0000-00-00T00:00:00';

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

export function decodeValue(field: CompiledField, s: string): string | null | typeof INVALID {
  switch (field.kind) {
    case 'text':
      return s;
    case 'date':
      return decodeDate(s);
    case 'timestamp':
      return decodeTimestamp(s, field.format === 'YYYYMMDD HHMMSS', field.allowDateOnly);
    case 'time':
      return s.length === 5 && s[2] === ':' && digitsAt(s, 0, 2) && digitsAt(s, 3, 2) && validTime(two(s, 0), two(s, 3), 0)
        ? s
        : INVALID;
    case 'number':
      return NUMBER.test(s) ? s : INVALID;
  }
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/;

/** What a value of this kind must look like in a record (for error messages; never the value itself). */
export function expectedForm(field: CompiledField): string {
  switch (field.kind) {
    case 'date':
      return 'an ISO date YYYY-MM-DD (or null for an all-zero date)';
    case 'timestamp':
      return field.allowDateOnly
        ? 'an ISO date-time YYYY-MM-DDTHH:MM:SS or date YYYY-MM-DD (or null)'
        : 'an ISO date-time YYYY-MM-DDTHH:MM:SS (or null for an all-zero timestamp)';
    case 'time':
      return 'a time HH:MM';
    case 'number':
      return 'a number';
    default:
      return 'text';
  }
}

/** Record value -> file text, or INVALID. `undefined` and `''` are written as an empty field. */
export function encodeValue(field: CompiledField, v: unknown): string | typeof INVALID {
  if (v === undefined || v === '') return '';
  switch (field.kind) {
    case 'text':
      return typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : INVALID;
    case 'number': {
      const s = typeof v === 'number' && Number.isFinite(v) ? String(v) : v;
      return typeof s === 'string' && NUMBER.test(s) ? s : INVALID;
    }
    case 'time':
      return typeof v === 'string' && decodeValue(field, v) !== INVALID ? v : INVALID;
    case 'date': {
      if (v === null) return '00000000';
      const m = typeof v === 'string' ? ISO_DATE.exec(v) : null;
      if (!m || !validDate(+m[1], +m[2], +m[3])) return INVALID;
      return m[1] + m[2] + m[3];
    }
    case 'timestamp': {
      const sep = field.format === 'YYYYMMDD HHMMSS' ? ' ' : '';
      if (v === null) return field.allowDateOnly ? '00000000' : `00000000${sep}000000`;
      if (v === ZERO_TIMESTAMP && field.allowDateOnly) return `00000000${sep}000000`;
      if (typeof v !== 'string') return INVALID;
      const d = ISO_DATE.exec(v);
      if (d && field.allowDateOnly && validDate(+d[1], +d[2], +d[3])) return d[1] + d[2] + d[3];
      const m = ISO_DATETIME.exec(v);
      if (!m || !validDate(+m[1], +m[2], +m[3]) || !validTime(+m[4], +m[5], +m[6])) return INVALID;
      return `${m[1]}${m[2]}${m[3]}${sep}${m[4]}${m[5]}${m[6]}`;
    }
  }
}

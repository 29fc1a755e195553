/**
 * The mapping engine: rules "target field <- template" turn one record into another, in either direction (ESR
 * records to a target system's fields, or a target system's rows to ESR records for the writer).
 * Templates are mustache rendered WITHOUT HTML escaping ("O'Brien & Sons" stays exactly that), with the helpers of
 * helpers.ts and lookup tables as sections. Everything is compiled and checked once, when the mapping is built.
 */
import Mustache from 'mustache';
import { parse as parseCsv } from 'csv-parse/sync';
import { MappingValueError, SIZED_HELPERS, TEXT_HELPERS, spreadsheetSafe } from './helpers';

export interface MappingRule {
  /** Output property; dots make nested objects ("address.postcode"). */
  target: string;
  template: string;
}

export interface LookupTable {
  name: string;
  entries: Record<string, string>;
  /** Used when a value has no entry; without it a missing entry is an error. */
  fallback?: string;
}

export interface MappingOptions {
  rules: MappingRule[];
  lookups?: LookupTable[];
  /** Only records of these types are mapped (others are dropped); empty means all. */
  recordTypes?: string[];
  /** A template: the record is mapped only when it renders to something other than "", "false" or "0". */
  condition?: string;
  /** Neutralise values that a spreadsheet would run as a formula (for CSV targets); numbers stay exact. */
  spreadsheetSafe?: boolean;
  /** Keep empty values as "" instead of leaving the property out. */
  keepEmpty?: boolean;
}

export class MappingError extends Error {
  constructor(
    message: string,
    readonly rule?: number,
    readonly target?: string,
  ) {
    super(message);
    this.name = 'MappingError';
  }
}

type Token = [string, string, number, number, Token[]?, number?];

const NO_ESCAPE = { escape: (s: string) => s };
const TARGET = /^[A-Za-z0-9_$]+(\.[A-Za-z0-9_$]+)*$/;
/** Property names that would reach Object.prototype instead of the output. */
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);
const HELPER_NAMES = [...Object.keys(TEXT_HELPERS), ...Object.keys(SIZED_HELPERS), 'lookup'];

/** The helpers layer every template sees beneath the record: {{#upper}}, {{#lookup.name}}, {{msg.topic}} ... */
function helperView(lookups: Map<string, LookupTable>, msg: unknown): Record<string, unknown> {
  const view: Record<string, unknown> = { msg };
  // An empty value stays empty whatever the helper (zero-padding nothing must not invent 00000000).
  const apply = (value: string, fn: (s: string) => string) => (value === '' ? '' : fn(value));
  for (const [name, fn] of Object.entries(TEXT_HELPERS)) view[name] = () => (text: string, render: (t: string) => string) => apply(render(text), fn);
  for (const [name, fn] of Object.entries(SIZED_HELPERS)) {
    view[name] = new Proxy(
      {},
      {
        has: (_t, size) => typeof size === 'string' && /^\d+$/.test(size),
        get: (_t, size) => {
          const n = Number(size);
          if (!Number.isInteger(n) || n < 0) return undefined;
          return () => (text: string, render: (t: string) => string) => apply(render(text), (v) => fn(v, n));
        },
      },
    );
  }
  const lookup: Record<string, unknown> = {};
  for (const table of lookups.values()) {
    lookup[table.name] = () => (text: string, render: (t: string) => string) => {
      const key = render(text);
      if (key === '') return '';
      if (Object.prototype.hasOwnProperty.call(table.entries, key)) return table.entries[key];
      if (table.fallback !== undefined) return table.fallback;
      throw new MappingValueError(`lookup "${table.name}" has no entry for the value`);
    };
  }
  view.lookup = lookup;
  return view;
}

/** Section names a template uses that must exist: helpers and lookup tables. */
function checkSections(tokens: Token[], lookups: Map<string, LookupTable>, where: string): void {
  for (const token of tokens) {
    const [type, name] = token;
    const head = String(name ?? '').split('.')[0];
    if ((type === 'name' || type === '&') && HELPER_NAMES.includes(head)) {
      throw new MappingError(`${where}: {{${name}}} is a helper: use it as a section, e.g. {{#${name}}}{{lastName}}{{/${name}}}`);
    }
    if (type === '#' || type === '^') {
      const near = HELPER_NAMES.find((h) => h !== head && h.toLowerCase() === head.toLowerCase());
      if (near) throw new MappingError(`${where}: {{#${name}}} is not a helper; did you mean {{#${near}}}?`);
      if (name.startsWith('lookup.')) {
        const table = name.slice('lookup.'.length);
        if (!lookups.has(table)) throw new MappingError(`${where}: lookup table "${table}" is not defined`);
      } else {
        const [helper, size] = name.split('.');
        if (helper in SIZED_HELPERS && (size === undefined || !/^\d+$/.test(size))) {
          throw new MappingError(`${where}: {{#${helper}.N}} needs a number, e.g. {{#${helper}.8}}`);
        }
      }
      if (token[4]) checkSections(token[4], lookups, where);
    }
  }
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let obj = target;
  for (const p of parts.slice(0, -1)) {
    if (typeof obj[p] !== 'object' || obj[p] === null) obj[p] = {};
    obj = obj[p] as Record<string, unknown>;
  }
  obj[parts[parts.length - 1]] = value;
}

export interface Mapper {
  /** The mapped object, or undefined when the record is filtered out. Throws MappingError naming the rule. */
  map(record: Record<string, unknown>, msg?: unknown): Record<string, unknown> | undefined;
}

export function compileMapping(options: MappingOptions): Mapper {
  const lookups = new Map<string, LookupTable>();
  for (const t of options.lookups ?? []) {
    if (!t.name || !/^[A-Za-z0-9_-]+$/.test(t.name)) throw new MappingError(`lookup table name "${t.name}" must be letters, digits, _ or -`);
    if (lookups.has(t.name)) throw new MappingError(`lookup table "${t.name}" is defined twice`);
    lookups.set(t.name, t);
  }
  if (!Array.isArray(options.rules) || options.rules.length === 0) throw new MappingError('a mapping needs at least one rule');
  const rules = options.rules.map((rule, i) => {
    const where = `rule ${i + 1} (${rule.target || 'no target'})`;
    if (!rule.target || !TARGET.test(rule.target) || rule.target.split('.').some((p) => FORBIDDEN.has(p))) {
      throw new MappingError(`${where}: the target must be a property name (dots for nesting)`, i + 1, rule.target);
    }
    let tokens: Token[];
    try {
      tokens = Mustache.parse(rule.template ?? '') as unknown as Token[];
    } catch (err) {
      throw new MappingError(`${where}: the template does not parse: ${(err as Error).message}`, i + 1, rule.target);
    }
    checkSections(tokens, lookups, where);
    return { ...rule, index: i + 1 };
  });
  let condition: string | undefined;
  if (options.condition?.trim()) {
    try {
      checkSections(Mustache.parse(options.condition) as unknown as Token[], lookups, 'condition');
    } catch (err) {
      if (err instanceof MappingError) throw err;
      throw new MappingError(`condition: the template does not parse: ${(err as Error).message}`);
    }
    condition = options.condition;
  }
  const types = new Set((options.recordTypes ?? []).map((t) => t.trim()).filter(Boolean));

  return {
    map(record, msg) {
      if (types.size && !types.has(String(record.recordType))) return undefined;
      const context = new Mustache.Context(record, new Mustache.Context(helperView(lookups, msg)));
      const render = (template: string, where: string, rule?: number, target?: string) => {
        try {
          return Mustache.render(template, context as never, undefined, NO_ESCAPE);
        } catch (err) {
          throw new MappingError(`${where}: ${(err as Error).message}`, rule, target);
        }
      };
      if (condition !== undefined) {
        const c = render(condition, 'condition').trim();
        if (c === '' || c === 'false' || c === '0') return undefined;
      }
      const out: Record<string, unknown> = {};
      for (const rule of rules) {
        let value = render(rule.template, `rule ${rule.index} (${rule.target})`, rule.index, rule.target);
        if (value === '' && !options.keepEmpty) continue;
        if (options.spreadsheetSafe) value = spreadsheetSafe(value);
        setPath(out, rule.target, value);
      }
      return out;
    },
  };
}

/** A lookup table from CSV text: first column the key, second the value; a header row is skipped when asked. */
export function lookupFromCsv(name: string, csv: string, options: { header?: boolean; fallback?: string } = {}): LookupTable {
  let rows: string[][];
  try {
    rows = parseCsv(csv, { relax_column_count: true, skip_empty_lines: true, trim: true, bom: true }) as string[][];
  } catch (err) {
    throw new MappingError(`lookup "${name}": the CSV does not parse (${(err as { code?: string }).code ?? 'error'})`);
  }
  const entries: Record<string, string> = {};
  rows.slice(options.header ? 1 : 0).forEach((row, i) => {
    if (row.length < 2) throw new MappingError(`lookup "${name}": CSV row ${i + 1 + (options.header ? 1 : 0)} needs two columns`);
    entries[row[0]] = row[1];
  });
  return { name, entries, fallback: options.fallback };
}

/** A lookup table from "key=value" lines (as typed in the editor). */
export function lookupFromLines(name: string, text: string, fallback?: string): LookupTable {
  const entries: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const eq = line.indexOf('=');
    if (eq < 0) throw new MappingError(`lookup "${name}": line ${i + 1} needs key=value`);
    entries[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  });
  return { name, entries, fallback };
}

export { MappingValueError };

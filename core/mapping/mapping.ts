/**
 * The mapping engine: rules "target field <- template" turn one record into another, in either direction (ESR
 * records to a target system's fields, or a target system's rows to ESR records for the writer).
 * Templates are mustache rendered WITHOUT HTML escaping ("O'Brien & Sons" stays exactly that), with the helpers of
 * helpers.ts and lookup tables as sections. Everything is compiled and checked once, when the mapping is built.
 * Each mapping renders with its own mustache writer, so that its parsed templates live and die with it (mustache's
 * global cache would keep every template "Try it" was ever sent), and each map() may be given an output budget.
 */
import Mustache from 'mustache';
import { parse as parseCsv } from 'csv-parse/sync';
import { MAX_PAD, MappingValueError, PADDING_HELPERS, SIZED_HELPERS, TEXT_HELPERS, spreadsheetSafe } from './helpers';
import { decodeLookup, LookupDecodeError, type LookupEncoding } from './decode';

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
  /**
   * The most characters one map() may render (all rules and the condition together; a helper's output counts as
   * well as what it was given, so nested helpers count more than once). Beyond it map() throws a MappingError with
   * code OUTPUT_TOO_LARGE, as soon as the limit is passed. Unset: no limit.
   */
  maxOutputChars?: number;
}

/** A mapping that cannot be built or a record it cannot map. `code` when there is one (OUTPUT_TOO_LARGE, CSV_…). */
export class MappingError extends Error {
  constructor(
    message: string,
    readonly rule?: number,
    readonly target?: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'MappingError';
  }
}

/** Thrown inside a render when the output budget is spent; map() turns it into a MappingError naming the rule. */
class OutputTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the rendered output is larger than ${limit} characters`);
  }
}

/** A mustache writer that counts what it renders against a budget (see MappingOptions.maxOutputChars). */
class BudgetWriter extends Mustache.Writer {
  private left = Infinity;
  private limit = Infinity;

  /** Starts a new budget of `limit` characters (Infinity: none). */
  budget(limit: number): void {
    this.limit = limit;
    this.left = limit;
  }

  /** Counts `n` characters of output; throws OutputTooLarge once the budget is spent. */
  spend(n: number): void {
    this.left -= n;
    if (this.left < 0) throw new OutputTooLarge(this.limit);
  }

  private counted<T>(value: T): T {
    if (value !== undefined && value !== null) this.spend(String(value).length);
    return value;
  }

  /** Parsed templates by text (default tags only): mustache's own cache builds a key string at every lookup. */
  private readonly parsed = new Map<string, unknown>();

  override parse(template: string, tags?: Mustache.OpeningAndClosingTags): Mustache.TemplateSpans {
    if (tags !== undefined) return super.parse(template, tags);
    let tokens = this.parsed.get(template);
    if (tokens === undefined) this.parsed.set(template, (tokens = super.parse(template)));
    return tokens as Mustache.TemplateSpans;
  }

  override rawValue(token: string[]): string {
    return this.counted(super.rawValue(token));
  }

  override escapedValue(token: string[], context: Mustache.Context, config?: Mustache.RenderOptions): string {
    return this.counted(super.escapedValue(token, context, config as never));
  }

  override unescapedValue(token: string[], context: Mustache.Context): string {
    return this.counted(super.unescapedValue(token, context));
  }
}

type Token = [string, string, number, number, Token[]?, number?];

const NO_ESCAPE = { escape: (s: string) => s };
const TARGET = /^[A-Za-z0-9_$]+(\.[A-Za-z0-9_$]+)*$/;
/** Property names that would reach Object.prototype instead of the output. */
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);
const HELPER_NAMES = [...Object.keys(TEXT_HELPERS), ...Object.keys(SIZED_HELPERS), 'lookup'];

/**
 * What a mapping's helpers need of the record being mapped: the message it came with (for {{msg.…}}). Set before
 * each map(); map() is synchronous, so one holder per mapping serves every record.
 */
interface RenderState {
  msg: unknown;
}

/**
 * The helpers layer every template sees beneath the record: {{#upper}}, {{#zeroPad.8}}, {{#lookup.name}},
 * {{msg.topic}} ... Built once per mapping (not per record): `state.msg` is read when a template asks for msg,
 * `spend` counts output against the mapping's budget, and the sized helpers hold only the sizes its templates use
 * (`sizes`, collected and checked by checkSections).
 */
function helperView(lookups: Map<string, LookupTable>, sizes: Map<string, Set<string>>, state: RenderState, spend: (n: number) => void): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  Object.defineProperty(view, 'msg', { enumerable: true, get: () => state.msg });
  // An empty value stays empty whatever the helper (zero-padding nothing must not invent 00000000).
  const helper = (fn: (s: string) => string) => {
    const lambda = (text: string, render: (t: string) => string) => {
      const value = render(text);
      const out = value === '' ? '' : fn(value);
      spend(out.length);
      return out;
    };
    return () => lambda;
  };
  for (const [name, fn] of Object.entries(TEXT_HELPERS)) view[name] = helper(fn);
  for (const [name, fn] of Object.entries(SIZED_HELPERS)) {
    const bySize: Record<string, unknown> = {};
    for (const size of sizes.get(name) ?? []) {
      const n = Number(size);
      bySize[size] = helper((v) => fn(v, n));
    }
    view[name] = bySize;
  }
  const lookup: Record<string, unknown> = {};
  for (const table of lookups.values()) {
    const lambda = (text: string, render: (t: string) => string) => {
      const key = render(text);
      if (key === '') return '';
      const found = Object.prototype.hasOwnProperty.call(table.entries, key) ? table.entries[key] : table.fallback;
      if (found !== undefined) {
        spend(found.length);
        return found;
      }
      throw new MappingValueError(`lookup "${table.name}" has no entry for the value`);
    };
    lookup[table.name] = () => lambda;
  }
  view.lookup = lookup;
  return view;
}

/** Section names a template uses that must exist: helpers and lookup tables. */
function checkSections(tokens: Token[], lookups: Map<string, LookupTable>, where: string, sizes: Map<string, Set<string>>): void {
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
        if (PADDING_HELPERS.has(helper) && Number(size) > MAX_PAD) {
          throw new MappingError(`${where}: {{#${helper}.N}} pads to at most ${MAX_PAD} characters`);
        }
        if (helper in SIZED_HELPERS) {
          if (!sizes.has(helper)) sizes.set(helper, new Set());
          sizes.get(helper)!.add(size);
        }
      }
      if (token[4]) checkSections(token[4], lookups, where, sizes);
    }
  }
}

/** Sets `value` at `path` (a target split at its dots once, when the mapping is built), making nested objects. */
function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let obj = target;
  for (let i = 0; i < path.length - 1; i++) {
    const p = path[i];
    if (typeof obj[p] !== 'object' || obj[p] === null) obj[p] = {};
    obj = obj[p] as Record<string, unknown>;
  }
  obj[path[path.length - 1]] = value;
}

export interface Mapper {
  /** The mapped object, or undefined when the record is filtered out. Throws MappingError naming the rule. */
  map(record: Record<string, unknown>, msg?: unknown): Record<string, unknown> | undefined;
}

/**
 * Builds a Mapper from `options`, checking every template, target and lookup now.
 * Throws MappingError naming the rule (`rule`, `target`) or the condition.
 */
export function compileMapping(options: MappingOptions): Mapper {
  const writer = new BudgetWriter();
  const lookups = new Map<string, LookupTable>();
  const sizes = new Map<string, Set<string>>();
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
      tokens = writer.parse(rule.template ?? '') as unknown as Token[];
    } catch (err) {
      throw new MappingError(`${where}: the template does not parse: ${(err as Error).message}`, i + 1, rule.target);
    }
    try {
      checkSections(tokens, lookups, where, sizes);
    } catch (err) {
      if (err instanceof MappingError) throw new MappingError(err.message, i + 1, rule.target);
      throw err;
    }
    return { target: rule.target, template: rule.template ?? '', tokens, path: rule.target.split('.'), index: i + 1, where };
  });
  let condition: { template: string; tokens: Token[] } | undefined;
  if (options.condition?.trim()) {
    try {
      const tokens = writer.parse(options.condition) as unknown as Token[];
      checkSections(tokens, lookups, 'condition', sizes);
      condition = { template: options.condition, tokens };
    } catch (err) {
      if (err instanceof MappingError) throw err;
      throw new MappingError(`condition: the template does not parse: ${(err as Error).message}`);
    }
  }
  const types = new Set((options.recordTypes ?? []).map((t) => t.trim()).filter(Boolean));

  // The helpers are built once for the mapping; each map() sets the record's message in `state`.
  const state: RenderState = { msg: undefined };
  const helpers = new Mustache.Context(helperView(lookups, sizes, state, (n) => writer.spend(n)));
  const limit = options.maxOutputChars ?? Infinity;
  const render = (template: string, tokens: Token[], context: Mustache.Context, where: string, rule?: number, target?: string): string => {
    try {
      return (writer as unknown as { renderTokens(t: unknown, c: unknown, p: unknown, o: string, config: unknown): string }).renderTokens(tokens, context, undefined, template, NO_ESCAPE);
    } catch (err) {
      if (err instanceof OutputTooLarge) throw new MappingError(`${where}: ${err.message}`, rule, target, 'OUTPUT_TOO_LARGE');
      throw new MappingError(`${where}: ${(err as Error).message}`, rule, target);
    }
  };

  return {
    map(record, msg) {
      if (types.size && !types.has(String(record.recordType))) return undefined;
      writer.budget(limit);
      state.msg = msg;
      try {
        // A new context per record: mustache caches the names it looked up in it.
        const context = new Mustache.Context(record, helpers);
        if (condition !== undefined) {
          const c = render(condition.template, condition.tokens, context, 'condition').trim();
          if (c === '' || c === 'false' || c === '0') return undefined;
        }
        const out: Record<string, unknown> = {};
        for (const rule of rules) {
          let value = render(rule.template, rule.tokens, context, rule.where, rule.index, rule.target);
          if (value === '' && !options.keepEmpty) continue;
          if (options.spreadsheetSafe) value = spreadsheetSafe(value);
          setPath(out, rule.path, value);
        }
        return out;
      } finally {
        state.msg = undefined; // the mapping keeps no message after map()
      }
    },
  };
}

/** How a CSV lookup file is read. */
export interface CsvLookupOptions {
  /** The first row is a header, skipped. */
  header?: boolean;
  /** Used when a value has no entry. */
  fallback?: string;
  /** For bytes: how they are decoded (default UTF-8, strictly: bytes that are not UTF-8 are an error). */
  encoding?: LookupEncoding;
  /** The file's name or path, for errors. */
  file?: string;
}

/**
 * A lookup table from a CSV file's bytes (decoded as `options.encoding`) or text: first column the key, second the
 * value; a header row is skipped when asked. Throws MappingError naming the table, the file and the line, with a code
 * (LOOKUP_NOT_UTF8, csv-parse's CSV_… codes, LOOKUP_COLUMNS); never a value from the file.
 */
export function lookupFromCsv(name: string, csv: string | Uint8Array, options: CsvLookupOptions = {}): LookupTable {
  const where = (line: number) => `lookup "${name}": ${options.file ? `${options.file} line ${line}` : `CSV line ${line}`}`;
  let text: string;
  try {
    text = typeof csv === 'string' ? csv : decodeLookup(csv, options.encoding);
  } catch (err) {
    if (err instanceof LookupDecodeError) throw new MappingError(`${where(err.line)}: ${err.message.replace(/^line \d+: /, '')}`, undefined, undefined, err.code);
    throw err;
  }
  let rows: { record: string[]; info: { lines: number } }[];
  let lastLine = 0;
  try {
    rows = parseCsv(text, {
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
      bom: true,
      info: true,
      on_record: (row: unknown, context: { lines: number }) => {
        lastLine = context.lines;
        return row;
      },
    } as never) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    const e = err as { code?: string; lines?: number };
    // An unclosed quote is found at the end of the file: name the line the unfinished row starts on.
    const line = e.code === 'CSV_QUOTE_NOT_CLOSED' ? firstNonEmptyLineAfter(text, lastLine) : (e.lines ?? lastLine + 1);
    throw new MappingError(`${where(line)}: the CSV does not parse [${e.code ?? 'CSV_ERROR'}]`, undefined, undefined, e.code ?? 'CSV_ERROR');
  }
  const entries: Record<string, string> = {};
  rows.slice(options.header ? 1 : 0).forEach(({ record, info }) => {
    if (record.length < 2) throw new MappingError(`${where(info.lines)}: needs two columns (key,value) [LOOKUP_COLUMNS]`, undefined, undefined, 'LOOKUP_COLUMNS');
    entries[record[0]] = record[1];
  });
  return { name, entries, fallback: options.fallback };
}

/** The number (1-based) of the first non-blank line after line `after`. */
function firstNonEmptyLineAfter(text: string, after: number): number {
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = after; i < lines.length; i++) if (lines[i].trim() !== '') return i + 1;
  return after + 1;
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

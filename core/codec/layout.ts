/**
 * Loads, validates and compiles layout files. A layout is data (see layout-types.ts and docs/layouts.md);
 * this module turns it into the lookup tables the reader and writer use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FieldKind, FieldSpec, Layout, RecordTypeSpec } from './layout-types';

export class LayoutError extends Error {
  constructor(
    message: string,
    readonly source: string,
    readonly jsonPath: string,
  ) {
    super(`${source}: ${jsonPath ? jsonPath + ': ' : ''}${message}`);
    this.name = 'LayoutError';
  }
}

export interface CompiledField {
  name: string;
  key: string;
  kind: FieldKind;
  required: boolean;
  spare: boolean;
  quoted: boolean;
  format: string;
  allowDateOnly: boolean;
  default?: string;
  /** 1-based position in the line; the record type is position 1. */
  pos: number;
}

export interface CompiledRecordType {
  code: string;
  deleteCode?: string;
  name: string;
  fields: CompiledField[];
  /** Accepted field counts including the record type. */
  counts: number[];
  /** Field count written by default. */
  defaultCount: number;
  maxCount: number;
  idField?: string;
  personField?: string;
  effectiveFrom?: string;
  effectiveTo?: string;
  opaque: boolean;
  fieldsByKey: Map<string, CompiledField>;
}

export interface CompiledLayout {
  spec: Layout;
  id: string;
  source: string;
  header?: CompiledRecordType & { fileNameField?: string };
  trailer?: CompiledRecordType & { countField: string; count: 'allLines' | { recordTypes: string[] } };
  /** Add/update codes and the special header/trailer codes. */
  byCode: Map<string, CompiledRecordType>;
  /** Delete codes, mapped to the record type they delete. */
  byDeleteCode: Map<string, CompiledRecordType>;
  recordTypes: CompiledRecordType[];
}

const KINDS: FieldKind[] = ['text', 'date', 'timestamp', 'time', 'number'];
const FORMATS = ['YYYYMMDD', 'YYYYMMDD HHMMSS', 'YYYYMMDDHHMMSS'];
const DEFAULT_FORMAT: Record<FieldKind, string> = {
  text: '',
  number: '',
  time: 'HH:MM',
  date: 'YYYYMMDD',
  timestamp: 'YYYYMMDD HHMMSS',
};

/** ESR field name to record key: "Person ID" -> "personId", "NHS CRS UUID" -> "nhsCrsUuid". */
export function keyForName(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return words
    .map((w, i) => (i === 0 ? w.toLowerCase() : w[0].toUpperCase() + w.slice(1).toLowerCase()))
    .join('');
}

export const BUILT_IN_DIR = path.join(__dirname, 'layouts');

export function builtInLayoutIds(): string[] {
  return fs
    .readdirSync(BUILT_IN_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

const cache = new Map<string, CompiledLayout>();

/** A built-in layout id ("go-gdw") or the path of a trust-supplied layout file. */
export function loadLayout(idOrPath: string): CompiledLayout {
  const cached = cache.get(idOrPath);
  if (cached) return cached;
  const builtIn = /^[a-z0-9-]+$/.test(idOrPath) && builtInLayoutIds().includes(idOrPath);
  const file = builtIn ? path.join(BUILT_IN_DIR, idOrPath + '.json') : path.resolve(idOrPath);
  const source = builtIn ? `layout ${idOrPath}` : file;
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = builtIn ? '' : ` (not a built-in layout id: ${builtInLayoutIds().join(', ')})`;
    throw new LayoutError(`cannot read layout file (${code})${hint}`, source, '');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new LayoutError(`not valid JSON: ${(err as Error).message}`, source, '');
  }
  const compiled = compileLayout(json, source);
  if (builtIn) cache.set(idOrPath, compiled);
  return compiled;
}

/** Validates a parsed layout object and builds the reader/writer tables. Throws LayoutError naming the bad path. */
export function compileLayout(json: unknown, source = 'layout'): CompiledLayout {
  const fail = (jsonPath: string, message: string): never => {
    throw new LayoutError(message, source, jsonPath);
  };
  const obj = (v: unknown, p: string): Record<string, unknown> => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(p, 'must be an object');
    return v as Record<string, unknown>;
  };
  const str = (o: Record<string, unknown>, k: string, p: string, optional = false): string | undefined => {
    const v = o[k];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || v === '') fail(`${p}${p ? '.' : ''}${k}`, 'must be a non-empty string');
    return v as string;
  };
  const oneOf = <T extends string>(o: Record<string, unknown>, k: string, p: string, allowed: readonly T[], dflt?: T): T => {
    const v = o[k] ?? dflt;
    if (!allowed.includes(v as T)) fail(`${p}${p ? '.' : ''}${k}`, `must be one of ${allowed.join(', ')}`);
    return v as T;
  };
  const bool = (o: Record<string, unknown>, k: string, p: string): boolean => {
    const v = o[k];
    if (v === undefined) return false;
    if (typeof v !== 'boolean') fail(`${p}.${k}`, 'must be true or false');
    return v as boolean;
  };

  const only = (o: Record<string, unknown>, p: string, allowed: string[]) => {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${p}${p ? '.' : ''}${k}`, 'unknown property');
  };
  const root = obj(json, '');
  only(root, '', ['id', 'title', 'direction', 'unofficial', 'description', 'sources', 'delimiter', 'quoting', 'quoteEmpty', 'encoding', 'lineEnding', 'finalNewline', 'fragments', 'header', 'trailer', 'recordTypes', 'fileName']);
  if (root.quoteEmpty !== undefined && typeof root.quoteEmpty !== 'boolean') fail('quoteEmpty', 'must be true or false');
  if (root.unofficial !== undefined && typeof root.unofficial !== 'boolean') fail('unofficial', 'must be true or false');
  if (root.description !== undefined && typeof root.description !== 'string') fail('description', 'must be a string');
  if (root.sources !== undefined && !(Array.isArray(root.sources) && root.sources.every((x) => typeof x === 'string'))) {
    fail('sources', 'must be an array of strings');
  }
  const id = str(root, 'id', '')!;
  str(root, 'title', '');
  oneOf(root, 'direction', '', ['outbound', 'inbound'] as const);
  const delimiter = str(root, 'delimiter', '')!;
  if (/["\r\n]/.test(delimiter)) fail('delimiter', 'must not contain a quote or a line break');
  const quoting = oneOf(root, 'quoting', '', ['none', 'fields'] as const);
  oneOf(root, 'encoding', '', ['latin1', 'ascii', 'utf8'] as const);
  oneOf(root, 'lineEnding', '', ['lf', 'crlf', 'cr'] as const);
  if (typeof root.finalNewline !== 'boolean') fail('finalNewline', 'must be true or false');
  if (root.fragments !== undefined && typeof root.fragments !== 'boolean') fail('fragments', 'must be true or false');

  const compileFields = (list: unknown, p: string): CompiledField[] => {
    if (!Array.isArray(list)) fail(p, 'must be an array');
    const seen = new Set<string>();
    return (list as unknown[]).map((raw, i) => {
      const fp = `${p}[${i}]`;
      const f = obj(raw, fp);
      for (const k of Object.keys(f)) {
        if (!['name', 'key', 'kind', 'required', 'spare', 'quoted', 'format', 'allowDateOnly', 'default', 'note'].includes(k)) {
          fail(`${fp}.${k}`, 'unknown property');
        }
      }
      const name = str(f, 'name', fp)!;
      const key = str(f, 'key', fp, true) ?? keyForName(name);
      if (!/^[A-Za-z0-9]+$/.test(key)) fail(`${fp}.key`, `"${key}" must be letters and digits only`);
      if (key === 'recordType' || key.startsWith('_') || key === 'values') fail(`${fp}.key`, `"${key}" is reserved (give the field another key)`);
      if (seen.has(key)) fail(`${fp}.key`, `duplicate key "${key}" (give the field an explicit key)`);
      seen.add(key);
      const kind = oneOf(f, 'kind', fp, KINDS, 'text');
      const format = f.format === undefined ? DEFAULT_FORMAT[kind] : oneOf(f, 'format', fp, FORMATS);
      if (f.format !== undefined && kind !== 'date' && kind !== 'timestamp') fail(`${fp}.format`, 'only for date and timestamp fields');
      if (kind === 'date' && format !== 'YYYYMMDD') fail(`${fp}.format`, 'a date field has format YYYYMMDD');
      if (kind === 'timestamp' && format === 'YYYYMMDD') fail(`${fp}.format`, 'a timestamp field needs a time part');
      const quoted = bool(f, 'quoted', fp);
      if (quoted && quoting !== 'fields') fail(`${fp}.quoted`, 'only in layouts with "quoting": "fields"');
      if (f.note !== undefined && typeof f.note !== 'string') fail(`${fp}.note`, 'must be a string');
      if (f.default !== undefined && typeof f.default !== 'string') fail(`${fp}.default`, 'must be a string');
      return {
        name,
        key,
        kind,
        required: bool(f, 'required', fp),
        spare: bool(f, 'spare', fp),
        quoted,
        format,
        allowDateOnly: bool(f, 'allowDateOnly', fp),
        default: f.default as string | undefined,
        pos: i + 2,
      };
    });
  };

  const compileRecordType = (raw: unknown, p: string, codeKey: string): CompiledRecordType => {
    const r = obj(raw, p);
    only(r, p, codeKey === 'code'
      ? ['code', 'deleteCode', 'name', 'fields', 'fieldCounts', 'idField', 'personField', 'effectiveFrom', 'effectiveTo', 'opaque', 'note']
      : codeKey === 'recordType' && p === 'header' ? ['recordType', 'fields', 'fieldCounts', 'fileNameField', 'note'] : ['recordType', 'fields', 'fieldCounts', 'countField', 'count', 'note']);
    const code = str(r, codeKey, p)!;
    if (code.includes(delimiter) || /["\r\n]/.test(code)) fail(`${p}.${codeKey}`, 'must not contain the delimiter, a quote or a line break');
    const fields = compileFields(r.fields, `${p}.fields`);
    const full = fields.length + 1;
    let counts = [full];
    if (r.fieldCounts !== undefined) {
      const fc = r.fieldCounts;
      if (!Array.isArray(fc) || fc.length === 0 || !fc.every((n) => Number.isInteger(n) && n >= 1)) {
        fail(`${p}.fieldCounts`, 'must be a non-empty array of whole numbers');
      }
      counts = fc as number[];
      if (!r.opaque && counts.some((n) => n > full)) fail(`${p}.fieldCounts`, `no count may exceed the ${full} fields listed`);
      if (!r.opaque && !counts.includes(full)) fail(`${p}.fieldCounts`, `must include ${full}, the number of fields listed`);
    }
    const fieldsByKey = new Map(fields.map((f) => [f.key, f]));
    const keyRef = (k: string): string | undefined => {
      const v = str(r, k, p, true);
      if (v !== undefined && !fieldsByKey.has(v)) fail(`${p}.${k}`, `"${v}" is not the key of a field of this record type`);
      return v;
    };
    const deleteCode = str(r, 'deleteCode', p, true);
    if (deleteCode !== undefined && (deleteCode.includes(delimiter) || /["\r\n]/.test(deleteCode))) {
      fail(`${p}.deleteCode`, 'must not contain the delimiter, a quote or a line break');
    }
    const idField = keyRef('idField');
    if (deleteCode && !idField) fail(`${p}.idField`, 'needed when a deleteCode is given (the delete row carries this ID)');
    return {
      code,
      deleteCode,
      name: typeof r.name === 'string' ? r.name : code,
      fields,
      counts,
      defaultCount: counts[0],
      maxCount: Math.max(...counts),
      idField,
      personField: keyRef('personField'),
      effectiveFrom: keyRef('effectiveFrom'),
      effectiveTo: keyRef('effectiveTo'),
      opaque: bool(r, 'opaque', p),
      fieldsByKey,
    };
  };

  const byCode = new Map<string, CompiledRecordType>();
  const byDeleteCode = new Map<string, CompiledRecordType>();
  const claim = (code: string, p: string) => {
    if (byCode.has(code) || byDeleteCode.has(code)) fail(p, `record type code "${code}" is used twice`);
  };

  let header: CompiledLayout['header'];
  if (root.header !== undefined) {
    const h = compileRecordType(root.header, 'header', 'recordType');
    const hr = root.header as Record<string, unknown>;
    const fileNameField = str(hr, 'fileNameField', 'header', true);
    if (fileNameField && !h.fieldsByKey.has(fileNameField)) fail('header.fileNameField', `"${fileNameField}" is not a header field key`);
    header = { ...h, fileNameField };
    byCode.set(h.code, header);
  }
  let trailer: CompiledLayout['trailer'];
  if (root.trailer !== undefined) {
    const t = compileRecordType(root.trailer, 'trailer', 'recordType');
    claim(t.code, 'trailer.recordType');
    const tr = root.trailer as Record<string, unknown>;
    const countField = str(tr, 'countField', 'trailer')!;
    if (!t.fieldsByKey.has(countField)) fail('trailer.countField', `"${countField}" is not a trailer field key`);
    let count: 'allLines' | { recordTypes: string[] };
    if (tr.count === 'allLines') count = 'allLines';
    else {
      const c = obj(tr.count, 'trailer.count');
      only(c, 'trailer.count', ['recordTypes']);
      if (!Array.isArray(c.recordTypes) || !c.recordTypes.every((x) => typeof x === 'string')) {
        fail('trailer.count', 'must be "allLines" or { "recordTypes": [codes] }');
      }
      count = { recordTypes: c.recordTypes as string[] };
    }
    trailer = { ...t, countField, count };
    byCode.set(t.code, trailer);
  }

  if (!Array.isArray(root.recordTypes)) fail('recordTypes', 'must be an array');
  const recordTypes = (root.recordTypes as unknown[]).map((raw, i) => {
    const p = `recordTypes[${i}]`;
    const rt = compileRecordType(raw, p, 'code');
    claim(rt.code, `${p}.code`);
    byCode.set(rt.code, rt);
    if (rt.deleteCode) {
      claim(rt.deleteCode, `${p}.deleteCode`);
      byDeleteCode.set(rt.deleteCode, rt);
    }
    return rt;
  });

  if (root.fileName !== undefined) validateFileNameSpec(root.fileName, fail);
  if (header?.fileNameField && root.fileName === undefined) fail('header.fileNameField', 'needs a fileName pattern to parse the name with');
  if (trailer && trailer.count !== 'allLines') {
    trailer.count.recordTypes.forEach((code, i) => {
      if (!byCode.has(code) || code === header?.code || code === trailer!.code) fail(`trailer.count.recordTypes[${i}]`, `"${code}" is not a record type of this layout`);
    });
  }

  return { spec: root as unknown as Layout, id, source, header, trailer, byCode, byDeleteCode, recordTypes };
}

function validateFileNameSpec(raw: unknown, fail: (p: string, m: string) => never): void {
  if (typeof raw !== 'object' || raw === null) fail('fileName', 'must be an object');
  const spec = raw as Record<string, unknown>;
  for (const k of Object.keys(spec)) if (k !== 'pattern' && k !== 'parts') fail(`fileName.${k}`, 'unknown property');
  if (typeof spec.pattern !== 'string') fail('fileName.pattern', 'must be a string');
  const outside = (spec.pattern as string).replace(/\{[^{}]*\}/g, '');
  if (/[{}]/.test(outside)) fail('fileName.pattern', 'has an unbalanced { or }');
  const parts = (spec.parts ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, part] of Object.entries(parts)) {
    for (const k of Object.keys(part ?? {})) {
      if (!['pattern', 'kind', 'width', 'description'].includes(k)) fail(`fileName.parts.${name}.${k}`, 'unknown property');
    }
  }
  for (const m of (spec.pattern as string).matchAll(/\{([^}]*)\}/g)) {
    if (!parts[m[1]]) fail('fileName.parts', `no part named "${m[1]}" (used in the pattern)`);
  }
  for (const [name, part] of Object.entries(parts)) {
    if (typeof part?.pattern !== 'string') fail(`fileName.parts.${name}.pattern`, 'must be a regular expression string');
    try {
      new RegExp(part.pattern as string);
    } catch {
      fail(`fileName.parts.${name}.pattern`, 'is not a valid regular expression');
    }
    if (part.width !== undefined && !(Number.isInteger(part.width) && (part.width as number) > 0)) fail(`fileName.parts.${name}.width`, 'must be a whole number above 0');
    if (part.kind !== undefined && !['text', 'date', 'number'].includes(part.kind as string)) {
      fail(`fileName.parts.${name}.kind`, 'must be one of text, date, number');
    }
    if (part.kind === 'date' && !new RegExp(`^(?:${part.pattern as string})$`).test('20240229')) {
      fail(`fileName.parts.${name}.pattern`, 'a date part must match 8 digits (YYYYMMDD)');
    }
  }
}

export type { Layout, FieldSpec, RecordTypeSpec };

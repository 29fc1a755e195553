/**
 * Builds, per record type, a function that turns split fields into record properties.
 * Why generated code: one property store per field site (instead of one `rec[key] = v` for every key) lets V8
 * keep each store monomorphic, which roughly doubles read speed on national-size files. The layout stays
 * data; keys are validated as letters and digits and are embedded with JSON.stringify.
 */
import type { CompiledRecordType } from './layout';
import { decodeValue, INVALID } from './values';

/** Calls `bad(index, 'missing' | 'invalid')` for each field problem (index into rt.fields). */
export type FieldDecoder = (fields: string[], limit: number, rec: Record<string, unknown>, bad: (index: number, what: 'missing' | 'invalid') => void) => void;

export function compileDecoder(rt: CompiledRecordType): FieldDecoder {
  const lines: string[] = ['let v, d;'];
  rt.fields.forEach((f, i) => {
    const pos = i + 1;
    const key = JSON.stringify(f.key);
    const empty = f.required ? `bad(${i}, 'missing');` : '';
    const store =
      f.kind === 'text'
        ? `rec[${key}] = v;`
        : `d = decodeValue(defs[${i}], v); if (d === INVALID) bad(${i}, 'invalid'); else rec[${key}] = d;`;
    lines.push(`if (limit > ${pos}) { v = fields[${pos}]; if (v === '') { ${empty} } else { ${store} } }${f.required ? ` else bad(${i}, 'missing');` : ''}`);
  });
  const factory = new Function('decodeValue', 'INVALID', 'defs', `return function decode(fields, limit, rec, bad) {\n${lines.join('\n')}\n};`);
  return factory(decodeValue, INVALID, rt.fields) as FieldDecoder;
}

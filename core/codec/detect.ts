/** Picks a built-in layout for a file from its name, else from its first line. */
import * as path from 'node:path';
import { builtInLayoutIds, loadLayout, type CompiledLayout } from './layout';
import { parseFileName } from './file-name';

/** GO subtypes with a layout of their own; any other GO subtype is read with go-gdw. */
const GO_SUBTYPE_LAYOUTS: Record<string, string> = { EXP: 'go-exp', GDW: 'go-gdw' };
/** Where several layouts know a record type, the first listed wins (go-gdw knows the most GO types). */
const PREFERENCE = ['go-gdw', 'go-exp', 'ta', 'exp-v1', 'gdr'];

function layoutIds(): string[] {
  const ids = builtInLayoutIds();
  return [...PREFERENCE.filter((id) => ids.includes(id)), ...ids.filter((id) => !PREFERENCE.includes(id))];
}

function byName(name: string): CompiledLayout | undefined {
  const base = path.basename(name);
  for (const anchored of [true, false]) {
    for (const id of layoutIds()) {
      const layout = loadLayout(id);
      const parts = parseFileName(layout, base, anchored);
      if (!parts) continue;
      if (id.startsWith('go-') && typeof parts.subtype === 'string') {
        return loadLayout(GO_SUBTYPE_LAYOUTS[parts.subtype] ?? 'go-gdw');
      }
      return layout;
    }
  }
  return undefined;
}

/**
 * The built-in layout for a file, or undefined. `firstLine` is the file's first line (decoded as latin1);
 * it is used when the name says nothing: the name inside a header, else the first record type.
 */
export function detectLayout(fileName?: string, firstLine?: string): CompiledLayout | undefined {
  const fromName = fileName ? byName(fileName) : undefined;
  if (fromName) return fromName;
  // A byte order mark (a re-saved file) does not hide the layout; the reader reports it.
  firstLine = firstLine?.replace(/^(\ufeff|\u00ef\u00bb\u00bf)/, '');
  if (!firstLine) return undefined;
  for (const delimiter of ['~', ',']) {
    const fields = firstLine.split(delimiter);
    if (fields.length < 2) continue;
    const code = fields[0];
    if (code === 'HDR') {
      const inner = fields[1].replace(/^"|"$/g, '');
      const named = byName(inner);
      if (named) return named;
      // A header whose name does not parse: the delimiter still tells the family.
      if (delimiter === '~') return loadLayout(/_EXP_/.test(inner) ? 'go-exp' : 'go-gdw');
      return loadLayout(/^TA_/.test(inner) ? 'ta' : 'exp-v1');
    }
    for (const id of layoutIds()) {
      const layout = loadLayout(id);
      if (layout.spec.delimiter !== delimiter) continue;
      const rt = layout.byCode.get(code) ?? layout.byDeleteCode.get(code);
      if (rt && rt !== layout.header && rt !== layout.trailer && !rt.opaque) return layout;
    }
  }
  return undefined;
}

/** Parse and build interface file names from a layout's file-name pattern, e.g. GO_{vpd}_{subtype}_GO{extractType}_{date}_{sequence}.DAT */
import type { CompiledLayout } from './layout';
import type { FileNameSpec } from './layout-types';

export type FileNameParts = Record<string, string | number>;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Capturing groups a pattern has of its own (they shift the group numbers of the parts after it). */
function groupCount(pattern: string): number {
  return new RegExp(`${pattern}|`).exec('')!.length - 1;
}

function compile(spec: FileNameSpec, anchored: boolean): { re: RegExp; names: string[]; groups: number[] } {
  const names: string[] = [];
  const groups: number[] = [];
  let group = 1;
  let src = '';
  let last = 0;
  for (const m of spec.pattern.matchAll(/\{([^}]*)\}/g)) {
    src += escapeRegExp(spec.pattern.slice(last, m.index));
    src += `(${spec.parts[m[1]].pattern})`;
    names.push(m[1]);
    groups.push(group);
    group += 1 + groupCount(spec.parts[m[1]].pattern);
    last = m.index! + m[0].length;
  }
  src += escapeRegExp(spec.pattern.slice(last));
  return { re: new RegExp(anchored ? `^${src}$` : `${src}$`), names, groups };
}

/**
 * The parts of a file name, or undefined when it does not match the pattern. Dates come back ISO, numbers as
 * numbers. `anchored: false` also finds the name at the end of a longer one ("copy_of_GO_123_...DAT").
 */
export function parseFileName(layout: CompiledLayout, fileName: string, anchored = true): FileNameParts | undefined {
  const spec = layout.spec.fileName;
  if (!spec) return undefined;
  const { re, names, groups } = compile(spec, anchored);
  const m = re.exec(fileName);
  if (!m) return undefined;
  const parts: FileNameParts = {};
  for (let i = 0; i < names.length; i++) {
    const part = spec.parts[names[i]];
    const text = m[groups[i]];
    if (part.kind === 'date') {
      if (!/^\d{8}$/.test(text)) return undefined;
      const iso = `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6, 8)}`;
      const d = new Date(iso + 'T00:00:00Z');
      if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== iso) return undefined;
      parts[names[i]] = iso;
    } else if (part.kind === 'number') parts[names[i]] = Number(text);
    else parts[names[i]] = text;
  }
  return parts;
}

export class FileNameError extends Error {
  constructor(
    message: string,
    readonly part: string,
  ) {
    super(message);
    this.name = 'FileNameError';
  }
}

/** Builds a file name; every part must be given and must match its pattern once formatted. */
export function buildFileName(layout: CompiledLayout, parts: FileNameParts): string {
  const spec = layout.spec.fileName;
  if (!spec) throw new FileNameError(`layout ${layout.id} has no file-name pattern`, '');
  return spec.pattern.replace(/\{([^}]*)\}/g, (_, name: string) => {
    const part = spec.parts[name];
    const value = parts[name];
    if (value === undefined || value === null || value === '') {
      throw new FileNameError(`file name part "${name}" is missing`, name);
    }
    let text = String(value);
    if (part.kind === 'date') {
      const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(text);
      const iso = m ? `${m[1]}-${m[2]}-${m[3]}` : '';
      const d = new Date(iso + 'T00:00:00Z');
      if (!m || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== iso) {
        throw new FileNameError(`file name part "${name}" must be a real date (YYYY-MM-DD)`, name);
      }
      text = m[1] + m[2] + m[3];
    } else if (part.kind === 'number' && part.width) {
      if (!/^\d+$/.test(text)) throw new FileNameError(`file name part "${name}" must be a whole number`, name);
      if (text.length > part.width) throw new FileNameError(`file name part "${name}" has more than ${part.width} digits`, name);
      text = text.padStart(part.width, '0');
    }
    if (!new RegExp(`^(?:${part.pattern})$`).test(text)) {
      throw new FileNameError(`file name part "${name}" does not match ${part.pattern}`, name);
    }
    return text;
  });
}

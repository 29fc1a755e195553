/** esr-map's configuration turned into mapping options (lookups loaded), shared by the node and "Try it". */
import * as fs from 'node:fs';
import { lookupEncoding, lookupFromCsv, lookupFromLines, type LookupTable, type MappingOptions } from '../../core/mapping';
import type { Messages } from '../shared/messages';

export interface LookupConfig {
  name: string;
  source: 'inline' | 'csv';
  entries?: string;
  file?: string;
  header?: boolean;
  /** A CSV file's encoding: 'utf-8' (default), 'windows-1252' or 'iso-8859-1'. */
  encoding?: string;
  fallback?: string;
}

export interface MapConfig {
  name?: string;
  rules: { target: string; template: string }[];
  lookups?: LookupConfig[];
  recordTypes?: string;
  condition?: string;
  spreadsheetSafe?: boolean;
  keepEmpty?: boolean;
}

/**
 * The mapping options for `config`, CSV lookups read. `maxLookupBytes`: a CSV file larger than this fails (code
 * FILE_TOO_LARGE) before it is read, so that a wrong file (say a whole ESR extract) cannot exhaust memory.
 */
export function mappingOptions(config: MapConfig, t: Messages, maxLookupBytes = Infinity): MappingOptions {
  const lookups: LookupTable[] = (config.lookups ?? []).map((l) => {
    const fallback = l.fallback === undefined || l.fallback === '' ? undefined : l.fallback;
    if (l.source === 'csv') {
      if (!l.file) throw new Error(t('errors.lookupNoFile', { name: l.name }));
      const encoding = lookupEncoding(l.encoding);
      if (!encoding) throw new Error(t('errors.lookupEncoding', { name: l.name }));
      let bytes: Buffer;
      let size: number | undefined;
      try {
        size = fs.statSync(l.file).size;
      } catch {
        // reported by the read below, with its code
      }
      if (size !== undefined && size > maxLookupBytes) {
        throw Object.assign(new Error(t('errors.lookupTooLarge', { name: l.name, file: l.file, limit: maxLookupBytes })), { code: 'FILE_TOO_LARGE', limit: maxLookupBytes });
      }
      try {
        bytes = fs.readFileSync(l.file);
      } catch (err) {
        throw new Error(t('errors.lookupUnreadable', { name: l.name, file: l.file, code: String((err as NodeJS.ErrnoException).code) }));
      }
      return lookupFromCsv(l.name, bytes, { header: l.header === true, fallback, encoding, file: l.file });
    }
    return lookupFromLines(l.name, l.entries ?? '', fallback);
  });
  return {
    rules: config.rules ?? [],
    lookups,
    recordTypes: (config.recordTypes ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    condition: config.condition,
    spreadsheetSafe: config.spreadsheetSafe === true,
    keepEmpty: config.keepEmpty === true,
  };
}


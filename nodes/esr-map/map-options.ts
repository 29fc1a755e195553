/** esr-map's configuration turned into mapping options (lookups loaded), shared by the node and "Try it". */
import * as fs from 'node:fs';
import { lookupFromCsv, lookupFromLines, type LookupTable, type MappingOptions } from '../../core/mapping';
import type { Messages } from '../shared/messages';

export interface LookupConfig {
  name: string;
  source: 'inline' | 'csv';
  entries?: string;
  file?: string;
  header?: boolean;
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

export function mappingOptions(config: MapConfig, t: Messages): MappingOptions {
  const lookups: LookupTable[] = (config.lookups ?? []).map((l) => {
    const fallback = l.fallback === undefined || l.fallback === '' ? undefined : l.fallback;
    if (l.source === 'csv') {
      if (!l.file) throw new Error(t('errors.lookupNoFile', { name: l.name }));
      let text: string;
      try {
        text = fs.readFileSync(l.file, 'utf8');
      } catch (err) {
        throw new Error(t('errors.lookupUnreadable', { name: l.name, file: l.file, code: String((err as NodeJS.ErrnoException).code) }));
      }
      return lookupFromCsv(l.name, text, { header: l.header === true, fallback });
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


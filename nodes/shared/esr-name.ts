/** The ESR facts in a file name (layout, VPD, subtype, full/changes, date, sequence), when it is an ESR name. */
import { detectLayout, factsFromParts, parseFileName, type FileInfo } from '../../core/codec';

export type EsrNameFacts = Omit<FileInfo, 'name' | 'headerName'> & { layout?: string };

export function esrNameFacts(name: string): EsrNameFacts {
  const layout = detectLayout(name);
  const parts = layout ? parseFileName(layout, name) : undefined;
  if (!layout || !parts) return {};
  return { layout: layout.id, ...factsFromParts(parts) };
}

/** The ESR facts in a file name (layout, VPD, subtype, full/changes, date, sequence), when it is an ESR name. */
import { detectLayout, parseFileName } from '../../core/codec';

export interface EsrNameFacts {
  layout?: string;
  vpd?: string;
  subtype?: string;
  extract?: 'full' | 'changes';
  date?: string;
  sequence?: number;
  parts?: Record<string, string | number>;
}

export function esrNameFacts(name: string): EsrNameFacts {
  const layout = detectLayout(name);
  const parts = layout ? parseFileName(layout, name) : undefined;
  if (!layout || !parts) return {};
  const facts: EsrNameFacts = { layout: layout.id, parts };
  if (typeof parts.vpd === 'string') facts.vpd = parts.vpd;
  if (typeof parts.subtype === 'string') facts.subtype = parts.subtype;
  if (parts.extractType === 'F') facts.extract = 'full';
  if (parts.extractType === 'C') facts.extract = 'changes';
  if (typeof parts.date === 'string') facts.date = parts.date;
  if (typeof parts.sequence === 'number') facts.sequence = parts.sequence;
  return facts;
}

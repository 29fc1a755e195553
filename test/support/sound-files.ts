/**
 * Small whole files of every kind the soundness tests cut, spoil and re-save: GO GDW full and change files and a
 * GO EXP file from the synthetic trust, a TA file and an Expenses v1 file, each in LF, CRLF and CR line endings.
 * All values are invented.
 */
import { loadLayout, writeToBuffer, type CompiledRecordType, type EsrRecord } from '../../core/codec';
import type { LineEnding } from '../../core/codec';
import { SyntheticTrust, changeFileRecords, fullFileRecords, goFileName } from '../../core/synthetic';

export interface WholeFile {
  /** e.g. "go-gdw full (crlf)" */
  label: string;
  layout: string;
  /** A name that matches the layout's pattern. */
  name: string;
  bytes: Buffer;
}

/** A record with only its required fields, each filled with an invented value of its kind. */
function requiredOnly(rt: CompiledRecordType, n: number): EsrRecord {
  const rec: EsrRecord = { recordType: rt.code };
  for (const f of rt.fields) {
    if (!f.required) continue;
    rec[f.key] = f.kind === 'date' ? '2026-11-20' : f.kind === 'number' ? String(n) : f.kind === 'timestamp' ? '2026-11-20T10:00:00' : `v${n}${f.pos}`;
  }
  return rec;
}

const TA_NAME = 'TA_123_SEL_MN2708_00000004.DAT';
const V1_NAME = 'GO_123_ASG_20261120_Full_00000003.DAT';

function taRecords(): EsrRecord[] {
  const att = (n: number): EsrRecord => ({
    recordType: 'ATT',
    effectiveDate: '2026-11-20',
    operationType: 'ADD',
    assignmentNumber: `1000${n}`,
    elementName: 'Business Miles',
    inputValue1Name: 'Claimed Mileage',
    inputValue1Value: String(10 + n),
  });
  return [{ recordType: 'HDR', fileName: TA_NAME, creationTime: '2026-11-20T10:00:00', sourceSystem: 'SEL', vpd: '123', periodType: 'M', periodRun: 'N', taxPeriod: '08' }, att(1), att(2), att(3)];
}

function v1Records(): EsrRecord[] {
  const layout = loadLayout('exp-v1');
  const types = layout.recordTypes;
  return [{ recordType: 'HDR' }, ...[0, 1, 2, 3].map((i) => requiredOnly(types[i % types.length], i)), { recordType: 'FTR', fileName: V1_NAME }];
}

/** The files, small enough to be cut at every byte in a test. */
export async function wholeFiles(): Promise<WholeFile[]> {
  const trust = new SyntheticTrust({ staff: 2, seed: 9 });
  const sources: { label: string; layout: string; name: string; records: EsrRecord[] }[] = [
    { label: 'go-gdw full', layout: 'go-gdw', name: goFileName(trust, 'GDW', 0), records: [...fullFileRecords(trust, 'GDW')] },
    { label: 'go-gdw change', layout: 'go-gdw', name: goFileName(trust, 'GDW', 1), records: [...changeFileRecords(trust, 'GDW', 1)] },
    { label: 'go-exp full', layout: 'go-exp', name: goFileName(trust, 'EXP', 0), records: [...fullFileRecords(trust, 'EXP')] },
    { label: 'ta', layout: 'ta', name: TA_NAME, records: taRecords() },
    { label: 'exp-v1', layout: 'exp-v1', name: V1_NAME, records: v1Records() },
  ];
  const files: WholeFile[] = [];
  for (const s of sources) {
    for (const eol of ['lf', 'crlf', 'cr'] as LineEnding[]) {
      const bytes = await writeToBuffer(loadLayout(s.layout), s.records, { eol });
      files.push({ label: `${s.label} (${eol})`, layout: s.layout, name: s.name, bytes });
    }
  }
  return files;
}

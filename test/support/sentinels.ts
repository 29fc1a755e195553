/**
 * Sentinel inputs: files and records whose every value is a unique made-up token, shaped to reach each error and
 * warning path, and a check that no text holds any of the tokens.
 */
import * as assert from 'node:assert/strict';
import { builtInLayoutIds, loadLayout, type CompiledRecordType, type EsrRecord } from '../../core/codec';

const LAYOUT_CODES = new Set(
  builtInLayoutIds().flatMap((id) => {
    const l = loadLayout(id);
    return [...l.byCode.keys(), ...l.byDeleteCode.keys()];
  }),
);

/** Unique tokens: `Qz<n>Jx` for values, three capitals `Z..` for first fields shaped like record type codes. */
export class Sentinels {
  private static n = 0;
  private static readonly all = new Set<string>();

  static next(): string {
    const s = `Qz${(Sentinels.n++).toString(36)}Jx`;
    Sentinels.all.add(s);
    return s;
  }

  /** Three capitals, never a record type of any built-in layout (like LEE, KHA, LS9 as first fields). */
  static code(): string {
    for (;;) {
      const n = Sentinels.n++;
      const s = `Z${String.fromCharCode(65 + ((n / 26) | 0) % 26)}${String.fromCharCode(65 + (n % 26))}`;
      if (!LAYOUT_CODES.has(s) && !Sentinels.all.has(s)) {
        Sentinels.all.add(s);
        return s;
      }
    }
  }

  /** Fails naming the first sentinel found in any of the texts. */
  static assertNoneIn(texts: string[], label: string): void {
    for (const text of texts) {
      if (!text) continue;
      for (const s of Sentinels.all) {
        if (text.includes(s)) assert.fail(`${label}: a value reached a message: ${JSON.stringify(text.slice(0, 300))}`);
      }
    }
  }
}

const S = () => Sentinels.next();
const line = (code: string, n: number, delimiter = '~') => [code, ...Array.from({ length: n }, S)].join(delimiter);
const full = (rt: CompiledRecordType, extra = 0, delimiter = '~') => line(rt.code, rt.maxCount - 1 + extra, delimiter);

export interface SentinelFile {
  label: string;
  layout: string;
  name: string;
  bytes: Buffer;
  fragment?: boolean;
}

const GO_NAME = 'GO_123_GDW_GOC_20261120_00000007.DAT';
const TA_NAME = 'TA_123_SEL_MN2708_00000004.DAT';

/** Files that between them reach every problem code of the reader, with a sentinel in every value. */
export function sentinelFiles(): SentinelFile[] {
  const go = loadLayout('go-gdw');
  const ta = loadLayout('ta');
  const files: SentinelFile[] = [];
  const goHeader = `HDR~${GO_NAME}~20261120 010203~123~20261119 000000~20261120 000000~01`;

  // Every record type with every field a sentinel (typed fields are then invalid), short, long and delete rows,
  // unknown first fields, a blank line, a second header, a bad trailer and a line after it; no final line ending.
  const lines = [line('HDR', 6)];
  for (const rt of go.recordTypes) {
    lines.push(full(rt), line(rt.code, 3), full(rt, 2));
    if (rt.deleteCode) lines.push(`${rt.deleteCode}~${S()}~${S()}`, `${rt.deleteCode}~`);
  }
  lines.push(`${Sentinels.code()}~${S()}~${S()}`, `${S()} ${S()}~${S()}`, '', line('HDR', 6), `TRL~${S()}`, `${Sentinels.code()}~${S()}`, `${S()}~${'x'.repeat(1024 * 1024 + 10)}`, line('PRA', 5));
  files.push({ label: 'GO, every value a sentinel', layout: 'go-gdw', name: GO_NAME, bytes: Buffer.from(lines.join('\n'), 'latin1') });
  files.push({ label: 'GO fragment of sentinel rows', layout: 'go-gdw', name: GO_NAME, fragment: true, bytes: Buffer.from(go.recordTypes.map((rt) => full(rt)).join('\n') + '\n', 'latin1') });
  files.push({ label: 'GO with a byte order mark and a sentinel header', layout: 'go-gdw', name: GO_NAME, fragment: true, bytes: Buffer.from('\xef\xbb\xbf' + line('HDR', 2) + '\n' + full(go.byCode.get('PRA')!) + '\n', 'latin1') });
  files.push({ label: 'GO with a wrong trailer count, named otherwise', layout: 'go-gdw', name: 'GO_123_GDW_GOC_20261120_00000008.DAT', bytes: Buffer.from(`${goHeader}\n${full(go.byCode.get('PRA')!)}\r\nTRL~7\n`, 'latin1') });
  files.push({ label: 'GO with no trailer', layout: 'go-gdw', name: GO_NAME, bytes: Buffer.from(`${goHeader}\n${full(go.byCode.get('ASA')!)}\n`, 'latin1') });
  files.push({ label: 'GO with no header', layout: 'go-gdw', name: GO_NAME, bytes: Buffer.from(`${full(go.byCode.get('PRA')!)}\n`, 'latin1') });

  // TA: quoted fields, ASCII only.
  const att = ta.byCode.get('ATT')!;
  const q = () => `"${S()}"`;
  const taLines = [
    line('HDR', 7, ','),
    ['ATT', ...att.fields.map((f) => (f.quoted ? S() : q()))].join(','),
    ['ATT', q(), `"${S()}""${S()}"`, ...Array.from({ length: att.maxCount - 3 }, S)].join(','),
    `ATT,"${S()},${S()}`,
    `ATT,${S()}\u00e9${S()}${','.repeat(att.maxCount - 2)}`,
    `FTR,${S()},${S()},`,
  ];
  files.push({ label: 'TA, every value a sentinel', layout: 'ta', name: TA_NAME, bytes: Buffer.from(taLines.join('\r'), 'latin1') });
  const v1 = loadLayout('exp-v1');
  files.push({ label: 'Expenses v1, every value a sentinel', layout: 'exp-v1', name: 'GO_123_ASG_20261120_Full_00000003.DAT', bytes: Buffer.from([line('HDR', 1, ','), ...v1.recordTypes.map((rt) => full(rt, 0, ',')), line('FTR', 2, ',')].join('\r\n'), 'latin1') });
  return files;
}

/** Records the writer must refuse, each with sentinels in every value. */
export function sentinelRecords(): { layout: string; record: EsrRecord }[] {
  return [
    { layout: 'go-gdw', record: { recordType: Sentinels.code(), lastName: S() } },
    { layout: 'go-gdw', record: { recordType: S(), values: [S(), { x: S() }] } },
    { layout: 'go-gdw', record: { recordType: 'PRA', personId: `${S()}~${S()}`, lastName: S() } },
    { layout: 'go-gdw', record: { recordType: 'PRA', personId: S(), dateOfBirth: S() } },
    { layout: 'go-gdw', record: { recordType: 'PRA', personId: S(), lastName: `${S()}\n${S()}` } },
    { layout: 'go-gdw', record: { recordType: 'PRA', lastName: S() } },
    { layout: 'go-gdw', record: { recordType: 'PRD', personId: S(), lastName: S() } },
    { layout: 'go-gdw', record: { recordType: '?', values: [S(), `${S()}~${S()}`] } },
    { layout: 'go-gdw', record: { recordType: 'LOV', values: [S(), { x: S() }] } },
    { layout: 'ta', record: { recordType: 'ATT', effectiveDate: '2026-11-20', operationType: 'ADD', assignmentNumber: S(), elementName: `${S()}"${S()}` } },
    { layout: 'ta', record: { recordType: 'ATT', effectiveDate: '2026-11-20', operationType: 'ADD', assignmentNumber: S(), elementName: `${S()}\u00e9` } },
    { layout: 'ta', record: { recordType: 'ATT', effectiveDate: S(), operationType: S(), assignmentNumber: S(), elementName: S() } },
  ];
}

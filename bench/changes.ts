/**
 * The changes node's heaviest step: a 50,000-staff full file against a 50,000-staff snapshot (local state store),
 * measured in a child process from loading the snapshot to the committed new one. The second full file differs
 * from the first as a real day might: 1 % of staff gone, 2 % with a new grade, 0.5 % with a new last name.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { EsrRecord } from '../core/codec';
import { fullFileRecords, goFileName, SyntheticTrust, writeGoFile } from '../core/synthetic';

type Print = (name: string, value: number, unit: string) => void;
const STAFF = 50_000;

/** The full file of the day after: the same trust with a day's worth of differences. */
function* nextFull(trust: SyntheticTrust): Generator<EsrRecord> {
  const name = goFileName(trust, 'GDW', 1).replace('_GOC_', '_GOF_');
  for (const r of fullFileRecords(trust, 'GDW')) {
    if (r.recordType === 'HDR') {
      yield { ...r, filename: name, runDate: '2026-11-21T00:00:00' };
      continue;
    }
    const n = typeof r.personId === 'string' ? Number(r.personId) : NaN;
    if (n % 100 === 7) continue; // gone
    if (r.recordType === 'ASA' && n % 50 === 1) yield { ...r, grade: 'XR08' };
    else if (r.recordType === 'PRA' && n % 200 === 3) yield { ...r, lastName: 'Brontë-Hughes' };
    else yield r;
  }
}

export async function benchChanges(data: string, print: Print): Promise<void> {
  const trust = new SyntheticTrust({ staff: STAFF });
  const first = path.join(data, `changes-${STAFF}-${goFileName(trust, 'GDW', 0)}`);
  const second = path.join(data, `changes-${STAFF}-${goFileName(trust, 'GDW', 1).replace('_GOC_', '_GOF_')}`);
  if (!fs.existsSync(first)) await writeGoFile(first, 'GDW', fullFileRecords(trust, 'GDW'));
  if (!fs.existsSync(second)) await writeGoFile(second, 'GDW', nextFull(trust));
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-bench-changes-'));
  try {
    const child = path.join(__dirname, 'changes-child.js');
    execFileSync(process.execPath, [child, 'baseline', folder, first], { encoding: 'utf8' });
    const run = JSON.parse(execFileSync(process.execPath, [child, 'measure', folder, second], { encoding: 'utf8' })) as { ms: number; events: number; staff: number; maxRssKb: number };
    print('changes_full_file_s', run.ms / 1000, 's');
    print('changes_peak_rss_mb', run.maxRssKb / 1024, 'MB');
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const data = path.join(__dirname, '..', '..', 'bench', '.data');
  fs.mkdirSync(data, { recursive: true });
  benchChanges(data, (name, value, unit) => process.stdout.write(`${name} ${value.toFixed(2)} ${unit}\n`)).catch((err) => {
    process.stderr.write(String(err) + '\n');
    process.exitCode = 1;
  });
}

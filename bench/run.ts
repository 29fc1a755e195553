/**
 * `npm run bench`: prints one figure per line as `name value unit`. Ratios compare against a reference measured
 * in the same run on the same file, because these machines are noisy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fullFileRecords, SyntheticTrust, writeGoFile } from '../core/synthetic';
import { benchSftp } from './sftp';
import { benchFtps } from './ftps';
import { benchState } from './state';
import { benchChanges } from './changes';

const DATA = path.join(__dirname, '..', '..', 'bench', '.data');
const MB = 1024 * 1024;

interface Run {
  ms: number;
  records: number;
  bytes: number;
  maxRssKb: number;
}

function measure(mode: 'esr' | 'csv-parse', file: string): Run {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'go-read-child.js'), mode, file], { encoding: 'utf8' });
  return JSON.parse(out) as Run;
}

async function ensureFile(name: string, bytes: number): Promise<string> {
  const file = path.join(DATA, name);
  // The synthetic trust of `esr generate`, with as many staff as it takes to fill `bytes`.
  if (!fs.existsSync(file) || fs.statSync(file).size < bytes) await writeGoFile(file, 'GDW', fullFileRecords(new SyntheticTrust({ staff: 1e9 }), 'GDW'), bytes);
  return file;
}

function print(name: string, value: number, unit: string): void {
  process.stdout.write(`${name} ${value.toFixed(2)} ${unit}\n`);
}

async function main(): Promise<void> {
  fs.mkdirSync(DATA, { recursive: true });
  const file = await ensureFile('go-trust-100mb.DAT', 100 * MB);
  // Best of three each, interleaved, so a noisy moment hurts both sides alike.
  let ours = Infinity;
  let ref = Infinity;
  let rss = 0;
  let size = 0;
  for (let i = 0; i < 3; i++) {
    const a = measure('esr', file);
    const b = measure('csv-parse', file);
    ours = Math.min(ours, a.ms);
    ref = Math.min(ref, b.ms);
    rss = Math.max(rss, a.maxRssKb);
    size = a.bytes;
  }
  print('go_read_ratio_vs_csv_parse', ref / ours, 'x');
  print('go_read_mb_per_s', size / MB / (ours / 1000), 'MB/s');
  print('go_read_peak_rss_mb', rss / 1024, 'MB');
  await benchSftp(DATA, print);
  await benchFtps(DATA, print);
  await benchState(print);
  await benchChanges(DATA, print);
  if (process.env.BENCH_1GB) {
    const big = await ensureFile('go-trust-1gb.DAT', 1024 * MB);
    const run = measure('esr', big);
    print('go_read_1gb_mb_per_s', run.bytes / MB / (run.ms / 1000), 'MB/s');
    print('go_read_1gb_peak_rss_mb', run.maxRssKb / 1024, 'MB');
  }
}

main().catch((err) => {
  process.stderr.write(String(err) + '\n');
  process.exitCode = 1;
});

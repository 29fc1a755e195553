/**
 * `npm run bench`: prints one figure per line as `name value unit`. Ratios compare against a reference measured
 * in the same run on the same file, because these machines are noisy. Lines starting with `#` say what a figure
 * means, what was skipped, or why one failed (the exit code is then non-zero).
 *
 *   npm run bench -- [NAME…]   only the figures whose names contain one of the NAMEs (also BENCH_ONLY="NAME …")
 *   BENCH_QUICK=1              skips the 1 GB Node-RED runs and compares with the core nodes on a 20 MB file
 *   BENCH_CORE_MB=N            the file size for nodered_record_ratio_vs_core_nodes (default 100, the issue's)
 *   BENCH_1GB=1                adds the plain read of a 1 GB file (go_read_1gb_*)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fullFileRecords, SyntheticTrust, writeGoFile } from '../core/synthetic';
import { benchSftp } from './sftp';
import { benchFtps } from './ftps';
import { benchState } from './state';
import { benchChanges } from './changes';
import { benchEndToEnd, benchNodeRedFlows, benchReadOneGb, fail, note } from './nodered-figures';

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

/** A part of the benchmark: the names of the figures it prints, and how to measure them. */
interface Part {
  names: string[];
  run(want: (name: string) => boolean): Promise<void>;
}

async function goRead(): Promise<void> {
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
}

const quick = !!process.env.BENCH_QUICK;

const PARTS: Part[] = [
  { names: ['go_read_ratio_vs_csv_parse', 'go_read_mb_per_s', 'go_read_peak_rss_mb'], run: goRead },
  { names: ['sftp_get_ratio_vs_openssh', 'sftp_put_ratio_vs_openssh', 'sftp_get_mb_per_s', 'sftp_put_mb_per_s'], run: () => benchSftp(DATA, print) },
  { names: ['ftps_get_ratio_vs_curl', 'ftps_put_ratio_vs_curl', 'ftps_get_mb_per_s', 'ftps_put_mb_per_s'], run: () => benchFtps(DATA, print) },
  { names: ['state_'], run: () => benchState(print) },
  { names: ['changes_full_file_s', 'changes_peak_rss_mb'], run: () => benchChanges(DATA, print) },
  {
    names: ['nodered_record_rps', 'nodered_batch_rps', 'nodered_record_ratio_vs_core_nodes'],
    run: async (want) => {
      const file = await ensureFile('go-trust-100mb.DAT', 100 * MB);
      // The core nodes take minutes on 100 MB (the issue measured 482 s): BENCH_QUICK compares on a smaller file.
      const coreMb = Number(process.env.BENCH_CORE_MB || (quick ? 20 : 100));
      const coreFile = coreMb === 100 ? file : await ensureFile(`go-trust-${coreMb}mb.DAT`, coreMb * MB);
      if (coreMb !== 100 && want('nodered_record_ratio_vs_core_nodes')) note(`nodered_record_ratio_vs_core_nodes is measured on a ${coreMb} MB file, not 100 MB (BENCH_CORE_MB${quick ? ', BENCH_QUICK' : ''})`);
      await benchNodeRedFlows(file, coreFile, want, print);
    },
  },
  {
    names: ['nodered_person_gdw_1gb_peak_rss_mb', 'nodered_record_1gb_peak_rss_mb'],
    run: async () => {
      if (quick) return note('nodered_person_gdw_1gb_peak_rss_mb, nodered_record_1gb_peak_rss_mb: skipped (BENCH_QUICK)');
      await benchReadOneGb(await ensureFile('go-trust-1gb.DAT', 1024 * MB), print);
    },
  },
  { names: ['e2e_ratio_vs_openssh_get', 'e2e_record_ratio_vs_openssh_get'], run: async (want) => benchEndToEnd(await ensureFile('go-trust-100mb.DAT', 100 * MB), want, print) },
  {
    names: ['go_read_1gb_mb_per_s', 'go_read_1gb_peak_rss_mb'],
    run: async () => {
      if (!process.env.BENCH_1GB) return;
      const big = await ensureFile('go-trust-1gb.DAT', 1024 * MB);
      const run = measure('esr', big);
      print('go_read_1gb_mb_per_s', run.bytes / MB / (run.ms / 1000), 'MB/s');
      print('go_read_1gb_peak_rss_mb', run.maxRssKb / 1024, 'MB');
    },
  },
];

async function main(): Promise<void> {
  fs.mkdirSync(DATA, { recursive: true });
  const only = [...process.argv.slice(2), ...(process.env.BENCH_ONLY ?? '').split(/[\s,]+/)].filter(Boolean);
  const want = (name: string) => only.length === 0 || only.some((o) => name.includes(o));
  const chosen = PARTS.filter((p) => p.names.some(want));
  if (chosen.length === 0) throw new Error(`no figure matches ${only.join(', ')}`);
  // Other work on the machine moves every figure: say how busy it was when this run started.
  note(`${new Date().toISOString()}: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  for (const part of chosen) {
    try {
      await part.run(want);
    } catch (err) {
      fail(part.names.filter(want).join(', '), err);
    }
  }
}

main().catch((err) => {
  process.stderr.write(String(err) + '\n');
  process.exitCode = 1;
});

/**
 * esr-read over a generated GDW file in a real Node-RED 5 process: person mode (rows of a person anywhere: collect,
 * spilled to disk past its bound) against record mode, each into a function node that keeps nothing. Prints
 * `name value unit` lines: the time and the whole process's peak RSS (VmHWM) of each. `npm run bench` runs the same
 * on 1 GB (nodered_person_gdw_1gb_*, nodered_record_1gb_*); this runs it on any size.
 *
 *   node dist/bench/person-gdw.js [MB, default 1024] [person,record]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fullFileRecords, SyntheticTrust, writeGoFile } from '../core/synthetic';
import { GDW_NAME, note, readOnlyRun } from './nodered-figures';

async function main(): Promise<void> {
  const mb = Number(process.argv[2] || 1024);
  const modes = (process.argv[3] || 'person,record').split(',') as ('person' | 'record')[];
  const dir = path.join(os.tmpdir(), 'esr-bench-files');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `gdw-${mb}mb-${GDW_NAME}`);
  if (!fs.existsSync(file)) {
    await writeGoFile(`${file}.part`, 'GDW', fullFileRecords(new SyntheticTrust({ staff: 1e9 }), 'GDW'), mb * 1024 * 1024);
    fs.renameSync(`${file}.part`, file);
  }
  for (const mode of modes) {
    const run = await readOnlyRun(file, mode);
    process.stdout.write(`nodered_${mode}_gdw_${mb}mb_seconds ${run.seconds.toFixed(1)} s\n`);
    process.stdout.write(`nodered_${mode}_gdw_${mb}mb_peak_rss_mb ${run.peakRssMb} MB\n`);
    if (mode === 'person') note(`spill folder afterwards: ${run.result.spill}`);
  }
}

main().catch((err) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});

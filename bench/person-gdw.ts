/**
 * esr-read over a generated GDW file in a real Node-RED 5 process: person mode (rows of a person anywhere: collect,
 * spilled to disk past its bound) against record mode, each into a function node that keeps nothing. Prints
 * `name value unit` lines: the time and the whole process's peak RSS (VmHWM) of each.
 *
 *   node dist/bench/person-gdw.js [MB, default 1024]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fullFileRecords, SyntheticTrust, writeGoFile } from '../core/synthetic';
import { startNodeRed } from '../demo/node-red';

const NAME = 'GO_123_GDW_GOF_20261120_00000001.DAT';

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

async function once(mode: 'person' | 'record', file: string, mb: number, port: number): Promise<void> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-bench-rt-'));
  fs.linkSync(file, path.join(userDir, NAME)); // a hard link: inside the user directory, where a path input may read
  const done = path.join(userDir, 'done.json');
  const rt = await startNodeRed(userDir, port, {}, { logFile: path.join(userDir, 'node-red.log') });
  try {
    const start = Date.now();
    const flows = [
      { id: 'tab', type: 'tab', label: 'bench' },
      { id: 'go', type: 'inject', z: 'tab', once: true, onceDelay: 0.1, repeat: '', props: [{ p: 'payload' }], payload: NAME, payloadType: 'str', wires: [['read']] },
      { id: 'read', type: 'esr-read', z: 'tab', layout: 'auto', input: 'path', mode, grouping: 'collect', wires: [['count'], [], ['mark']] },
      { id: 'count', type: 'function', z: 'tab', func: "context.set('n', (context.get('n') || 0) + 1);\nreturn null;", outputs: 1, wires: [[]] },
      { id: 'catch', type: 'catch', z: 'tab', scope: ['read'], uncaught: false, wires: [['fail']] },
      { id: 'fail', type: 'change', z: 'tab', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'error.message', tot: 'msg' }], wires: [['mark']] },
      { id: 'mark', type: 'file', z: 'tab', filename: done, filenameType: 'str', appendNewline: true, createDir: false, overwriteFile: 'true', encoding: 'none', wires: [[]] },
    ];
    const res = await fetch(`${rt.url}/flows`, { method: 'POST', headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(flows) });
    if (!res.ok) throw new Error(`deploy failed: ${res.status}`);
    while (!fs.existsSync(done) || fs.statSync(done).size === 0) {
      if (rt.process.exitCode !== null || rt.process.signalCode !== null) throw new Error(`Node-RED died (${rt.process.signalCode ?? rt.process.exitCode}):\n${rt.log().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const seconds = (Date.now() - start) / 1000;
    const text = fs.readFileSync(done, 'utf8');
    const sound = /"sound":true/.test(text);
    const rss = peakRssMb(rt.process.pid!);
    process.stdout.write(`nodered_${mode}_gdw_${mb}mb_seconds ${seconds.toFixed(1)} s\n`);
    process.stdout.write(`nodered_${mode}_gdw_${mb}mb_peak_rss_mb ${rss} MB\n`);
    if (!sound) process.stdout.write(`# ${mode}: the read did not complete soundly: ${text.slice(0, 300).replace(/\s+/g, ' ')}\n`);
    const spill = path.join(userDir, 'esr-spill');
    if (mode === 'person') process.stdout.write(`# spill folder afterwards: ${fs.existsSync(spill) ? JSON.stringify(fs.readdirSync(spill)) : 'never made'}\n`);
  } finally {
    await rt.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const mb = Number(process.argv[2] || 1024);
  const modes = (process.argv[3] || 'person,record').split(',') as ('person' | 'record')[];
  const dir = path.join(os.tmpdir(), 'esr-bench-files');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `gdw-${mb}mb-${NAME}`);
  if (!fs.existsSync(file)) {
    await writeGoFile(`${file}.part`, 'GDW', fullFileRecords(new SyntheticTrust({ staff: 1e9 }), 'GDW'), mb * 1024 * 1024);
    fs.renameSync(`${file}.part`, file);
  }
  for (const mode of modes) await once(mode, file, mb, 18800 + Math.floor(Math.random() * 1000));
}

main().catch((err) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});

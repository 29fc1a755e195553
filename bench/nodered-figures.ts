/**
 * The figures measured through a real Node-RED 5 process (bench/nodered.ts), on GDW files of the synthetic trust:
 * read → map → write a local file in record and batch mode, the same job with Node-RED's core nodes, and the end to
 * end download → read → map → write against OpenSSH's `sftp` get of the same file. Each checks what it wrote: the
 * file read was sound and the output has one line per record.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { BenchFailure, countLines, markerNodes, runFlows, type FlowRun } from './nodered';
import { coreNodesFlow, e2eFlow, esrPathFlow, OUTPUT, type ReadOptions } from './flows';
import { SSHD_SKIP, startSshd } from '../test/support/sshd';

export type Print = (name: string, value: number, unit: string) => void;
/** Writes a `# ` comment line (several lines each get the mark). */
export const note = (text: string): void => void process.stdout.write(text.split('\n').map((l) => `# ${l}\n`).join(''));

/** The name the file is given where the flow reads it: esr-read's layout auto goes by it. */
export const GDW_NAME = 'GO_123_GDW_GOF_20261120_00000001.DAT';

interface Written {
  /** records esr-read sent (header and trailer included, as it sends them) */
  records: number;
}

/** esr-read's summary says the file was sound, and the output has one line per record it read. */
function checkWritten(userDir: string): Written {
  const summary = JSON.parse(fs.readFileSync(path.join(userDir, 'summary.json'), 'utf8')) as { sound: boolean; records: Record<string, number>; errorCount: number };
  if (!summary.sound) throw new BenchFailure(`esr-read found the file not sound (${summary.errorCount} errors)`);
  const records = Object.values(summary.records).reduce((a, b) => a + b, 0) - (summary.records['?'] ?? 0);
  const out = path.join(userDir, OUTPUT);
  const lines = fs.existsSync(out) ? countLines(out) : 0;
  if (lines !== records) throw new BenchFailure(`the output has ${lines} lines for ${records} records read`);
  return { records };
}

/** inject → esr-read (path) → esr-map → the sink, on `file`. */
export function esrFlowRun(file: string, o: ReadOptions): Promise<FlowRun<Written>> {
  return runFlows({ files: { [GDW_NAME]: file }, flows: (dir) => esrPathFlow(dir, GDW_NAME, o), markers: ['summary.json'], check: checkWritten });
}

/** The core-node flow on `file`; its output has a line for every line of the file, and one for the empty end. */
export function coreFlowRun(file: string): Promise<FlowRun<{ lines: number }>> {
  const expected = countLines(file) + 1;
  return runFlows({
    files: { [GDW_NAME]: file },
    flows: (dir) => coreNodesFlow(dir, GDW_NAME),
    check: (dir) => {
      const lines = countLines(path.join(dir, OUTPUT));
      if (lines !== expected) throw new BenchFailure(`the core flow wrote ${lines} lines for ${expected} read`);
      return { lines };
    },
  });
}

/** One mode of esr-read alone into a function node keeping nothing (bench/person-gdw.ts's run): time and peak RSS. */
export function readOnlyRun(file: string, mode: 'person' | 'record'): Promise<FlowRun<{ spill: string }>> {
  const z = 'bench';
  return runFlows({
    files: { [GDW_NAME]: file },
    flows: (dir) => [
      { id: z, type: 'tab', label: 'bench' },
      { id: 'go', type: 'inject', z, once: true, onceDelay: 0.1, repeat: '', props: [{ p: 'payload' }], payload: GDW_NAME, payloadType: 'str', wires: [['read']] },
      { id: 'read', type: 'esr-read', z, layout: 'auto', input: 'path', mode, grouping: 'collect', wires: [['count'], [], ['summary']] },
      { id: 'count', type: 'function', z, func: "context.set('n', (context.get('n') || 0) + 1);\nreturn null;", outputs: 1, wires: [[]] },
      { id: 'summary', type: 'function', z, func: 'if (!msg.payload.sound) { node.error(`not sound: ${msg.payload.errorCount} errors`, msg); return null; }\nreturn msg;', outputs: 1, wires: [['done']] },
      ...markerNodes(z, dir),
    ],
    check: (dir) => {
      const spill = path.join(dir, 'esr-spill');
      return { spill: fs.existsSync(spill) ? JSON.stringify(fs.readdirSync(spill)) : 'never made' };
    },
  });
}

/**
 * `nodered_record_rps`, `nodered_batch_rps` on `file` (100 MB), then `nodered_record_ratio_vs_core_nodes` on
 * `coreFile` (the same file, or a smaller one: see run.ts). `want(name)` says whether a figure was asked for.
 */
export async function benchNodeRedFlows(file: string, coreFile: string, want: (name: string) => boolean, print: Print): Promise<void> {
  let ours: FlowRun<Written> | undefined;
  if (want('nodered_record_rps')) {
    ours = await esrFlowRun(file, { mode: 'record' });
    print('nodered_record_rps', ours.result.records / ours.seconds, 'records/s');
    print('nodered_record_peak_rss_mb', ours.peakRssMb, 'MB');
  }
  if (want('nodered_batch_rps')) {
    const batch = await esrFlowRun(file, { mode: 'batch', batchSize: 1000 });
    print('nodered_batch_rps', batch.result.records / batch.seconds, 'records/s');
    print('nodered_batch_peak_rss_mb', batch.peakRssMb, 'MB');
  }
  if (want('nodered_record_ratio_vs_core_nodes')) {
    const mb = Math.round(fs.statSync(coreFile).size / (1024 * 1024));
    note(`nodered_record_ratio_vs_core_nodes: core-node flow time ÷ our record flow time on the same ${mb} MB file, so > 1 means ours is faster`);
    if (!ours || coreFile !== file) ours = await esrFlowRun(coreFile, { mode: 'record' });
    const core = await coreFlowRun(coreFile);
    print('nodered_record_ratio_vs_core_nodes', core.seconds / ours.seconds, 'x');
    note(`core-node flow: ${core.seconds.toFixed(1)} s, ${Math.round(core.result.lines / core.seconds)} lines/s, peak RSS ${core.peakRssMb} MB; ours: ${ours.seconds.toFixed(1)} s, peak RSS ${ours.peakRssMb} MB`);
  }
}

/**
 * The 1 GB file: esr-read alone in person mode (rows anywhere, spilled) and in record mode (the time person mode is
 * held to: within 2×), then the whole record flow, read → map → esr-write to a local file (RSS flat through it).
 */
export async function benchReadOneGb(file: string, print: Print): Promise<void> {
  const person = await readOnlyRun(file, 'person');
  print('nodered_person_gdw_1gb_peak_rss_mb', person.peakRssMb, 'MB');
  print('nodered_person_gdw_1gb_seconds', person.seconds, 's');
  note(`person mode's spill folder afterwards: ${person.result.spill}`);
  const record = await readOnlyRun(file, 'record');
  print('nodered_record_read_1gb_seconds', record.seconds, 's');
  print('nodered_person_ratio_vs_record_read', person.seconds / record.seconds, 'x');
  const flow = await esrFlowRun(file, { mode: 'record' });
  print('nodered_record_1gb_peak_rss_mb', flow.peakRssMb, 'MB');
  print('nodered_record_1gb_rps', flow.result.records / flow.seconds, 'records/s');
}

/**
 * `e2e_ratio_vs_openssh_get` (batch mode) and `e2e_record_ratio_vs_openssh_get`: poll → download (stream) → esr-read
 * (layout auto) → esr-map → write locally, from deploy to the last line written, ÷ OpenSSH's `sftp -b` get of the
 * same file from the same local sshd (best of three, each logging in). Lower is better; the goal is ≤ 3.
 */
export async function benchEndToEnd(file: string, want: (name: string) => boolean, print: Print): Promise<void> {
  if (SSHD_SKIP) {
    note(`e2e figures ${SSHD_SKIP}`);
    return;
  }
  const sshd = await startSshd();
  try {
    const folder = path.join(sshd.root, 'Out');
    fs.mkdirSync(folder);
    fs.copyFileSync(file, path.join(folder, GDW_NAME));
    const back = path.join(path.dirname(file), 'e2e-openssh-get.DAT');
    const sftpArgs = ['-q', '-b', '-', '-P', String(sshd.port), '-i', path.join(sshd.dir, 'user_key'), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', `${sshd.username}@127.0.0.1`];
    let openssh = Infinity;
    for (let i = 0; i < 3; i++) {
      const start = process.hrtime.bigint();
      execFileSync('sftp', sftpArgs, { input: `get ${folder}/${GDW_NAME} ${back}\n` });
      openssh = Math.min(openssh, Number(process.hrtime.bigint() - start) / 1e9);
    }
    fs.rmSync(back, { force: true });
    const hub = { host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.privateKey, fingerprint: sshd.fingerprint, root: sshd.root, folder: 'Out' };
    const layout = process.env.BENCH_E2E_LAYOUT || 'auto';
    if (layout !== 'auto') note(`e2e: esr-read's layout is ${layout} (BENCH_E2E_LAYOUT), not auto`);
    for (const [name, o] of [
      ['e2e_ratio_vs_openssh_get', { mode: 'batch', batchSize: 1000, layout }],
      ['e2e_record_ratio_vs_openssh_get', { mode: 'record', layout }],
    ] as const) {
      if (!want(name)) continue;
      try {
        const run = await runFlows({ flows: (dir) => e2eFlow(dir, hub, o), markers: ['summary.json'], check: checkWritten });
        print(name, run.seconds / openssh, 'x');
        note(`${name}: ours ${run.seconds.toFixed(2)} s (${o.mode} mode, peak RSS ${run.peakRssMb} MB), OpenSSH get ${openssh.toFixed(2)} s; lower is better`);
      } catch (err) {
        fail(name, err);
      }
    }
  } finally {
    await sshd.stop();
  }
}

/** A figure that could not be measured: `#` lines saying why, and a non-zero exit at the end. */
export function fail(name: string, err: unknown): void {
  note(`${name}: FAILED: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}

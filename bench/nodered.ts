/**
 * One benchmark run in a real Node-RED 5 process (demo/node-red.ts, this working tree installed as the pack): a fresh
 * user directory, the given flows deployed over the admin API, a wait for the flow's own "done" markers, the whole
 * process's peak RSS (VmHWM), then Node-RED stopped and the user directory removed.
 *
 * Markers are files the flow writes into the user directory with core `file` nodes (see `markerNodes`): `done.json`
 * holds `{"at": <ms since epoch>}` written by the flow when it finished, so the time does not depend on how often
 * this side looks; `fail.json` is written by a Catch node for any error in the tab and ends the run at once.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startNodeRed } from '../demo/node-red';

/** Anything wrong with a run: Node-RED died, a Catch node fired, the output is not what it should be, a timeout. */
export class BenchFailure extends Error {}

export type FlowNode = Record<string, unknown>;

export interface FlowRunOptions<T> {
  /** Files to make readable inside the user directory (where an esr-read path input may read): name there → file. */
  files?: Record<string, string>;
  /** The flows to deploy, given the user directory (the flow writes its markers and outputs there). */
  flows: (userDir: string) => FlowNode[];
  /** Marker files (names in the user directory) that must all be written before the run counts as done. */
  markers?: string[];
  /** Environment of the Node-RED process. */
  env?: Record<string, string>;
  /** Give up after this long (ms); default 30 minutes. */
  timeoutMs?: number;
  /** Checks the outputs before Node-RED is stopped (throw BenchFailure when they are wrong) and returns a result. */
  check?: (userDir: string) => T;
}

export interface FlowRun<T> {
  /** From the deploy request to the time the flow wrote into done.json. */
  seconds: number;
  /** Peak resident memory of the whole Node-RED process (VmHWM), MB. */
  peakRssMb: number;
  result: T;
}

/** The process's peak resident set size so far (VmHWM), in MB; NaN when /proc does not tell. */
export function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** A file is put into the user directory as a hard link (no copy of a 1 GB file), or copied across file systems. */
function place(file: string, at: string): void {
  try {
    fs.linkSync(file, at);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    fs.copyFileSync(file, at);
  }
}

/** Node-RED takes a node without a position for a config node: each node of a tab gets one. */
function placed(nodes: FlowNode[]): FlowNode[] {
  return nodes.map((n, i) => (n.z && n.x === undefined ? { ...n, x: 100 + 150 * (i % 8), y: 60 + 60 * Math.floor(i / 8) } : n));
}

/** What Node-RED logs when something went wrong that no Catch node sees (a flow that does not start, a crash). */
const LOGGED_ERROR = /^(\S+ \S+ \S+ - \[error\]|Error: )/m;

const nonEmpty = (file: string): boolean => fs.existsSync(file) && fs.statSync(file).size > 0;

/**
 * The nodes every benchmark tab carries, in tab `z`: `done` (wire the flow's end into it: it writes done.json with the
 * time) and a Catch for the whole tab writing fail.json (the error's message and the node type that raised it).
 */
export function markerNodes(z: string, userDir: string): FlowNode[] {
  const file = (id: string, name: string, overwrite: string): FlowNode => ({ id, type: 'file', z, filename: path.join(userDir, name), filenameType: 'str', appendNewline: true, createDir: false, overwriteFile: overwrite, encoding: 'none', wires: [[]] });
  return [
    { id: 'done', type: 'function', z, func: 'msg.payload = JSON.stringify({ at: Date.now() });\nreturn msg;', outputs: 1, wires: [['done-file']] },
    file('done-file', 'done.json', 'true'),
    { id: 'catch', type: 'catch', z, scope: null, uncaught: false, wires: [['fail']] },
    { id: 'fail', type: 'function', z, func: "const e = msg.error || {};\nmsg.payload = JSON.stringify({ error: String(e.message), by: e.source && e.source.type });\nreturn msg;", outputs: 1, wires: [['fail-file']] },
    file('fail-file', 'fail.json', 'false'),
  ];
}

/** Runs the flows once on `port` (see the module comment); throws BenchFailure when anything goes wrong. */
export async function runFlows<T>(options: FlowRunOptions<T>, port = 18800 + Math.floor(Math.random() * 1000)): Promise<FlowRun<T>> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-bench-rt-'));
  for (const [name, file] of Object.entries(options.files ?? {})) place(file, path.join(userDir, name));
  const markers = ['done.json', ...(options.markers ?? [])];
  const rt = await startNodeRed(userDir, port, options.env ?? {}, { logFile: path.join(userDir, 'node-red.log') });
  const failed = (why: string) => new BenchFailure(`${why} (Node-RED's log, last lines:)\n${rt.log().slice(-1500)}`);
  try {
    const start = Date.now();
    const res = await fetch(`${rt.url}/flows`, { method: 'POST', headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(placed(options.flows(userDir))) });
    if (!res.ok) throw failed(`deploying the flows failed: ${res.status} ${await res.text()}`);
    const until = start + (options.timeoutMs ?? 30 * 60_000);
    while (!markers.every((m) => nonEmpty(path.join(userDir, m)))) {
      if (rt.process.exitCode !== null || rt.process.signalCode !== null) throw failed(`Node-RED died (${rt.process.signalCode ?? rt.process.exitCode})`);
      if (LOGGED_ERROR.test(rt.log())) throw failed('Node-RED logged an error');
      if (nonEmpty(path.join(userDir, 'fail.json'))) throw failed(`a Catch node fired: ${fs.readFileSync(path.join(userDir, 'fail.json'), 'utf8').trim().slice(0, 500)}`);
      if (Date.now() > until) throw failed(`no done marker after ${Math.round((until - start) / 1000)} s (waiting for ${markers.filter((m) => !nonEmpty(path.join(userDir, m))).join(', ')})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const at = (JSON.parse(fs.readFileSync(path.join(userDir, 'done.json'), 'utf8')) as { at: number }).at;
    const peak = peakRssMb(rt.process.pid!);
    // A late failure (an error after the last record) still fails the run.
    if (nonEmpty(path.join(userDir, 'fail.json'))) throw failed(`a Catch node fired: ${fs.readFileSync(path.join(userDir, 'fail.json'), 'utf8').trim().slice(0, 500)}`);
    if (LOGGED_ERROR.test(rt.log())) throw failed('Node-RED logged an error');
    const result = options.check ? options.check(userDir) : (undefined as T);
    return { seconds: (at - start) / 1000, peakRssMb: peak, result };
  } finally {
    await rt.stop();
    if (!process.env.BENCH_KEEP) fs.rmSync(userDir, { recursive: true, force: true });
    else process.stdout.write(`# kept ${userDir}\n`);
  }
}

/** Lines in a file (newline characters), counted in pieces: output files may be hundreds of MB. */
export function countLines(file: string): number {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let n = 0;
  try {
    for (;;) {
      const got = fs.readSync(fd, buf, 0, buf.length, null);
      if (got === 0) return n;
      for (let i = buf.indexOf(10, 0); i !== -1 && i < got; i = buf.indexOf(10, i + 1)) n++;
    }
  } finally {
    fs.closeSync(fd);
  }
}

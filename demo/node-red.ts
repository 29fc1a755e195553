/**
 * Runs Node-RED 5 for the demo: a user directory with this working tree installed as the pack (a link), the
 * example flows deployed through the admin API, with the hub's key put into the server node's credentials.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { ROOT } from './seed';

export const EXAMPLES = ['rostering.json', 'expenses.json', 'occupational-health.json', 'identity.json'];

export interface RunningNodeRed {
  url: string;
  process: ChildProcess;
  /** what Node-RED printed (to show when it fails to start) */
  log(): string;
  /** the file Node-RED's output is written to as well */
  logFile: string;
  /** whether it started with flows a previous run saved (the analyst's), rather than none */
  hadFlows: boolean;
  stop(): Promise<void>;
}

export interface NodeRedOptions {
  /** delete the saved flows (and their credentials) first, so that the examples are deployed again */
  reset?: boolean;
  /** where Node-RED's output goes (default: node-red.log beside the user directory), replaced at each start */
  logFile?: string;
}

/** Refuses a port something else listens on: the demo must never deploy its flows (and key) into another Node-RED. */
export async function checkPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`port ${port} is in use (${err.code})`)));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/**
 * Starts Node-RED 5 on 127.0.0.1:`port` with `userDir` and `env`. The flows a previous run saved are kept (they read
 * the hub and trust systems from `env`, so they work against this run's) unless `reset`. Rejects when the port is in
 * use or Node-RED does not start within a minute (with what it printed).
 */
export async function startNodeRed(userDir: string, port: number, env: Record<string, string>, options: NodeRedOptions = {}): Promise<RunningNodeRed> {
  await checkPortFree(port);
  fs.mkdirSync(path.join(userDir, 'node_modules', '@esrflow'), { recursive: true });
  const link = path.join(userDir, 'node_modules', '@esrflow', 'node-red-esr');
  if (!fs.existsSync(link)) fs.symlinkSync(ROOT, link, 'dir');
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: 'esr-demo', private: true, dependencies: { '@esrflow/node-red-esr': 'file:' + ROOT } }, null, 2));
  const settings = {
    uiHost: '127.0.0.1',
    uiPort: port,
    flowFile: 'flows.json',
    // A demo secret for a demo key: a real installation sets its own (see the README's security section).
    credentialSecret: 'esr-demo-only',
    logging: { console: { level: 'info' } },
    editorTheme: { tours: false },
    telemetry: { enabled: false },
  };
  fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
  if (options.reset) for (const file of ['flows.json', 'flows_cred.json']) fs.rmSync(path.join(userDir, file), { force: true });
  const hadFlows = fs.existsSync(path.join(userDir, 'flows.json'));
  const logFile = options.logFile ?? path.join(path.dirname(userDir), 'node-red.log');
  const logStream = fs.createWriteStream(logFile);
  const child = spawn(process.execPath, [require.resolve('node-red/red.js'), '-u', userDir, '-s', path.join(userDir, 'settings.js')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (d: Buffer) => {
    output += d;
    logStream.write(d);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.once('exit', () => logStream.end());
  const url = `http://127.0.0.1:${port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`Node-RED stopped while starting (its log: ${logFile}):\n${output}`);
    // Ready once this child has said so and answers (the port was free before it started).
    if (/Started flows|Server now running/.test(output) && (await fetch(`${url}/settings`).then((r) => r.ok, () => false))) break;
    if (i > 600) {
      await stop();
      throw new Error(`Node-RED did not start within a minute (its log: ${logFile}):\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, process: child, log: () => output, logFile, hadFlows, stop };
}

/**
 * Deploys the example flows (one tab each, one shared "ESR hub" server node) with the hub credentials, and `more`
 * credentials by node id (the identity example's bearer token): credentials never live in an example file.
 */
export async function deployExamples(url: string, credentials: Record<string, string>, examples = EXAMPLES, more: Record<string, Record<string, string>> = {}): Promise<void> {
  const nodes = new Map<string, Record<string, unknown>>();
  for (const file of examples) {
    for (const node of JSON.parse(fs.readFileSync(path.join(ROOT, 'examples', file), 'utf8')) as Record<string, unknown>[]) nodes.set(node.id as string, node);
  }
  const server = nodes.get('esr-hub');
  if (server) server.credentials = credentials;
  for (const [id, creds] of Object.entries(more)) {
    const node = nodes.get(id);
    if (node) node.credentials = creds;
  }
  const res = await fetch(`${url}/flows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full', 'Node-RED-API-Version': 'v1' },
    body: JSON.stringify([...nodes.values()]),
  });
  if (!res.ok) throw new Error(`deploying the examples failed: ${res.status} ${await res.text()}`);
}

/**
 * A real Node-RED 5 process (the demo's launcher: this working tree linked in as the pack) that a test can deploy
 * flows to, kill with SIGKILL and start again on the same user directory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startNodeRed, type RunningNodeRed } from '../../demo/node-red';

export class NodeRedProcess {
  private running?: RunningNodeRed;
  private ready?: Promise<void>;
  readonly userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-rt-'));
  restarts = 0;

  constructor(
    private readonly port: number,
    /** The flows (with credentials inline) deployed at every start. */
    public flows: unknown[],
    private readonly env: Record<string, string> = {},
  ) {}

  start(): Promise<void> {
    this.ready = (async () => {
      this.running = await startNodeRed(this.userDir, this.port, this.env);
      await this.deploy();
    })();
    return this.ready;
  }

  /** A full deploy of `flows` (as the editor's Deploy button does). */
  async deploy(flows = this.flows): Promise<void> {
    this.flows = flows;
    const res = await fetch(`http://127.0.0.1:${this.port}/flows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(flows),
    });
    if (!res.ok) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
  }

  async whenReady(): Promise<string> {
    await this.ready;
    return this.running!.url;
  }

  /** SIGKILL, as a crash or `kill -9` would. */
  async kill(): Promise<void> {
    await this.ready;
    const child = this.running!.process;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async killAndRestart(): Promise<void> {
    await this.kill();
    this.restarts++;
    await this.start();
  }

  log(): string {
    return this.running?.log() ?? '';
  }

  stop(): Promise<void> {
    return this.running?.stop() ?? Promise.resolve();
  }
}

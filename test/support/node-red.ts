/** node-red-node-test-helper set up for these tests: a real Node-RED runtime, with the pack's compiled nodes. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper = require('node-red-node-test-helper') as {
  init(nodeRedPath: string, settings?: Record<string, unknown>): void;
  load(nodes: unknown[], flow: FlowNode[], credentials?: Record<string, unknown>): Promise<void>;
  log(): { args: unknown[][] };
  unload(): Promise<void>;
  /** Deploys a new flow into the running runtime (a redeploy; the log stays captured). */
  setFlows(flow: FlowNode[], type: 'full' | 'nodes' | 'flows', credentials?: Record<string, unknown>): Promise<void>;
  getNode(id: string): unknown;
  startServer(done: () => void): void;
  stopServer(done: () => void): void;
  request(): { post(url: string): { send(body: unknown): Promise<{ status: number; body: any }> }; get(url: string): Promise<{ status: number; body: any; text: string }> };
  /** The runtime's settings (settings.js), replaced by `s` when given; returns them. */
  settings(s?: Record<string, unknown>): Record<string, unknown>;
};

const [major, minor] = process.versions.node.split('.').map(Number);
export const NODE_RED_SKIP = major > 22 || (major === 22 && minor >= 9) ? false : 'skipped: Node-RED 5 needs Node >= 22.9 (npm test brings it)';

/** Which Node-RED runtime the node tests use: node-red (5.x) by default, ESR_NODE_RED=node-red-4 for 4.1. */
export const NODE_RED_PACKAGE = process.env.ESR_NODE_RED || 'node-red';
if (!NODE_RED_SKIP) {
  helper.init(require.resolve(NODE_RED_PACKAGE));
  // A user directory of this test process's own: the default ESR state (sequence numbers) is kept there.
  helper.settings({ userDir: fs.mkdtempSync(path.join(os.tmpdir(), 'esr-node-red-')) });
}

export type FlowNode = { id: string; type: string; wires?: string[][] } & Record<string, unknown>;
export interface RedNode {
  receive(msg: Record<string, unknown>): void;
  on(event: string, listener: (...args: any[]) => void): void;
}
export interface HelperNode extends RedNode {
  once(event: 'input', listener: (msg: Record<string, any>) => void): void;
}

/** Puts the flow's nodes on a tab (config nodes stay global), as the editor would. */
export function onTab(nodes: FlowNode[]): FlowNode[] {
  return [{ id: 'tab1', type: 'tab', label: 'test' }, ...nodes.map((n) => (n.type.endsWith('-server') ? n : { z: 'tab1', x: 100, y: 100, ...n }))];
}

/** The compiled runtime module of one of the pack's nodes. */
export function nodeFile(name: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(__dirname, '..', '..', 'nodes', name, `${name}.js`));
}

/** A core node module of the Node-RED runtime under test (node-red-4 keeps its own @node-red packages). */
export function coreNode(file: string): unknown {
  const base = path.dirname(require.resolve(`${NODE_RED_PACKAGE}/package.json`));
  const nested = path.join(base, 'node_modules', '@node-red', 'nodes', 'core', file);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(fs.existsSync(nested) ? nested : path.join(base, '..', '@node-red', 'nodes', 'core', file));
}

export async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The messages a helper node receives, as they arrive. */
export function collect(id: string): Record<string, any>[] {
  const out: Record<string, any>[] = [];
  (helper.getNode(id) as HelperNode).on('input', (m: Record<string, any>) => out.push(m));
  return out;
}

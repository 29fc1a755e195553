/**
 * The state store a node uses: the one of its esr-state configuration node, or else the runtime's default local
 * store in `<user directory>/esr-state`. Keys say what they are about (layout and VPD; server, folder and pattern),
 * never node ids, so a re-imported or copied flow keeps its state.
 */
import * as path from 'node:path';
import { LocalStateStore, RedisStateStore, type StateStore } from '../../core/state';
import type { Node, NodeAPI } from './node-red';

export interface StateNode extends Node {
  store(): StateStore;
  /** Where the state is kept, for messages: "local folder …" or "Redis host:port" (never a password). */
  where: string;
}

export interface StateConfig {
  name?: string;
  backend: 'local' | 'redis';
  /** Local: the folder; empty for `<user directory>/esr-state`. */
  folder?: string;
  /** Redis: key prefix (default `esr`). */
  prefix?: string;
}

/** The folder of the default local store. */
export function defaultFolder(RED: NodeAPI): string {
  return path.join(String(RED.settings.userDir ?? process.cwd()), 'esr-state');
}

export function makeStore(RED: NodeAPI, config: StateConfig, credentials: Record<string, string | undefined>): { store: StateStore; where: string } {
  if (config.backend === 'redis') {
    const url = credentials.url || '';
    let host = '(no URL)';
    try {
      host = url ? new URL(url).host : host;
    } catch {
      host = '(a URL that does not parse)';
    }
    return { store: new RedisStateStore({ url, password: credentials.password, prefix: config.prefix || undefined }), where: `Redis ${host}` };
  }
  const folder = config.folder ? path.resolve(String(RED.settings.userDir ?? process.cwd()), config.folder) : defaultFolder(RED);
  return { store: new LocalStateStore({ folder }), where: `local folder ${folder}` };
}

const defaults = new Map<string, StateStore>();

/**
 * The store for a node: its esr-state node's, or the default local one (shared by the runtime's nodes). Throws when
 * the node names an esr-state node that is not deployed: falling back to another store would lose its facts.
 */
export function stateStoreFor(RED: NodeAPI, stateId: string | undefined, missing: string): StateStore {
  if (stateId) {
    const configured = RED.nodes.getNode(stateId) as StateNode | null;
    if (!configured?.store) throw new Error(missing);
    return configured.store();
  }
  const folder = defaultFolder(RED);
  let store = defaults.get(folder);
  if (!store) defaults.set(folder, (store = new LocalStateStore({ folder })));
  return store;
}

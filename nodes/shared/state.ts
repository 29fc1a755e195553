/**
 * The state store a node uses: the one of its esr-state configuration node, or else the runtime's default local
 * store in `<user directory>/esr-state`. Keys say what they are about (layout and VPD; server, folder and pattern),
 * never node ids, so a re-imported or copied flow keeps its state.
 */
import * as path from 'node:path';
import { LocalStateStore, RedisStateStore, StateError, type StateStore } from '../../core/state';
import type { Node, NodeAPI } from './node-red';

export interface StateNode extends Node {
  store(): StateStore;
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

/** The store an esr-state node describes; the Redis URL and password come from its credentials. */
export function makeStore(RED: NodeAPI, config: StateConfig, credentials: Record<string, string | undefined>): StateStore {
  if (config.backend === 'redis') {
    // Never a default server: an empty URL would reach whatever Redis listens on this machine.
    if (!credentials.url) throw new StateError('the ESR state node has no Redis URL', 'STATE_INVALID');
    return new RedisStateStore({ url: credentials.url, password: credentials.password, prefix: config.prefix || undefined });
  }
  const folder = config.folder ? path.resolve(String(RED.settings.userDir ?? process.cwd()), config.folder) : defaultFolder(RED);
  return new LocalStateStore({ folder });
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
  return defaultStore(RED);
}

/** The runtime's default local store (`<user directory>/esr-state`), shared by its nodes. */
export function defaultStore(RED: NodeAPI): StateStore {
  const folder = defaultFolder(RED);
  let store = defaults.get(folder);
  if (!store) defaults.set(folder, (store = new LocalStateStore({ folder })));
  return store;
}

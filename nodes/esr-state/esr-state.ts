/**
 * esr-state: where the facts correctness rests on are kept — TA_ sequence numbers, the ledger of files taken,
 * leases — in a local folder (fsynced, one runtime) or in Redis (several runtimes). Never in Node-RED context.
 * The Redis URL and password live only in Node-RED credentials; the connection is closed on redeploy.
 */
import type { StateStore } from '../../core/state';
import type { NodeAPI } from '../shared/node-red';
import { makeStore, type StateConfig, type StateNode } from '../shared/state';

export = function register(RED: NodeAPI): void {
  function EsrState(this: StateNode, config: StateConfig): void {
    RED.nodes.createNode(this, config);
    const node = this;
    let store: StateStore | undefined;
    node.store = () => (store ??= makeStore(RED, config, node.credentials ?? {}));
    node.on('close', (_removed, done) => {
      const s = store;
      store = undefined;
      (s ? s.close() : Promise.resolve()).then(done, done);
    });
  }

  RED.nodes.registerType('esr-state', EsrState as never, {
    credentials: { url: { type: 'password' }, password: { type: 'password' } },
  });
};

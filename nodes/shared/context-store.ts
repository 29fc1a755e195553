/** A poller StateStore over a node's context, in the context store the user chose (memory, file, Redis ...). */
import type { StateStore } from '../../core/sftp';
import type { Node } from './node-red';

export function contextStore(node: Node, store: string | undefined): StateStore {
  const ctx = node.context();
  const name = store || undefined;
  return {
    get: (key) => new Promise((resolve, reject) => ctx.get(key, name, (err, value) => (err ? reject(err) : resolve(value)))),
    set: (key, value) => new Promise((resolve, reject) => ctx.set(key, value, name, (err) => (err ? reject(err) : resolve()))),
  };
}

/**
 * File sequence numbers per (layout, VPD), kept in Node-RED global context in the chosen store and never reused:
 * the next number is stored before it is used, and allocations in this process are serialised.
 */
import type { Node } from './node-red';

const locks = new Map<string, Promise<unknown>>();

export async function nextSequence(node: Node, store: string | undefined, layoutId: string, vpd: string, first = 1): Promise<number> {
  const key = `esrSequence_${layoutId}_${vpd}`.replace(/[^A-Za-z0-9_-]/g, '_');
  const ctx = node.context().global;
  const storeName = store || undefined;
  const previous = locks.get(key) ?? Promise.resolve();
  const next = previous.then(async () => {
    const last = await new Promise<unknown>((resolve, reject) => ctx.get(key, storeName, (err, v) => (err ? reject(err) : resolve(v))));
    const value = typeof last === 'number' && Number.isInteger(last) ? last + 1 : first;
    await new Promise<void>((resolve, reject) => ctx.set(key, value, storeName, (err) => (err ? reject(err) : resolve())));
    return value;
  });
  locks.set(key, next.catch(() => undefined));
  return next;
}

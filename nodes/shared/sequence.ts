/**
 * File sequence numbers per (layout, VPD), from the state store (see esr-state): on disk or in Redis before a file
 * is named with one, and never handed out twice — also across redeploys, restarts, kill -9 and several runtimes.
 * A number taken for a file that then failed is skipped, not reused: the file may have reached the hub.
 *
 * The first time a counter is used in a store, numbering goes on after the highest number known elsewhere: what an
 * older version of the pack kept in Node-RED global context (`esrSequence_<layout>_<vpd>`, in the context store the
 * node named), and the runtime's default local store when the node now uses another (a change of backend).
 */
import type { StateStore } from '../../core/state';
import type { Node } from './node-red';

export function sequenceCounter(layoutId: string, vpd: string): string {
  return `sequence:${layoutId}:${vpd}`;
}

async function oldContextNumber(node: Node, contextStore: string | undefined, layoutId: string, vpd: string): Promise<number | undefined> {
  const key = `esrSequence_${layoutId}_${vpd}`.replace(/[^A-Za-z0-9_-]/g, '_');
  const value = await new Promise<unknown>((resolve) => node.context().global.get(key, contextStore || undefined, (err, v) => resolve(err ? undefined : v)));
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

export async function nextSequence(store: StateStore, node: Node, contextStore: string | undefined, layoutId: string, vpd: string, first = 1, earlier?: StateStore): Promise<number> {
  const counter = sequenceCounter(layoutId, vpd);
  let floor = first;
  if ((await store.lastNumber(counter)) === undefined) {
    const known = [await oldContextNumber(node, contextStore, layoutId, vpd), earlier && earlier !== store ? await earlier.lastNumber(counter) : undefined];
    for (const n of known) if (n !== undefined) floor = Math.max(floor, n + 1);
  }
  return store.nextNumber(counter, floor);
}

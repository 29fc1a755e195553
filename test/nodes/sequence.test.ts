/** File sequence numbers: per layout and VPD, stored before use, continuing after a restart with a persistent store. */
import { it } from 'node:test';
import * as assert from 'node:assert/strict';
import { nextSequence } from '../../nodes/shared/sequence';
import type { Node } from '../../nodes/shared/node-red';

/** A node whose global context writes to `data` in the named store (as a file or Redis store would). */
function nodeWith(data: Map<string, unknown>, seen: string[] = []): Node {
  const global = {
    get: (key: string, store: string | undefined, cb: (err: Error | null, v: unknown) => void) => cb(null, data.get(`${store}/${key}`)),
    set: (key: string, value: unknown, store: string | undefined, cb: (err: Error | null) => void) => {
      seen.push(`${store}/${key}=${value}`);
      data.set(`${store}/${key}`, value);
      cb(null);
    },
  };
  return { context: () => ({ global }) } as unknown as Node;
}

it('numbers files per layout and VPD, never reusing a number, also across a restart', async () => {
  const disk = new Map<string, unknown>();
  const seen: string[] = [];
  const before = nodeWith(disk, seen);
  assert.deepEqual(await Promise.all([nextSequence(before, 'file', 'ta', '431'), nextSequence(before, 'file', 'ta', '431'), nextSequence(before, 'file', 'ta', '999')]), [1, 2, 1]);
  assert.equal(await nextSequence(before, 'file', 'gdr', '431'), 1);
  // Node-RED restarts: a new node, the same persistent store.
  const after = nodeWith(disk);
  assert.equal(await nextSequence(after, 'file', 'ta', '431'), 3);
  assert.ok(seen.every((s) => s.startsWith('file/esrSequence_')), 'kept in the chosen store');
  assert.equal(await nextSequence(nodeWith(new Map()), undefined, 'ta', '431', 48), 48, 'a first number can be set');
});

/**
 * File sequence numbers: per layout and VPD, from the state store, continuing after a restart; the first time, from
 * the number an older version kept in Node-RED context.
 */
import { it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalStateStore } from '../../core/state';
import { nextSequence } from '../../nodes/shared/sequence';
import type { Node } from '../../nodes/shared/node-red';

/** A node whose global context reads from `data` in the named store (what an older version wrote). */
function nodeWith(data: Map<string, unknown>): Node {
  const global = {
    get: (key: string, store: string | undefined, cb: (err: Error | null, v: unknown) => void) => cb(null, data.get(`${store}/${key}`)),
    set: () => assert.fail('sequence numbers are never written to Node-RED context'),
  };
  return { context: () => ({ global }) } as unknown as Node;
}

it('numbers files per layout and VPD, never reusing a number, also across a restart', async () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-seq-'));
  const node = nodeWith(new Map());
  const before = new LocalStateStore({ folder });
  assert.deepEqual(await Promise.all([nextSequence(before, node, undefined, 'ta', '431'), nextSequence(before, node, undefined, 'ta', '431'), nextSequence(before, node, undefined, 'ta', '999')]).then((n) => [...n].sort()), [1, 1, 2]);
  assert.equal(await nextSequence(before, node, undefined, 'gdr', '431'), 1);
  // Node-RED restarts: a new store over the same folder.
  const after = new LocalStateStore({ folder });
  assert.equal(await nextSequence(after, node, undefined, 'ta', '431'), 3);
  assert.equal(await nextSequence(new LocalStateStore({ folder: fs.mkdtempSync(path.join(os.tmpdir(), 'esr-seq-')) }), node, undefined, 'ta', '431', 48), 48, 'a first number can be set');
});

it('goes on from the number an older version kept in Node-RED context, read once', async () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-seq-'));
  const store = new LocalStateStore({ folder });
  const old = new Map<string, unknown>([['file/esrSequence_ta_431', 47]]);
  assert.equal(await nextSequence(store, nodeWith(old), 'file', 'ta', '431'), 48);
  old.set('file/esrSequence_ta_431', 5); // not read again once the state has a number
  assert.equal(await nextSequence(store, nodeWith(old), 'file', 'ta', '431'), 49);
  assert.equal(await nextSequence(store, nodeWith(old), 'file', 'ta', '999'), 1, 'other VPDs start afresh');
});

it('goes on after the default local store when the node moves to another store (a change of backend)', async () => {
  const local = new LocalStateStore({ folder: fs.mkdtempSync(path.join(os.tmpdir(), 'esr-seq-')) });
  const moved = new LocalStateStore({ folder: fs.mkdtempSync(path.join(os.tmpdir(), 'esr-seq-')) });
  const node = nodeWith(new Map());
  for (let i = 0; i < 14; i++) await nextSequence(local, node, undefined, 'ta', '123', 1, local);
  assert.equal(await nextSequence(moved, node, undefined, 'ta', '123', 1, local), 15);
  assert.equal(await nextSequence(moved, node, undefined, 'ta', '123', 1, local), 16, 'then from its own numbers');
});

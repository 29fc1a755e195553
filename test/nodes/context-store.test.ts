/** The poller's ledger goes to the context store the user chose. */
import { it } from 'node:test';
import * as assert from 'node:assert/strict';
import { contextStore } from '../../nodes/shared/context-store';
import type { Node } from '../../nodes/shared/node-red';

it('reads and writes the ledger in the chosen context store', async () => {
  const calls: string[] = [];
  const data = new Map<string, unknown>();
  const ctx = {
    get: (key: string, store: string | undefined, cb: (err: Error | null, v: unknown) => void) => {
      calls.push(`get ${key} ${store}`);
      cb(null, data.get(`${store}/${key}`));
    },
    set: (key: string, value: unknown, store: string | undefined, cb: (err: Error | null) => void) => {
      calls.push(`set ${key} ${store}`);
      data.set(`${store}/${key}`, value);
      cb(null);
    },
  };
  const node = { context: () => ctx } as unknown as Node;
  const redis = contextStore(node, 'redis');
  await redis.set('k', { state: 'done' });
  assert.deepEqual(await redis.get('k'), { state: 'done' });
  assert.deepEqual(calls, ['set k redis', 'get k redis']);
  await contextStore(node, '').set('k', 1);
  assert.equal(calls.at(-1), 'set k undefined', 'an empty choice means the default store');
});

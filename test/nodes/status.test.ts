/** Status dots for the connection states. */
import { it } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatBytes, showSessionStatus } from '../../nodes/shared/status';
import type { Node, NodeStatus } from '../../nodes/shared/node-red';

it('shows connecting, connected, transferring with bytes, disconnected and errors', () => {
  const shown: NodeStatus[] = [];
  const node = { status: (s: NodeStatus) => shown.push(s) } as unknown as Node;
  showSessionStatus(node, { state: 'connecting' });
  showSessionStatus(node, { state: 'connected' });
  showSessionStatus(node, { state: 'transferring', operation: 'put', bytes: 5 * 1024 * 1024 + 1 });
  showSessionStatus(node, { state: 'disconnected' });
  showSessionStatus(node, { state: 'error', code: 'HOST_KEY_MISMATCH' });
  assert.deepEqual(shown, [
    { fill: 'yellow', shape: 'ring', text: 'connecting' },
    { fill: 'green', shape: 'dot', text: 'connected' },
    { fill: 'blue', shape: 'dot', text: 'put 5.0 MB' },
    { fill: 'grey', shape: 'ring', text: 'disconnected' },
    { fill: 'red', shape: 'ring', text: 'HOST_KEY_MISMATCH' },
  ]);
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(2048), '2.0 kB');
});

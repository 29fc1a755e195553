/** Status dots for the connection states. */
import { it } from 'node:test';
import * as assert from 'node:assert/strict';
import { formatBytes, showSessionStatus } from '../../nodes/shared/status';
import type { Node, NodeAPI, NodeStatus } from '../../nodes/shared/node-red';
import { messagesFor } from '../../nodes/shared/messages';

it('shows connecting, connected, transferring with bytes, disconnected and errors', () => {
  const shown: NodeStatus[] = [];
  const node = { status: (s: NodeStatus) => shown.push(s) } as unknown as Node;
  const t = messagesFor({ _: (key: string) => key } as unknown as NodeAPI, 'esr-sftp-server');
  showSessionStatus(node, { state: 'connecting' }, t);
  showSessionStatus(node, { state: 'connected' }, t);
  showSessionStatus(node, { state: 'transferring', operation: 'put', bytes: 5 * 1024 * 1024 + 1 }, t);
  showSessionStatus(node, { state: 'disconnected' }, t);
  showSessionStatus(node, { state: 'error', code: 'HOST_KEY_MISMATCH' }, t);
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

/** The node tests run on the Node-RED runtime asked for: 5.x by default, 4.1 with ESR_NODE_RED=node-red-4. */
import { it } from 'node:test';
import * as assert from 'node:assert/strict';
import { helper, NODE_RED_PACKAGE, NODE_RED_SKIP } from '../support/node-red';

it('loads the Node-RED runtime the test run asked for', { skip: NODE_RED_SKIP }, () => {
  const red = (helper as unknown as { _RED: { version(): string } })._RED;
  const expected = NODE_RED_PACKAGE === 'node-red-4' ? /^4\.1\./ : /^5\./;
  assert.match(red.version(), expected);
});

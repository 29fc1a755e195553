/** The project brings its own Node runtime: npm scripts must run on Node >= 22.9 even where the system has Node 20. */
import { it } from 'node:test';
import * as assert from 'node:assert/strict';

it('npm scripts run on the Node runtime the project brings (>= 22.9, as Node-RED 5 needs)', () => {
  const [major, minor] = process.versions.node.split('.').map(Number);
  assert.ok(major > 22 || (major === 22 && minor >= 9), `running on Node ${process.versions.node}`);
});

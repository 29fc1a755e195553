/**
 * Many trusts still run Node-RED 4.1: every node test runs again on Node-RED 4.1's runtime (the node-red-4 alias
 * devDependency), in a child test run so that this run keeps one summary.
 */
import { it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const nodesDir = path.join(__dirname, 'nodes');

it('the node tests pass on Node-RED 4.1', { skip: process.env.ESR_NODE_RED ? 'already a Node-RED 4.1 run' : false, timeout: 600_000 }, () => {
  const files = fs.readdirSync(nodesDir).filter((f) => f.endsWith('.test.js')).map((f) => path.join(nodesDir, f));
  const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', ...files], { env: { ...process.env, NODE_TEST_CONTEXT: undefined, ESR_NODE_RED: 'node-red-4' }, encoding: 'utf8', timeout: 590_000 });
  const summary = run.stdout.split('\n').filter((l) => /^# (tests|pass|fail) /.test(l));
  assert.equal(run.status, 0, `Node-RED 4.1 run failed:\n${run.stdout.split('\n').filter((l) => /not ok|Error|assert/i.test(l)).slice(0, 40).join('\n')}`);
  assert.ok(summary.some((l) => /^# pass [1-9]/.test(l)), `no test passed on Node-RED 4.1: ${summary.join(', ')}`);
  assert.ok(summary.includes('# fail 0'));
});

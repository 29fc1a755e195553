/**
 * The esr-state configuration node in a real Node-RED runtime: esr-write's numbers go to the chosen local folder or
 * Redis; a Redis state without a URL, or a state node that is not deployed, fails the file (no number, no default
 * server); the Redis connection is closed on redeploy.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createClient } from '@redis/client';
import { collect, NODE_RED_SKIP, helper, nodeFile, onTab, waitFor, type FlowNode, type RedNode } from '../support/node-red';
import { REDIS_SKIP, startRedis, type TestRedis } from '../support/redis';

const stateNode = nodeFile('esr-state');
const writeNode = nodeFile('esr-write');
const ATT = { recordType: 'ATT', effectiveDate: '2026-11-20', assignmentNumber: '1', elementName: 'Overtime' };

describe('esr-state in Node-RED', { skip: NODE_RED_SKIP }, () => {
  let redis: TestRedis | undefined;
  before(async () => {
    if (!REDIS_SKIP) redis = await startRedis();
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  afterEach(async () => helper.unload());
  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await redis?.stop();
  });

  const flow = (state: Record<string, unknown> | undefined, stateId = 'st'): FlowNode[] => [
    ...(state ? [{ id: 'st', type: 'esr-state', ...state } as FlowNode] : []),
    {
      id: 'write', type: 'esr-write', layout: 'ta', vpd: '431', vpdType: 'str', state: stateId,
      nameParts: '{"sourceSystem":"SEL","periodType":"W","periodRun":"N","taxYear":"27","taxPeriod":"08"}', namePartsType: 'json', header: '{}', headerType: 'json', wires: [['file'], []],
    },
    { id: 'file', type: 'helper' },
    { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ];

  it('keeps numbers in the local folder it names', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-state-node-'));
    await helper.load([stateNode, writeNode], onTab(flow({ backend: 'local', folder })));
    const files = collect('file');
    for (let i = 0; i < 2; i++) (helper.getNode('write') as RedNode).receive({ payload: [ATT] });
    await waitFor(() => files.length === 2);
    assert.deepEqual(files.map((f) => f.filename).sort(), ['TA_431_SEL_WN2708_00000001.DAT', 'TA_431_SEL_WN2708_00000002.DAT']);
    assert.ok(fs.readdirSync(path.join(folder, 'counters')).some((d) => d.startsWith('sequence_ta_431')));
  });

  it('fails the file, taking no number, when its state node is missing or has no Redis URL', async () => {
    for (const [state, code] of [[undefined, /ESR state configuration node is not deployed/], [{ backend: 'redis' }, /STATE_INVALID/]] as const) {
      await helper.load([stateNode, writeNode], onTab(flow(state as Record<string, unknown> | undefined)));
      const caught = collect('caught');
      const files = collect('file');
      (helper.getNode('write') as RedNode).receive({ payload: [ATT] });
      await waitFor(() => caught.length === 1);
      assert.match(caught[0].error.message, code);
      assert.equal(files.length, 0);
      await helper.unload();
    }
  });

  it('keeps numbers in Redis, and closes its connection on redeploy', { skip: REDIS_SKIP }, async () => {
    const credentials = { st: { url: redis!.url, password: redis!.password } };
    await helper.load([stateNode, writeNode], onTab(flow({ backend: 'redis', prefix: 'nodetest' })), credentials);
    const files = collect('file');
    (helper.getNode('write') as RedNode).receive({ payload: [ATT] });
    await waitFor(() => files.length === 1);
    const admin = createClient({ url: redis!.url, password: redis!.password });
    await admin.connect();
    try {
      assert.equal(await admin.get('nodetest:counter:sequence:ta:431'), '1');
      const clients = async () => String(await admin.sendCommand(['CLIENT', 'LIST'])).trim().split('\n').length;
      assert.equal(await clients(), 2, 'the node and this test');
      await helper.unload();
      const until = Date.now() + 5000;
      while ((await clients()) !== 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      assert.equal(await clients(), 1, 'closed on redeploy');
    } finally {
      await admin.close();
    }
  });
});

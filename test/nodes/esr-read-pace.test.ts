/**
 * esr-read's and esr-map's pace in a real Node-RED runtime: records are sent without a wait (a promise and a timer) per record,
 * yet the read still lets what it sent be delivered every few dozen messages, so that memory stays flat.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { goFile, goLine } from '../helpers';
import { collect, NODE_RED_SKIP, helper, nodeFile, onTab, waitFor, type RedNode } from '../support/node-red';

const NAME = 'GO_123_GDW_GOC_20261120_00000007.DAT';
const RECORDS = 3000;
const FILE = Buffer.from(goFile(Array.from({ length: RECORDS }, (_, i) => goLine('PRA', 44, { 2: String(100000 + i), 3: '20200101', 5: `E${i}`, 7: 'Zebedee', 8: 'Ann' })), '\n', NAME), 'latin1');

describe('esr-read pace', { skip: NODE_RED_SKIP }, () => {
  before(async () => new Promise<void>((resolve) => helper.startServer(resolve)));
  afterEach(async () => helper.unload());
  after(async () => new Promise<void>((resolve) => helper.stopServer(resolve)));

  it('sends records without a turn of the event loop each, and never far ahead of their delivery', async () => {
    await helper.load([nodeFile('esr-read')], onTab([
      { id: 'read', type: 'esr-read', layout: 'go-gdw', input: 'payload', mode: 'record', filename: 'filename', filenameType: 'msg', wires: [['records'], [], ['summary']] },
      { id: 'records', type: 'helper' },
      { id: 'summary', type: 'helper' },
    ]));
    const read = helper.getNode('read') as RedNode & { send(m: unknown): void };
    const [records, summary] = ['records', 'summary'].map(collect);
    let sent = 0;
    let ahead = 0;
    const send = read.send.bind(read);
    read.send = (m: unknown) => {
      if (Array.isArray(m) && m[0]) {
        sent++;
        ahead = Math.max(ahead, sent - records.length);
      }
      send(m);
    };
    const real = globalThis.setImmediate;
    let turns = 0;
    globalThis.setImmediate = ((...args: Parameters<typeof real>) => (turns++, real(...args))) as typeof real;
    try {
      read.receive({ payload: FILE, filename: NAME });
      await waitFor(() => summary.length === 1, 20_000);
      await waitFor(() => records.length === RECORDS + 2);
    } finally {
      globalThis.setImmediate = real;
    }
    assert.deepEqual(records.map((m) => m.parts.index), Array.from({ length: RECORDS + 2 }, (_, i) => i), 'every record, in order');
    // Node-RED delivers each message in a turn of its own (setImmediate); esr-read used to add one per record.
    assert.ok(turns < RECORDS * 1.3, `${turns} turns for ${RECORDS + 2} records`);
    assert.ok(ahead <= 80, `${ahead} messages sent ahead of their delivery`);
  });

  it('esr-map sends on the message it was given, its payload mapped, not a copy per record (also in a sequence, and a batch)', async () => {
    await helper.load([nodeFile('esr-map')], onTab([
      { id: 'map', type: 'esr-map', rules: [{ target: 'id', template: '{{personId}}' }], lookups: [], recordTypes: '', condition: '', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]));
    const map = helper.getNode('map') as RedNode;
    const out = collect('out');
    const single = { payload: { personId: '1' }, topic: 'PRA' };
    const first = { payload: { personId: '2' }, parts: { id: 's', index: 0 } };
    const last = { payload: { personId: '3' }, parts: { id: 's', index: 1, count: 2 } };
    const batch = { payload: [{ personId: '4' }, { personId: '5' }], topic: 'batch' };
    for (const m of [single, first, last, batch]) map.receive(m);
    await waitFor(() => out.length === 4);
    assert.deepEqual(out.map((m) => m.payload), [{ id: '1' }, { id: '2' }, { id: '3' }, [{ id: '4' }, { id: '5' }]]);
    assert.equal(out[0], single);
    assert.equal(out[1], first);
    assert.equal(out[2], last);
    assert.equal(out[3], batch);
    assert.deepEqual([out[1].parts, out[2].parts], [{ id: 's', index: 0 }, { id: 's', index: 1, count: 2 }]);
  });

  it("person mode: spill folders a killed process left are removed when the node starts, not at its next spill", async () => {
    const userDir = (helper as unknown as { _settings: { userDir: string } })._settings.userDir;
    const stale = path.join(userDir, 'esr-spill', `people-${2 ** 22 + 1}-abc`);
    fs.mkdirSync(stale, { recursive: true });
    fs.writeFileSync(path.join(stale, '0.jsonl'), 'x');
    await helper.load([nodeFile('esr-read')], onTab([{ id: 'read', type: 'esr-read', layout: 'go-gdw', input: 'payload', mode: 'person', grouping: 'collect', wires: [[], [], []] }]));
    assert.equal(fs.existsSync(stale), false);
  });
});

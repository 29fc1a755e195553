/**
 * esr-read in a real Node-RED runtime: a file cut at any byte ends its sequence with msg.reset and reaches Catch,
 * in every output mode, and whole-file mode sends nothing of it; a person whose PRA was rejected is not sent.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { goFile, goLine } from '../helpers';
import { wholeFiles } from '../support/sound-files';
import { collect, NODE_RED_SKIP, helper, nodeFile, onTab, type FlowNode, type RedNode } from '../support/node-red';

const readNode = nodeFile('esr-read');
const NAME = 'GO_123_GDW_GOC_20261120_00000007.DAT';
const PRA = (id: string, extra: Record<number, string> = {}) => goLine('PRA', 44, { 2: id, 3: '20200101', 5: `E${id}`, 7: 'Zebedee', 8: 'Ann', ...extra });
const ASA = (id: string, a: string) => goLine('ASA', 51, { 2: id, 3: a, 4: '20200101', 8: `${a}-1` });
const FILE = Buffer.from(goFile([PRA('1001'), ASA('1001', 'A1'), PRA('1002'), ASA('1002', 'A2'), 'PRD~1003'], '\n', NAME), 'latin1');

type Msg = Record<string, any>;

describe('esr-read and unsound files', { skip: NODE_RED_SKIP }, () => {
  before(async () => new Promise<void>((resolve) => helper.startServer(resolve)));
  afterEach(async () => helper.unload());
  after(async () => new Promise<void>((resolve) => helper.stopServer(resolve)));

  const flow = (mode: string): FlowNode[] =>
    onTab([
      { id: 'read', type: 'esr-read', layout: 'go-gdw', lenient: false, input: 'payload', mode, batchSize: 2, grouping: 'blocks', date: '2026-01-01', dateType: 'str', filename: 'filename', filenameType: 'msg', wires: [['records'], ['rejected'], ['summary']] },
      { id: 'records', type: 'helper' },
      { id: 'rejected', type: 'helper' },
      { id: 'summary', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ]);

  /** Sends one file in and waits for its summary and, when it fails, its error at the Catch node. */
  async function readOnce(bytes: Buffer, out: { records: Msg[]; summary: Msg[]; caught: Msg[] }): Promise<void> {
    const before = out.caught.length;
    const summaries = out.summary.length;
    (helper.getNode('read') as RedNode).receive({ payload: bytes, filename: NAME, esrClaim: { node: 'poller' } });
    const until = Date.now() + 10_000;
    while (out.summary.length === summaries || (!out.summary.at(-1)!.payload.sound && out.caught.length === before)) {
      if (Date.now() > until) throw new Error('no summary or error in time');
      await new Promise((r) => setImmediate(r));
    }
  }

  for (const mode of ['record', 'person', 'batch', 'file']) {
    it(`${mode} mode: every cut of a file ends with msg.reset and an error to Catch${mode === 'file' ? ', and sends nothing' : ''}`, async () => {
      await helper.load([readNode], flow(mode));
      const [records, summary, caught] = ['records', 'summary', 'caught'].map(collect);
      const change = (await wholeFiles()).find((f) => f.label === 'go-gdw change (crlf)')!.bytes;
      const cuts: Buffer[] = [];
      for (let cut = 0; cut < FILE.length; cut++) cuts.push(FILE.subarray(0, cut));
      for (let cut = 0; cut < change.length; cut += 5) cuts.push(change.subarray(0, cut));
      cuts.push(change.subarray(0, change.length - 1));
      for (const bytes of cuts) {
        const from = records.length;
        const caughtBefore = caught.length;
        await readOnce(bytes, { records, summary, caught });
        const label = `cut at ${bytes.length} bytes`;
        const sent = records.slice(from);
        assert.equal(summary.at(-1)!.payload.sound, false, label);
        assert.equal(summary.at(-1)!.esrClaim, undefined, `${label}: the summary cannot confirm the file`);
        assert.equal(caught.length, caughtBefore + 1, `${label}: one error to Catch`);
        assert.match(caught.at(-1)!.error.message, /\[[A-Z_]+\]/);
        if (mode === 'file') assert.equal(sent.length, 0, `${label}: whole-file mode sends nothing`);
        else if (sent.length) {
          assert.equal(sent.at(-1)!.reset, true, `${label}: the last message carries msg.reset`);
          assert.equal(sent.at(-1)!.parts.count, sent.length, label);
          assert.ok(sent.slice(0, -1).every((m) => m.reset === undefined), label);
        }
      }
      // The whole file goes through: the tests above can fail.
      const from = records.length;
      await readOnce(FILE, { records, summary, caught });
      assert.equal(summary.at(-1)!.payload.sound, true);
      assert.ok(records.length > from && records.slice(from).every((m) => m.reset === undefined));
    });
  }

  it('sends nothing of a file once it is known not to be sound: a byte order mark, no header', async () => {
    await helper.load([readNode], flow('record'));
    const [records, rejected, summary, caught] = ['records', 'rejected', 'summary', 'caught'].map(collect);
    const noHeader = Buffer.from(FILE.toString('latin1').split('\n').slice(1).join('\n'), 'latin1');
    for (const bytes of [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), FILE]), noHeader]) await readOnce(bytes, { records, summary, caught });
    assert.equal(records.length, 0, 'no record of either file');
    assert.equal(rejected.length, 0);
    assert.deepEqual(caught.map((m) => m.error.message.match(/\[([A-Z_]+)\]/)?.[1]), ['BYTE_ORDER_MARK', 'NO_HEADER']);
  });

  it('person mode: a person whose PRA was rejected goes whole to the rejected output, with the problems', async () => {
    await helper.load([readNode], flow('person'));
    const [records, rejected, summary] = ['records', 'rejected', 'summary'].map(collect);
    const file = goFile([PRA('1001'), ASA('1001', 'A1'), PRA('1002', { 14: '20230230' }), ASA('1002', 'A2'), PRA('1003')], '\n', NAME);
    (helper.getNode('read') as RedNode).receive({ payload: Buffer.from(file, 'latin1'), filename: NAME });
    const until = Date.now() + 10_000;
    while (!summary.length && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(records.filter((m) => m.topic === 'person').map((m) => m.payload.personId), ['1001', '1003']);
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0].topic, 'person');
    assert.equal(rejected[0].payload.personId, '1002');
    assert.deepEqual(rejected[0].payload.records.map((r: Msg) => r.recordType), ['ASA'], 'the rows that were read');
    assert.deepEqual(rejected[0].payload.rejected.map((r: Msg) => r.recordType), ['PRA']);
    assert.deepEqual(rejected[0].problems.map((p: Msg) => [p.code, p.field]), [['INVALID_DATE', 'Date of Birth']]);
    assert.equal(summary[0].payload.sound, true, 'a rejected person does not make the file unsound');
  });
});

/**
 * Message sequences (msg.parts) that the pack's nodes emit, filter or end are ones the core nodes accept as is: a real
 * core join (automatic mode), switch and function node after esr-read and a filtering esr-map, in record, person and
 * batch mode, in a real Node-RED runtime.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { loadLayout, readAll } from '../../core/codec';
import { goFile, goLine } from '../helpers';
import { collect, NODE_RED_SKIP, coreNode, helper, nodeFile, onTab, waitFor, type FlowNode, type RedNode } from '../support/node-red';

const NAME = 'GO_123_GDW_GOC_20261120_00000007.DAT';
const PRA = (id: string, last: string) => goLine('PRA', 44, { 2: id, 3: '20200101', 5: `E${id}`, 7: last, 8: 'Ann' });
const ASA = (id: string, a: string) => goLine('ASA', 51, { 2: id, 3: a, 4: '20200101', 8: `${a}-1` });
// HDR, PRA, ASA, PRA, ASA, PRD, TRL: the last record is not a PRA, so a PRA filter drops the message with parts.count.
const FILE = goFile([PRA('1001', 'Ames'), ASA('1001', 'A1'), PRA('1002', 'Bell'), ASA('1002', 'A2'), 'PRD~1003'], '\n', NAME);

const CORE = [coreNode('sequence/17-split.js'), coreNode('function/10-switch.js'), coreNode('function/10-function.js'), coreNode('common/25-catch.js')];
const NODES = [nodeFile('esr-read'), nodeFile('esr-map'), nodeFile('esr-write')];

const read = (mode: string, wires: string[], extra: Record<string, unknown> = {}): FlowNode => ({
  id: 'read', type: 'esr-read', layout: 'go-gdw', lenient: false, input: 'payload', mode, batchSize: 2, grouping: 'blocks', date: '', dateType: 'str', filename: 'filename', filenameType: 'msg', wires: [wires, [], []], ...extra,
});
const map = (filter: Record<string, unknown>, wires: string[]): FlowNode => ({ id: 'map', type: 'esr-map', rules: [{ target: 'personId', template: '{{personId}}' }], ...filter, wires: [wires] });
const join = (wires: string[] = ['joined']): FlowNode => ({ id: 'join', type: 'join', mode: 'auto', build: 'object', property: 'payload', propertyType: 'msg', key: 'topic', joiner: '\\n', joinerType: 'str', timeout: '', count: '', wires: [wires] });
// Reads a field of the payload, as an analyst's function node would: a null payload throws a TypeError.
const fn = (wires: string[] = ['seen']): FlowNode => ({ id: 'fn', type: 'function', func: 'return { payload: msg.payload.personId };', outputs: 1, wires: [wires] });
const tail: FlowNode[] = [
  { id: 'joined', type: 'helper' },
  { id: 'seen', type: 'helper' },
  { id: 'mapped', type: 'helper' },
  { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
  { id: 'caught', type: 'helper' },
];
const settle = () => new Promise((r) => setTimeout(r, 300));

describe('sequences through esr-map and the core nodes', { skip: NODE_RED_SKIP }, () => {
  before(async () => new Promise<void>((resolve) => helper.startServer(resolve)));
  afterEach(async () => helper.unload());
  after(async () => new Promise<void>((resolve) => helper.stopServer(resolve)));

  const run = async (flow: FlowNode[], payload: string = FILE) => {
    await helper.load([...NODES, ...CORE], onTab([...flow, ...tail]));
    const got = { joined: collect('joined'), seen: collect('seen'), mapped: collect('mapped'), caught: collect('caught') };
    (helper.getNode('read') as RedNode).receive({ payload: Buffer.from(payload, 'latin1'), filename: NAME });
    return got;
  };

  it('record mode: a join (automatic) after esr-map filtering PRA sends one message with exactly the kept records', async () => {
    const got = await run([read('record', ['map']), map({ recordTypes: 'PRA' }, ['join', 'fn', 'mapped']), join(), fn()]);
    await waitFor(() => got.joined.length === 1);
    await settle();
    assert.deepEqual(got.joined[0].payload, [{ personId: '1001' }, { personId: '1002' }]);
    assert.equal(got.joined.length, 1);
    assert.deepEqual(got.seen.map((m) => m.payload), ['1001', '1002'], 'the function node saw each kept record, and no null payload');
    assert.deepEqual(got.caught, []);
    assert.deepEqual(got.mapped.map((m) => [m.parts.index, m.parts.count]), [[0, undefined], [1, 2]], 'renumbered, count on the last');
  });

  it('person mode: a join after esr-map keeping the people not deleted gets exactly those people', async () => {
    const got = await run([read('person', ['map']), map({ condition: '{{^deleted}}{{personId}}{{/deleted}}' }, ['join', 'fn', 'mapped']), join(), fn()]);
    await waitFor(() => got.joined.length === 1);
    await settle();
    assert.deepEqual(got.joined[0].payload, [{ personId: '1001' }, { personId: '1002' }]);
    assert.deepEqual(got.seen.map((m) => m.payload), ['1001', '1002']);
    assert.deepEqual(got.caught, []);
  });

  it('batch mode: a join after esr-map gets the kept records as one flat array; emptied batches are dropped', async () => {
    const got = await run([read('batch', ['map']), map({ recordTypes: 'PRA' }, ['join', 'mapped']), join()]);
    await waitFor(() => got.joined.length === 1);
    await settle();
    assert.deepEqual(got.joined[0].payload, [{ personId: '1001' }, { personId: '1002' }]);
    assert.ok(got.mapped.every((m) => Array.isArray(m.payload) && m.payload.length > 0), 'no empty batch goes on');
    assert.deepEqual(got.mapped.map((m) => [m.parts.index, m.parts.count]), [[0, undefined], [1, 2]]);
  });

  it('batch mode without a filter: a join puts the batches together into the file\'s records', async () => {
    const got = await run([read('batch', ['join']), join()]);
    await waitFor(() => got.joined.length === 1);
    assert.deepEqual(got.joined[0].payload.map((r: { recordType: string }) => r.recordType), ['HDR', 'PRA', 'ASA', 'PRA', 'ASA', 'PRD', 'TRL']);
  });

  it('nothing kept: nothing is sent (no empty message), no join fires, esr-write makes no file, and the status says so', async () => {
    const write: FlowNode = { id: 'write', type: 'esr-write', layout: 'ta', vpd: '555', vpdType: 'str', nameParts: '{"sourceSystem":"SEL","periodType":"M","periodRun":"N","taxYear":"27","taxPeriod":"08"}', namePartsType: 'json', header: '{}', headerType: 'json', wires: [['file'], []] };
    await helper.load([...NODES, ...CORE], onTab([read('record', ['map']), map({ recordTypes: 'XYZ' }, ['join', 'fn', 'mapped', 'write']), join(), fn(), write, { id: 'file', type: 'helper' }, ...tail]));
    const [mapped, joined, files, caught] = [collect('mapped'), collect('joined'), collect('file'), collect('caught')];
    const statuses: Record<string, unknown>[] = [];
    (helper.getNode('map') as RedNode).on('call:status', (call: { args: Record<string, unknown>[] }) => statuses.push(call.args[0]));
    (helper.getNode('read') as RedNode).receive({ payload: Buffer.from(FILE, 'latin1'), filename: NAME });
    await waitFor(() => statuses.length > 0);
    await settle();
    assert.deepEqual([mapped, joined, files, caught], [[], [], [], []]);
    assert.equal(statuses.at(-1)!.fill, 'yellow');
    assert.match(String(statuses.at(-1)!.text), new RegExp(`nothing kept of ${NAME}`));
  });

  it('a switch with "recreate message sequences" after a filtering esr-map, then a join', async () => {
    const sw: FlowNode = { id: 'sw', type: 'switch', property: 'payload.personId', propertyType: 'msg', rules: [{ t: 'neq', v: '1001', vt: 'str' }], checkall: 'true', repair: true, outputs: 1, wires: [['join']] };
    const got = await run([read('record', ['map']), map({ recordTypes: 'PRA' }, ['sw']), sw, join()]);
    await waitFor(() => got.joined.length === 1);
    assert.deepEqual(got.joined[0].payload, [{ personId: '1002' }]);
  });

  it('a switch without "recreate message sequences" after a filtering esr-map passes a sequence a join completes', async () => {
    const sw: FlowNode = { id: 'sw', type: 'switch', property: 'payload.personId', propertyType: 'msg', rules: [{ t: 'nnull' }, { t: 'else' }], checkall: 'false', repair: false, outputs: 2, wires: [['join'], []] };
    const got = await run([read('record', ['map']), map({ recordTypes: 'PRA' }, ['sw']), sw, join()]);
    await waitFor(() => got.joined.length === 1);
    assert.deepEqual(got.joined[0].payload, [{ personId: '1001' }, { personId: '1002' }]);
  });

  it('a switch before esr-map, with or without "recreate message sequences", and a join after it', async () => {
    for (const repair of [true, false]) {
      // Without recreate the switch leaves gaps in the indexes; the last record (TRL) still carries parts.count.
      const sw: FlowNode = { id: 'sw', type: 'switch', property: 'topic', propertyType: 'msg', rules: [{ t: 'neq', v: 'ASA', vt: 'str' }], checkall: 'true', repair, outputs: 1, wires: [['map']] };
      const got = await run([read('record', ['sw']), sw, map({ recordTypes: 'PRA' }, ['join']), join()]);
      await waitFor(() => got.joined.length === 1);
      assert.deepEqual(got.joined[0].payload, [{ personId: '1001' }, { personId: '1002' }], `recreate ${repair}`);
      await helper.unload();
    }
  });

  it('a read that breaks off: what esr-map kept ends with msg.reset on a mapped record, never an empty payload; the join drops it', async () => {
    await helper.load([...NODES, ...CORE], onTab([read('record', ['map']), map({ recordTypes: 'PRA' }, ['join', 'fn', 'mapped']), join(), fn(), ...tail]));
    const [mapped, joined, caught] = [collect('mapped'), collect('joined'), collect('caught')];
    const bytes = Buffer.from(FILE, 'latin1');
    // A download that fails after the second PRA's ASA line: esr-read's last message (that ASA) carries msg.reset.
    const broken = new Readable({ read() {} });
    broken.push(bytes.subarray(0, bytes.indexOf('PRD')));
    setTimeout(() => broken.destroy(new Error('download failed')), 100);
    (helper.getNode('read') as RedNode).receive({ payload: broken, filename: NAME });
    await waitFor(() => caught.length >= 1);
    await settle();
    assert.equal(caught.length, 1, 'only esr-read reports the file: the function node saw no null payload');
    assert.ok(mapped.length > 0 && mapped.every((m) => m.payload !== null && typeof m.payload.personId === 'string'));
    const last = mapped.at(-1)!;
    assert.equal(last.reset, true);
    assert.equal(last.parts.count, mapped.length);
    assert.deepEqual(joined, []);
  });

  it('a record esr-map cannot map fails its file: what went on ends with msg.reset, no join fires, esr-write makes no file, one error', async () => {
    const write: FlowNode = { id: 'write', type: 'esr-write', layout: 'ta', vpd: '555', vpdType: 'str', nameParts: '{"sourceSystem":"SEL","periodType":"M","periodRun":"N","taxYear":"27","taxPeriod":"08"}', namePartsType: 'json', header: '{}', headerType: 'json', wires: [['file'], []] };
    // ATT records for esr-write from ASA rows; the date helper fails on the second ASA's (bad) assignment number.
    const rules = [{ target: 'recordType', template: 'ATT' }, { target: 'effectiveDate', template: '{{#ymdToIso}}{{assignmentId}}{{/ymdToIso}}' }, { target: 'assignmentNumber', template: '{{assignmentNumber}}' }, { target: 'elementName', template: 'Overtime' }];
    const file = goFile([ASA('1001', '20261120'), ASA('1001', 'A2'), ASA('1002', '20261121')], '\n', NAME);
    const got = await run([read('record', ['map']), { id: 'map', type: 'esr-map', rules, recordTypes: 'ASA', wires: [['join', 'write', 'mapped']] }, join(), write, { id: 'file', type: 'helper' }], file);
    const files: Record<string, any>[] = collect('file');
    await waitFor(() => got.caught.length >= 1);
    await settle();
    assert.equal(got.caught.length, 1);
    assert.equal(got.caught[0].error.source.id, 'map');
    assert.deepEqual(got.mapped.map((m) => [m.parts.index, m.parts.count, m.reset]), [[0, 1, true]]);
    assert.deepEqual(got.joined, []);
    assert.equal(files.length, 0, 'no file');
    // The next file goes through whole.
    (helper.getNode('read') as RedNode).receive({ payload: Buffer.from(goFile([ASA('1001', '20261120')], '\n', NAME), 'latin1'), filename: NAME });
    await waitFor(() => files.length === 1);
    const { records } = await readAll(loadLayout('ta'), files[0].payload as Buffer);
    assert.equal(records.filter((r) => r.recordType === 'ATT').length, 1);
  });
});

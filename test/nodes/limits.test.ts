/**
 * No file can take the runtime down (issue 14): every node that holds a file's records in memory has a bound, and a
 * file past it fails cleanly — a coded error through done(err), msg.reset on what was sent of it, nothing built of
 * it — while the runtime and the next file go on. Small bounds on small files, in a real Node-RED.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fullFileRecords, goFileName, SyntheticTrust, writeGoFile } from '../../core/synthetic';
import { collect, coreNode, NODE_RED_SKIP, helper, nodeFile, onTab, waitFor, type FlowNode, type RedNode } from '../support/node-red';

type Caught = { error: { message: string; code?: string } } & Record<string, any>;

describe('bounds on what a node holds for one file', { skip: NODE_RED_SKIP }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'esr-limits-'));
  const small = new SyntheticTrust({ staff: 3, seed: 5 });
  const big = new SyntheticTrust({ staff: 40, seed: 6 });
  let smallFile: { name: string; bytes: Buffer };
  let bigFile: { name: string; bytes: Buffer };
  let userDir: string;

  const file = async (trust: SyntheticTrust) => {
    const name = goFileName(trust, 'GDW', 0);
    const p = path.join(dir, `${trust.seed}-${name}`);
    await writeGoFile(p, 'GDW', fullFileRecords(trust, 'GDW'));
    return { name, bytes: fs.readFileSync(p) };
  };
  const lines = (b: Buffer) => b.toString('latin1').split('\n').filter(Boolean).length;
  /** Node-RED's settings with `esrLimits` (the helper's settings() starts again from its defaults: the user directory is kept). */
  const limits = (esrLimits?: Record<string, number>) => helper.settings({ userDir, ...(esrLimits ? { esrLimits } : {}) });

  before(async () => {
    smallFile = await file(small);
    bigFile = await file(big);
    userDir = (helper as unknown as { _settings: { userDir: string } })._settings.userDir;
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  afterEach(async () => {
    await helper.unload();
    limits();
  });
  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const catching = (scope: string[]): FlowNode[] => [
    { id: 'c', type: 'catch', scope, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper' },
  ];

  it('esr-read, whole-file mode: a file over "Hold at most" fails with TOO_MANY_RECORDS, sends nothing; the next file is read', async () => {
    const max = lines(smallFile.bytes) + 1;
    assert.ok(lines(bigFile.bytes) > max);
    await helper.load([nodeFile('esr-read'), coreNode('common/25-catch.js')], onTab([
      { id: 'read', type: 'esr-read', layout: 'auto', input: 'payload', mode: 'file', maxRecords: max, wires: [['out'], [], ['summary']] },
      { id: 'out', type: 'helper' },
      { id: 'summary', type: 'helper' },
      ...catching(['read']),
    ]));
    const out = collect('out');
    const caught = collect('caught') as Caught[];
    (helper.getNode('read') as RedNode).receive({ payload: bigFile.bytes, filename: bigFile.name });
    await waitFor(() => caught.length === 1);
    assert.equal(caught[0].error.code, 'TOO_MANY_RECORDS');
    assert.match(caught[0].error.message, new RegExp(`${bigFile.name}: more than ${max} records`));
    assert.equal(out.length, 0);
    (helper.getNode('read') as RedNode).receive({ payload: smallFile.bytes, filename: smallFile.name });
    await waitFor(() => out.length === 1);
    assert.equal(out[0].payload.length, lines(smallFile.bytes));
    assert.equal(caught.length, 1);
  });

  it('esr-read, person mode collecting a GDW file: past the bound (settings.js) the rows go to disk, not to an error; the files are removed', async () => {
    limits({ heldRecords: lines(smallFile.bytes) });
    await helper.load([nodeFile('esr-read'), coreNode('common/25-catch.js')], onTab([
      { id: 'read', type: 'esr-read', layout: 'auto', input: 'payload', mode: 'person', grouping: 'collect', wires: [['out'], [], []] },
      { id: 'out', type: 'helper' },
      ...catching(['read']),
    ]));
    const out = collect('out');
    const caught = collect('caught') as Caught[];
    (helper.getNode('read') as RedNode).receive({ payload: bigFile.bytes, filename: bigFile.name });
    await waitFor(() => out.some((m) => m.parts?.count !== undefined) || caught.length > 0);
    assert.deepEqual(caught.map((c) => c.error.message), []);
    const people = out.filter((m) => m.topic === 'person').map((m) => m.payload.personId);
    assert.equal(new Set(people).size, 40);
    assert.equal(people.length, 40);
    assert.ok(!out.some((m) => m.reset));
    const spill = path.join(userDir, 'esr-spill');
    assert.ok(fs.existsSync(spill), 'the rows went to disk');
    assert.deepEqual(fs.readdirSync(spill), [], 'and the temporary files are gone');
  });

  it('esr-write: a sequence over "Hold at most" fails with TOO_MANY_RECORDS, makes no file, drops the rest; the next file is made', async () => {
    const asa = (b: Buffer) => b.toString('latin1').split('\n').filter((l) => l.startsWith('ASA')).length;
    assert.ok(asa(bigFile.bytes) > asa(smallFile.bytes));
    await helper.load([nodeFile('esr-read'), nodeFile('esr-map'), nodeFile('esr-write'), coreNode('common/25-catch.js')], onTab([
      { id: 'read', type: 'esr-read', layout: 'auto', input: 'payload', mode: 'record', wires: [['map'], [], []] },
      { id: 'map', type: 'esr-map', recordTypes: 'ASA', rules: [{ target: 'recordType', template: 'ATT' }, { target: 'effectiveDate', template: '2026-11-20' }, { target: 'assignmentNumber', template: '{{assignmentNumber}}' }, { target: 'elementName', template: 'Overtime' }], wires: [['write']] },
      { id: 'write', type: 'esr-write', layout: 'ta', vpd: '555', vpdType: 'str', nameParts: '{"sourceSystem":"SEL","periodType":"M","periodRun":"N","taxYear":"27","taxPeriod":"08"}', namePartsType: 'json', header: '{}', headerType: 'json', maxRecords: asa(smallFile.bytes), wires: [['files'], []] },
      { id: 'files', type: 'helper' },
      ...catching(['write']),
    ]));
    const files = collect('files');
    const caught = collect('caught') as Caught[];
    (helper.getNode('read') as RedNode).receive({ payload: bigFile.bytes, filename: bigFile.name });
    await waitFor(() => caught.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(caught.length, 1, 'one error for the file, not one per message after the bound');
    assert.equal(caught[0].error.code, 'TOO_MANY_RECORDS');
    assert.equal(files.length, 0);
    (helper.getNode('read') as RedNode).receive({ payload: smallFile.bytes, filename: smallFile.name });
    await waitFor(() => files.length === 1 || caught.length > 1);
    assert.equal(caught.length, 1, JSON.stringify(caught.slice(1).map((c) => c.error)));
    assert.ok(Buffer.isBuffer(files[0].payload));
  });

  it('esr-changes: a file with more people than esrLimits.changesPeople fails with TOO_MANY_PEOPLE, the snapshot is untouched; the next file is taken', async () => {
    limits({ changesPeople: 5 });
    const folder = fs.mkdtempSync(path.join(dir, 'state-'));
    await helper.load([nodeFile('esr-state'), nodeFile('esr-read'), nodeFile('esr-changes'), coreNode('common/25-catch.js')], onTab([
      { id: 'st', type: 'esr-state', backend: 'local', folder },
      { id: 'read', type: 'esr-read', layout: 'auto', input: 'payload', mode: 'batch', batchSize: 10, wires: [['changes'], [], []] },
      { id: 'changes', type: 'esr-changes', state: 'st', maxLeaverPercent: 5, future: 'now', gaps: 'alert', holdHours: 6, refresh: 'never', firstFull: 'baseline', wires: [[], [], [], ['done']] },
      { id: 'done', type: 'helper' },
      ...catching(['changes']),
    ]));
    const done = collect('done');
    const caught = collect('caught') as Caught[];
    (helper.getNode('read') as RedNode).receive({ payload: bigFile.bytes, filename: bigFile.name });
    await waitFor(() => caught.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(caught.length, 1);
    assert.equal(caught[0].error.code, 'TOO_MANY_PEOPLE');
    assert.equal(done.length, 0);
    (helper.getNode('read') as RedNode).receive({ payload: smallFile.bytes, filename: smallFile.name });
    await waitFor(() => done.length === 1);
    assert.equal(done[0].payload.outcome, 'applied');
    assert.equal(caught.length, 1);
  });

  it('esr-map: a CSV lookup larger than esrLimits.lookupBytes is not loaded (FILE_TOO_LARGE); the runtime goes on', async () => {
    limits({ lookupBytes: 100 });
    const csv = path.join(dir, 'wards.csv');
    fs.writeFileSync(csv, Array.from({ length: 50 }, (_, i) => `W${i},Ward ${i}`).join('\n'));
    await helper.load([nodeFile('esr-map')], onTab([
      { id: 'map', type: 'esr-map', rules: [{ target: 'ward', template: '{{lookup.wards.W1}}' }], lookups: [{ name: 'wards', source: 'csv', file: csv }], wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]));
    const log = helper.log().args.map((a) => JSON.stringify(a));
    assert.ok(log.some((l) => l.includes('FILE_TOO_LARGE')), log.join('\n'));
  });
});

/**
 * esr-write's outputs for large files in a real Node-RED runtime: records encoded as they arrive and appended to one
 * temporary file, sent on as a stream (to esr-sftp-out) or written in place in a local folder. Same bytes as the
 * codec writes, no temporary file left behind (failure, reset, redeploy, a killed process), no sequence number used
 * by a file not made, and no record bound for what is not held in memory.
 */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { loadLayout, readAll, writeToBuffer, type EsrRecord } from '../../core/codec';
import { SSHD_SKIP, startSshd, type TestSshd } from '../support/sshd';
import { collect, coreNode, NODE_RED_SKIP, helper, nodeFile, onTab, waitFor, type FlowNode, type RedNode } from '../support/node-red';

const NAME_PARTS = '{"sourceSystem":"SEL","periodType":"M","periodRun":"N","taxYear":"27","taxPeriod":"08"}';
const att = (i: number): EsrRecord => ({ recordType: 'ATT', effectiveDate: '2026-11-20', assignmentNumber: String(10_000_000 + i), elementName: 'Overtime', inputValue1Name: 'Hours', inputValue1Value: String((i % 40) / 4) });
const records = (n: number) => Array.from({ length: n }, (_, i) => att(i));

const write = (vpd: string, extra: Record<string, unknown> = {}): FlowNode => ({
  id: 'write', type: 'esr-write', layout: 'ta', vpd, vpdType: 'str', nameParts: NAME_PARTS, namePartsType: 'json', header: '{}', headerType: 'json', wires: [['file'], ['rejected']], ...extra,
});
const sink: FlowNode[] = [
  { id: 'file', type: 'helper' },
  { id: 'rejected', type: 'helper' },
  { id: 'c', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
  { id: 'caught', type: 'helper' },
];

/** Sends `recs` as one msg.parts sequence, a record (or, with `batch`, an array of that many) per message. */
function sequence(id: string, recs: EsrRecord[], batch = 0, last: Record<string, unknown> = {}): void {
  const node = helper.getNode('write') as RedNode;
  const messages = batch ? Array.from({ length: Math.ceil(recs.length / batch) }, (_, i) => recs.slice(i * batch, (i + 1) * batch)) : recs;
  messages.forEach((payload, index) => node.receive({ payload, parts: { id, index, ...(index === messages.length - 1 ? { count: messages.length } : {}) }, ...(index === messages.length - 1 ? last : {}) }));
}

async function bytesOf(payload: unknown): Promise<Buffer> {
  if (Buffer.isBuffer(payload)) return payload;
  assert.ok(payload instanceof Readable, 'msg.payload is a stream');
  const chunks: Buffer[] = [];
  for await (const c of payload) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** What the codec writes for these records under the header the file carries (its creation time is the node's). */
async function expected(file: Buffer, name: string, recs: EsrRecord[]): Promise<Buffer> {
  const layout = loadLayout('ta');
  const { records: read } = await readAll(layout, file, { fileName: name });
  const header = read.find((r) => r.recordType === layout.header!.code)!;
  return writeToBuffer(layout, [header, ...recs]);
}

describe('esr-write: stream and local-file outputs', { skip: NODE_RED_SKIP }, () => {
  let userDir: string;
  const temp = () => {
    const dir = path.join(userDir, 'esr-write-tmp');
    return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  };
  before(async () => {
    userDir = (helper as unknown as { _settings: { userDir: string } })._settings.userDir;
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  afterEach(async () => {
    await helper.unload();
    helper.settings({ userDir });
  });
  after(async () => new Promise<void>((resolve) => helper.stopServer(resolve)));

  it('a sequence of many records (one per message, or in batches) gives the codec\'s bytes through every output; numbers follow on', async () => {
    const recs = records(3000);
    for (const [i, output] of (['buffer', 'stream', 'file'] as const).entries()) {
      await helper.load([nodeFile('esr-write'), coreNode('common/25-catch.js')], onTab([write('601', { output, folder: 'out' }), ...sink]));
      const files = collect('file');
      const caught = collect('caught');
      sequence(`a${i}`, recs);
      sequence(`b${i}`, recs, 250);
      await waitFor(() => files.length === 2 || caught.length > 0, 20_000);
      assert.deepEqual(caught, []);
      assert.deepEqual(files.map((f) => f.filename), [`TA_601_SEL_MN2708_0000000${2 * i + 1}.DAT`, `TA_601_SEL_MN2708_0000000${2 * i + 2}.DAT`]);
      for (const f of files) {
        let bytes: Buffer;
        if (output === 'file') {
          assert.equal(f.payload, undefined, 'nothing to upload by mistake');
          assert.equal(f.esr.path, path.join(userDir, 'out', f.filename));
          bytes = fs.readFileSync(f.esr.path);
        } else bytes = await bytesOf(f.payload);
        if (output === 'stream') assert.ok(f.payload instanceof Readable);
        assert.ok(bytes.equals(await expected(bytes, f.filename, recs)), `${output}: the codec's bytes`);
        assert.equal(f.esr.records.ATT, 3000);
      }
      assert.deepEqual(temp(), [], `${output}: no temporary file left`);
      await helper.unload();
    }
    assert.deepEqual(fs.readdirSync(path.join(userDir, 'out')).sort(), ['TA_601_SEL_MN2708_00000005.DAT', 'TA_601_SEL_MN2708_00000006.DAT']);
  });

  it("a trust's own layout with no file-name pattern (a target system's file) is named by the name parts' name; an existing file is never replaced", async () => {
    const layoutFile = path.join(__dirname, '..', '..', '..', 'bench', 'layouts', 'staff-extract.json');
    const rows = Array.from({ length: 500 }, (_, i) => ({ recordType: 'STF', type: 'PRA', person: String(i), start: '2026-11-20' }));
    await helper.load([nodeFile('esr-write'), coreNode('common/25-catch.js')], onTab([write('', { layout: 'file', layoutFile, vpd: '', nameParts: '{"name":"extract.txt"}', output: 'file', folder: 'out607' }), ...sink]));
    const files = collect('file');
    const caught = collect('caught');
    const node = helper.getNode('write') as RedNode;
    rows.forEach((payload, index) => node.receive({ payload, filename: 'GO_123_GDW_GOF_20261120_00000001.DAT', parts: { id: 'x', index, ...(index === rows.length - 1 ? { count: rows.length } : {}) } }));
    await waitFor(() => files.length === 1 || caught.length > 0);
    assert.equal(caught.length, 0, JSON.stringify(caught[0]?.error));
    assert.equal(files[0].esr.path, path.join(userDir, 'out607', 'extract.txt'));
    const lines = fs.readFileSync(files[0].esr.path, 'utf8').trim().split('\n');
    assert.equal(lines.length, 500);
    assert.equal(lines[7], 'STF,PRA,7,2026-11-20,');
    rows.forEach((payload, index) => node.receive({ payload, parts: { id: 'y', index, ...(index === rows.length - 1 ? { count: rows.length } : {}) } }));
    await waitFor(() => caught.length > 0);
    assert.match(caught[0].error.message, /EEXIST|exists/);
    assert.equal(fs.readFileSync(files[0].esr.path, 'utf8').trim().split('\n').length, 500, 'the first file kept');
  });

  it('an invalid record or a reset mid-sequence: no file, no temporary file, no number used', async () => {
    await helper.load([nodeFile('esr-write'), coreNode('common/25-catch.js')], onTab([write('602', { output: 'file', folder: 'out602' }), ...sink]));
    const files = collect('file');
    const caught = collect('caught');
    const bad = records(2000);
    bad[1500] = { ...bad[1500], effectiveDate: 'not a date' };
    sequence('bad', bad);
    await waitFor(() => caught.length === 1);
    assert.equal(caught[0].error.message.includes('INVALID_VALUE'), true);
    sequence('reset', records(2000), 0, { reset: true });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(temp(), []);
    sequence('good', records(10));
    await waitFor(() => files.length === 1);
    assert.equal(files[0].filename, 'TA_602_SEL_MN2708_00000001.DAT');
    assert.ok(fs.existsSync(path.join(userDir, 'out602', files[0].filename)), 'written through the local-folder path');
    assert.equal(caught.length, 1);
    assert.deepEqual(temp(), []);
  });

  it('every record rejected (skip invalid): no file, no number used, the rejects go to output 2', async () => {
    await helper.load([nodeFile('esr-write'), coreNode('common/25-catch.js')], onTab([write('603', { output: 'stream', skipInvalid: true }), ...sink]));
    const files = collect('file');
    const caught = collect('caught');
    const rejected = collect('rejected');
    sequence('all-bad', records(5).map((r) => ({ ...r, effectiveDate: 'x' })));
    await waitFor(() => caught.length === 1);
    assert.equal(rejected.length, 0);
    assert.deepEqual(temp(), []);
    sequence('good', [att(1), { ...att(2), effectiveDate: 'x' }]);
    await waitFor(() => files.length === 1);
    assert.equal(files[0].filename, 'TA_603_SEL_MN2708_00000001.DAT');
    assert.equal(rejected.length, 1);
    assert.ok(files[0].payload instanceof Readable, 'made through the stream path');
    await bytesOf(files[0].payload);
    await waitFor(() => temp().length === 0);
  });

  it('a redeploy or stop mid-sequence, or a stream never read, removes the temporary file; a killed process\'s are removed when the node next starts', async () => {
    await helper.load([nodeFile('esr-write'), coreNode('common/25-catch.js')], onTab([write('604', { output: 'file', folder: 'out604' }), ...sink]));
    const node = helper.getNode('write') as RedNode;
    for (let i = 0; i < 2000; i++) node.receive({ payload: att(i), parts: { id: 'open', index: i } });
    await waitFor(() => temp().length === 1);
    await helper.unload();
    assert.deepEqual(temp(), [], 'closing the node removed it');

    await helper.load([nodeFile('esr-write'), coreNode('common/25-catch.js')], onTab([write('604', { output: 'stream' }), ...sink]));
    const files = collect('file');
    sequence('unread', records(100));
    await waitFor(() => files.length === 1);
    assert.equal(temp().length, 1, 'the stream holds its file until read');
    await helper.unload();
    assert.deepEqual(temp(), [], 'closing the node removed a stream\'s file nobody read');

    // Left by processes that are gone (pid 2^22 + 1 is above Linux's pid limit); a live runtime's stays.
    const dir = path.join(userDir, 'esr-write-tmp');
    const dead = `${2 ** 22 + 1}-abcdef012345-write-00000000.body`;
    const live = `${process.ppid}-abcdef012345-write-00000000.body`;
    for (const f of [dead, live]) fs.writeFileSync(path.join(dir, f), 'x');
    // The clean-up runs once per process: a fresh module instance stands for the next process.
    for (const k of Object.keys(require.cache)) if (k.includes(`${path.sep}esr-write${path.sep}`)) delete require.cache[k];
    await helper.load([nodeFile('esr-write'), coreNode('common/25-catch.js')], onTab([write('604', { output: 'stream' }), ...sink]));
    assert.deepEqual(temp(), [live], 'removed when the node starts, before it writes a file');
    fs.rmSync(path.join(dir, live));
  });

  it('messages that still arrive while the node closes (a redeploy mid-file) make no temporary file', async () => {
    await helper.load([nodeFile('esr-write'), coreNode('common/25-catch.js')], onTab([write('608', { output: 'file', folder: 'out608' }), ...sink]));
    const node = helper.getNode('write') as RedNode;
    for (let i = 0; i < 100; i++) node.receive({ payload: att(i), parts: { id: 'mid', index: i } });
    await waitFor(() => temp().length === 1);
    const closing = helper.unload();
    // The source (esr-read) is still sending as the flows stop: a new sequence and the rest of this one.
    for (let i = 0; i < 100; i++) node.receive({ payload: att(i), parts: { id: i < 50 ? 'mid' : 'late', index: i } });
    await closing;
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(temp(), []);
  });

  it('a file of a layout with no file-name pattern keeps a name on every output: the name parts\' name, else msg.filename', async () => {
    const layoutFile = path.join(__dirname, '..', '..', '..', 'bench', 'layouts', 'staff-extract.json');
    const rows = Array.from({ length: 20 }, (_, i) => ({ recordType: 'STF', type: 'PRA', person: String(i) }));
    for (const output of ['buffer', 'stream'] as const) {
      for (const [nameParts, expected] of [['{"name":"extract.txt"}', 'extract.txt'], ['{}', 'GO_123_GDW_GOF_20261120_00000001.DAT']]) {
        await helper.load([nodeFile('esr-write'), coreNode('common/25-catch.js')], onTab([write('', { layout: 'file', layoutFile, vpd: '', nameParts, output }), ...sink]));
        const files = collect('file');
        const node = helper.getNode('write') as RedNode;
        rows.forEach((payload, index) => node.receive({ payload, filename: 'GO_123_GDW_GOF_20261120_00000001.DAT', parts: { id: 'n', index, ...(index === rows.length - 1 ? { count: rows.length } : {}) } }));
        await waitFor(() => files.length === 1);
        assert.equal(files[0].filename, expected, `${output}, name parts ${nameParts}`);
        assert.equal((await bytesOf(files[0].payload)).toString().trim().split('\n').length, 20);
        await helper.unload();
      }
    }
  });

  it('no record bound for the stream and local outputs (only for the Buffer, which holds the file)', async () => {
    helper.settings({ userDir, esrLimits: { writeRecords: 50 } });
    await helper.load([nodeFile('esr-write'), coreNode('common/25-catch.js')], onTab([write('605', { output: 'file', folder: 'out605' }), ...sink]));
    const files = collect('file');
    const caught = collect('caught');
    sequence('big', records(5000), 100);
    await waitFor(() => files.length === 1 || caught.length > 0, 20_000);
    assert.deepEqual(caught, []);
    const { summary } = await readAll(loadLayout('ta'), fs.readFileSync(files[0].esr.path), { fileName: files[0].filename });
    assert.equal(summary.records.ATT, 5000);
    await helper.unload();

    await helper.load([nodeFile('esr-write'), coreNode('common/25-catch.js')], onTab([write('605'), ...sink]));
    const buffered = collect('file');
    const failed = collect('caught');
    sequence('big', records(5000), 100);
    await waitFor(() => failed.length === 1 || buffered.length > 0);
    assert.equal(buffered.length, 0);
    assert.equal(failed[0].error.code, 'TOO_MANY_RECORDS');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(buffered.length, 0);
  });

  it('a local folder outside the local base is refused before a number is taken', async () => {
    await helper.load([nodeFile('esr-write'), coreNode('common/25-catch.js')], onTab([write('606', { output: 'file', folder: '../elsewhere' }), ...sink]));
    const caught = collect('caught');
    sequence('x', records(3));
    await waitFor(() => caught.length === 1);
    assert.equal(caught[0].error.code, 'PATH_OUTSIDE_BASE');
    assert.deepEqual(temp(), []);
    await helper.unload();
    await helper.load([nodeFile('esr-write'), coreNode('common/25-catch.js')], onTab([write('606'), ...sink]));
    const files = collect('file');
    sequence('y', records(3));
    await waitFor(() => files.length === 1);
    assert.equal(files[0].filename, 'TA_606_SEL_MN2708_00000001.DAT');
  });
});

describe('esr-write (stream) -> esr-sftp-out', { skip: SSHD_SKIP || NODE_RED_SKIP }, () => {
  let sshd: TestSshd;
  let userDir: string;
  before(async () => {
    sshd = await startSshd();
    userDir = (helper as unknown as { _settings: { userDir: string } })._settings.userDir;
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  after(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await sshd?.stop();
  });

  it('uploads the stream byte for byte, and removes the temporary file after; a refused upload removes it too', async () => {
    const flow: FlowNode[] = [
      { id: 'srv', type: 'esr-sftp-server', host: '127.0.0.1', port: sshd.port, username: sshd.username, root: sshd.root, hostFingerprint: sshd.fingerprint, timeoutSec: 10 },
      { ...write('607', { output: 'stream' }), wires: [['put'], []] },
      { id: 'put', type: 'esr-sftp-out', server: 'srv', operation: 'put', folder: 'In', folderType: 'str', filename: 'filename', filenameType: 'msg', ifExists: 'fail', mkdirs: true, wires: [['done']] },
      { id: 'done', type: 'helper' },
      ...sink,
    ];
    await helper.load([nodeFile('esr-sftp-server'), nodeFile('esr-sftp-out'), nodeFile('esr-write'), coreNode('common/25-catch.js')], onTab(flow), { srv: { privateKey: sshd.privateKey } });
    const done = collect('done');
    const caught = collect('caught');
    const recs = records(20_000);
    sequence('up', recs, 1000);
    await waitFor(() => done.length === 1 || caught.length > 0, 30_000);
    assert.deepEqual(caught.map((c) => c.error.message), []);
    const name = done[0].filename as string;
    assert.equal(name, 'TA_607_SEL_MN2708_00000001.DAT');
    const uploaded = fs.readFileSync(path.join(sshd.root, 'In', name));
    assert.ok(uploaded.equals(await expected(uploaded, name, recs)), 'the upload holds the codec\'s bytes');
    const temp = path.join(userDir, 'esr-write-tmp');
    await waitFor(() => fs.readdirSync(temp).length === 0);

    // The same name again (a fresh number store is not wanted here): put fails EEXIST before reading the stream.
    fs.mkdirSync(path.join(sshd.root, 'In'), { recursive: true });
    fs.writeFileSync(path.join(sshd.root, 'In', 'TA_607_SEL_MN2708_00000002.DAT'), 'taken');
    sequence('again', records(10));
    await waitFor(() => caught.length === 1, 20_000);
    await waitFor(() => fs.readdirSync(temp).length === 0);
  });
});

/**
 * A stream payload wired to two nodes: Node-RED deep-copies the message for the second wire, and a copy of a stream
 * cannot be read. esr-read says so within a second ("wire a stream to one node only", STREAM_COPIED) and the file is
 * handed back to the folder, not moved to the error folder — in a real Node-RED against a real sshd.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { goFile, goLine } from '../helpers';
import { SSHD_SKIP } from '../support/sshd';
import { sshdAndRuntime } from '../support/sshd-runtime';
import { collect, coreNode, NODE_RED_SKIP, helper, nodeFile, onTab, waitFor, type FlowNode, type RedNode } from '../support/node-red';
import { handOut, takeStream, STREAM_COPIED, STREAM_USED } from '../../nodes/shared/streams';

const NAME = 'GO_123_GDW_GOC_20261120_00000007.DAT';
const FILE = goFile([goLine('PRA', 44, { 2: '1001', 3: '20200101', 5: 'E1001', 7: 'Ames', 8: 'Ann' })], '\n', NAME);

describe('stream payloads are read by one node only', () => {
  const says = (code: string) => `no: ${code}`;
  it('a stream handed out can be taken once; a deep copy of it is refused at once and the original is ended', async () => {
    const original = Readable.from([Buffer.from('x')]);
    handOut(original);
    original.on('error', () => undefined); // esr-sftp-in listens (finished()); here nobody would
    // What Node-RED's deep copy keeps: enumerable own properties (symbols too), on the same prototype.
    const copy = Object.assign(Object.create(Object.getPrototypeOf(original)), original) as Readable;
    for (const k of Object.getOwnPropertySymbols(original)) if (Object.prototype.propertyIsEnumerable.call(original, k)) (copy as unknown as Record<symbol, unknown>)[k] = (original as unknown as Record<symbol, unknown>)[k];
    assert.throws(() => takeStream(copy, says), { code: STREAM_COPIED, message: `no: ${STREAM_COPIED}` });
    assert.equal(original.destroyed, true, 'the original is ended, so its file is handed back');
  });

  it('a stream taken, read or ended already is refused', async () => {
    const s = Readable.from([Buffer.from('x')]);
    takeStream(s, says);
    assert.throws(() => takeStream(s, says), { code: STREAM_USED });
    const read = Readable.from([Buffer.from('x')]);
    for await (const _ of read) void _;
    assert.throws(() => takeStream(read, says), { code: STREAM_USED });
  });
});

describe('a stream from esr-sftp-in wired to two nodes, in Node-RED', { skip: SSHD_SKIP || NODE_RED_SKIP }, () => {
  const ctx = sshdAndRuntime();

  it('esr-read gets the copy: a clear error within a second, and the file goes back to the folder, not to the error folder', async () => {
    const folder = 'Fanout';
    fs.mkdirSync(path.join(ctx.sshd.root, folder, 'Out'), { recursive: true });
    const local = (...p: string[]) => path.join(ctx.sshd.root, folder, 'Out', ...p);
    fs.writeFileSync(local(NAME), FILE);
    const flow: FlowNode[] = [
      { id: 'srv', type: 'esr-sftp-server', host: '127.0.0.1', port: ctx.sshd.port, username: ctx.sshd.username, root: ctx.sshd.root, hostFingerprint: ctx.sshd.fingerprint, timeoutSec: 20 },
      // A node added first on the same wire (a debug or function node) gets the message itself; esr-read a copy.
      // One attempt only: a hand-back for a wiring fault is not an attempt, else the file would go to the error folder.
      { id: 'in', type: 'esr-sftp-in', server: 'srv', operation: 'poll', folder: `${folder}/Out`, folderType: 'str', glob: '*.DAT', output: 'stream', intervalSec: 3600, stableSec: 0, maxPerPoll: 10, after: 'archive', claimTimeoutMin: 10, maxAttempts: 1, wires: [['first', 'read', 'sent']] },
      { id: 'first', type: 'function', func: 'return null;', outputs: 1, wires: [[]] },
      { id: 'sent', type: 'helper' },
      { id: 'read', type: 'esr-read', layout: 'auto', lenient: false, input: 'payload', mode: 'record', filename: 'filename', filenameType: 'msg', wires: [['records'], [], ['in']] },
      { id: 'records', type: 'helper' },
      // As the examples wire it: failures go back to the poller with the claim.
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['in', 'caught']] },
      { id: 'caught', type: 'helper' },
    ];
    await helper.load([nodeFile('esr-sftp-server'), nodeFile('esr-sftp-in'), nodeFile('esr-read'), coreNode('function/10-function.js'), coreNode('common/25-catch.js')], onTab(flow), { srv: { privateKey: ctx.sshd.encryptedKey, passphrase: ctx.sshd.passphrase } });
    const [sent, caught, records] = [collect('sent'), collect('caught'), collect('records')];
    await waitFor(() => sent.length === 1);
    const at = Date.now();
    await waitFor(() => caught.some((m) => m.error.source?.id === 'read'), 5000)
    assert.ok(Date.now() - at < 1000, `the error came after ${Date.now() - at} ms`);
    const error = caught.find((m) => m.error.source?.id === 'read')!.error;
    assert.equal(error.code, STREAM_COPIED);
    assert.match(error.message, /wire a stream to one node only/);
    assert.match(error.message, new RegExp(NAME));
    assert.deepEqual(records, []);
    // Handed back: in the folder again (for a retry), not in the error folder, no claim left.
    await waitFor(() => fs.existsSync(local(NAME)), 3000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(fs.existsSync(local(NAME)), true, 'the file is back in the folder');
    assert.deepEqual(fs.existsSync(local('error')) ? fs.readdirSync(local('error')) : [], [], 'nothing in the error folder');
    assert.deepEqual(fs.readdirSync(local('.esr-claims')), [], 'no claim left');
    assert.ok(!JSON.stringify(helper.log().args).includes('CLAIM_NOT_HELD'), 'the Catch message coming back settles nothing twice');
    assert.equal(caught.filter((m) => m.error.code === STREAM_COPIED || /wire a stream/.test(m.error.message)).length, 1, 'one Catch message for the fault');
  });
});

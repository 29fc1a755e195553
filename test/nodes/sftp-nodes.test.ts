/** The SFTP nodes running in a real Node-RED runtime (node-red-node-test-helper) against a real sshd. */
import { describe, it, before, after, afterEach } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SSHD_SKIP, startSshd, type TestSshd } from '../support/sshd';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { collect, NODE_RED_SKIP, helper, nodeFile, onTab, waitFor, type FlowNode, type HelperNode, type RedNode } from '../support/node-red';

const serverNode = nodeFile('esr-sftp-server');
const inNode = nodeFile('esr-sftp-in');
const outNode = nodeFile('esr-sftp-out');

describe('SFTP nodes in Node-RED', { skip: SSHD_SKIP || NODE_RED_SKIP }, () => {
  let sshd: TestSshd;
  let proxy: FaultProxy;
  let folderNo = 0;

  before(async () => {
    sshd = await startSshd();
    proxy = await startFaultProxy(sshd.port);
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });
  afterEach(async () => {
    await helper.unload();
  });
  after(async () => {
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    await proxy?.close();
    await sshd?.stop();
  });

  const server = (extra: Record<string, unknown> = {}): FlowNode => ({
    id: 'srv', type: 'esr-sftp-server', host: '127.0.0.1', port: proxy.port, username: sshd.username, root: sshd.root,
    hostFingerprint: sshd.fingerprint, timeoutSec: 5, ...extra,
  });
  const credentials = () => ({ srv: { privateKey: sshd.encryptedKey, passphrase: sshd.passphrase } });
  const fresh = () => {
    const folder = `Node${++folderNo}`;
    fs.mkdirSync(path.join(sshd.root, folder, 'Out'), { recursive: true });
    return folder;
  };
  const local = (...p: string[]) => path.join(sshd.root, ...p);
  it('polls a file, emits it with its ESR facts, and archives it when the message comes back', async () => {
    const folder = fresh();
    const name = 'GO_123_GDW_GOC_20261120_00000007.DAT';
    fs.writeFileSync(local(folder, 'Out', name), 'HDR~x\n');
    const flow: FlowNode[] = [
      server(),
      { id: 'in', type: 'esr-sftp-in', server: 'srv', operation: 'poll', folder: `${folder}/Out`, folderType: 'str', glob: '*.DAT', output: 'buffer', intervalSec: 3600, stableSec: 0, maxPerPoll: 10, after: 'archive', claimTimeoutMin: 10, maxAttempts: 3, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load([serverNode, inNode], onTab(flow), credentials());
    const out = helper.getNode('out') as HelperNode;
    const msg = await new Promise<Record<string, any>>((resolve) => out.on('input', resolve));
    assert.equal(msg.filename, name);
    assert.equal((msg.payload as Buffer).toString(), 'HDR~x\n');
    assert.deepEqual({ vpd: msg.esr.vpd, subtype: msg.esr.subtype, extract: msg.esr.extract, date: msg.esr.date, sequence: msg.esr.sequence, layout: msg.esr.layout }, {
      vpd: '123', subtype: 'GDW', extract: 'changes', date: '2026-11-20', sequence: 7, layout: 'go-gdw',
    });
    assert.ok(msg.esrClaim);
    assert.deepEqual(fs.readdirSync(local(folder, 'Out')).filter((f) => !f.startsWith('.')), [], 'claimed, not yet archived');
    (helper.getNode('in') as RedNode).receive(msg);
    await waitFor(() => fs.existsSync(local(folder, 'Out', 'archive', name)));
  });

  it('one file at a time: the next file is taken only when the last one is confirmed, in ESR order', async () => {
    const folder = fresh();
    const names = ['GO_123_GDW_GOC_20261121_00000008.DAT', 'GO_123_GDW_GOF_20261120_00000007.DAT'];
    for (const n of names) fs.writeFileSync(local(folder, 'Out', n), 'HDR~x\n');
    const flow: FlowNode[] = [
      server(),
      { id: 'in', type: 'esr-sftp-in', server: 'srv', operation: 'poll', folder: `${folder}/Out`, folderType: 'str', glob: '*.DAT', output: 'buffer', intervalSec: 1, stableSec: 0, maxPerPoll: 10, inOrder: true, after: 'archive', claimTimeoutMin: 10, maxAttempts: 3, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load([serverNode, inNode], onTab(flow), credentials());
    const got = collect('out');
    await waitFor(() => got.length === 1);
    assert.equal(got[0].filename, names[1], 'the full file of the 20th first');
    await new Promise((r) => setTimeout(r, 2500)); // two more polls
    assert.equal(got.length, 1, 'nothing more until the first is confirmed');
    (helper.getNode('in') as RedNode).receive(got[0]);
    await waitFor(() => got.length === 2);
    assert.equal(got[1].filename, names[0]);

    // A redeploy while the second file is in flight: its message is gone, so it is handed back at once and delivered
    // again (attempt 2, the same delivery id) — before the next file, which waits for it.
    const third = 'GO_123_GDW_GOC_20261122_00000009.DAT';
    fs.writeFileSync(local(folder, 'Out', third), 'HDR~x\n');
    await helper.setFlows(onTab(flow), 'full', credentials());
    const after = collect('out');
    await waitFor(() => after.length === 1, 5000);
    assert.equal(after[0].filename, names[0]);
    assert.equal(after[0].sftp.attempt, 2);
    assert.equal(after[0].sftp.deliveryId, got[1].sftp.deliveryId);
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(after.length, 1, 'the third waits until the second is confirmed');
    (helper.getNode('in') as RedNode).receive(got[1]); // the first delivery's message: its claim is no longer held
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(after.length, 1, 'a stale confirmation settles nothing');
    (helper.getNode('in') as RedNode).receive(after[0]);
    await waitFor(() => after.length === 2);
    assert.equal(after[1].filename, third);
  });

  it('a forged msg.esrClaim is an error and nothing is moved or deleted', async () => {
    const folder = fresh();
    fs.mkdirSync(local(folder, 'In'), { recursive: true });
    fs.writeFileSync(local(folder, 'In', 'TA_123_SEL_MN2708_00000001.DAT'), 'outgoing');
    const flow: FlowNode[] = [
      server(),
      { id: 'in', type: 'esr-sftp-in', server: 'srv', operation: 'poll', folder: `${folder}/Out`, folderType: 'str', output: 'buffer', intervalSec: 3600, stableSec: 0, maxPerPoll: 10, after: 'delete', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load([serverNode, inNode], onTab(flow), credentials());
    const logged = () => helper.log().args.filter((a: any[]) => a[0]?.level === 20 && a[0]?.type === 'esr-sftp-in' && /CLAIM_NOT_HELD/.test(String(a[0]?.msg)));
    const forged = { node: 'in', name: 'TA_123_SEL_MN2708_00000001.DAT', token: 'made-up', path: `${folder}/In/TA_123_SEL_MN2708_00000001.DAT`, attempt: 1 };
    (helper.getNode('in') as RedNode).receive({ payload: 'x', esrClaim: forged });
    (helper.getNode('in') as RedNode).receive({ payload: 'x', esrClaim: forged, error: { message: 'x' } });
    await waitFor(() => logged().length === 2);
    assert.ok(fs.existsSync(local(folder, 'In', 'TA_123_SEL_MN2708_00000001.DAT')), 'the outgoing file is untouched');
  });

  it('a message back with msg.error (from a Catch node) moves the file to the error folder', async () => {
    const folder = fresh();
    const name = 'GO_123_GDW_GOC_20261120_00000008.DAT';
    fs.writeFileSync(local(folder, 'Out', name), 'x');
    const flow: FlowNode[] = [
      server(),
      { id: 'in', type: 'esr-sftp-in', server: 'srv', operation: 'poll', folder: `${folder}/Out`, folderType: 'str', output: 'buffer', intervalSec: 3600, stableSec: 0, maxPerPoll: 10, after: 'archive', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load([serverNode, inNode], onTab(flow), credentials());
    const msg = await new Promise<Record<string, any>>((resolve) => (helper.getNode('out') as HelperNode).on('input', resolve));
    (helper.getNode('in') as RedNode).receive({ ...msg, error: { message: 'the roster system refused it', source: { id: 'x' } } });
    await waitFor(() => fs.existsSync(local(folder, 'Out', 'error', name)));
  });

  it('puts through a temporary folder, or under the final name with a done marker, as the node is set', async () => {
    const folder = fresh();
    const flow: FlowNode[] = [
      server(),
      { id: 'viaTemp', type: 'esr-sftp-out', server: 'srv', operation: 'put', folder: `${folder}/In`, folderType: 'str', filename: 'filename', filenameType: 'msg', ifExists: 'fail', mkdirs: true, upload: 'temp-folder', tempFolder: `${folder}/upload`, wires: [['done']] },
      { id: 'direct', type: 'esr-sftp-out', server: 'srv', operation: 'put', folder: `${folder}/In`, folderType: 'str', filename: 'filename', filenameType: 'msg', ifExists: 'fail', mkdirs: true, upload: 'direct', doneMarker: '.done', wires: [['done']] },
      { id: 'done', type: 'helper' },
    ];
    await helper.load([serverNode, outNode], onTab(flow), credentials());
    const done = collect('done');
    (helper.getNode('viaTemp') as RedNode).receive({ payload: 'ATT,1', filename: 'TA_123_SEL_MN2708_00000001.DAT' });
    (helper.getNode('direct') as RedNode).receive({ payload: 'ATT,2', filename: 'TA_123_SEL_MN2708_00000002.DAT' });
    await waitFor(() => done.length === 2);
    assert.deepEqual(fs.readdirSync(local(folder, 'In')).sort(), ['TA_123_SEL_MN2708_00000001.DAT', 'TA_123_SEL_MN2708_00000002.DAT', 'TA_123_SEL_MN2708_00000002.DAT.done']);
    assert.deepEqual(fs.readdirSync(local(folder, 'upload')), [], 'the temporary folder was used and is empty');
  });

  it('files reach the hub in the order they were sent, a big one before a small one after it', async () => {
    const folder = fresh();
    const flow: FlowNode[] = [
      server(),
      { id: 'put', type: 'esr-sftp-out', server: 'srv', operation: 'put', folder: `${folder}/In`, folderType: 'str', filename: 'filename', filenameType: 'msg', ifExists: 'fail', mkdirs: true, wires: [['done']] },
      { id: 'done', type: 'helper' },
    ];
    await helper.load([serverNode, outNode], onTab(flow), credentials());
    const names = ['TA_123_SEL_MN2708_00000001.DAT', 'TA_123_SEL_MN2708_00000002.DAT', 'TA_123_SEL_MN2708_00000003.DAT'];
    const seenWhenSent: string[][] = [];
    const done = helper.getNode('done') as HelperNode;
    const sent: string[] = [];
    done.on('input', (msg: Record<string, any>) => {
      sent.push(msg.filename);
      seenWhenSent.push(fs.readdirSync(local(folder, 'In')).sort());
    });
    const payloads = [Buffer.alloc(8 * 1024 * 1024, 65), 'ATT,2', 'ATT,3'];
    names.forEach((filename, i) => (helper.getNode('put') as RedNode).receive({ payload: payloads[i], filename }));
    await waitFor(() => sent.length === 3, 20000);
    assert.deepEqual(sent, names);
    assert.deepEqual(seenWhenSent[0], [names[0]], 'the second file was not on the hub before the first was');
  });

  it('puts a file from msg.filename and msg.payload; an existing target is an error a Catch node sees', async () => {
    const folder = fresh();
    const flow: FlowNode[] = [
      server(),
      { id: 'put', type: 'esr-sftp-out', server: 'srv', operation: 'put', folder: `${folder}/In`, folderType: 'str', filename: 'filename', filenameType: 'msg', ifExists: 'fail', mkdirs: true, wires: [['done']] },
      { id: 'done', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ];
    await helper.load([serverNode, outNode], onTab(flow), credentials());
    const done = helper.getNode('done') as HelperNode;
    const caught = helper.getNode('caught') as HelperNode;
    const first = new Promise<Record<string, any>>((resolve) => done.once('input', resolve));
    (helper.getNode('put') as RedNode).receive({ payload: 'ATT,secret-value', filename: 'TA_123_SEL_MN2708_00000001.DAT' });
    const ok = await first;
    assert.deepEqual(ok.sftp, { operation: 'put', path: `${folder}/In/TA_123_SEL_MN2708_00000001.DAT`, bytes: 16, skipped: false });
    assert.equal(fs.readFileSync(local(folder, 'In', 'TA_123_SEL_MN2708_00000001.DAT'), 'utf8'), 'ATT,secret-value');
    const error = new Promise<Record<string, any>>((resolve) => caught.once('input', resolve));
    (helper.getNode('put') as RedNode).receive({ payload: 'ATT,secret-value', filename: 'TA_123_SEL_MN2708_00000001.DAT' });
    const err = await error;
    assert.match(err.error.message, /sftp put .*TA_123_SEL_MN2708_00000001\.DAT: .*\[EEXIST\]/);
    assert.ok(!err.error.message.includes('secret-value'));
  });

  it('lists and gets with names from the message', async () => {
    const folder = fresh();
    fs.writeFileSync(local(folder, 'Out', 'GO_123_GDW_GOF_20261120_00000001.DAT'), 'full');
    const flow: FlowNode[] = [
      server(),
      { id: 'list', type: 'esr-sftp-in', server: 'srv', operation: 'list', folder: 'dir', folderType: 'msg', glob: '*.DAT', wires: [['listed']] },
      { id: 'get', type: 'esr-sftp-in', server: 'srv', operation: 'get', folder: 'dir', folderType: 'msg', filename: 'filename', filenameType: 'msg', output: 'buffer', wires: [['got']] },
      { id: 'listed', type: 'helper' },
      { id: 'got', type: 'helper' },
    ];
    await helper.load([serverNode, inNode], onTab(flow), credentials());
    const listed = new Promise<Record<string, any>>((resolve) => (helper.getNode('listed') as HelperNode).once('input', resolve));
    (helper.getNode('list') as RedNode).receive({ dir: `${folder}/Out` });
    const l = await listed;
    assert.deepEqual(l.payload.map((e: { name: string; esr: { extract: string } }) => [e.name, e.esr.extract]), [['GO_123_GDW_GOF_20261120_00000001.DAT', 'full']]);
    const got = new Promise<Record<string, any>>((resolve) => (helper.getNode('got') as HelperNode).once('input', resolve));
    (helper.getNode('get') as RedNode).receive({ dir: `${folder}/Out`, filename: 'GO_123_GDW_GOF_20261120_00000001.DAT' });
    assert.equal(((await got).payload as Buffer).toString(), 'full');
  });

  it('gets as a stream, and moves, deletes and makes folders with names from the message; status shows the connection', async () => {
    const folder = fresh();
    const big = Buffer.alloc(3 * 1024 * 1024, 'A');
    fs.writeFileSync(local(folder, 'Out', 'big.DAT'), big);
    const flow: FlowNode[] = [
      server(),
      { id: 'get', type: 'esr-sftp-in', server: 'srv', operation: 'get', folder: `${folder}/Out`, folderType: 'str', filename: 'filename', filenameType: 'msg', output: 'stream', wires: [['got']] },
      { id: 'mv', type: 'esr-sftp-out', server: 'srv', operation: 'move', folder: `${folder}/Out`, folderType: 'str', filename: 'filename', filenameType: 'msg', targetFolder: 'to', targetFolderType: 'msg', targetName: '', targetNameType: 'str', mkdirs: true, wires: [['moved']] },
      { id: 'rm', type: 'esr-sftp-out', server: 'srv', operation: 'delete', folder: 'dir', folderType: 'msg', filename: 'filename', filenameType: 'msg', wires: [['removed']] },
      { id: 'mk', type: 'esr-sftp-out', server: 'srv', operation: 'mkdir', folder: 'dir', folderType: 'msg', wires: [['made']] },
      { id: 'got', type: 'helper' }, { id: 'moved', type: 'helper' }, { id: 'removed', type: 'helper' }, { id: 'made', type: 'helper' },
    ];
    await helper.load([serverNode, inNode, outNode], onTab(flow), credentials());
    const statuses: Record<string, unknown>[] = [];
    (helper.getNode('get') as RedNode).on('call:status', (call: { args: Record<string, unknown>[] }) => statuses.push(call.args[0]));
    const next = (id: string) => new Promise<Record<string, any>>((resolve) => (helper.getNode(id) as HelperNode).once('input', resolve));

    const got = next('got');
    (helper.getNode('get') as RedNode).receive({ filename: 'big.DAT' });
    const chunks: Buffer[] = [];
    for await (const c of (await got).payload) chunks.push(c as Buffer);
    assert.ok(Buffer.concat(chunks).equals(big));
    assert.ok(statuses.some((st) => st.text === 'connected'), JSON.stringify(statuses));

    const moved = next('moved');
    (helper.getNode('mv') as RedNode).receive({ filename: 'big.DAT', to: `${folder}/Done` });
    assert.deepEqual((await moved).sftp, { operation: 'move', from: `${folder}/Out/big.DAT`, path: `${folder}/Done/big.DAT` });
    assert.ok(fs.existsSync(local(folder, 'Done', 'big.DAT')));

    const removed = next('removed');
    (helper.getNode('rm') as RedNode).receive({ dir: `${folder}/Done`, filename: 'big.DAT' });
    await removed;
    assert.ok(!fs.existsSync(local(folder, 'Done', 'big.DAT')));

    const made = next('made');
    (helper.getNode('mk') as RedNode).receive({ dir: `${folder}/New/Deeper` });
    await made;
    assert.ok(fs.statSync(local(folder, 'New', 'Deeper')).isDirectory());
  });

  it('the documented wiring: esr-read\'s summary confirms a file, a Catch node wired back fails one', async () => {
    const folder = fresh();
    const good = 'GO_123_GDW_GOC_20261120_00000001.DAT';
    const cut = 'GO_123_GDW_GOC_20261120_00000002.DAT';
    fs.writeFileSync(local(folder, 'Out', good), `HDR~${good}~20261120 010203~123~20261119 000000~20261120 000000~01\nPRD~1\nTRL~3\n`);
    fs.writeFileSync(local(folder, 'Out', cut), `HDR~${cut}~20261120 010203~123~20261119 000000~20261120 000000~01\nPRD~1\n`);
    const flow: FlowNode[] = [
      server(),
      { id: 'in', type: 'esr-sftp-in', server: 'srv', operation: 'poll', folder: `${folder}/Out`, folderType: 'str', glob: '*.DAT', output: 'buffer', intervalSec: 3600, stableSec: 0, maxPerPoll: 10, after: 'archive', wires: [['read']] },
      { id: 'read', type: 'esr-read', layout: 'auto', lenient: false, input: 'payload', mode: 'record', filename: 'filename', filenameType: 'msg', wires: [['records'], [], ['in']] },
      { id: 'records', type: 'helper' },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['in']] },
    ];
    await helper.load([serverNode, inNode, nodeFile('esr-read')], onTab(flow), credentials());
    await waitFor(() => fs.existsSync(local(folder, 'Out', 'archive', good)) && fs.existsSync(local(folder, 'Out', 'error', cut)));
    assert.deepEqual(fs.readdirSync(local(folder, 'Out', '.esr-claims')), [], 'no claim left waiting');
  });

  it('a Catch node wired back does not make the node poll in a loop', async () => {
    const flow: FlowNode[] = [
      server({ hostFingerprint: sshd.otherFingerprint }),
      { id: 'in', type: 'esr-sftp-in', server: 'srv', operation: 'poll', folder: '.', folderType: 'str', output: 'buffer', intervalSec: 3600, stableSec: 0, wires: [[]] },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['in', 'caught']] },
      { id: 'caught', type: 'helper' },
    ];
    const before = proxy.accepted;
    await helper.load([serverNode, inNode], onTab(flow), credentials());
    const caught = collect('caught');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(caught.length, 1, 'one poll, one error');
    assert.match(caught[0].error.message, /HOST_KEY_MISMATCH/);
    assert.ok(proxy.accepted - before <= 2, `${proxy.accepted - before} connections`);
  });

  it('refuses a name from the message that would leave the folder', async () => {
    const folder = fresh();
    fs.writeFileSync(local(folder, 'Out', 'keep.DAT'), 'x');
    const flow: FlowNode[] = [
      server(),
      { id: 'rm', type: 'esr-sftp-out', server: 'srv', operation: 'delete', folder: `${folder}/In`, folderType: 'str', filename: 'filename', filenameType: 'msg', wires: [[]] },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ];
    await helper.load([serverNode, outNode], onTab(flow), credentials());
    const caught = collect('caught');
    for (const bad of ['../Out/keep.DAT', '/etc/passwd', 'a/b.DAT']) (helper.getNode('rm') as RedNode).receive({ filename: bad });
    await waitFor(() => caught.length === 3);
    assert.ok(caught.every((m) => /EBADPATH|must be a plain name|absolute|contains/.test(m.error.message)), JSON.stringify(caught.map((m) => m.error.message)));
    assert.ok(fs.existsSync(local(folder, 'Out', 'keep.DAT')));
  });

  it('closes its connection on redeploy, and never logs a secret', async () => {
    const logged: string[] = [];
    const spy = () => helper.log();
    const flow: FlowNode[] = [
      server({ hostFingerprint: sshd.otherFingerprint }),
      { id: 'list', type: 'esr-sftp-in', server: 'srv', operation: 'list', folder: '.', folderType: 'str', wires: [[]] },
      { id: 'catch', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper' },
    ];
    await helper.load([serverNode, inNode], onTab(flow), credentials());
    const caught = new Promise<Record<string, any>>((resolve) => (helper.getNode('caught') as HelperNode).once('input', resolve));
    (helper.getNode('list') as RedNode).receive({});
    assert.match((await caught).error.message, /HOST_KEY_MISMATCH/);
    await helper.unload();
    await helper.load([serverNode, inNode], onTab([server(), { id: 'list', type: 'esr-sftp-in', server: 'srv', operation: 'list', folder: '.', folderType: 'str', wires: [['o']] }, { id: 'o', type: 'helper' }]), credentials());
    const listed = new Promise((resolve) => (helper.getNode('o') as HelperNode).once('input', resolve));
    (helper.getNode('list') as RedNode).receive({});
    await listed;
    assert.equal(proxy.openConnections(), 1);
    await helper.unload();
    await waitFor(() => proxy.openConnections() === 0);
    assert.ok(spy().args.length > 0, 'the runtime log was captured');
    for (const call of spy().args) logged.push(JSON.stringify(call));
    const all = logged.join('\n');
    assert.ok(!all.includes(sshd.passphrase) && !all.includes('PRIVATE KEY'), 'no secret in the runtime log');
  });

  it('a poll cut short by a redeploy is not reported as an error (the node is closing)', async () => {
    const folder = fresh();
    const flow: FlowNode[] = [
      server(),
      { id: 'in', type: 'esr-sftp-in', server: 'srv', operation: 'poll', folder: `${folder}/Out`, folderType: 'str', glob: '*.DAT', output: 'buffer', intervalSec: 3600, stableSec: 0, maxPerPoll: 10, after: 'archive', claimTimeoutMin: 10, maxAttempts: 3, wires: [[]] },
    ];
    await helper.load([serverNode, inNode], onTab(flow), credentials());
    await waitFor(() => proxy.openConnections() === 1);
    await new Promise((r) => setTimeout(r, 300)); // the first poll has finished
    proxy.blackhole(true);
    (helper.getNode('in') as RedNode).receive({ topic: 'poll' }); // a poll that hangs until the connection closes
    await new Promise((r) => setTimeout(r, 200));
    const errorsBefore = helper.log().args.filter((a: any[]) => a[0]?.level === 20 && a[0]?.type === 'esr-sftp-in').length;
    // A full redeploy of a flow without the poller (the log is still captured, unlike after unload()).
    await helper.setFlows(onTab([server()]), 'full', credentials());
    proxy.blackhole(false);
    await new Promise((r) => setTimeout(r, 300));
    const errors = helper.log().args.filter((a: any[]) => a[0]?.level === 20 && a[0]?.type === 'esr-sftp-in');
    assert.equal(errors.length, errorsBefore, JSON.stringify(errors.slice(errorsBefore).map((a: any[]) => a[0].msg?.message ?? a[0].msg)));
  });

  it('"test connection" reports the fingerprint so that it can be pinned, using stored credentials', async () => {
    await helper.load([serverNode], onTab([server()]), credentials());
    const res = await helper.request().post('/esr-sftp-server/test').send({ id: 'srv', host: '127.0.0.1', port: proxy.port, username: sshd.username, root: sshd.root, hostFingerprint: '', credentials: { privateKey: '__PWRD__', passphrase: '__PWRD__' } });
    assert.equal(res.body.ok, false);
    assert.equal(res.body.code, 'HOST_KEY_NOT_PINNED');
    assert.equal(res.body.fingerprint, sshd.fingerprint);
    const pinned = await helper.request().post('/esr-sftp-server/test').send({ id: 'srv', host: '127.0.0.1', port: proxy.port, username: sshd.username, root: sshd.root, hostFingerprint: sshd.fingerprint, credentials: { privateKey: '__PWRD__', passphrase: '__PWRD__' } });
    assert.deepEqual(pinned.body, { ok: true, protocol: 'sftp', fingerprint: sshd.fingerprint, pinned: true, access: [{ folder: '.', list: 'yes', stat: 'yes', read: 'untried', write: 'untried', rename: 'untried', delete: 'untried' }] });
    assert.ok(!JSON.stringify(pinned.body).includes(sshd.passphrase));
    // Another server typed into the dialog never receives the stored secrets.
    const elsewhere = await helper.request().post('/esr-sftp-server/test').send({ id: 'srv', host: '127.0.0.1', port: sshd.port, username: sshd.username, root: sshd.root, hostFingerprint: sshd.fingerprint, credentials: { privateKey: '__PWRD__', passphrase: '__PWRD__' } });
    assert.equal(elsewhere.body.ok, false);
    assert.equal(elsewhere.body.code, 'AUTH_FAILED');
  });

  it('"test connection" sends stored secrets only past the deployed pin, and resolves ${ENV} as the runtime does', async () => {
    // Deployed with a pin this server does not match: the stored key must not reach it, whatever the dialog pins.
    await helper.load([serverNode], onTab([server({ hostFingerprint: sshd.otherFingerprint })]), credentials());
    const stored = { privateKey: '__PWRD__', passphrase: '__PWRD__' };
    const repinned = await helper.request().post('/esr-sftp-server/test').send({ id: 'srv', host: '127.0.0.1', port: proxy.port, username: sshd.username, root: sshd.root, hostFingerprint: sshd.fingerprint, credentials: stored });
    assert.equal(repinned.body.code, 'AUTH_FAILED', 'the stored key was not offered past a pin changed in the dialog');
    await helper.unload();
    await helper.load([serverNode], onTab([server()]), credentials());
    process.env.ESR_TEST_HUB_HOST = '127.0.0.1';
    process.env.ESR_TEST_HUB_PORT = String(proxy.port);
    try {
      const viaEnv = await helper.request().post('/esr-sftp-server/test').send({ id: 'srv', host: '${ESR_TEST_HUB_HOST}', port: '${ESR_TEST_HUB_PORT}', username: sshd.username, root: sshd.root, hostFingerprint: sshd.fingerprint, credentials: stored });
      assert.deepEqual(viaEnv.body, { ok: true, protocol: 'sftp', fingerprint: sshd.fingerprint, pinned: true, access: [{ folder: '.', list: 'yes', stat: 'yes', read: 'untried', write: 'untried', rename: 'untried', delete: 'untried' }] });
    } finally {
      delete process.env.ESR_TEST_HUB_HOST;
      delete process.env.ESR_TEST_HUB_PORT;
    }
  });
});
